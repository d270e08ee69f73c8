/**
 * The tile pyramid, built depth first. Each source is sampled at its render level (the bottom level, or
 * finer for a source much finer than the bottom without overviews close to it); its layer above that
 * level is the 2 x 2 mean of its four children. At the bottom level the layers are composited in input
 * order (later over earlier); every coarser tile is the 2 x 2 mean of its four children. Each tile is
 * computed once, and only one path of the quadtree is held in memory. Source windows are read once per
 * block of tiles (the largest subtree whose windows fit the window budget), never per tile and never the
 * whole image. Empty tiles are not written. Encoding runs on sharp's threads while the next tiles are sampled.
 */
import { resolution, tileBounds, tileCount, tileRange, type MercatorBounds, type TileRange } from "@realconv/formats";
import { throwIfAborted } from "../../contract/runner.js";
import {
  composite,
  downsample,
  hasData,
  intersects,
  readSourceWindow,
  sampleTile,
  samplingFor,
  windowFor,
  type PlacedSource,
  type SourceWindow,
} from "../../raster/warp.js";
import { unionFootprint, type PyramidLevels } from "./levels.js";

export interface PyramidSink {
  /** Takes a finished tile; may hold it while it is encoded (the promise resolves once it is accepted). */
  tile(z: number, x: number, y: number, rgba: Uint8Array): Promise<void>;
}

export interface PyramidRun {
  readonly sources: readonly PlacedSource[];
  readonly levels: PyramidLevels;
  /** Bytes the decoded source windows of one block may take. */
  readonly windowBudgetBytes: number;
  readonly signal: AbortSignal;
  /** Called with the fraction of bottom-level tiles done (0..1). */
  progress(fraction: number): void;
}

export interface PyramidStats {
  /** Tiles written by level. */
  readonly written: Map<number, number>;
}

type Windows = Map<PlacedSource, SourceWindow>;

/** Longest stretch of sampling without letting timers run (the worker's lease heartbeat, cancellation). */
const YIELD_MS = 50;
type Layers = Map<PlacedSource, Uint8Array>;

export async function buildPyramid(run: PyramidRun, sink: PyramidSink): Promise<PyramidStats> {
  const { sources, levels, signal } = run;
  const union = unionFootprint(sources);
  const written = new Map<number, number>();
  const bottomRange = tileRange(union, levels.bottom);
  if (!bottomRange) return { written };
  const total = tileCount(bottomRange);
  let done = 0;
  const advance = (n: number) => {
    done += n;
    run.progress(Math.min(1, done / total));
  };
  let lastYield = Date.now();
  const breathe = async () => {
    if (Date.now() - lastYield < YIELD_MS) return;
    await new Promise((r) => setImmediate(r));
    lastYield = Date.now();
    throwIfAborted(signal);
  };
  const renderOf = new Map(sources.map((s, i) => [s, levels.render[i]]));
  const sampling = new Map(sources.map((s) => [s, samplingFor(s, resolution(renderOf.get(s)!))]));

  /** Bottom-level tiles under (z, x, y) inside the bottom range. */
  const bottomTilesUnder = (z: number, x: number, y: number): number => {
    const d = levels.bottom - z;
    const r: TileRange = { z: levels.bottom, minX: x << d, minY: y << d, maxX: ((x + 1) << d) - 1, maxY: ((y + 1) << d) - 1 };
    const w = Math.min(r.maxX, bottomRange.maxX) - Math.max(r.minX, bottomRange.minX) + 1;
    const h = Math.min(r.maxY, bottomRange.maxY) - Math.max(r.minY, bottomRange.minY) + 1;
    return w > 0 && h > 0 ? w * h : 0;
  };

  /** Reads the windows `bounds` needs of the sources not read yet, unless they exceed the budget (or `force`). */
  const prefetch = async (bounds: MercatorBounds, active: readonly PlacedSource[], held: Windows | undefined, force: boolean): Promise<Windows | undefined> => {
    const missing = active.filter((s) => !held?.has(s));
    if (missing.length === 0) return held;
    const plans: { s: PlacedSource; win: [number, number, number, number] }[] = [];
    let bytes = 0;
    for (const s of missing) {
      const win = windowFor(s, bounds, sampling.get(s)!);
      if (!win) continue;
      plans.push({ s, win });
      // RGBA plus the decoded samples (up to 8 bytes a sample for 4 samples) while converting.
      bytes += (win[2] - win[0]) * (win[3] - win[1]) * 12;
    }
    if (!force && bytes > run.windowBudgetBytes) return held;
    const out: Windows = new Map(held);
    for (const { s, win } of plans) out.set(s, await readSourceWindow(s, sampling.get(s)!, win, signal));
    return out;
  };

  /** The layers of `active` sources at (z, x, y), z >= bottom. */
  const layers = async (z: number, x: number, y: number, active: readonly PlacedSource[], windows: Windows | undefined): Promise<Layers> => {
    throwIfAborted(signal);
    const bounds = tileBounds(z, x, y);
    const here = active.filter((s) => intersects(s.footprint, bounds));
    const out: Layers = new Map();
    if (here.length === 0) return out;
    const sampled = here.filter((s) => renderOf.get(s) === z);
    const deeper = here.filter((s) => renderOf.get(s)! > z);
    const own = await prefetch(bounds, sampled, await prefetch(bounds, deeper, windows, false), true);
    for (const s of sampled) {
      const win = own?.get(s);
      const layer = win && sampleTile(s, win, z, x, y);
      if (layer) out.set(s, layer);
      await breathe();
    }
    if (deeper.length > 0) {
      const children: Layers[] = [];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) children.push(await layers(z + 1, 2 * x + dx, 2 * y + dy, deeper, own));
      for (const s of deeper) {
        const layer = downsample(children.map((c) => c.get(s)));
        if (layer && hasData(layer)) out.set(s, layer);
      }
    }
    return out;
  };

  /** The tile (z, x, y), z <= bottom, written when it has data and is in the levels asked for. */
  const node = async (z: number, x: number, y: number, windows: Windows | undefined): Promise<Uint8Array | undefined> => {
    throwIfAborted(signal);
    const bounds = tileBounds(z, x, y);
    const active = sources.filter((s) => intersects(s.footprint, bounds));
    if (active.length === 0) {
      advance(bottomTilesUnder(z, x, y));
      return undefined;
    }
    const own = await prefetch(bounds, active, windows, false);
    let rgba: Uint8Array | undefined;
    if (z === levels.bottom) {
      const byLayer = await layers(z, x, y, active, own);
      // Input order: later sources over earlier ones.
      for (const s of active) {
        const layer = byLayer.get(s);
        if (!layer) continue;
        if (rgba) composite(rgba, layer);
        else rgba = layer;
      }
      advance(1);
    } else {
      const children: (Uint8Array | undefined)[] = [];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) children.push(await node(z + 1, 2 * x + dx, 2 * y + dy, own));
      rgba = downsample(children);
      await breathe();
    }
    if (rgba && !hasData(rgba)) rgba = undefined;
    if (rgba && z >= levels.top) {
      await sink.tile(z, x, y, rgba);
      written.set(z, (written.get(z) ?? 0) + 1);
    }
    return z > levels.top ? rgba : undefined;
  };

  const topRange = tileRange(union, levels.top)!;
  for (let y = topRange.minY; y <= topRange.maxY; y++) {
    for (let x = topRange.minX; x <= topRange.maxX; x++) await node(levels.top, x, y, undefined);
  }
  return { written };
}
