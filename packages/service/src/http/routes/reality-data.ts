/**
 * /reality-management/reality-data: the Reality Management operations jobs need (all 11).
 * Paths match case-insensitively (clients send `iTwins`, `readAccess`, `writeAccess`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ContainerAccess } from "../../ports/blob-store.js";
import type { RealityData } from "../../ports/reality-data.js";
import type { RealityDataService } from "../../services/reality-data-service.js";
import { baseUrl } from "../base-url.js";

export interface RealityDataRoutesOptions {
  service: RealityDataService;
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Container URLs for a request (the embedded endpoint needs the public base URL). */
  containerAccess: (base: string) => ContainerAccess;
  publicUrl?: string;
  /**
   * Recount the container's size when details are read: for containers clients write to directly
   * (Azure), where realconv does not see the uploads.
   */
  refreshSizeOnRead?: boolean;
}

const BASE = "/reality-management/reality-data";

/** The documented representation, in the documented order; internal fields left out. */
export function representation(rd: RealityData): Record<string, unknown> {
  const out: Record<string, unknown> = { id: rd.id, displayName: rd.displayName };
  for (const k of ["dataset", "group", "description", "attribution", "termsOfUse", "rootDocument"] as const) if (rd[k] !== undefined) out[k] = rd[k];
  out.size = rd.size;
  out.classification = rd.classification;
  out.type = rd.type;
  for (const k of ["tags", "acquisition", "extent", "crs"] as const) if (rd[k] !== undefined) out[k] = rd[k];
  out.authoring = rd.authoring;
  out.dataCenterLocation = rd.dataCenterLocation;
  out.modifiedDateTime = rd.modifiedDateTime;
  out.lastAccessedDateTime = rd.lastAccessedDateTime;
  out.createdDateTime = rd.createdDateTime;
  out.ownerId = rd.ownerId;
  return out;
}

type Q = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const many = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

export async function realityDataRoutes(app: FastifyInstance, o: RealityDataRoutesOptions): Promise<void> {
  const { service, authenticate } = o;
  const schema = (summary: string) => ({ tags: ["Reality data"], summary });
  const opts = (summary: string) => ({ preHandler: authenticate, schema: schema(summary) });

  app.get<{ Querystring: Q }>(BASE, opts("Get reality data"), async (request) => {
    const q = request.query;
    const result = await service.list(request.principal!, {
      iTwinId: one(q.iTwinId),
      top: one(q["$top"]),
      // Clients send `continuationToken=` on a first page: an empty token is no token.
      continuationToken: one(q.continuationToken) || undefined,
      orderBy: one(q["$orderBy"]),
      search: one(q["$search"]),
      types: many(q.types),
      extent: one(q.extent),
      ownerId: one(q.ownerId),
      tag: one(q.tag),
      createdDateTime: one(q.createdDateTime),
      modifiedDateTime: one(q.modifiedDateTime),
      lastAccessedDateTime: one(q.lastAccessedDateTime),
      acquisitionDateTime: one(q.acquisitionDateTime),
      dataCenter: one(q.dataCenter),
    });
    const full = /return=representation/i.test(String(request.headers.prefer ?? ""));
    const body: Record<string, unknown> = {
      realityData: result.items.map((rd) => (full ? representation(rd) : { id: rd.id, displayName: rd.displayName, type: rd.type })),
    };
    if (result.continuationToken) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) {
        if (k === "continuationToken" || v === undefined) continue;
        for (const x of Array.isArray(v) ? v : [v]) params.append(k, x);
      }
      params.set("continuationToken", result.continuationToken);
      body._links = { next: { href: `${baseUrl(request, o.publicUrl)}${BASE}?${params.toString().replace(/%24/g, "$")}` } };
    }
    return body;
  });

  app.post(BASE, opts("Create reality data"), async (request, reply) => {
    const rd = await service.create(request.principal!, request.body);
    reply.status(201);
    return { realityData: representation(rd) };
  });

  app.get<{ Params: { id: string }; Querystring: Q }>(`${BASE}/:id`, opts("Get reality data details"), async (request) => {
    let rd = await service.get(request.principal!, request.params.id, one(request.query.iTwinId));
    if (o.refreshSizeOnRead) rd = (await service.refreshSize(rd.id)) ?? rd;
    return { realityData: representation(rd) };
  });

  app.patch<{ Params: { id: string } }>(`${BASE}/:id`, opts("Update reality data"), async (request) => {
    const rd = await service.update(request.principal!, request.params.id, request.body);
    return { realityData: representation(rd) };
  });

  app.delete<{ Params: { id: string } }>(`${BASE}/:id`, opts("Delete reality data"), async (request, reply) => {
    await service.delete(request.principal!, request.params.id);
    reply.status(204).send();
  });

  app.post<{ Params: { id: string; iTwinId: string } }>(`${BASE}/:id/itwins/:iTwinId`, opts("Associate reality data to an iTwin"), async (request) => {
    const association = await service.associate(request.principal!, request.params.id, request.params.iTwinId);
    return { iTwinAssociation: association };
  });

  app.delete<{ Params: { id: string; iTwinId: string } }>(`${BASE}/:id/itwins/:iTwinId`, opts("Dissociate reality data from an iTwin"), async (request, reply) => {
    await service.dissociate(request.principal!, request.params.id, request.params.iTwinId);
    reply.status(204).send();
  });

  app.get<{ Params: { id: string } }>(`${BASE}/:id/itwins`, opts("Get the iTwins of a reality data"), async (request) => ({
    iTwins: await service.iTwins(request.principal!, request.params.id),
  }));

  app.patch<{ Params: { id: string } }>(`${BASE}/:id/move`, opts("Move reality data to another iTwin"), async (request, reply) => {
    await service.move(request.principal!, request.params.id, request.body);
    reply.status(204).send();
  });

  for (const access of ["Read", "Write"] as const) {
    app.get<{ Params: { id: string }; Querystring: Q }>(
      `${BASE}/:id/${access.toLowerCase()}access`,
      opts(`Get ${access.toLowerCase()} access to a reality data container`),
      async (request) => {
        const url = await service.containerUrl(
          request.principal!,
          request.params.id,
          access,
          o.containerAccess(baseUrl(request, o.publicUrl)),
          one(request.query.iTwinId),
        );
        return { type: "AzureBlobSasUrl", access, _links: { containerUrl: { href: url } } };
      },
    );
  }
}
