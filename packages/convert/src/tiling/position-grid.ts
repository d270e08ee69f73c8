/**
 * A mapping of positions interpolated on a grid, as plain data so the tiling threads can apply it: per
 * node of an n x n grid over the box, A (the mapped position at height z0) and U (its change per unit of
 * height); a point maps to the bilinear blend of A + (z − z0) · U of its cell's four nodes.
 */
import type { PointChunk } from "@realconv/formats";

export interface PositionGrid {
  /** 6 values per node (A xyz, U xyz), nodes row by row ((n + 1)² of them). */
  values: Float64Array;
  n: number;
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  z0: number;
  /** The grid's box [minX, minY, maxX, maxY]: points outside it are not mapped. */
  box: [number, number, number, number];
}

/**
 * Maps the first `count` points in place, those inside the grid's box; the indices of the others are
 * pushed to `outside` (left as they are). Returns how many were outside.
 */
export function interpolateInside(g: PositionGrid, x: Float64Array, y: Float64Array, z: Float64Array, count: number, outside?: number[]): number {
  const { values: grid, n, x0, y0, z0, box } = g;
  const side = n + 1;
  const ix = 1 / g.dx, iy = 1 / g.dy;
  let missed = 0;
  for (let p = 0; p < count; p++) {
    const X = x[p], Y = y[p];
    if (!(X >= box[0] && X <= box[2] && Y >= box[1] && Y <= box[3])) {
      outside?.push(p);
      missed++;
      continue;
    }
    const fx = (X - x0) * ix, fy = (Y - y0) * iy;
    let i = Math.floor(fx), j = Math.floor(fy);
    if (i >= n) i = n - 1;
    if (j >= n) j = n - 1;
    const u = fx - i, v = fy - j;
    const w00 = (1 - u) * (1 - v), w10 = u * (1 - v), w01 = (1 - u) * v, w11 = u * v;
    const a = 6 * (j * side + i), b = a + 6, c = a + 6 * side, d = c + 6;
    const h = z[p] - z0;
    x[p] = w00 * (grid[a] + h * grid[a + 3]) + w10 * (grid[b] + h * grid[b + 3]) + w01 * (grid[c] + h * grid[c + 3]) + w11 * (grid[d] + h * grid[d + 3]);
    y[p] = w00 * (grid[a + 1] + h * grid[a + 4]) + w10 * (grid[b + 1] + h * grid[b + 4]) + w01 * (grid[c + 1] + h * grid[c + 4]) + w11 * (grid[d + 1] + h * grid[d + 4]);
    z[p] = w00 * (grid[a + 2] + h * grid[a + 5]) + w10 * (grid[b + 2] + h * grid[b + 5]) + w01 * (grid[c + 2] + h * grid[c + 5]) + w11 * (grid[d + 2] + h * grid[d + 5]);
  }
  return missed;
}

/**
 * The first `n` positions as doubles, one array per axis, to be mapped in place: scaled integers
 * converted; doubles given as they are, or copied when `copy` (the caller must not change the source's).
 */
export function positionsAsF64(p: PointChunk["positions"], n: number, copy = false): { x: Float64Array; y: Float64Array; z: Float64Array } {
  if (p.kind === "f64") return copy ? { x: p.x.slice(0, n), y: p.y.slice(0, n), z: p.z.slice(0, n) } : { x: p.x, y: p.y, z: p.z };
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const z = new Float64Array(n);
  const [sx, sy, sz] = p.scale;
  const [ox, oy, oz] = p.offset;
  for (let i = 0; i < n; i++) {
    x[i] = p.x[i] * sx + ox;
    y[i] = p.y[i] * sy + oy;
    z[i] = p.z[i] * sz + oz;
  }
  return { x, y, z };
}
