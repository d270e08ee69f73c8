/**
 * The web app's own endpoints, not part of the hosted APIs (hidden from the OpenAPI document, validated
 * all the same): its sign-in configuration, the exchange of a sign-in code for a token, share links, and
 * the caller's iTwins in the iTwins API's shape.
 */
import { Type, type Static } from "@sinclair/typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errors } from "../../domain/errors.js";
import type { ContainerAccess } from "../../ports/blob-store.js";
import type { ITwin, ITwinRegistry } from "../../ports/itwins.js";
import type { ShareService } from "../../services/share-service.js";
import { SHARE_HOURS } from "../../services/share-service.js";
import type { SignInService } from "../../services/sign-in-service.js";
import { baseUrl } from "../base-url.js";
import { ErrorResponse } from "../schemas.js";
import { representation } from "./reality-data.js";

/** What the page needs to sign in: with realconv's sign-in links, or through an OAuth2 authority. */
export type WebAuthConfig = { mode: "embedded" } | { mode: "oauth"; authority: string; clientId: string; scopes: string };

export interface WebAppRoutesOptions {
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** The sign-in configuration, or why there is none (an external issuer without a client id). */
  auth: WebAuthConfig | { missing: string };
  signIn: SignInService;
  shares: ShareService;
  itwins: ITwinRegistry;
  containerAccess: (base: string) => ContainerAccess;
  publicUrl?: string;
}

const GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

const SignInBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const SignInResponse = Type.Object({ accessToken: Type.String(), expiresIn: Type.Integer(), email: Type.String() });
const ShareBody = Type.Object(
  {
    realityDataId: Type.String({ pattern: GUID_PATTERN }),
    iTwinId: Type.String({ pattern: GUID_PATTERN }),
    expiresInHours: Type.Optional(Type.Integer({ minimum: SHARE_HOURS.min, maximum: SHARE_HOURS.max, default: SHARE_HOURS.default })),
  },
  { additionalProperties: false },
);
const ShareCreated = Type.Object({ url: Type.String(), expiresAt: Type.String() });
/** A wildcard, not a parameter: tokens are longer than the router's 100-character parameter limit. */
const ShareParams = Type.Object({ "*": Type.String({ minLength: 1, maxLength: 4096 }) });
const ITwinSchema = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  class: Type.Literal("Endeavor"),
  subClass: Type.Literal("Project"),
  type: Type.Null(),
  status: Type.Literal("Active"),
});
const ITwinParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** An iTwin as the iTwins API lists it; realconv's iTwins are all active projects. */
function iTwinRepresentation(t: ITwin): Static<typeof ITwinSchema> {
  return { id: t.id, displayName: t.name, class: "Endeavor", subClass: "Project", type: null, status: "Active" };
}

const errorResponses = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse };

export async function webAppRoutes(app: FastifyInstance, o: WebAppRoutesOptions): Promise<void> {
  const hidden = { hide: true, tags: ["Web app"] };
  // Sign-in answers and share answers carry credentials: never kept by a browser or a proxy.
  const noStore = (reply: FastifyReply) => reply.header("cache-control", "no-store");

  app.get("/app/config.json", { schema: hidden }, async (_request, reply) => {
    noStore(reply);
    if ("missing" in o.auth) {
      reply.status(503);
      return { error: { code: "WebAppNotConfigured", message: o.auth.missing } };
    }
    return { auth: o.auth };
  });

  app.post<{ Body: Static<typeof SignInBody> }>(
    "/app/sign-in",
    { schema: { ...hidden, body: SignInBody, response: { 200: SignInResponse, ...errorResponses } } },
    async (request, reply) => {
      noStore(reply);
      return o.signIn.exchange(request.body.code);
    },
  );

  app.post<{ Body: Static<typeof ShareBody> }>(
    "/app/shares",
    { preHandler: o.authenticate, schema: { ...hidden, body: ShareBody, response: { 201: ShareCreated, ...errorResponses } } },
    async (request, reply) => {
      const { token, expiresAt } = await o.shares.create(request.principal!, request.body);
      noStore(reply).status(201);
      return { url: `${baseUrl(request, o.publicUrl)}/#/share/${token}`, expiresAt: expiresAt.toISOString() };
    },
  );

  app.get<{ Params: Static<typeof ShareParams> }>(
    "/app/shares/*",
    { schema: { ...hidden, params: ShareParams, response: { 401: ErrorResponse } } },
    async (request, reply) => {
      const opened = await o.shares.open(request.params["*"], o.containerAccess(baseUrl(request, o.publicUrl)));
      noStore(reply);
      return { realityData: representation(opened.realityData), containerUrl: opened.containerUrl, expiresAt: opened.expiresAt.toISOString() };
    },
  );

  app.get("/itwins", { preHandler: o.authenticate, schema: { ...hidden, response: { 200: Type.Object({ iTwins: Type.Array(ITwinSchema) }), ...errorResponses } } }, async (request) => ({
    iTwins: (await o.itwins.listForMember(request.principal!.email)).map(iTwinRepresentation),
  }));

  app.get<{ Params: Static<typeof ITwinParams> }>(
    "/itwins/:id",
    { preHandler: o.authenticate, schema: { ...hidden, params: ITwinParams, response: { 200: Type.Object({ iTwin: ITwinSchema }), ...errorResponses } } },
    async (request) => {
      const id = request.params.id;
      const itwin = /^[0-9a-f-]{36}$/i.test(id) && (await o.itwins.isMember(id, request.principal!.email)) ? await o.itwins.get(id) : undefined;
      if (!itwin) throw errors.iTwinNotFound();
      return { iTwin: iTwinRepresentation(itwin) };
    },
  );
}
