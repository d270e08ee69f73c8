/**
 * Resampling of source rasters into Web Mercator tiles, as gdal2tiles does it with its default `average`:
 * a tile is cut from the source warped to its native resolution in Web Mercator (GDAL's suggested warp
 * grid), each output pixel the mean (weighted by alpha) of 4 x 4 samples of that grid. Each native pixel
 * takes the nearest source pixel at the exact inverse projection of its centre (Web Mercator -> WGS 84 ->
 * source CRS with proj4 -> inverse geotransform), computed at the nodes of a grid over the tile and
 * interpolated in between; the grid is refined, down to one exact projection per native pixel, until the
 * interpolation is within 1/8 source pixel of the exact position at every cell centre.
 */
import {
  MAX_LATITUDE,
  TILE_SIZE,
  lonLatToMeters,
  planarConverter,
  resolution,
  tileBounds,
  toRgba,
  ORIGIN_SHIFT,
  type MercatorBounds,
  type CrsRef,
} from "@realconv/formats";
import { parseJobCrs } from "../pointcloud/crs.js";
import type { RasterSource } from "./sources.js";

const WGS84 = "EPSG:4326";
/** Largest position error of the interpolated grid, in source pixels (GDAL's approximate transformer: 0.125). */
const MAX_GRID_ERROR = 0.125;
const GRID_STEPS = [8, 32] as const;

/** A source placed in the Web Mercator grid. */
export interface PlacedSource {
  readonly source: RasterSource;
  /** WGS 84 degrees to source CRS, in place (NaN where it fails); undefined when the source is in WGS 84. */
  readonly fromLonLat?: (x: Float64Array, y: Float64Array, count?: number) => void;
  /** Web Mercator bounds of the data. */
  readonly footprint: MercatorBounds;
  /** Pixel size of the source warped to Web Mercator (GDAL's suggested warp output), in metres. */
  readonly pixelSize: number;
  /** Size in pixels of that warped raster. */
  readonly warpSize: [number, number];
  /** Upper-left corner of that warped raster, in metres. */
  readonly warpOrigin: [number, number];
}

const wgs84 = (): CrsRef => parseJobCrs(WGS84, "WGS 84");

/** Places a source: its footprint in Web Mercator, and its resolution there. */
export function placeSource(source: RasterSource): PlacedSource {
  const ref = parseJobCrs(source.crs, source.label);
  const toLonLat = planarConverter(ref, wgs84());
  const fromLonLat = planarConverter(wgs84(), ref);
  const { width, height } = source.raster.info;
  // 21 points along each edge of the image, as GDAL samples it to suggest a warp output.
  const steps = 20;
  const cols: number[] = [];
  const rows: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const f = i / steps;
    cols.push(f * width, f * width, 0, width);
    rows.push(0, height, f * height, f * height);
  }
  cols.push(0, width);
  rows.push(0, height);
  const n = cols.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const t = source.geoTransform;
  for (let i = 0; i < n; i++) {
    x[i] = t[0] + cols[i] * t[1] + rows[i] * t[2];
    y[i] = t[3] + cols[i] * t[4] + rows[i] * t[5];
  }
  toLonLat?.(x, y);
  let mx0 = Infinity, my0 = Infinity, mx1 = -Infinity, my1 = -Infinity;
  const mx = new Float64Array(n);
  const my = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
    const lon = Math.max(-180, Math.min(180, x[i]));
    const lat = Math.max(-MAX_LATITUDE, Math.min(MAX_LATITUDE, y[i]));
    [mx[i], my[i]] = lonLatToMeters(lon, lat);
    mx0 = Math.min(mx0, mx[i]); mx1 = Math.max(mx1, mx[i]); my0 = Math.min(my0, my[i]); my1 = Math.max(my1, my[i]);
  }
  if (!(mx0 < mx1 && my0 < my1)) throw new Error(`${source.label} does not lie in the Web Mercator grid`);
  // GDAL: the diagonal from the first to the last corner, over the diagonal in pixels.
  const a = n - 2;
  const b = n - 1;
  let dx = mx[b] - mx[a];
  let dy = my[b] - my[a];
  if (!Number.isFinite(dx) || !Number.isFinite(dy) || dx === 0 || dy === 0) {
    dx = mx1 - mx0;
    dy = my1 - my0;
  }
  const pixelSize = Math.hypot(dx, dy) / Math.hypot(width, height);
  const warpSize: [number, number] = [Math.max(1, Math.floor((mx1 - mx0) / pixelSize + 0.5)), Math.max(1, Math.floor((my1 - my0) / pixelSize + 0.5))];
  return { source, fromLonLat, footprint: [mx0, my0, mx1, my1], pixelSize, warpSize, warpOrigin: [mx0, my1] };
}

export function intersects(a: MercatorBounds, b: MercatorBounds): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/** Level of the source to sample for output pixels of `res` metres: the coarsest not coarser than them. */
export function samplingFor(p: PlacedSource, res: number): number {
  const ratio = res / p.pixelSize;
  const levels = p.source.raster.levels;
  let level = 0;
  for (let i = 1; i < levels.length; i++) if (levels[0].width / levels[i].width <= ratio * 1.0001) level = i;
  return level;
}

/** Source pixel positions (level 0) of Web Mercator points, in place; NaN where the projection fails. */
function mercatorToPixels(p: PlacedSource, x: Float64Array, y: Float64Array, count = x.length): void {
  for (let i = 0; i < count; i++) {
    x[i] = (x[i] / ORIGIN_SHIFT) * 180;
    y[i] = (Math.atan(Math.exp((y[i] / ORIGIN_SHIFT) * Math.PI)) * 360) / Math.PI - 90;
  }
  p.fromLonLat?.(x, y, count);
  const t = p.source.inverse;
  for (let i = 0; i < count; i++) {
    const sx = x[i];
    const sy = y[i];
    x[i] = t[0] + sx * t[1] + sy * t[2];
    y[i] = t[3] + sx * t[4] + sy * t[5];
  }
}

/** A decoded window of one level of a source, as RGBA. */
export interface SourceWindow {
  readonly level: number;
  /** Window origin and size in pixels of its level. */
  readonly x0: number;
  readonly y0: number;
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

/** The window [x0, y0, x1, y1) of `level` a Web Mercator area needs, or undefined when it misses the image. */
export function windowFor(p: PlacedSource, bounds: MercatorBounds, level: number): [number, number, number, number] | undefined {
  const steps = 16;
  const n = 4 * (steps + 1) + 1;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let i = 0;
  for (let s = 0; s <= steps; s++) {
    const f = s / steps;
    const bx = bounds[0] + f * (bounds[2] - bounds[0]);
    const by = bounds[1] + f * (bounds[3] - bounds[1]);
    x[i] = bx; y[i++] = bounds[1];
    x[i] = bx; y[i++] = bounds[3];
    x[i] = bounds[0]; y[i++] = by;
    x[i] = bounds[2]; y[i++] = by;
  }
  x[i] = (bounds[0] + bounds[2]) / 2;
  y[i] = (bounds[1] + bounds[3]) / 2;
  mercatorToPixels(p, x, y);
  let c0 = Infinity, r0 = Infinity, c1 = -Infinity, r1 = -Infinity;
  for (let j = 0; j < n; j++) {
    if (!Number.isFinite(x[j]) || !Number.isFinite(y[j])) continue;
    c0 = Math.min(c0, x[j]); c1 = Math.max(c1, x[j]); r0 = Math.min(r0, y[j]); r1 = Math.max(r1, y[j]);
  }
  const levels = p.source.raster.levels;
  const sx = levels[level].width / levels[0].width;
  const sy = levels[level].height / levels[0].height;
  const lw = levels[level].width;
  const lh = levels[level].height;
  // Points the projection cannot take are outside the source's domain, so outside its image too.
  if (c0 > c1) return undefined;
  const pad = 3;
  const wx0 = Math.max(0, Math.floor(c0 * sx) - pad);
  const wy0 = Math.max(0, Math.floor(r0 * sy) - pad);
  const wx1 = Math.min(lw, Math.ceil(c1 * sx) + pad);
  const wy1 = Math.min(lh, Math.ceil(r1 * sy) + pad);
  return wx0 < wx1 && wy0 < wy1 ? [wx0, wy0, wx1, wy1] : undefined;
}

/** Reads a window of a source as RGBA. */
export async function readSourceWindow(p: PlacedSource, level: number, win: [number, number, number, number], signal: AbortSignal): Promise<SourceWindow> {
  const w = await p.source.raster.readWindow(level, win, undefined, signal);
  return { level, x0: win[0], y0: win[1], width: w.width, height: w.height, rgba: toRgba(p.source.raster.info, w, p.source.scale) };
}

const N = TILE_SIZE;
/** Samples per output pixel and axis (gdal2tiles reads a 4 x tile-size query for `average`). */
const SAMPLES = 4;
const Q = N * SAMPLES;

/**
 * Samples one source into tile (z, x, y): its RGBA layer, or undefined when no pixel of the source lands there.
 * Like gdal2tiles, the tile is cut from the source warped to its native resolution in Web Mercator (the
 * grid GDAL suggests for the warp, at the resolution of the level read): the window of whole native
 * pixels the tile covers is sampled 4 x 4 times per output pixel, nearest native pixel, and averaged.
 * Each native pixel takes the nearest source pixel at the exact inverse projection of its centre.
 */
export function sampleTile(p: PlacedSource, win: SourceWindow, z: number, tx: number, ty: number): Uint8Array | undefined {
  const [minX, , , maxY] = tileBounds(z, tx, ty);
  const res = resolution(z);
  const levels = p.source.raster.levels;
  const sx = levels[win.level].width / levels[0].width;
  const sy = levels[win.level].height / levels[0].height;
  // The native grid of the level: GDAL's warp origin, its pixel size scaled to the level.
  const ps = p.pixelSize / Math.min(sx, sy);
  const [gx0, gy0] = p.warpOrigin;
  const nx0 = Math.trunc((minX - gx0) / ps + 0.001);
  const ny0 = Math.trunc((gy0 - maxY) / ps + 0.001);
  const span = Math.max(1, Math.trunc((N * res) / ps + 0.5));
  // Native column and row of each of the Q sample columns and rows, relative to the window origin.
  const sampleCol = new Int32Array(Q);
  for (let q = 0; q < Q; q++) sampleCol[q] = Math.floor(((q + 0.5) * span) / Q);
  const cells = sampleCol[Q - 1] + 1;
  // Source pixel (RGBA) of each native cell the tile uses.
  const native = nativeCells(p, win, sx, sy, minX, maxY, res, ps, nx0, ny0, cells);
  const { rgba } = win;
  const kk = SAMPLES * SAMPLES;
  // The distinct native cells of each output column/row with how many of its 4 samples fall in each.
  const { first: cellStart, count: cellCount, weight: cellWeight } = runs(sampleCol);
  const out = new Uint8Array(N * N * 4);
  let any = false;
  for (let j = 0; j < N; j++) {
    const rowOffset = j * N * 4;
    for (let i = 0; i < N; i++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let rj = 0; rj < cellCount[j]; rj++) {
        const cellRow = (cellStart[j] + rj) * cells;
        const wr = cellWeight[j * SAMPLES + rj];
        for (let ri = 0; ri < cellCount[i]; ri++) {
          const src = native[cellRow + cellStart[i] + ri];
          if (src < 0) continue;
          const al = rgba[src + 3] * wr * cellWeight[i * SAMPLES + ri];
          if (al === 0) continue;
          r += rgba[src] * al;
          g += rgba[src + 1] * al;
          b += rgba[src + 2] * al;
          a += al;
        }
      }
      if (a === 0) continue;
      any = true;
      const o = rowOffset + i * 4;
      out[o] = Math.round(r / a);
      out[o + 1] = Math.round(g / a);
      out[o + 2] = Math.round(b / a);
      out[o + 3] = Math.round(a / kk);
    }
  }
  return any ? out : undefined;
}

/** Composites `top` over `bottom` in place (straight alpha). */
export function composite(bottom: Uint8Array, top: Uint8Array): void {
  for (let o = 0; o < bottom.length; o += 4) {
    const ta = top[o + 3];
    if (ta === 0) continue;
    const ba = bottom[o + 3];
    if (ta === 255 || ba === 0) {
      bottom[o] = top[o]; bottom[o + 1] = top[o + 1]; bottom[o + 2] = top[o + 2]; bottom[o + 3] = ta;
      continue;
    }
    const fa = ta / 255;
    const da = (ba / 255) * (1 - fa);
    const oa = fa + da;
    bottom[o] = Math.round((top[o] * fa + bottom[o] * da) / oa);
    bottom[o + 1] = Math.round((top[o + 1] * fa + bottom[o + 1] * da) / oa);
    bottom[o + 2] = Math.round((top[o + 2] * fa + bottom[o + 2] * da) / oa);
    bottom[o + 3] = Math.round(oa * 255);
  }
}

/** Per output pixel: the first native cell of its samples, how many consecutive cells they span, and the samples in each. */
function runs(sampleCol: Int32Array): { first: Int32Array; count: Int32Array; weight: Int32Array } {
  const first = new Int32Array(N);
  const count = new Int32Array(N);
  const weight = new Int32Array(N * SAMPLES);
  for (let i = 0; i < N; i++) {
    const c0 = sampleCol[i * SAMPLES];
    first[i] = c0;
    for (let s = 0; s < SAMPLES; s++) {
      const k = sampleCol[i * SAMPLES + s] - c0;
      weight[i * SAMPLES + k]++;
      count[i] = Math.max(count[i], k + 1);
    }
  }
  return { first, count, weight };
}

/**
 * For each native cell (cells x cells from native pixel nx0, ny0), the offset in the window's RGBA of the
 * source pixel nearest to the inverse projection of its centre, or -1 outside the window.
 */
function nativeCells(
  p: PlacedSource,
  win: SourceWindow,
  sx: number,
  sy: number,
  minX: number,
  maxY: number,
  res: number,
  ps: number,
  nx0: number,
  ny0: number,
  cells: number,
): Int32Array {
  const [gx0, gy0] = p.warpOrigin;
  // Cell centres in output pixels of the tile (they may lie a little outside it).
  const centre = new Float64Array(cells);
  for (let c = 0; c < cells; c++) centre[c] = (gx0 + (nx0 + c + 0.5) * ps - minX) / res;
  const centreY = new Float64Array(cells);
  for (let c = 0; c < cells; c++) centreY[c] = (maxY - (gy0 - (ny0 + c + 0.5) * ps)) / res;
  const lo = Math.min(centre[0], centreY[0], 0) - 1;
  const hi = Math.max(centre[cells - 1], centreY[cells - 1], N) + 1;
  const grid = positionGrid(p, minX, maxY, res, sx, sy, lo, hi);
  const out = new Int32Array(cells * cells);
  const u = new Float64Array(cells);
  const v = new Float64Array(cells);
  const { x0, y0, width: ww, height: wh } = win;
  for (let r = 0; r < cells; r++) {
    grid.row(centreY[r], centre, u, v);
    for (let c = 0; c < cells; c++) {
      // NaN fails the comparisons and is outside.
      const col = Math.floor(u[c]) - x0;
      const row = Math.floor(v[c]) - y0;
      out[r * cells + c] = col >= 0 && col < ww && row >= 0 && row < wh ? (row * ww + col) * 4 : -1;
    }
  }
  return out;
}

interface PositionGrid {
  /** Level pixel positions of the points (xs[i], y) in tile output pixels. */
  row(y: number, xs: Float64Array, u: Float64Array, v: Float64Array): void;
}

/**
 * Level pixel positions over the square [lo, hi]^2 of tile output pixels: interpolated in a grid of exact
 * nodes when it is within MAX_GRID_ERROR at every cell centre, else exact point by point.
 */
function positionGrid(p: PlacedSource, minX: number, maxY: number, res: number, sx: number, sy: number, lo: number, hi: number): PositionGrid {
  const toLevel = (x: Float64Array, y: Float64Array) => {
    for (let i = 0; i < x.length; i++) {
      x[i] = minX + x[i] * res;
      y[i] = maxY - y[i] * res;
    }
    mercatorToPixels(p, x, y);
    for (let i = 0; i < x.length; i++) {
      x[i] *= sx;
      y[i] *= sy;
    }
  };
  const size = hi - lo;
  for (const steps of GRID_STEPS) {
    const m = steps + 1;
    const cell = size / steps;
    const u = new Float64Array(m * m);
    const v = new Float64Array(m * m);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) {
        u[r * m + c] = lo + c * cell;
        v[r * m + c] = lo + r * cell;
      }
    }
    toLevel(u, v);
    const cu = new Float64Array(steps * steps);
    const cv = new Float64Array(steps * steps);
    for (let r = 0; r < steps; r++) {
      for (let c = 0; c < steps; c++) {
        cu[r * steps + c] = lo + (c + 0.5) * cell;
        cv[r * steps + c] = lo + (r + 0.5) * cell;
      }
    }
    toLevel(cu, cv);
    let ok = true;
    for (let r = 0; r < steps && ok; r++) {
      for (let c = 0; c < steps && ok; c++) {
        const a = r * m + c;
        const iu = (u[a] + u[a + 1] + u[a + m] + u[a + m + 1]) / 4;
        const iv = (v[a] + v[a + 1] + v[a + m] + v[a + m + 1]) / 4;
        // NaN anywhere fails the test: such tiles are projected point by point.
        ok = Math.abs(iu - cu[r * steps + c]) <= MAX_GRID_ERROR && Math.abs(iv - cv[r * steps + c]) <= MAX_GRID_ERROR;
      }
    }
    if (!ok) continue;
    const uRow = new Float64Array(m);
    const vRow = new Float64Array(m);
    return {
      row(y, xs, ou, ov) {
        const gy = (y - lo) / cell;
        const ny = Math.max(0, Math.min(steps - 1, Math.floor(gy)));
        const fy = gy - ny;
        const r0 = ny * m;
        const r1 = r0 + m;
        for (let n = 0; n < m; n++) {
          uRow[n] = u[r0 + n] + (u[r1 + n] - u[r0 + n]) * fy;
          vRow[n] = v[r0 + n] + (v[r1 + n] - v[r0 + n]) * fy;
        }
        for (let i = 0; i < xs.length; i++) {
          const gx = (xs[i] - lo) / cell;
          const nx = Math.max(0, Math.min(steps - 1, Math.floor(gx)));
          const fx = gx - nx;
          ou[i] = uRow[nx] + (uRow[nx + 1] - uRow[nx]) * fx;
          ov[i] = vRow[nx] + (vRow[nx + 1] - vRow[nx]) * fx;
        }
      },
    };
  }
  return {
    row(y, xs, ou, ov) {
      ou.set(xs);
      ov.fill(y);
      toLevel(ou, ov);
    },
  };
}

/** Whether a tile holds any pixel that is not fully transparent. */
export function hasData(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 0) return true;
  return false;
}

/** A parent tile from its four children (NW, NE, SW, SE; undefined = empty): alpha-weighted 2x2 means. */
export function downsample(children: readonly (Uint8Array | undefined)[]): Uint8Array | undefined {
  if (children.every((c) => c === undefined)) return undefined;
  const out = new Uint8Array(N * N * 4);
  const half = N / 2;
  for (let q = 0; q < 4; q++) {
    const child = children[q];
    if (!child) continue;
    const ox = (q % 2) * half;
    const oy = Math.floor(q / 2) * half;
    for (let j = 0; j < half; j++) {
      for (let i = 0; i < half; i++) {
        let r = 0, g = 0, b = 0, a = 0;
        for (let d = 0; d < 4; d++) {
          const o = ((2 * j + (d >> 1)) * N + 2 * i + (d & 1)) * 4;
          const al = child[o + 3];
          r += child[o] * al;
          g += child[o + 1] * al;
          b += child[o + 2] * al;
          a += al;
        }
        if (a === 0) continue;
        const o = ((oy + j) * N + ox + i) * 4;
        out[o] = Math.round(r / a);
        out[o + 1] = Math.round(g / a);
        out[o + 2] = Math.round(b / a);
        out[o + 3] = Math.round(a / 4);
      }
    }
  }
  return out;
}
