/**
 * VectorOptimization: every layer of every input file (GeoJSON, shapefile, KML/KMZ, GeoPackage,
 * FlatGeobuf; ../../vector/sources.ts) consolidated into one feature class, reprojected to `outputCrs`
 * (default EPSG:4326, longitude/latitude). Each feature keeps its properties and gets a `layer` property
 * naming its source layer (unless it has one already).
 * - GeoJSON: one FeatureCollection, `features.geojson`, named after `featureClassDisplayName`; streamed.
 * - FeatureDB: a spatially indexed store (../../vector/featuredb.ts) that the service queries in the style
 *   of OGC API Features.
 * Features are read, reprojected and written in batches: memory holds one batch (FeatureDB adds about
 * 50 bytes per feature for its index and order, and one slice of sorted features; ../../vector/featuredb.ts).
 */
import { collectionStart, COLLECTION_END, featuresText, type VectorFeature } from "@realconv/formats";
import type { RunnerOptions } from "../../contract/declaration.js";
import { ConversionError, throwIfAborted, type JobMessage, type Runner, type RunnerContext } from "../../contract/runner.js";
import { optionCrs, parseJobCrs, sourceCrs, transformBetween, wgs84Extent } from "../../pointcloud/crs.js";
import { FeatureStoreBuilder, MANIFEST, STORE_FILE } from "../../vector/featuredb.js";
import { checkDegrees, positionsOf, reproject } from "../../vector/reproject.js";
import { openVectorSources, type VectorSource } from "../../vector/sources.js";
import type { vectorOptimization } from "./declaration.js";

type Options = RunnerOptions<typeof vectorOptimization>;

export const GEOJSON_FILE = "features.geojson";
const DEFAULT_CRS = "EPSG:4326";
/** The property that names a feature's source layer. */
export const LAYER_PROPERTY = "layer";

/** Collection id from the display name: lower-case letters, digits and dashes ("features" when none). */
export function collectionId(displayName: string | undefined): string {
  const id = (displayName ?? "").toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return id || "features";
}

class Bounds {
  readonly b = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  add(features: readonly VectorFeature[]): void {
    for (const p of positionsOf(features)) {
      if (p[0] < this.b[0]) this.b[0] = p[0];
      if (p[1] < this.b[1]) this.b[1] = p[1];
      if (p[0] > this.b[3]) this.b[3] = p[0];
      if (p[1] > this.b[4]) this.b[4] = p[1];
    }
    this.b[2] = 0;
    this.b[5] = 0;
  }
}

/**
 * The features of every source, reprojected to `outputCrs` and given their layer property, in batches;
 * `onBatch` gets each source's share of its bytes read for progress.
 */
async function* consolidated(
  ctx: RunnerContext<Options>,
  sources: readonly VectorSource[],
  outputCrs: string,
  onProgress: (fraction: number) => void,
): AsyncIterable<{ features: VectorFeature[]; layer: string }> {
  const warn = (m: JobMessage) => ctx.warn(m);
  const total = sources.reduce((n, s) => n + Math.max(1, s.reader.size), 0);
  let before = 0;
  for (const { reader, label } of sources) {
    const warned = new Set<string>();
    const transforms = new Map<string, ReturnType<typeof transformBetween>>();
    for await (const batch of reader.batches(ctx.signal)) {
      throwIfAborted(ctx.signal);
      const fileCrs = batch.crs;
      const key = fileCrs ?? "";
      if (!transforms.has(key)) {
        const from = sourceCrs(fileCrs, ctx.options, label, warn);
        if (!from) {
          throw new ConversionError("InputData_Invalid", "Invalid input data", "The file %1 does not say which CRS it is in (no .prj file) and no inputCrs was given.", [label]);
        }
        const t = transformBetween(from, outputCrs, label, warn);
        if (parseJobCrs(from, label).horizontal?.kind === "geographic") checkDegrees(positionsOf(batch.features), label, from);
        transforms.set(key, t);
      }
      const t = transforms.get(key);
      if (t) reproject(positionsOf(batch.features), t, label);
      for (const f of batch.features) {
        if (f.properties[LAYER_PROPERTY] === undefined) f.properties[LAYER_PROPERTY] = batch.layer;
        else if (!warned.has(batch.layer)) {
          warned.add(batch.layer);
          ctx.warn({
            code: "InputData_Warning",
            title: "Input data warning",
            message: "Features of the layer %1 of %2 have a property named %3 already; it was kept, so their source layer is not recorded.",
            params: [batch.layer, label, LAYER_PROPERTY],
          });
        }
      }
      onProgress((before + Math.min(batch.bytesRead, reader.size)) / total);
      yield { features: batch.features, layer: batch.layer };
    }
    for (const w of reader.warnings) ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "%1", params: [w] });
    before += Math.max(1, reader.size);
  }
}

function monotone(report: (pct: number) => void): (pct: number) => void {
  let last = -1;
  return (pct) => {
    const p = Math.min(99, Math.floor(pct));
    if (p > last) {
      last = p;
      report(p);
    }
  };
}

export const runVectorOptimization: Runner<Options> = async (ctx) => {
  const outputCrs = optionCrs(ctx.options, "outputCrs") ?? DEFAULT_CRS;
  const out = parseJobCrs(outputCrs, "outputCrs");
  if (!out.horizontal || out.horizontal.kind === "geocentric") {
    throw new ConversionError("UnsupportedCrs", "Unsupported CRS", "outputCrs %1 is not a geographic or projected CRS; vector data needs one.", [outputCrs]);
  }
  const epsg = out.horizontal.epsg;
  const title = ctx.options.featureClassDisplayName;
  const progress = monotone((p) => ctx.progress(p));
  const bounds = new Bounds();
  const opened = await openVectorSources(ctx.inputs.vectors ?? [], ctx.resources.scratch, ctx.signal, (m) => ctx.warn(m));
  try {
    if (ctx.options.outputFormat === "GeoJSON") {
      const text = new TextEncoder();
      async function* body(): AsyncIterable<Uint8Array> {
        yield text.encode(collectionStart({ name: title ?? "features", epsg: epsg ?? (outputCrs === DEFAULT_CRS ? 4326 : undefined) }));
        let first = true;
        for await (const { features } of consolidated(ctx, opened.sources, outputCrs, (f) => progress(99 * f))) {
          if (features.length === 0) continue;
          bounds.add(features);
          yield text.encode(featuresText(features, first));
          first = false;
        }
        yield text.encode(COLLECTION_END);
      }
      await ctx.output.write(GEOJSON_FILE, body(), ctx.signal);
      ctx.output.setRootDocument(GEOJSON_FILE);
    } else {
      const store = await FeatureStoreBuilder.create(ctx.resources.scratch.dir, ctx.resources.memoryBudgetBytes, ctx.signal);
      try {
        for await (const { features, layer } of consolidated(ctx, opened.sources, outputCrs, (f) => progress(60 * f))) store.add(features, layer);
        const b = store.bounds;
        if (b) bounds.b.splice(0, 6, b[0], b[1], 0, b[2], b[3], 0);
        throwIfAborted(ctx.signal);
        const { manifest, file } = await store.finish(
          { id: collectionId(title), title: title ?? "Features", crs: outputCrs, epsg, wkt: epsg === undefined ? out.wkt : undefined },
          (f) => progress(60 + 38 * f),
        );
        await ctx.output.write(STORE_FILE, file, ctx.signal);
        await ctx.output.write(MANIFEST, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`), ctx.signal);
        ctx.output.setRootDocument(MANIFEST);
      } finally {
        await store.dispose();
      }
    }
  } finally {
    opened.close();
  }
  throwIfAborted(ctx.signal);
  ctx.output.setCrs(outputCrs);
  const extent = wgs84Extent(bounds.b, outputCrs);
  if (extent) ctx.output.setExtent(extent);
  ctx.progress(100);
};
