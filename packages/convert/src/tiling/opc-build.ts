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
import { scratchF64, scratchI32, scratchU16, scratchU32, scratchU8 } from "./scratch.js";

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

/**
 * The points of `b` at `order[from..to)` as OPC columns (absolute positions; the same values as
 * `toOpcPoints`), at the same range of this thread's scratch columns: valid until the next chunk.
 */
function gatherOpc(frame: TreeFrame, cols: OpcColumns, b: PointBlock, order: Uint32Array, from: number, to: number): OpcPoints {
  const m = to - from;
  const n = b.count;
  // Views over this thread's scratch columns (one range per tile): a chunk's level-0 tiles take no
  // allocation of their own, and are dropped with the chunk's build.
  const xyz = scratchF64("opc.xyz", 3 * n).subarray(3 * from, 3 * to);
  const out: OpcPoints = { count: m, xyz };
  const [sx, sy, sz] = frame.scale;
  const [ox, oy, oz] = frame.offset;
  for (let k = 0; k < m; k++) {
    const i = order[from + k];
    xyz[3 * k] = b.x[i] * sx + ox;
    xyz[3 * k + 1] = b.y[i] * sy + oy;
    xyz[3 * k + 2] = b.z[i] * sz + oz;
  }
  if (cols.red !== undefined && cols.green !== undefined && cols.blue !== undefined) {
    const r = b.attributes[cols.red], g = b.attributes[cols.green], bl = b.attributes[cols.blue];
    const rgb = (out.rgb = scratchU8("opc.rgb", 3 * n).subarray(3 * from, 3 * to));
    const s = cols.colorShift;
    for (let k = 0; k < m; k++) {
      const i = order[from + k];
      rgb[3 * k] = r[i] >> s;
      rgb[3 * k + 1] = g[i] >> s;
      rgb[3 * k + 2] = bl[i] >> s;
    }
  }
  if (cols.intensity !== undefined) {
    const src = b.attributes[cols.intensity];
    const dst = (out.intensity = scratchU16("opc.intensity", n).subarray(from, to));
    for (let k = 0; k < m; k++) dst[k] = src[order[from + k]];
  }
  if (cols.classification !== undefined) {
    const src = b.attributes[cols.classification];
    const dst = (out.classification = scratchU8("opc.classification", n).subarray(from, to));
    for (let k = 0; k < m; k++) dst[k] = src[order[from + k]];
  }
  return out;
}

/**
 * Every OPC tile inside the chunk `root` (an octree node), each handed to `emit` once built: its level-0
 * tiles (points in input order) and the coarser tiles up to the chunk's own, level after level, each
 * level's tiles in file order. Only the level being thinned from stays in memory.
 */
export function buildOpcChunk(layout: OpcLayout, frame: TreeFrame, cols: OpcColumns, root: NodeKey, block: PointBlock, emit: (tile: OpcTileOut) => void): void {
  const top = layout.levelCount - 1;
  if (top > FINE_BITS) throw new RangeError(`OPC: ${layout.levelCount} levels exceed the ${FINE_BITS + 1} the tiler supports`);
  const n = block.count;
  const [fx, fy, fz] = fineCoordinates(frame, block, [scratchU32("build.fx", n), scratchU32("build.fy", n), scratchU32("build.fz", n)]);
  const shift = FINE_BITS - top;
  // opcTileOf(layout, 0, ...) inlined (the same expressions, so the same tiles).
  const [sx, sy, sz] = opcTileSize(layout, 0);
  const [o0, o1, o2] = layout.origin;
  const [qx, qy, qz] = frame.scale;
  const [px, py, pz] = frame.offset;
  // Points grouped by level-0 tile in file order, input order within a tile (a stable sort by tile): the
  // distinct tiles are few, so they alone are sorted, and the points placed by a counting pass.
  const slotOf = scratchI32("build.slot", n);
  const slots = new Map<string, number>();
  const slotTiles: number[] = [];
  const slotCounts: number[] = [];
  let lx = NaN, ly = NaN, lz = NaN, last = -1;
  for (let i = 0; i < n; i++) {
    // The OPC writer places points by its own floor(); follow it, and the octree's index where they disagree
    // only by rounding at a tile edge (the writer accepts one step outside).
    const t0 = Math.floor((block.x[i] * qx + px - o0) / sx), t1 = Math.floor((block.y[i] * qy + py - o1) / sy), t2 = Math.floor((block.z[i] * qz + pz - o2) / sz);
    const ox = fx[i] >>> shift, oy = fy[i] >>> shift, oz = fz[i] >>> shift;
    const x = Math.abs(t0 - ox) <= 1 ? ox : t0;
    const y = Math.abs(t1 - oy) <= 1 ? oy : t1;
    const z = Math.abs(t2 - oz) <= 1 ? oz : t2;
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
  const order = scratchU32("build.order", n);
  for (let i = 0; i < n; i++) order[fill[slotOf[i]]++] = i;
  let level: OpcTileOut[] = [];
  for (let r = 0, s = 0; r < ranked.length; r++) {
    const k = ranked[r];
    const e = s + slotCounts[k];
    const t: OpcTileOut = { level: 0, x: slotTiles[3 * k], y: slotTiles[3 * k + 1], z: slotTiles[3 * k + 2], points: gatherOpc(frame, cols, block, order, s, e) };
    emit(t);
    level.push(t);
    s = e;
  }
  for (let l = 1; l <= top - root.level; l++) {
    level = thinLevel(layout, l, level);
    for (const t of level) emit(t);
  }
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

/** A tile the merge reads its points from when its parent is thinned. */
export interface OpcTileSource {
  x: number;
  y: number;
  z: number;
  read(): OpcPoints;
}

/**
 * The level-`l` tiles thinned from the level-(l-1) tiles `children`, as `thinLevel` makes them, each
 * handed to `emit` in file order; only one parent's children are read at a time.
 */
export function thinLevelFrom(layout: OpcLayout, l: number, children: readonly OpcTileSource[], emit: (tile: OpcTileOut) => void): void {
  const parents = new Map<string, { x: number; y: number; z: number; sources: OpcTileSource[] }>();
  for (const c of children) {
    const x = c.x >> 1, y = c.y >> 1, z = c.z >> 1;
    const id = `${x},${y},${z}`;
    let p = parents.get(id);
    if (!p) parents.set(id, (p = { x, y, z, sources: [] }));
    p.sources.push(c);
  }
  const bs = layout.blockSize;
  for (const p of [...parents.values()].sort((a, b) => compareOpcTiles(a.x, a.y, a.z, b.x, b.y, b.z, bs))) {
    emit({ level: l, x: p.x, y: p.y, z: p.z, points: thinOpcTile(layout, l, p.x, p.y, p.z, p.sources.map((c) => c.read())) });
  }
}

const pad8 = (n: number) => (n + 7) & ~7;

/** An OPC tile's points as bytes for scratch files, in `into(length)` when given (padding cleared). */
export function encodeOpcPoints(p: OpcPoints, into?: (length: number) => Uint8Array): Uint8Array {
  const n = p.count;
  const parts: ArrayBufferView[] = [p.xyz.subarray(0, 3 * n)];
  const flags = (p.rgb ? 1 : 0) | (p.intensity ? 2 : 0) | (p.classification ? 4 : 0) | (p.weight ? 8 : 0);
  if (p.rgb) parts.push(p.rgb.subarray(0, 3 * n));
  if (p.intensity) parts.push(p.intensity.subarray(0, n));
  if (p.classification) parts.push(p.classification.subarray(0, n));
  if (p.weight) parts.push(p.weight.subarray(0, n));
  const length = 8 + parts.reduce((s, a) => s + pad8(a.byteLength), 0);
  const out = into ? into(length).fill(0) : new Uint8Array(length);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
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
