/**
 * Cumulative levels (OPC): level 0 holds every point, bucketed by OPC level-0 tile; each coarser tile is
 * thinned from its 8 children (`thinOpcTile`: one point per occupied 256³ cell). The octree's root box is
 * the OPC top tile, so an octree node at level L is exactly the OPC tile at level K − L (K the top OPC
 * level): a chunk of the octree builds the OPC levels up to its own tile, the merge those above.
 */
// The OPC entry point, not the package index: the index loads modules (geotiff's web-worker) that cannot start in a worker thread.
import { compareOpcTiles, opcTileSize, thinOpcTile, type OpcLayout, type OpcPoints } from "@realconv/formats/opc";
import type { AttributeSpec, PointBlock } from "./block.js";
import { FINE_BITS, fineCoordinates, type NodeKey, type TreeFrame } from "./frame.js";

export interface OpcTileOut {
  /** OPC level and tile index. */
  level: number;
  x: number;
  y: number;
  z: number;
  points: OpcPoints;
}

/** Where the OPC columns are among the tree's attributes, and how colours become 8-bit. */
export interface OpcColumns {
  red?: number;
  green?: number;
  blue?: number;
  intensity?: number;
  classification?: number;
  /** 8 when the colours are 16-bit (the top byte is kept), 0 when 8-bit values sit in 16-bit fields. */
  colorShift: number;
}

export function opcColumns(specs: readonly AttributeSpec[], colorShift: number): OpcColumns {
  const at = (name: string) => {
    const i = specs.findIndex((s) => s.name === name);
    return i >= 0 ? i : undefined;
  };
  return { red: at("red"), green: at("green"), blue: at("blue"), intensity: at("intensity"), classification: at("classification"), colorShift };
}

/** The block's points as OPC columns (absolute positions). */
export function toOpcPoints(frame: TreeFrame, cols: OpcColumns, b: PointBlock): OpcPoints {
  const n = b.count;
  const xyz = new Float64Array(3 * n);
  const [sx, sy, sz] = frame.scale;
  const [ox, oy, oz] = frame.offset;
  for (let i = 0; i < n; i++) {
    xyz[3 * i] = b.x[i] * sx + ox;
    xyz[3 * i + 1] = b.y[i] * sy + oy;
    xyz[3 * i + 2] = b.z[i] * sz + oz;
  }
  const out: OpcPoints = { count: n, xyz };
  if (cols.red !== undefined && cols.green !== undefined && cols.blue !== undefined) {
    const r = b.attributes[cols.red], g = b.attributes[cols.green], bl = b.attributes[cols.blue];
    const rgb = new Uint8Array(3 * n);
    const s = cols.colorShift;
    for (let i = 0; i < n; i++) {
      rgb[3 * i] = r[i] >> s;
      rgb[3 * i + 1] = g[i] >> s;
      rgb[3 * i + 2] = bl[i] >> s;
    }
    out.rgb = rgb;
  }
  if (cols.intensity !== undefined) out.intensity = b.attributes[cols.intensity] as Uint16Array;
  if (cols.classification !== undefined) out.classification = b.attributes[cols.classification] as Uint8Array;
  return out;
}

/** The OPC points of `b` at `indices`. */
function gatherOpc(p: OpcPoints, indices: Uint32Array, from: number, to: number): OpcPoints {
  const m = to - from;
  const out: OpcPoints = { count: m, xyz: new Float64Array(3 * m) };
  if (p.rgb) out.rgb = new Uint8Array(3 * m);
  if (p.intensity) out.intensity = new Uint16Array(m);
  if (p.classification) out.classification = new Uint8Array(m);
  for (let k = 0; k < m; k++) {
    const i = indices[from + k];
    out.xyz[3 * k] = p.xyz[3 * i];
    out.xyz[3 * k + 1] = p.xyz[3 * i + 1];
    out.xyz[3 * k + 2] = p.xyz[3 * i + 2];
    if (out.rgb) {
      out.rgb[3 * k] = p.rgb![3 * i];
      out.rgb[3 * k + 1] = p.rgb![3 * i + 1];
      out.rgb[3 * k + 2] = p.rgb![3 * i + 2];
    }
    if (out.intensity) out.intensity[k] = p.intensity![i];
    if (out.classification) out.classification[k] = p.classification![i];
  }
  return out;
}

/**
 * Every OPC tile inside the chunk `root` (an octree node): its level-0 tiles (points in input order) and
 * the coarser tiles up to the chunk's own, each level's tiles in file order.
 */
export function buildOpcChunk(layout: OpcLayout, frame: TreeFrame, cols: OpcColumns, root: NodeKey, block: PointBlock): OpcTileOut[] {
  const top = layout.levelCount - 1;
  if (top > FINE_BITS) throw new RangeError(`OPC: ${layout.levelCount} levels exceed the ${FINE_BITS + 1} the tiler supports`);
  const points = toOpcPoints(frame, cols, block);
  const [fx, fy, fz] = fineCoordinates(frame, block);
  const shift = FINE_BITS - top;
  // Level-0 tile per point, sorted into file order (stable: points keep their input order in a tile).
  const n = block.count;
  const tx = new Int32Array(n), ty = new Int32Array(n), tz = new Int32Array(n);
  // opcTileOf(layout, 0, ...) inlined (the same expressions, so the same tiles).
  const [sx, sy, sz] = opcTileSize(layout, 0);
  const [o0, o1, o2] = layout.origin;
  const xyz = points.xyz;
  for (let i = 0; i < n; i++) {
    // The OPC writer places points by its own floor(); follow it, and the octree's index where they disagree
    // only by rounding at a tile edge (the writer accepts one step outside).
    const t0 = Math.floor((xyz[3 * i] - o0) / sx), t1 = Math.floor((xyz[3 * i + 1] - o1) / sy), t2 = Math.floor((xyz[3 * i + 2] - o2) / sz);
    const ox = fx[i] >>> shift, oy = fy[i] >>> shift, oz = fz[i] >>> shift;
    tx[i] = Math.abs(t0 - ox) <= 1 ? ox : t0;
    ty[i] = Math.abs(t1 - oy) <= 1 ? oy : t1;
    tz[i] = Math.abs(t2 - oz) <= 1 ? oz : t2;
  }
  // Points grouped by tile in file order, input order within a tile (a stable sort by tile): the
  // distinct tiles are few, so they alone are sorted, and the points placed by a counting pass.
  const slotOf = new Int32Array(n);
  const slots = new Map<string, number>();
  const slotTiles: number[] = [];
  const slotCounts: number[] = [];
  let lx = NaN, ly = NaN, lz = NaN, last = -1;
  for (let i = 0; i < n; i++) {
    const x = tx[i], y = ty[i], z = tz[i];
    if (x !== lx || y !== ly || z !== lz) {
      const id = `${x},${y},${z}`;
      let s = slots.get(id);
      if (s === undefined) {
        s = slotCounts.length;
        slots.set(id, s);
        slotTiles.push(x, y, z);
        slotCounts.push(0);
      }
      lx = x;
      ly = y;
      lz = z;
      last = s;
    }
    slotOf[i] = last;
    slotCounts[last]++;
  }
  const bs = layout.blockSize;
  const ranked = slotCounts.map((_, s) => s);
  ranked.sort((a, b) => compareOpcTiles(slotTiles[3 * a], slotTiles[3 * a + 1], slotTiles[3 * a + 2], slotTiles[3 * b], slotTiles[3 * b + 1], slotTiles[3 * b + 2], bs));
  const fill = new Int32Array(ranked.length);
  for (let r = 0, at = 0; r < ranked.length; r++) {
    fill[ranked[r]] = at;
    at += slotCounts[ranked[r]];
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[slotOf[i]]++] = i;
  let level: OpcTileOut[] = [];
  for (let r = 0, s = 0; r < ranked.length; r++) {
    const k = ranked[r];
    const e = s + slotCounts[k];
    level.push({ level: 0, x: slotTiles[3 * k], y: slotTiles[3 * k + 1], z: slotTiles[3 * k + 2], points: gatherOpc(points, order, s, e) });
    s = e;
  }
  const out: OpcTileOut[] = [...level];
  for (let l = 1; l <= top - root.level; l++) {
    level = thinLevel(layout, l, level);
    out.push(...level);
  }
  return out;
}

/** The level-`l` tiles thinned from the level-(l-1) tiles `children`, in file order. */
export function thinLevel(layout: OpcLayout, l: number, children: readonly OpcTileOut[]): OpcTileOut[] {
  const parents = new Map<string, { x: number; y: number; z: number; sources: OpcPoints[] }>();
  for (const c of children) {
    const x = c.x >> 1, y = c.y >> 1, z = c.z >> 1;
    const id = `${x},${y},${z}`;
    let p = parents.get(id);
    if (!p) parents.set(id, (p = { x, y, z, sources: [] }));
    p.sources.push(c.points);
  }
  const bs = layout.blockSize;
  return [...parents.values()]
    .sort((a, b) => compareOpcTiles(a.x, a.y, a.z, b.x, b.y, b.z, bs))
    .map((p) => ({ level: l, x: p.x, y: p.y, z: p.z, points: thinOpcTile(layout, l, p.x, p.y, p.z, p.sources) }));
}

const pad8 = (n: number) => (n + 7) & ~7;

/** An OPC tile's points as bytes for scratch files. */
export function encodeOpcPoints(p: OpcPoints): Uint8Array {
  const n = p.count;
  const parts: ArrayBufferView[] = [p.xyz];
  const flags = (p.rgb ? 1 : 0) | (p.intensity ? 2 : 0) | (p.classification ? 4 : 0) | (p.weight ? 8 : 0);
  if (p.rgb) parts.push(p.rgb);
  if (p.intensity) parts.push(p.intensity.subarray(0, n));
  if (p.classification) parts.push(p.classification.subarray(0, n));
  if (p.weight) parts.push(p.weight);
  const out = new Uint8Array(8 + parts.reduce((s, a) => s + pad8(a.byteLength), 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, n, true);
  v.setUint32(4, flags, true);
  let at = 8;
  for (const a of parts) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += pad8(a.byteLength);
  }
  return out;
}

/** An OPC tile's points back from `encodeOpcPoints`: views over `bytes` when aligned (no copies), else copies. */
export function decodeOpcPoints(bytes: Uint8Array): OpcPoints {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = v.getUint32(0, true);
  const flags = v.getUint32(4, true);
  const aligned = bytes.byteOffset % 8 === 0;
  let at = 8;
  const take = (size: number): [ArrayBufferLike, number] => {
    const from = at;
    at += pad8(size);
    return aligned ? [bytes.buffer, bytes.byteOffset + from] : [bytes.slice(from, from + size).buffer, 0];
  };
  const out: OpcPoints = { count: n, xyz: new Float64Array(...take(24 * n), 3 * n) };
  if (flags & 1) out.rgb = new Uint8Array(...take(3 * n), 3 * n);
  if (flags & 2) out.intensity = new Uint16Array(...take(2 * n), n);
  if (flags & 4) out.classification = new Uint8Array(...take(n), n);
  if (flags & 8) out.weight = new Uint32Array(...take(4 * n), n);
  return out;
}
