/**
 * The geometry every pass of the engine shares: the quantisation of positions (integers, exact for LAS
 * inputs on their own scale) and the root box of the octree. A point's node at every level comes from one
 * integer "fine" coordinate per axis (FINE_BITS bits over the root box), computed once from the integers:
 * a level-L index is the fine coordinate shifted right, so a point's nodes nest exactly at every level
 * (no floating-point disagreement between the distribution pass, the chunk builds and the merge).
 */
import type { PointBlock } from "./block.js";

/** Bits of the fine coordinate per axis: 24 levels of nodes, 128 sampling cells below the deepest sampled one. */
export const FINE_BITS = 24;
/** Sampling cells per node edge: a node's spacing is its edge / 128 (the root: the root box / 128). */
export const CELL_BITS = 7;
/** The deepest level whose nodes are sampled; nodes there keep every point they get. */
export const MAX_SAMPLED_LEVEL = FINE_BITS - CELL_BITS;

export interface TreeFrame {
  /** Position = integer · scale + offset, per axis. */
  scale: readonly [number, number, number];
  offset: readonly [number, number, number];
  /** Root box: minimum corner and edge per axis (a cube for 3D Tiles and COPC; OPC's tile grid per axis). */
  min: readonly [number, number, number];
  edge: readonly [number, number, number];
}

export interface NodeKey {
  level: number;
  x: number;
  y: number;
  z: number;
}

export const keyId = (k: NodeKey): string => `${k.level}-${k.x}-${k.y}-${k.z}`;

export function compareKeys(a: NodeKey, b: NodeKey): number {
  return a.level - b.level || a.x - b.x || a.y - b.y || a.z - b.z;
}

/** Fine coordinates (x, y, z) of a block's points, clamped into the root box (into `out` when given). */
export function fineCoordinates(frame: TreeFrame, b: PointBlock, out: [Uint32Array, Uint32Array, Uint32Array] = [new Uint32Array(b.count), new Uint32Array(b.count), new Uint32Array(b.count)]): [Uint32Array, Uint32Array, Uint32Array] {
  const cols = [b.x, b.y, b.z];
  const max = 2 ** FINE_BITS - 1;
  for (let a = 0; a < 3; a++) {
    const s = frame.scale[a];
    // (i · s + offset − min) · cells/edge, folded into one multiply-add per point.
    const k = (s * 2 ** FINE_BITS) / frame.edge[a];
    const c = ((frame.offset[a] - frame.min[a]) * 2 ** FINE_BITS) / frame.edge[a];
    const src = cols[a];
    const dst = out[a];
    for (let i = 0; i < b.count; i++) {
      const f = Math.floor(src[i] * k + c);
      dst[i] = f < 0 ? 0 : f > max ? max : f;
    }
  }
  return out;
}

/** Box of a node, [minX, minY, minZ, maxX, maxY, maxZ] in CRS units. */
export function nodeBox(frame: TreeFrame, k: NodeKey): [number, number, number, number, number, number] {
  const f = 2 ** k.level;
  const e = frame.edge.map((v) => v / f);
  const lo = [frame.min[0] + k.x * e[0], frame.min[1] + k.y * e[1], frame.min[2] + k.z * e[2]];
  return [lo[0], lo[1], lo[2], lo[0] + e[0], lo[1] + e[1], lo[2] + e[2]];
}

/** Point spacing of a level: the largest edge of its nodes / 128. */
export function levelSpacing(frame: TreeFrame, level: number): number {
  return Math.max(...frame.edge) / 2 ** (level + CELL_BITS);
}
