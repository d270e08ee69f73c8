/**
 * Test support: measures a sampled cloud against its mesh. Surface area from the triangles; coverage from
 * probe points spread over the surface at random (area-weighted, seeded) and their distance to the nearest
 * sampled point (a hash grid), which bounds the widest gap.
 */
// Test support only (mesh tests): the fixtures' generator, independent of the sampler's own sequence.
import { mulberry32 as seeded } from "@realconv/formats/testing/prng";
import type { MeshReader } from "./formats.js";


export interface MeshTriangles {
  positions: Float64Array;
  count: number;
  area: number;
}

/** Every triangle of a mesh, in one array (test meshes are small). */
export async function meshTriangles(reader: MeshReader): Promise<MeshTriangles> {
  const parts: Float64Array[] = [];
  let count = 0;
  for await (const b of reader.batches()) {
    parts.push(b.positions.slice());
    count += b.count;
  }
  const positions = new Float64Array(count * 9);
  let at = 0;
  for (const p of parts) {
    positions.set(p, at);
    at += p.length;
  }
  let area = 0;
  for (let t = 0; t < count; t++) area += triangleArea(positions, t);
  return { positions, count, area };
}

export function triangleArea(p: Float64Array, t: number): number {
  const k = t * 9;
  const e1x = p[k + 3] - p[k], e1y = p[k + 4] - p[k + 1], e1z = p[k + 5] - p[k + 2];
  const e2x = p[k + 6] - p[k], e2y = p[k + 7] - p[k + 1], e2z = p[k + 8] - p[k + 2];
  const cx = e1y * e2z - e1z * e2y, cy = e1z * e2x - e1x * e2z, cz = e1x * e2y - e1y * e2x;
  return Math.sqrt(cx * cx + cy * cy + cz * cz) / 2;
}

/** Points in a hash grid of cell `cell`, for nearest-neighbour queries within a few cells. */
export class PointGrid {
  private readonly cells = new Map<string, number[]>();
  constructor(
    private readonly xyz: Float64Array,
    private readonly cell: number,
  ) {
    for (let i = 0; i < xyz.length / 3; i++) {
      const key = this.key(xyz[i * 3], xyz[i * 3 + 1], xyz[i * 3 + 2]);
      let list = this.cells.get(key);
      if (!list) this.cells.set(key, (list = []));
      list.push(i);
    }
  }
  private key(x: number, y: number, z: number): string {
    return `${Math.floor(x / this.cell)},${Math.floor(y / this.cell)},${Math.floor(z / this.cell)}`;
  }
  /** Distance to the nearest point, searched within `reach` cells (Infinity beyond). */
  nearest(x: number, y: number, z: number, reach = 2, skip = -1): number {
    const cx = Math.floor(x / this.cell), cy = Math.floor(y / this.cell), cz = Math.floor(z / this.cell);
    let best = Infinity;
    for (let a = -reach; a <= reach; a++) for (let b = -reach; b <= reach; b++) for (let c = -reach; c <= reach; c++) {
      const list = this.cells.get(`${cx + a},${cy + b},${cz + c}`);
      if (!list) continue;
      for (const i of list) {
        if (i === skip) continue;
        const dx = this.xyz[i * 3] - x, dy = this.xyz[i * 3 + 1] - y, dz = this.xyz[i * 3 + 2] - z;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 < best) best = d2;
      }
    }
    return Math.sqrt(best);
  }
}

/**
 * The largest distance from `probes` random surface points to the nearest sampled point: a gap of width w
 * leaves a surface point w/2 from every sample, so "no gap over 2d" is "every probe within d".
 */
export function widestGap(mesh: MeshTriangles, xyz: Float64Array, d: number, probes: number, seed = 7): { maxDistance: number; quantile99: number; probes: number } {
  const grid = new PointGrid(xyz, d);
  const border = boundaryPoints(mesh, d / 4);
  const borderGrid = border.length > 0 ? new PointGrid(border, d) : undefined;
  const cumulative = new Float64Array(mesh.count);
  let total = 0;
  for (let t = 0; t < mesh.count; t++) cumulative[t] = total += triangleArea(mesh.positions, t);
  const rnd = seeded(seed);
  const distances: number[] = [];
  for (let k = 0; k < probes; k++) {
    const target = rnd() * total;
    let lo = 0, hi = mesh.count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    const r1 = Math.sqrt(rnd()), r2 = rnd();
    const p = mesh.positions, o = lo * 9;
    const a = 1 - r1, b = r1 * (1 - r2), c = r1 * r2;
    const x = a * p[o] + b * p[o + 3] + c * p[o + 6];
    const y = a * p[o + 1] + b * p[o + 4] + c * p[o + 7];
    const z = a * p[o + 2] + b * p[o + 5] + c * p[o + 8];
    // Within d of an open border the nearest sample may lie a spacing inside: not a gap.
    if (borderGrid && borderGrid.nearest(x, y, z, 1) < d) continue;
    distances.push(grid.nearest(x, y, z, 3));
  }
  distances.sort((u, v) => u - v);
  return { maxDistance: distances[distances.length - 1] ?? 0, quantile99: distances[Math.floor(distances.length * 0.99)] ?? 0, probes: distances.length };
}

/** Points every `step` along the mesh's open borders (edges of one triangle only, matched by coordinates). */
export function boundaryPoints(mesh: MeshTriangles, step: number): Float64Array {
  const p = mesh.positions;
  const key = (v: number) => `${p[v]},${p[v + 1]},${p[v + 2]}`;
  const edges = new Map<string, { a: number; b: number; n: number }>();
  for (let t = 0; t < mesh.count; t++) {
    for (let e = 0; e < 3; e++) {
      const a = t * 9 + e * 3;
      const b = t * 9 + ((e + 1) % 3) * 3;
      const ka = key(a), kb = key(b);
      const k = ka < kb ? `${ka}|${kb}` : `${kb}|${ka}`;
      const hit = edges.get(k);
      if (hit) hit.n++;
      else edges.set(k, { a, b, n: 1 });
    }
  }
  const out: number[] = [];
  for (const { a, b, n } of edges.values()) {
    if (n !== 1) continue;
    const len = Math.hypot(p[b] - p[a], p[b + 1] - p[a + 1], p[b + 2] - p[a + 2]);
    const steps = Math.max(1, Math.ceil(len / step));
    for (let s = 0; s <= steps; s++) {
      const f = s / steps;
      out.push(p[a] + f * (p[b] - p[a]), p[a + 1] + f * (p[b + 1] - p[a + 1]), p[a + 2] + f * (p[b + 2] - p[a + 2]));
    }
  }
  return Float64Array.from(out);
}
