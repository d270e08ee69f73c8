/**
 * FeatureDB queries, in the style of OGC API Features, on a reality data produced by VectorOptimization
 * to FeatureDB: `/reality-management/reality-data/{id}/collections[/{collectionId}[/items]]`. Same
 * authentication as the other reality data routes; a reality data the caller cannot read, or that is not a
 * FeatureDB store, is not found. Items are GeoJSON (`application/geo+json`) with numberMatched,
 * numberReturned and a `next` link while more match.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { CollectionManifest } from "@realconv/convert";
import type { FeatureService } from "../../services/feature-service.js";
import { baseUrl } from "../base-url.js";

export interface FeatureRoutesOptions {
  service: FeatureService;
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  publicUrl?: string;
}

const BASE = "/reality-management/reality-data/:id/collections";
const RESERVED = new Set(["bbox", "limit", "offset", "f"]);

type Q = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** OGC's URI of a CRS ("EPSG:4326" is CRS84: GeoJSON's longitude, latitude order). */
function crsUri(crs: string): string {
  const m = /^EPSG:(\d+)$/i.exec(crs);
  if (!m) return crs;
  return m[1] === "4326" ? "http://www.opengis.net/def/crs/OGC/1.3/CRS84" : `http://www.opengis.net/def/crs/EPSG/0/${m[1]}`;
}

function collectionBody(c: CollectionManifest, base: string) {
  const href = `${base}/${encodeURIComponent(c.id)}`;
  return {
    id: c.id,
    title: c.title,
    itemType: "feature",
    ...(c.bbox ? { extent: { spatial: { bbox: [c.bbox], crs: crsUri(c.crs) } } } : {}),
    crs: [crsUri(c.crs)],
    storageCrs: crsUri(c.crs),
    featureCount: c.featureCount,
    geometryTypes: c.geometryTypes,
    layers: c.layers,
    properties: c.properties,
    links: [
      { href, rel: "self", type: "application/json", title: c.title },
      { href: `${href}/items`, rel: "items", type: "application/geo+json", title: c.title },
    ],
  };
}

export async function featureRoutes(app: FastifyInstance, o: FeatureRoutesOptions): Promise<void> {
  const opts = (summary: string) => ({ preHandler: o.authenticate, schema: { tags: ["Features"], summary } });
  const base = (request: FastifyRequest, id: string) => `${baseUrl(request, o.publicUrl)}/reality-management/reality-data/${encodeURIComponent(id)}/collections`;

  app.get<{ Params: { id: string } }>(BASE, opts("Get the feature collections of a FeatureDB reality data"), async (request) => {
    const collections = await o.service.collections(request.principal!, request.params.id);
    const b = base(request, request.params.id);
    return { collections: collections.map((c) => collectionBody(c, b)), links: [{ href: b, rel: "self", type: "application/json" }] };
  });

  app.get<{ Params: { id: string; collectionId: string } }>(`${BASE}/:collectionId`, opts("Get a feature collection"), async (request) =>
    collectionBody(await o.service.collection(request.principal!, request.params.id, request.params.collectionId), base(request, request.params.id)),
  );

  app.get<{ Params: { id: string; collectionId: string }; Querystring: Q }>(`${BASE}/:collectionId/items`, opts("Get features of a collection"), async (request, reply) => {
    const q = request.query;
    const filters: Record<string, string> = {};
    for (const [k, v] of Object.entries(q)) if (!RESERVED.has(k) && one(v) !== undefined) filters[k] = one(v)!;
    const page = await o.service.items(request.principal!, request.params.id, request.params.collectionId, {
      bbox: one(q.bbox),
      limit: one(q.limit),
      offset: one(q.offset),
      filters,
    });
    const href = `${base(request, request.params.id)}/${encodeURIComponent(page.collection.id)}/items`;
    const params = (offset: number) => {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (k !== "offset" && k !== "limit" && one(v) !== undefined) p.set(k, one(v)!);
      p.set("limit", String(page.limit));
      p.set("offset", String(offset));
      return `${href}?${p.toString()}`;
    };
    const links = [{ href: params(page.offset), rel: "self", type: "application/geo+json" }];
    if (page.nextOffset !== undefined) links.push({ href: params(page.nextOffset), rel: "next", type: "application/geo+json" });
    reply.type("application/geo+json");
    return {
      type: "FeatureCollection",
      features: page.features.map((f) => ({ type: "Feature", id: f.id, properties: f.properties, geometry: f.geometry })),
      numberMatched: page.numberMatched,
      numberReturned: page.features.length,
      timeStamp: new Date().toISOString(),
      links,
    };
  });
}
