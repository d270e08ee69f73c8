/**
 * Voxel thinning for the coarser OPC levels: a level-L tile (L ≥ 1) is cut into 256³ cells, the only
 * positions its u8 geometry can hold, and every occupied cell becomes one point at the cell's centre.
 * Pure: the caller (an out-of-core tiler) gathers the points of the tile, e.g. the thinned points of its
 * eight level-(L-1) children, and calls this once per tile.
 */
import { OPC_CELLS, type OpcLayout, type OpcPoints, opcTileSize } from "./layout.js";

/** Points further than this many cells outside their tile are a caller error, not rounding. */
const OUTSIDE_TOLERANCE_CELLS = 1;
/** Points one tile may gather (the limit the thinning has always had). */
const INDEX_BITS = 2 ** 29;

/**
 * One point per occupied 256³ cell of tile (tileX, tileY, tileZ) at `level`, in cell order (x, then y,
 * then z). Colour and intensity are the weighted means of the cell's points (weights: their `weight`,
 * else 1), `weight` their sum (the number of level-0 points the cell stands for), classification that of
 * the point nearest the cell's centre (the first in input order on ties). A column is in the result when
 * it is in the sources; every source must carry the same columns.
 */
export function thinOpcTile(layout: OpcLayout, level: number, tileX: number, tileY: number, tileZ: number, sources: readonly OpcPoints[]): OpcPoints {
  if (!Number.isInteger(level) || level < 1 || level >= layout.levelCount) throw new RangeError(`OPC thinning: level ${level} is not a coarser level of this layout`);
  const first = sources[0];
  const hasRgb = first?.rgb !== undefined;
  const hasIntensity = first?.intensity !== undefined;
  const hasClass = first?.classification !== undefined;
  let n = 0;
  for (const s of sources) {
    if ((s.rgb !== undefined) !== hasRgb || (s.intensity !== undefined) !== hasIntensity || (s.classification !== undefined) !== hasClass) {
      throw new RangeError("OPC thinning: every source must carry the same columns");
    }
    n += s.count;
  }
  if (n >= INDEX_BITS) throw new RangeError(`OPC thinning: ${n} points in one tile (at most ${INDEX_BITS - 1})`);

  const size = opcTileSize(layout, level);
  const o = layout.origin;
  const x0 = o[0] + tileX * size[0];
  const y0 = o[1] + tileY * size[1];
  const z0 = o[2] + tileZ * size[2];
  const perCell = size.map((s) => OPC_CELLS / s);
  // Each point's cell key (x, then y, then z: 24 bits), then a stable sort by it (two 12-bit counting
  // passes), which groups each cell's points in input order.
  const keys = new Uint32Array(n);
  // Squared distance to the cell centre, in cells, for the classification pick.
  const centreDistance = hasClass ? new Float64Array(n) : undefined;
  let at = 0;
  for (const s of sources) {
    const xyz = s.xyz;
    for (let i = 0; i < s.count; i++, at++) {
      const fx = (xyz[3 * i] - x0) * perCell[0];
      const fy = (xyz[3 * i + 1] - y0) * perCell[1];
      const fz = (xyz[3 * i + 2] - z0) * perCell[2];
      const cx = cellOf(fx, level, tileX, tileY, tileZ);
      const cy = cellOf(fy, level, tileX, tileY, tileZ);
      const cz = cellOf(fz, level, tileX, tileY, tileZ);
      keys[at] = cx * 65536 + cy * 256 + cz;
      if (centreDistance) centreDistance[at] = (fx - cx - 0.5) ** 2 + (fy - cy - 0.5) ** 2 + (fz - cz - 0.5) ** 2;
    }
  }
  const order = sortedByKey(keys);

  // Where each input index lives: source number and index within it.
  const sourceOf = new Uint32Array(n);
  const indexIn = new Uint32Array(n);
  at = 0;
  sources.forEach((s, k) => {
    for (let i = 0; i < s.count; i++, at++) {
      sourceOf[at] = k;
      indexIn[at] = i;
    }
  });

  let cells = 0;
  for (let i = 0, prev = -1; i < n; i++) {
    const key = keys[order[i]];
    if (key !== prev) cells++;
    prev = key;
  }
  const out: OpcPoints = { count: cells, xyz: new Float64Array(3 * cells), weight: new Uint32Array(cells) };
  if (hasRgb) out.rgb = new Uint8Array(3 * cells);
  if (hasIntensity) out.intensity = new Uint16Array(cells);
  if (hasClass) out.classification = new Uint8Array(cells);
  const step = size.map((s) => s / OPC_CELLS);
  let c = -1;
  let prev = -1;
  let w = 0;
  let r = 0;
  let g = 0;
  let b = 0;
  let inten = 0;
  let best = Infinity;
  const flush = (): void => {
    if (c < 0) return;
    out.weight![c] = Math.min(w, 0xffffffff);
    if (out.rgb) {
      out.rgb[3 * c] = Math.round(r / w);
      out.rgb[3 * c + 1] = Math.round(g / w);
      out.rgb[3 * c + 2] = Math.round(b / w);
    }
    if (out.intensity) out.intensity[c] = Math.round(inten / w);
  };
  for (let i = 0; i < n; i++) {
    const p = order[i];
    const key = keys[p];
    const s = sources[sourceOf[p]];
    const j = indexIn[p];
    if (key !== prev) {
      flush();
      c++;
      prev = key;
      w = r = g = b = inten = 0;
      best = Infinity;
      const cx = Math.floor(key / 65536);
      const cy = Math.floor(key / 256) % 256;
      const cz = key % 256;
      out.xyz[3 * c] = x0 + (cx + 0.5) * step[0];
      out.xyz[3 * c + 1] = y0 + (cy + 0.5) * step[1];
      out.xyz[3 * c + 2] = z0 + (cz + 0.5) * step[2];
    }
    const pw = s.weight ? s.weight[j] : 1;
    w += pw;
    if (s.rgb) {
      r += pw * s.rgb[3 * j];
      g += pw * s.rgb[3 * j + 1];
      b += pw * s.rgb[3 * j + 2];
    }
    if (s.intensity) inten += pw * s.intensity[j];
    if (centreDistance && centreDistance[p] < best) {
      best = centreDistance[p];
      out.classification![c] = s.classification![j];
    }
  }
  flush();
  return out;
}

/** Indices 0..n-1 ordered by `keys` (24-bit), stable: two counting passes of 12 bits. */
function sortedByKey(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  const counts = new Uint32Array(4097);
  for (let i = 0; i < n; i++) counts[(keys[i] & 4095) + 1]++;
  for (let d = 1; d <= 4096; d++) counts[d] += counts[d - 1];
  const low = new Uint32Array(n);
  for (let i = 0; i < n; i++) low[counts[keys[i] & 4095]++] = i;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[(keys[i] >>> 12) + 1]++;
  for (let d = 1; d <= 4096; d++) counts[d] += counts[d - 1];
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const i = low[k];
    out[counts[keys[i] >>> 12]++] = i;
  }
  return out;
}

/** Cell index along one axis from the position in cells; a point just outside (rounding) is clamped. */
function cellOf(f: number, level: number, tx: number, ty: number, tz: number): number {
  if (!(f >= -OUTSIDE_TOLERANCE_CELLS && f < OPC_CELLS + OUTSIDE_TOLERANCE_CELLS)) {
    throw new RangeError(`OPC thinning: a point lies outside level-${level} tile (${tx}, ${ty}, ${tz})`);
  }
  const c = Math.floor(f);
  return c < 0 ? 0 : c >= OPC_CELLS ? OPC_CELLS - 1 : c;
}
