/**
 * The tile pyramid, built depth first: a tile of the render level is sampled from the sources, every
 * coarser tile is the 2 x 2 mean of its four children, so each tile is computed once and only one path of
 * the quadtree is held in memory. Source windows are read once per block of tiles (the largest subtree
 * whose windows fit the window budget), never per tile and never the whole image. Empty tiles are not
 * written. Encoding runs on sharp's threads while the next tiles are sampled.
 */
import { TILE_SIZE, resolution, tileBounds, tileRange, tileCount, type MercatorBounds, type TileRange } from "@realconv/formats";
import { throwIfAborted } from "../../contract/runner.js";
import {
  downsample,
  hasData,
  intersects,
  readSourceWindow,
  sampleIntoTile,
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
  /** Called with the fraction of render-level tiles done (0..1). */
  progress(fraction: number): void;
}

export interface PyramidStats {
  /** Tiles written by level. */
  readonly written: Map<number, number>;
}

type Windows = ReadonlyMap<PlacedSource, SourceWindow>;

export async function buildPyramid(run: PyramidRun, sink: PyramidSink): Promise<PyramidStats> {
  const { sources, levels, signal } = run;
  const union = unionFootprint(sources);
  const renderRange = tileRange(union, levels.render);
  const written = new Map<number, number>();
  if (!renderRange) return { written };
  const total = tileCount(renderRange);
  let done = 0;
  const advance = (n: number) => {
    done += n;
    run.progress(Math.min(1, done / total));
  };
  const sampling = new Map(sources.map((s) => [s, samplingFor(s, resolution(levels.render))]));

  /** Render-level tiles under (z, x, y) inside the render range. */
  const renderTilesUnder = (z: number, x: number, y: number): number => {
    const d = levels.render - z;
    const r: TileRange = { z: levels.render, minX: x << d, minY: y << d, maxX: ((x + 1) << d) - 1, maxY: ((y + 1) << d) - 1 };
    const w = Math.min(r.maxX, renderRange.maxX) - Math.max(r.minX, renderRange.minX) + 1;
    const h = Math.min(r.maxY, renderRange.maxY) - Math.max(r.minY, renderRange.minY) + 1;
    return w > 0 && h > 0 ? w * h : 0;
  };

  /** Reads the windows of the sources under `bounds`, or returns undefined when they exceed the budget. */
  const prefetch = async (bounds: MercatorBounds, active: readonly PlacedSource[], force: boolean): Promise<Windows | undefined> => {
    const plans: { s: PlacedSource; win: [number, number, number, number] }[] = [];
    let bytes = 0;
    for (const s of active) {
      const level = sampling.get(s)!;
      const win = windowFor(s, bounds, level);
      if (!win) continue;
      plans.push({ s, win });
      // RGBA plus the decoded samples (up to 8 bytes a sample for 4 samples) while converting.
      bytes += (win[2] - win[0]) * (win[3] - win[1]) * 12;
    }
    if (!force && bytes > run.windowBudgetBytes) return undefined;
    const out = new Map<PlacedSource, SourceWindow>();
    for (const { s, win } of plans) {
      out.set(s, await readSourceWindow(s, sampling.get(s)!, win, signal));
    }
    return out;
  };

  const node = async (z: number, x: number, y: number, windows: Windows | undefined): Promise<Uint8Array | undefined> => {
    throwIfAborted(signal);
    const bounds = tileBounds(z, x, y);
    const active = sources.filter((s) => intersects(s.footprint, bounds));
    if (active.length === 0) {
      advance(renderTilesUnder(z, x, y));
      return undefined;
    }
    let own = windows;
    if (!own) own = await prefetch(bounds, active, z === levels.render);
    let rgba: Uint8Array | undefined;
    if (z === levels.render) {
      const acc = new Uint8Array(TILE_SIZE * TILE_SIZE * 4);
      let any = false;
      for (const s of active) {
        const win = own!.get(s);
        if (win && sampleIntoTile(s, win, z, x, y, acc, !any)) any = true;
      }
      rgba = any && hasData(acc) ? acc : undefined;
      advance(1);
    } else {
      const children: (Uint8Array | undefined)[] = [];
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) children.push(await node(z + 1, 2 * x + dx, 2 * y + dy, own));
      rgba = downsample(children);
      if (rgba && !hasData(rgba)) rgba = undefined;
    }
    if (rgba && z <= levels.bottom && z >= levels.top) {
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
