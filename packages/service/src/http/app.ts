/**
 * The HTTP application factory: builds the fastify instance (never listens; the caller does).
 * Handlers stay thin: authenticate, call one service method, map the result. Every error leaves as
 * the platform's `{ error: { code, message, ... } }` envelope with a correlation id.
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Logger } from "pino";
import { ApiError, errors } from "../domain/errors.js";
import type { Authenticator, Principal } from "../ports/auth.js";
import type { JobService } from "../services/job-service.js";
import { redactSecrets } from "../redact.js";
import { renderError, familyOf, MAX_HEADER_BYTES, type ErrorDialect, type RenderedError, type RequestProblem } from "./error-dialects.js";
import { registerJsonBodyParser } from "./json-body.js";
import { RateLimiter, type RequestBudget } from "./rate-limit.js";
import { jobRoutes } from "./routes/jobs.js";
import { featureRoutes } from "./routes/features.js";
import type { FeatureService } from "../services/feature-service.js";
import { toOpenApi30 } from "./schemas.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** preHandler: bearer-token authentication and the per-user rate limit. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

export interface AppDeps {
  jobService: JobService;
  authenticator: Authenticator;
  logger: Logger;
  rateLimitPerMinute: number;
  /** The per-user budget when it is shared with other processes; a RateLimiter of rateLimitPerMinute otherwise. */
  rateLimiter?: RequestBudget;
  /** The window the per-minute budget applies to (default a minute). */
  rateLimitWindowMs?: number;
  /** Base URL for absolute links; from the request's Host when absent. */
  publicUrl?: string;
  /** Liveness/readiness probe of the backing stores. */
  healthCheck?: () => Promise<void>;
  /** FeatureDB queries (OGC API Features style) on reality data. */
  featureService?: FeatureService;
  /** Extra plugins (reality management, blob endpoint, web UI) registered after the core. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  /** Error bodies for paths that do not speak the JSON envelope (the blob endpoint's XML). */
  errorDialects?: ErrorDialect[];
}

/** API versions by path prefix, chosen by the Accept header as the platform does. */
const API_VERSIONS: { prefix: string; version: number }[] = [
  { prefix: "/reality-conversion", version: 2 },
  { prefix: "/reality-management", version: 1 },
];

const VERSIONED_ACCEPT = /application\/vnd\.bentley\.itwin-platform\.v(\d+)\+json/i;

/** The path of a request from the bytes the HTTP parser rejected (the request line comes first). */
function pathOfRawRequest(raw: Buffer | undefined): string {
  return /^[A-Z]+ (\/\S*)/.exec(raw?.toString("latin1", 0, 4096) ?? "")?.[1] ?? "/";
}

const SOCKET_PROBLEMS: Record<string, RequestProblem> = { HPE_HEADER_OVERFLOW: "headersTooLarge", ERR_HTTP_REQUEST_TIMEOUT: "timeout" };

function writeOnSocket(socket: Socket, rendered: RenderedError): void {
  const head = [`HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status] ?? "Error"}`, `content-length: ${Buffer.byteLength(rendered.body)}`, "connection: close"];
  for (const [k, v] of Object.entries(rendered.headers)) head.push(`${k}: ${v}`);
  socket.end(`${head.join("\r\n")}\r\n\r\n${rendered.body}`);
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const dialects = deps.errorDialects ?? [];
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers["x-correlation-id"];
      return typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdLogLabel: "correlationId",
    disableRequestLogging: false,
    bodyLimit: 1024 * 1024,
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    // Problems found before routing get the envelope (or the path's dialect), never fastify's own body.
    frameworkErrors: (_error, request, reply) => {
      const rendered = renderError(dialects, "badUrl", request.url, randomUUID());
      // The reply's generic route types do not fit a reply that matched no route.
      (reply as FastifyReply).header("x-correlation-id", request.id).headers(rendered.headers).status(rendered.status).send(rendered.body);
    },
    clientErrorHandler: (error, socket) => {
      if (error.code === "ECONNRESET" || socket.destroyed || !socket.writable) return void socket.destroy();
      // Node hands the bytes it rejected as a Buffer (fastify's type describes its JSON form).
      const raw = (error as unknown as { rawPacket?: Buffer }).rawPacket;
      writeOnSocket(socket, renderError(dialects, SOCKET_PROBLEMS[error.code] ?? "badRequest", pathOfRawRequest(raw), randomUUID()));
    },
    // The platform's query strings carry `$filter` with '+' for spaces (URLSearchParams): the default parser decodes both.
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  const limiter = deps.rateLimiter ?? new RateLimiter(deps.rateLimitPerMinute, deps.rateLimitWindowMs);
  registerJsonBodyParser(app);

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-correlation-id", request.id);
    const api = API_VERSIONS.find((a) => request.url.toLowerCase().startsWith(a.prefix));
    if (!api) return;
    const accept = request.headers.accept;
    if (typeof accept === "string") {
      const m = VERSIONED_ACCEPT.exec(accept);
      if (m && Number(m[1]) !== api.version) throw errors.resourceNotFound();
    }
  });

  /** Authentication and the per-user rate limit, for every API route. */
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = await deps.authenticator.authenticate(request.headers.authorization);
    const wait = await limiter.hit(principal.userId);
    if (wait > 0) throw errors.rateLimited(wait);
    request.principal = principal;
    void reply;
  };

  app.decorate("authenticate", authenticate);

  app.setErrorHandler((error: unknown, request, reply) => {
    const apiError = toApiError(error, request);
    if (apiError.status >= 500) request.log.error({ err: error }, "request failed");
    if (apiError.headers) reply.headers(apiError.headers);
    // Messages may quote what the client sent (a filter, a value): never a token or a signature.
    reply.status(apiError.status).send(JSON.parse(redactSecrets(JSON.stringify(apiError.toBody()))));
  });

  app.setNotFoundHandler((request, reply) => {
    const e = errors.resourceNotFound();
    reply.status(404).send(e.toBody());
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "realconv: Reality Conversion API",
        version: "2",
        description:
          "Wire-compatible implementation of the iTwin Platform Reality Conversion API v2 (and the Reality Management subset jobs need).",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      security: [{ bearer: [] }],
    },
    // A copy: the route schemas it was generated from stay as fastify compiled them.
    transformObject: (document) => toOpenApi30(structuredClone("openapiObject" in document ? document.openapiObject : document.swaggerObject)),
  });
  await app.register(swaggerUi, { routePrefix: "/reality-conversion/docs" });

  app.get("/reality-conversion/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get("/health", { schema: { hide: true } }, async (_request, reply) => {
    try {
      await deps.healthCheck?.();
      return { status: "ok" };
    } catch (e) {
      reply.status(503);
      return { status: "unavailable", reason: e instanceof Error ? e.message : String(e) };
    }
  });

  await app.register(jobRoutes, { jobService: deps.jobService, authenticate, publicUrl: deps.publicUrl });
  if (deps.featureService) await app.register(featureRoutes, { service: deps.featureService, authenticate, publicUrl: deps.publicUrl });
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}

/** Maps anything thrown to the documented envelope; internals never leak. */
export function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { statusCode?: number; code?: string; message?: string; validation?: unknown[]; validationContext?: string };
  const family = familyOf(request.url);
  const message = redactSecrets(e.message ?? "Malformed request.");
  if (e.validation) {
    return errors.invalidRequest(family, [{ code: "InvalidParameter", message, target: e.validationContext }]);
  }
  if (e.statusCode === 415 || e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return errors.requestRefused(415, family, "Unsupported content type: send application/json.");
  }
  if (e.statusCode === 413) {
    return errors.invalidRequest(family, [{ code: "InvalidBody", message: "The request body is too large." }]);
  }
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    // Malformed JSON and similar client errors found by fastify itself.
    return errors.invalidRequest(family, [{ code: "InvalidBody", message }]);
  }
  return errors.internal();
}
