/**
 * Surface sampling: points spread evenly over triangles at a spacing d, deterministic, without gaps or
 * doubles along shared edges.
 *
 * Method (projected lattice with ordered thinning):
 * - Each triangle is projected along the axis its normal is closest to (x, y or z). On that plane lies one
 *   lattice for the whole mesh, of spacing s = d / 3^(1/4), anchored at the mesh's bounds.
 * - The triangle is scan-converted onto the lattice with half-open rules (a row at v belongs to an edge
 *   spanning [v0, v1); a node at u to the span [uLeft, uRight)), each edge's crossing computed from its two
 *   end points in a fixed order. Two triangles sharing an edge and projected on the same plane therefore
 *   split the lattice nodes between them exactly: no node twice, none missed, whatever the tessellation.
 * - A triangle whose normal makes an angle with cosine c to its projection axis gets c / s^2 nodes per unit of
 *   its area; c >= 1/sqrt(3) for the closest axis. Each node is kept when a threshold from the R2
 *   low-discrepancy sequence, frac(i * a1 + j * a2), is below p = 1 / (sqrt(3) c) <= 1, which leaves
 *   1 / (sqrt(3) s^2) = 1 / d^2 points per unit of area on every triangle. The threshold depends only on the
 *   node, so the thinning is the same on both sides of a shared edge, and its low discrepancy keeps the
 *   kept nodes spread out (no clumps, no holes: the removed fraction is below half and never in runs).
 * - Each kept node is lifted back onto the triangle (barycentric coordinates of the node in the projected
 *   triangle); normal, texture coordinates and colours are interpolated with the same coordinates.
 * The expected count is exactly area / d^2; the points lie on the surface; the same mesh always gives the
 * same points in the same order. Lattices of different projection axes meet where the surface turns past
 * 45 degrees: there points may come closer than s, but no gap opens (each side fills up to the edge).
 */
import type { PointChunk } from "@realconv/formats";
import type { MeshMaterial, TriangleBatch } from "./formats.js";

/** A decoded texture: RGBA bytes, rows from the top. */
export interface DecodedTexture {
  width: number;
  height: number;
  rgba: Uint8Array;
  repeat: boolean;
}

export interface SamplerOptions {
  /** Point spacing in the mesh's coordinate unit. */
  spacing: number;
  /** Lattice anchor (any fixed point of the mesh, e.g. its bounds' minimum). */
  origin: readonly [number, number, number];
  materials: readonly MeshMaterial[];
  /** Points per chunk. */
  chunkPoints: number;
  /** Whether chunks carry colours (red/green/blue, 16 bit). */
  colour: boolean;
  /** Where normals go: the normal columns, the NormalX/Y/Z extra attributes (LAS extra bytes), or nowhere. */
  normals: "columns" | "extra" | "none";
  /** Positions as integers in this quantisation (what the writer stores), else as doubles. */
  quantisation?: { scale: readonly [number, number, number]; offset: readonly [number, number, number] };
}

const SQRT3 = Math.sqrt(3);
/** Lattice spacing over point spacing. */
export const LATTICE_FACTOR = 1 / Math.pow(3, 0.25);
// R2 sequence constants (1/g, 1/g^2 with g the plastic number): a low-discrepancy 2D threshold map.
const A1 = 0.7548776662466927;
const A2 = 0.5698402909980532;
/** Per projection axis, a shift of the threshold map (the three lattices are independent). */
const AXIS_SHIFT = [0, 0.381966011250105, 0.618033988749895];
/** Projection axes: the two coordinates kept when projecting along x, y or z. */
const U_AXIS = [1, 2, 0];
const V_AXIS = [2, 0, 1];

const rgb = new Float64Array(3);

/** Bilinear texture lookup at (u, v) (v up); RGB 0..255 into `out`. */
export function sampleTexture(t: DecodedTexture, u: number, v: number, out: Float64Array = rgb): Float64Array {
  const w = t.width;
  const h = t.height;
  const fx = u * w - 0.5;
  const fy = (1 - v) * h - 0.5;
  let x0 = Math.floor(fx);
  let y0 = Math.floor(fy);
  const ax = fx - x0;
  const ay = fy - y0;
  let x1 = x0 + 1;
  let y1 = y0 + 1;
  if (t.repeat) {
    x0 = ((x0 % w) + w) % w;
    x1 = ((x1 % w) + w) % w;
    y0 = ((y0 % h) + h) % h;
    y1 = ((y1 % h) + h) % h;
  } else {
    x0 = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
    x1 = x1 < 0 ? 0 : x1 >= w ? w - 1 : x1;
    y0 = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
    y1 = y1 < 0 ? 0 : y1 >= h ? h - 1 : y1;
  }
  const d = t.rgba;
  const p00 = (y0 * w + x0) * 4;
  const p10 = (y0 * w + x1) * 4;
  const p01 = (y1 * w + x0) * 4;
  const p11 = (y1 * w + x1) * 4;
  const w00 = (1 - ax) * (1 - ay);
  const w10 = ax * (1 - ay);
  const w01 = (1 - ax) * ay;
  const w11 = ax * ay;
  for (let c = 0; c < 3; c++) out[c] = d[p00 + c] * w00 + d[p10 + c] * w10 + d[p01 + c] * w01 + d[p11 + c] * w11;
  return out;
}

/** The columns of the chunk being filled. */
interface Columns {
  xf?: Float64Array;
  yf?: Float64Array;
  zf?: Float64Array;
  xi?: Int32Array;
  yi?: Int32Array;
  zi?: Int32Array;
  r?: Uint16Array;
  g?: Uint16Array;
  b?: Uint16Array;
  nx?: Float32Array | Float64Array;
  ny?: Float32Array | Float64Array;
  nz?: Float32Array | Float64Array;
}

/**
 * Samples batches of triangles into point chunks (see the method above). `count` runs the same scan without
 * making points: it gives the number the sampling of the same batches gives.
 */
export class SurfaceSampler {
  private readonly invS: number;
  private cols: Columns = {};
  private n = 0;
  /** Points sampled (or counted) so far. */
  points = 0;
  /** Surface area seen so far, in squared mesh units. */
  area = 0;
  /** Decoded textures by index (undefined when not decoded): set before sampling a batch that uses them. */
  textures: readonly (DecodedTexture | undefined)[] = [];
  constructor(private readonly o: SamplerOptions) {
    this.invS = 1 / (o.spacing * LATTICE_FACTOR);
    this.fresh();
  }

  private fresh(): void {
    const c = this.o.chunkPoints;
    const cols: Columns = {};
    if (this.o.quantisation) {
      cols.xi = new Int32Array(c);
      cols.yi = new Int32Array(c);
      cols.zi = new Int32Array(c);
    } else {
      cols.xf = new Float64Array(c);
      cols.yf = new Float64Array(c);
      cols.zf = new Float64Array(c);
    }
    if (this.o.colour) {
      cols.r = new Uint16Array(c);
      cols.g = new Uint16Array(c);
      cols.b = new Uint16Array(c);
    }
    if (this.o.normals !== "none") {
      const make = this.o.normals === "extra" ? (k: number) => new Float64Array(k) : (k: number) => new Float32Array(k);
      cols.nx = make(c);
      cols.ny = make(c);
      cols.nz = make(c);
    }
    this.cols = cols;
    this.n = 0;
  }

  private take(): PointChunk {
    const n = this.n;
    const c = this.cols;
    const q = this.o.quantisation;
    const chunk: PointChunk = {
      count: n,
      positions: q
        ? { kind: "i32", x: c.xi!.subarray(0, n), y: c.yi!.subarray(0, n), z: c.zi!.subarray(0, n), scale: q.scale, offset: q.offset }
        : { kind: "f64", x: c.xf!.subarray(0, n), y: c.yf!.subarray(0, n), z: c.zf!.subarray(0, n) },
    };
    if (c.r) {
      chunk.red = c.r.subarray(0, n);
      chunk.green = c.g!.subarray(0, n);
      chunk.blue = c.b!.subarray(0, n);
    }
    if (this.o.normals === "columns") {
      chunk.normalX = (c.nx as Float32Array).subarray(0, n);
      chunk.normalY = (c.ny as Float32Array).subarray(0, n);
      chunk.normalZ = (c.nz as Float32Array).subarray(0, n);
    } else if (this.o.normals === "extra") {
      chunk.extra = { NormalX: (c.nx as Float64Array).subarray(0, n), NormalY: (c.ny as Float64Array).subarray(0, n), NormalZ: (c.nz as Float64Array).subarray(0, n) };
    }
    this.fresh();
    return chunk;
  }

  /** Counts the points of a batch without making them. */
  count(batch: TriangleBatch): number {
    const before = this.points;
    this.scan(batch, true, undefined);
    return this.points - before;
  }

  /** Samples a batch; full chunks are handed to `emit` as they fill. */
  sample(batch: TriangleBatch, emit: (chunk: PointChunk) => void): void {
    this.scan(batch, false, emit);
  }

  /** The last, partly filled chunk (undefined when empty). */
  flush(): PointChunk | undefined {
    return this.n > 0 ? this.take() : undefined;
  }

  /** Scan-converts every triangle of the batch onto the lattice; kept nodes are counted, or made into points. */
  private scan(batch: TriangleBatch, counting: boolean, emit: ((chunk: PointChunk) => void) | undefined): void {
    const o = this.o;
    const pos = batch.positions;
    const uvs = batch.uvs;
    const vcol = batch.colours;
    const vn = batch.normals;
    const mats = batch.materials;
    const wantColour = o.colour;
    const wantNormals = o.normals !== "none";
    const textures = this.textures;
    const inv = this.invS;
    const origin = this.o.origin;
    const q = o.quantisation;
    const sx = q ? q.scale[0] : 1, sy = q ? q.scale[1] : 1, sz = q ? q.scale[2] : 1;
    const ox = q ? q.offset[0] : 0, oy = q ? q.offset[1] : 0, oz = q ? q.offset[2] : 0;
    const isx = 1 / sx, isy = 1 / sy, isz = 1 / sz;
    const cap = o.chunkPoints;
    let cols = this.cols;
    let n = this.n;
    let area = 0;
    let points = 0;
    for (let t = 0; t < batch.count; t++) {
      const k = t * 9;
      const e1x = pos[k + 3] - pos[k], e1y = pos[k + 4] - pos[k + 1], e1z = pos[k + 5] - pos[k + 2];
      const e2x = pos[k + 6] - pos[k], e2y = pos[k + 7] - pos[k + 1], e2z = pos[k + 8] - pos[k + 2];
      const cx = e1y * e2z - e1z * e2y;
      const cy = e1z * e2x - e1x * e2z;
      const cz = e1x * e2y - e1y * e2x;
      const len = Math.sqrt(cx * cx + cy * cy + cz * cz);
      if (!(len > 0) || !Number.isFinite(len)) continue;
      area += len / 2;
      const ax = Math.abs(cx), ay = Math.abs(cy), az = Math.abs(cz);
      const axis = ax >= ay && ax >= az ? 0 : ay >= az ? 1 : 2;
      const along = axis === 0 ? ax : axis === 1 ? ay : az;
      const keep = len / (SQRT3 * along);
      const shift = AXIS_SHIFT[axis];
      const ua = U_AXIS[axis];
      const va = V_AXIS[axis];
      // Corners in lattice units (nodes at integer coordinates).
      const u0 = (pos[k + ua] - origin[ua]) * inv, v0 = (pos[k + va] - origin[va]) * inv;
      const u1 = (pos[k + 3 + ua] - origin[ua]) * inv, v1 = (pos[k + 3 + va] - origin[va]) * inv;
      const u2 = (pos[k + 6 + ua] - origin[ua]) * inv, v2 = (pos[k + 6 + va] - origin[va]) * inv;
      const det = (u1 - u0) * (v2 - v0) - (u2 - u0) * (v1 - v0);
      if (det === 0) continue;
      const vMin = Math.min(v0, v1, v2);
      const vMax = Math.max(v0, v1, v2);
      const jEnd = Math.ceil(vMax);
      let j = Math.ceil(vMin);
      if (j >= jEnd) continue;
      const invDet = 1 / det;
      const du10 = u1 - u0, dv10 = v1 - v0, du20 = u2 - u0, dv20 = v2 - v0;
      const p0x = pos[k], p0y = pos[k + 1], p0z = pos[k + 2];
      const p1x = pos[k + 3], p1y = pos[k + 4], p1z = pos[k + 5];
      const p2x = pos[k + 6], p2y = pos[k + 7], p2z = pos[k + 8];
      // Per triangle: face normal, material and its texture.
      const fnx = cx / len, fny = cy / len, fnz = cz / len;
      let tex: DecodedTexture | undefined;
      let mr = 1, mg = 1, mb = 1;
      let hasMat = false;
      if (wantColour && !counting) {
        const m = mats ? mats[t] : -1;
        const mat = m >= 0 ? o.materials[m] : undefined;
        if (mat) {
          hasMat = true;
          mr = mat.colour[0];
          mg = mat.colour[1];
          mb = mat.colour[2];
          if (mat.texture >= 0 && uvs) tex = textures[mat.texture];
        }
      }
      for (; j < jEnd; j++) {
        // Crossings of row j with the three edges (half-open in v, fixed end-point order).
        let xa = NaN;
        let xb = NaN;
        const c01 = crossing(u0, v0, u1, v1, j);
        const c12 = crossing(u1, v1, u2, v2, j);
        const c20 = crossing(u2, v2, u0, v0, j);
        if (c01 === c01) xa = c01;
        if (c12 === c12) {
          if (xa === xa) xb = c12;
          else xa = c12;
        }
        if (c20 === c20) {
          if (xa === xa) xb = c20;
          else xa = c20;
        }
        if (xb !== xb) continue;
        const left = xa < xb ? xa : xb;
        const right = xa < xb ? xb : xa;
        const iEnd = Math.ceil(right);
        const dv = j - v0;
        let i = Math.ceil(left);
        if (i >= iEnd) continue;
        // The threshold steps by A1 along the row (mod 1): one floor per row, not per node.
        let th = i * A1 + (j * A2 + shift);
        th -= Math.floor(th);
        for (; i < iEnd; i++, th = th + A1 >= 1 ? th + A1 - 1 : th + A1) {
          if (th >= keep) continue;
          points++;
          if (counting) continue;
          const du = i - u0;
          let l1 = (du * dv20 - du20 * dv) * invDet;
          let l2 = (du10 * dv - du * dv10) * invDet;
          // Nodes on an edge may fall a rounding error outside.
          if (l1 < 0) l1 = 0;
          if (l2 < 0) l2 = 0;
          let l0 = 1 - l1 - l2;
          if (l0 < 0) {
            const s = l1 + l2;
            l1 /= s;
            l2 /= s;
            l0 = 0;
          }
          const x = l0 * p0x + l1 * p1x + l2 * p2x;
          const y = l0 * p0y + l1 * p1y + l2 * p2y;
          const z = l0 * p0z + l1 * p1z + l2 * p2z;
          if (q) {
            // floor(v + 0.5): round half up, as Math.round, and cheaper.
            cols.xi![n] = Math.floor((x - ox) * isx + 0.5);
            cols.yi![n] = Math.floor((y - oy) * isy + 0.5);
            cols.zi![n] = Math.floor((z - oz) * isz + 0.5);
          } else {
            cols.xf![n] = x;
            cols.yf![n] = y;
            cols.zf![n] = z;
          }
          if (wantColour) {
            let r: number, g: number, b: number;
            if (tex) {
              const qq = t * 6;
              const c = sampleTexture(tex, l0 * uvs![qq] + l1 * uvs![qq + 2] + l2 * uvs![qq + 4], l0 * uvs![qq + 1] + l1 * uvs![qq + 3] + l2 * uvs![qq + 5]);
              r = c[0] * mr;
              g = c[1] * mg;
              b = c[2] * mb;
            } else if (vcol) {
              const qq = t * 12;
              r = l0 * vcol[qq] + l1 * vcol[qq + 4] + l2 * vcol[qq + 8];
              g = l0 * vcol[qq + 1] + l1 * vcol[qq + 5] + l2 * vcol[qq + 9];
              b = l0 * vcol[qq + 2] + l1 * vcol[qq + 6] + l2 * vcol[qq + 10];
            } else if (hasMat) {
              r = mr * 255;
              g = mg * 255;
              b = mb * 255;
            } else {
              r = g = b = 255;
            }
            // 8-bit colours to LAS 16-bit (v * 257 maps 255 to 65535); non-negative, so |0 rounds down.
            cols.r![n] = (r * 257 + 0.5) | 0;
            cols.g![n] = (g * 257 + 0.5) | 0;
            cols.b![n] = (b * 257 + 0.5) | 0;
          }
          if (wantNormals) {
            let nx = fnx, ny = fny, nz = fnz;
            if (vn) {
              const a = vn[k] * l0 + vn[k + 3] * l1 + vn[k + 6] * l2;
              const c = vn[k + 1] * l0 + vn[k + 4] * l1 + vn[k + 7] * l2;
              const e = vn[k + 2] * l0 + vn[k + 5] * l1 + vn[k + 8] * l2;
              const l = Math.sqrt(a * a + c * c + e * e);
              if (l > 0) {
                nx = a / l;
                ny = c / l;
                nz = e / l;
              }
            }
            cols.nx![n] = nx;
            cols.ny![n] = ny;
            cols.nz![n] = nz;
          }
          n++;
          if (n === cap) {
            this.n = n;
            emit!(this.take());
            cols = this.cols;
            n = 0;
          }
        }
      }
    }
    this.n = n;
    this.area += area;
    this.points += points;
  }
}

/**
 * Where row j crosses the edge (ua, va)-(ub, vb), or NaN when it does not. The edge is taken from its lower
 * end (smaller v, then smaller u) whatever the order given, so the two triangles sharing it compute the same
 * value; the row belongs to the edge when v_low <= j < v_high.
 */
function crossing(ua: number, va: number, ub: number, vb: number, j: number): number {
  let ul = ua, vl = va, uh = ub, vh = vb;
  if (vb < va || (vb === va && ub < ua)) {
    ul = ub;
    vl = vb;
    uh = ua;
    vh = va;
  }
  if (!(vl <= j && j < vh)) return NaN;
  return ul + ((j - vl) * (uh - ul)) / (vh - vl);
}
