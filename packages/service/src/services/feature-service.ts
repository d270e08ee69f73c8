/**
 * Queries of FeatureDB outputs in the style of OGC API Features: collections and pages of items, filtered
 * by bbox (through the store's packed R-tree, read by ranges from the BlobStore) and by property values.
 * A reality data is visible here exactly when it is through the reality data routes; one that is not a
 * FeatureDB store is not found.
 */
import { FlatGeobufFile, FormatError, type ByteSource, type PropertyValue, type VectorFeature } from "@realconv/formats";
import { FEATUREDB_FORMAT, FEATUREDB_MANIFEST, type CollectionManifest } from "@realconv/convert";
import { ApiError, errors } from "../domain/errors.js";
import type { Principal } from "../ports/auth.js";
import type { BlobStore } from "../ports/blob-store.js";
import type { RealityDataService } from "./reality-data-service.js";

const MANIFEST = FEATUREDB_MANIFEST;
const FORMAT = FEATUREDB_FORMAT;
const MAX_MANIFEST_BYTES = 4 << 20;
export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 10_000;
/** Features decoded at a time while a property filter scans candidates. */
const SCAN_BATCH = 1000;
/** Leaves closer than this (in leaves) are read in one range. */
const LEAF_GAP = 256;

export interface ItemsQuery {
  bbox?: string;
  limit?: string;
  offset?: string;
  /** Property filters: name -> value, compared with the value's text. */
  filters: Record<string, string>;
}

export interface ItemsPage {
  features: (VectorFeature & { id: number })[];
  numberMatched: number;
  /** Offset of the next page, when there is one. */
  nextOffset?: number;
  limit: number;
  offset: number;
}

const invalid = (target: string, message: string) => errors.invalidRequest("management", [{ code: "InvalidParameter", message, target }]);
const collectionNotFound = () => new ApiError(404, "CollectionNotFound", "Requested collection is not available.");

function blobSource(blobs: BlobStore, container: string, name: string, size: number): ByteSource {
  return {
    name,
    size,
    read: (offset, length) => {
      const len = Math.max(0, Math.min(length, size - offset));
      return len === 0 ? Promise.resolve(new Uint8Array(0)) : blobs.read(container, name, { offset, length: len });
    },
  };
}

function integer(target: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw invalid(target, `${target} must be an integer from ${min} to ${max}.`);
  return Number(text);
}

function parseBbox(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const v = text.split(",").map((x) => Number(x.trim()));
  if (v.length !== 4 || v.some((x) => !Number.isFinite(x)) || v[0] > v[2] || v[1] > v[3]) {
    throw invalid("bbox", "bbox must be 'minx,miny,maxx,maxy' in the collection's CRS, with min <= max.");
  }
  return v;
}

/** A property value's text, as filters compare it. */
function valueText(v: PropertyValue | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export class FeatureService {
  constructor(private readonly deps: { realityData: RealityDataService; blobs: BlobStore }) {}

  /** The collections of a FeatureDB reality data the caller may read; 404 otherwise. */
  async collections(principal: Principal, id: string): Promise<CollectionManifest[]> {
    const rd = await this.deps.realityData.get(principal, id);
    if (rd.rootDocument !== MANIFEST) throw errors.realityDataNotFound();
    const info = await this.deps.blobs.head(rd.id, MANIFEST);
    if (!info || info.size > MAX_MANIFEST_BYTES) throw errors.realityDataNotFound();
    let manifest: { format?: unknown; collections?: unknown };
    try {
      manifest = JSON.parse(Buffer.from(await this.deps.blobs.read(rd.id, MANIFEST, { offset: 0, length: info.size })).toString("utf8"));
    } catch {
      throw errors.realityDataNotFound();
    }
    if (manifest.format !== FORMAT || !Array.isArray(manifest.collections)) throw errors.realityDataNotFound();
    return manifest.collections as CollectionManifest[];
  }

  async collection(principal: Principal, id: string, collectionId: string): Promise<CollectionManifest> {
    const c = (await this.collections(principal, id)).find((x) => x.id === collectionId);
    if (!c) throw collectionNotFound();
    return c;
  }

  async items(principal: Principal, id: string, collectionId: string, q: ItemsQuery): Promise<ItemsPage & { collection: CollectionManifest }> {
    const collection = await this.collection(principal, id, collectionId);
    const limit = integer("limit", q.limit, DEFAULT_LIMIT, 1, MAX_LIMIT);
    const offset = integer("offset", q.offset, 0, 0, Number.MAX_SAFE_INTEGER);
    const bbox = parseBbox(q.bbox);
    const known = new Set(collection.properties.map((p) => p.name));
    for (const name of Object.keys(q.filters)) {
      if (!known.has(name)) throw invalid(name, `${name} is not a property of the collection ${collection.id} (nor bbox, limit or offset).`);
    }
    const info = await this.deps.blobs.head(id.toLowerCase(), collection.file);
    if (!info) throw collectionNotFound();
    let file: FlatGeobufFile;
    try {
      file = await FlatGeobufFile.open(blobSource(this.deps.blobs, id.toLowerCase(), collection.file, info.size));
    } catch (e) {
      if (e instanceof FormatError) throw errors.internal();
      throw e;
    }
    const n = file.header.featuresCount;
    // Candidates in file order: the index's hits for a bbox, else every feature.
    const hits = bbox && file.indexed ? await file.search(bbox) : undefined;
    const candidates = hits ?? (bbox ? [] : undefined);
    const count = candidates ? candidates.length : n;
    const positionAt = (i: number) => (candidates ? candidates[i] : i);
    const filters = Object.entries(q.filters);
    const page: (VectorFeature & { id: number })[] = [];
    let matched: number;
    if (filters.length === 0) {
      matched = count;
      const positions: number[] = [];
      for (let i = offset; i < Math.min(count, offset + limit); i++) positions.push(positionAt(i));
      const features = await this.read(file, positions);
      features.forEach((f, k) => page.push({ id: positions[k], ...f }));
    } else {
      matched = 0;
      for (let start = 0; start < count; start += SCAN_BATCH) {
        const positions: number[] = [];
        for (let i = start; i < Math.min(count, start + SCAN_BATCH); i++) positions.push(positionAt(i));
        const features = await this.read(file, positions);
        features.forEach((f, k) => {
          if (!filters.every(([name, value]) => valueText(f.properties[name]) === value)) return;
          if (matched >= offset && matched < offset + limit) page.push({ id: positions[k], ...f });
          matched++;
        });
      }
    }
    return { collection, features: page, numberMatched: matched, limit, offset, nextOffset: offset + page.length < matched ? offset + page.length : undefined };
  }

  /**
   * Features at leaf positions (ascending): their offsets from the index's leaves (runs of nearby leaves
   * read at once), then the features in ranged reads.
   */
  private async read(file: FlatGeobufFile, positions: readonly number[]): Promise<VectorFeature[]> {
    const offsets: number[] = [];
    for (let i = 0; i < positions.length; ) {
      let j = i;
      while (j + 1 < positions.length && positions[j + 1] - positions[j] <= LEAF_GAP) j++;
      const run = await file.leafOffsets(positions[i], positions[j] + 1);
      for (let k = i; k <= j; k++) offsets.push(run[positions[k] - positions[i]]);
      i = j + 1;
    }
    return file.featuresAt(offsets);
  }
}
