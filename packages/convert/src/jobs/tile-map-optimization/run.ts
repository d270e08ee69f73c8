/**
 * TileMapOptimization to XYZTileMap: georeferenced rasters (../../raster/sources.ts) mosaicked, in input
 * order with later inputs over earlier ones, into one Web Mercator XYZ pyramid `{z}/{x}/{y}.jpg|png`
 * (./pyramid.ts) with a TileJSON 3.0 `tilemap.json` as root document.
 *
 * Memory: source windows per block of tiles within a quarter of the memory budget (at most 48 MB), one quadtree path of
 * tiles, and a bounded number of tiles being encoded. CPU: sampling on this thread, encoding on sharp's.
 */
import { tileJson, metersToLonLat, type MercatorBounds } from "@realconv/formats";
import type { RunnerOptions } from "../../contract/declaration.js";
import { ConversionError, throwIfAborted, type Runner, type RunnerContext } from "../../contract/runner.js";
import { crsKey, optionCrs } from "../../pointcloud/crs.js";
import { openRasterSources } from "../../raster/sources.js";
import { placeSource, type PlacedSource } from "../../raster/warp.js";
import { TILE_EXTENSION, encodeTile, type TileEncoding } from "../../raster/encode.js";
import { buildPyramid } from "./pyramid.js";
import { pyramidLevels, unionFootprint } from "./levels.js";
import type { tileMapOptimization } from "./declaration.js";

type Options = RunnerOptions<typeof tileMapOptimization>;

const WEB_MERCATOR = "EPSG:3857";
/** Tiles being encoded or written at once (sharp runs them on the libuv pool). */
const IN_FLIGHT = 8;
/**
 * Largest block of source windows read at once: a window is decoded in one synchronous stretch, which must
 * stay short for the worker's lease heartbeat; larger budgets only make more, not larger, blocks useful.
 */
const MAX_WINDOW_BYTES = 48 << 20;

export const runTileMapOptimization: Runner<Options> = async (ctx: RunnerContext<Options>) => {
  const o = ctx.options;
  const outputCrs = optionCrs(o, "outputCrs");
  if (outputCrs && crsKey(outputCrs) !== WEB_MERCATOR) {
    throw new ConversionError("UnsupportedCrs", "Unsupported CRS", "XYZ tile maps are in %1 (Web Mercator); outputCrs %2 cannot be used.", [WEB_MERCATOR, outputCrs]);
  }
  const datasets = ctx.inputs.tileMaps ?? [];
  const rasters = await openRasterSources(datasets, { options: o, scratch: ctx.resources.scratch, signal: ctx.signal, warn: (m) => ctx.warn(m) });
  const sources: PlacedSource[] = rasters.map((r) => {
    try {
      return placeSource(r);
    } catch (e) {
      if (e instanceof ConversionError) throw e;
      throw new ConversionError("InputData_Invalid", "Invalid input data", "%1 cannot be placed in Web Mercator: %2", [r.label, e instanceof Error ? e.message : String(e)]);
    }
  });
  ctx.progress(2);
  const levels = pyramidLevels(sources, o.topLevel, o.bottomLevel);
  const encoding: TileEncoding = { format: o.imageFormat, jpgQuality: o.jpgQuality, background: o.backgroundColor };
  const ext = TILE_EXTENSION[o.imageFormat];

  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const tile = async (z: number, x: number, y: number, rgba: Uint8Array) => {
    if (failure) throw failure;
    const p: Promise<void> = encodeTile(rgba, encoding)
      .then((bytes) => ctx.output.write(`${z}/${x}/${y}.${ext}`, bytes, ctx.signal))
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
    while (pending.size >= IN_FLIGHT) await Promise.race(pending);
  };
  let last = 2;
  const stats = await buildPyramid(
    {
      sources,
      levels,
      windowBudgetBytes: Math.min(MAX_WINDOW_BYTES, Math.max(16 << 20, Math.floor(ctx.resources.memoryBudgetBytes / 4))),
      signal: ctx.signal,
      progress: (f) => {
        const pct = Math.floor(2 + f * 96);
        if (pct > last) ctx.progress((last = pct));
      },
    },
    { tile },
  ).finally(() => Promise.all(pending));
  await Promise.all(pending);
  if (failure) throw failure;
  throwIfAborted(ctx.signal);
  const tiles = [...stats.written.values()].reduce((a, b) => a + b, 0);
  if (tiles === 0) throw new ConversionError("InputData_Invalid", "Invalid input data", "The inputs have no valid pixel between levels %1 and %2.", [String(levels.top), String(levels.bottom)]);

  const bounds = lonLatBounds(unionFootprint(sources));
  const names = rasters.map((r) => r.label.slice(r.label.lastIndexOf("/") + 1));
  const doc = tileJson({
    name: names.length === 1 ? names[0] : `${names[0]} and ${names.length - 1} more`,
    description: `${tiles} tiles from ${names.join(", ").slice(0, 500)}`,
    tiles: `{z}/{x}/{y}.${ext}`,
    minzoom: levels.top,
    maxzoom: levels.bottom,
    bounds,
  });
  await ctx.output.write("tilemap.json", new TextEncoder().encode(JSON.stringify(doc, null, 2)), ctx.signal);
  ctx.output.setRootDocument("tilemap.json");
  ctx.output.setCrs(WEB_MERCATOR);
  ctx.output.setExtent({ southWest: { latitude: bounds[1], longitude: bounds[0] }, northEast: { latitude: bounds[3], longitude: bounds[2] } });
  ctx.progress(100);
};

function lonLatBounds(b: MercatorBounds): [number, number, number, number] {
  const [w, s] = metersToLonLat(b[0], b[1]);
  const [e, n] = metersToLonLat(b[2], b[3]);
  return [Math.max(-180, w), Math.max(-90, s), Math.min(180, e), Math.min(90, n)];
}
