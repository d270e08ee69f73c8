/**
 * Additive level of detail (3D Tiles, COPC): each point lands in exactly one node.
 *
 * Sampling is a voxel grid: a node is cut into 128³ cells and keeps, per occupied cell, the point nearest
 * the cell's centre (ties: the first in input order); the spacing so halves at every level. Chosen over
 * Poisson-disk sampling (PotreeConverter's default) because it needs no neighbour search across cells,
 * so it is one hash lookup per point, and its result depends only on the points (not on a visiting order
 * across threads): the tree is the same whatever the thread count.
 *
 * A subtree is built bottom-up: a node with more than `maxLeaf` points is split into its 8 children
 * (down to MAX_SAMPLED_LEVEL, where a node keeps every point: duplicates end there), then samples itself
 * from the points its children kept; the points it picks leave the children.
 */
import { concatBlocks, gatherBlock, type AttributeSpec, type PointBlock } from "./block.js";
import { scratchBlock, scratchF64, scratchI32, scratchU32, scratchU8 } from "./scratch.js";
import { CELL_BITS, compareKeys, FINE_BITS, fineCoordinates, keyId, MAX_SAMPLED_LEVEL, type NodeKey, type TreeFrame } from "./frame.js";

export interface BuiltNode {
  key: NodeKey;
  block: PointBlock;
}

/**
 * Picks one point per occupied sampling cell of a node at `level` among `candidates` (indices into the
 * fine coordinates): returns them in candidate order, and `picked` (1 per candidate position picked; a
 * scratch array, valid until the next sampling).
 */
function sampleCells(level: number, fx: Uint32Array, fy: Uint32Array, fz: Uint32Array, candidates: Uint32Array): { mine: Uint32Array; picked: Uint8Array } {
  const n = candidates.length;
  const shift = FINE_BITS - level - CELL_BITS;
  const mask = (1 << CELL_BITS) - 1;
  const within = (1 << shift) - 1;
  const centre = (1 << shift) / 2 - 0.5;
  let size = 16;
  while (size < 2 * n) size *= 2;
  const slotKey = scratchI32("sample.key", size).fill(-1);
  const slotBest = scratchI32("sample.best", size);
  const slotDistance = scratchF64("sample.distance", size);
  const hashMask = size - 1;
  let cells = 0;
  for (let k = 0; k < n; k++) {
    const i = candidates[k];
    const x = fx[i], y = fy[i], z = fz[i];
    const cell = (((x >>> shift) & mask) << 14) | (((y >>> shift) & mask) << 7) | ((z >>> shift) & mask);
    const dx = (x & within) - centre, dy = (y & within) - centre, dz = (z & within) - centre;
    const d = dx * dx + dy * dy + dz * dz;
    let h = Math.imul(cell, 0x9e3779b1) >>> 0 & hashMask;
    for (;;) {
      const sk = slotKey[h];
      if (sk === -1) {
        slotKey[h] = cell;
        slotBest[h] = k;
        slotDistance[h] = d;
        cells++;
        break;
      }
      if (sk === cell) {
        if (d < slotDistance[h]) {
          slotBest[h] = k;
          slotDistance[h] = d;
        }
        break;
      }
      h = (h + 1) & hashMask;
    }
  }
  const picked = scratchU8("sample.picked", n).fill(0);
  for (let h = 0; h < size; h++) if (slotKey[h] !== -1) picked[slotBest[h]] = 1;
  const out = new Uint32Array(cells);
  for (let k = 0, m = 0; k < n; k++) if (picked[k]) out[m++] = candidates[k];
  return { mine: out, picked };
}

/** The entries of `list` (candidates `from`.. of a sampling) that were not picked. */
function notPicked(list: Uint32Array, picked: Uint8Array, from: number): Uint32Array {
  let m = 0;
  for (let k = 0; k < list.length; k++) if (!picked[from + k]) m++;
  const out = new Uint32Array(m);
  for (let k = 0, j = 0; k < list.length; k++) if (!picked[from + k]) out[j++] = list[k];
  return out;
}

/**
 * The nodes of the subtree rooted at `root` holding `block` (every point inside the root's box): every
 * node with at least one point, the root included (its points are those the merge above may take), each
 * handed to `emit` as soon as it is final (children before their parent; the block is valid during the
 * call only). Working arrays come from this thread's scratch.
 */
export function buildAdditive(specs: readonly AttributeSpec[], frame: TreeFrame, root: NodeKey, block: PointBlock, maxLeaf: number, emit: (key: NodeKey, points: PointBlock) => void): void {
  const n = block.count;
  const [fx, fy, fz] = fineCoordinates(frame, block, [scratchU32("build.fx", n), scratchU32("build.fy", n), scratchU32("build.fz", n)]);
  const octant = scratchU8("build.octant", n);
  const tmp = scratchU32("build.tmp", n);
  const put = (key: NodeKey, idx: Uint32Array) => emit(key, gatherBlock(specs, block, idx, 0, idx.length, scratchBlock("build.node", specs, idx.length)));

  // `idx` is regrouped by octant in place (a stable counting sort through `tmp`): each child then owns
  // a range of its parent's array, so one array of indices serves the whole subtree.
  const build = (key: NodeKey, idx: Uint32Array): Uint32Array => {
    if (idx.length <= maxLeaf || key.level >= MAX_SAMPLED_LEVEL) return idx;
    const shift = FINE_BITS - key.level - 1;
    const counts = new Int32Array(8);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      const o = (((fx[i] >>> shift) & 1) << 2) | (((fy[i] >>> shift) & 1) << 1) | ((fz[i] >>> shift) & 1);
      octant[i] = o;
      counts[o]++;
    }
    const starts = new Int32Array(9);
    for (let o = 0; o < 8; o++) starts[o + 1] = starts[o] + counts[o];
    const from = tmp.subarray(0, idx.length);
    from.set(idx);
    const fill = starts.slice(0, 8);
    for (let k = 0; k < from.length; k++) idx[fill[octant[from[k]]]++] = from[k];
    const kept: { key: NodeKey; idx: Uint32Array }[] = [];
    for (let o = 0; o < 8; o++) {
      if (counts[o] === 0) continue;
      const child: NodeKey = { level: key.level + 1, x: 2 * key.x + (o >> 2), y: 2 * key.y + ((o >> 1) & 1), z: 2 * key.z + (o & 1) };
      kept.push({ key: child, idx: build(child, idx.subarray(starts[o], starts[o + 1])) });
    }
    let total = 0;
    for (const c of kept) total += c.idx.length;
    const candidates = scratchU32("build.candidates", total);
    let at = 0;
    for (const c of kept) {
      candidates.set(c.idx, at);
      at += c.idx.length;
    }
    const { mine, picked } = sampleCells(key.level, fx, fy, fz, candidates);
    let first = 0;
    for (const c of kept) {
      const rest = notPicked(c.idx, picked, first);
      first += c.idx.length;
      if (rest.length > 0) put(c.key, rest);
    }
    return mine;
  };

  const all = scratchU32("build.all", n);
  for (let i = 0; i < n; i++) all[i] = i;
  const rootPoints = build(root, all);
  if (rootPoints.length > 0) put(root, rootPoints);
}

/** A node the merge reads its points from (a chunk root, or a node the merge itself stored). */
export interface MergeSource {
  key: NodeKey;
  read(): PointBlock;
}

/**
 * The levels above the chunks: from the deepest chunk root up to the root, each parent samples itself from
 * its children's points (which then lose the points it picks). Takes the chunk roots (disjoint subtrees),
 * and holds one parent's children at a time: a child is final once its parent has sampled (`emit`, with
 * the points it keeps, and `same` when they are all the points `same` had; empty nodes left out), a new parent is handed to `store` until its own parent reads
 * it back. Parents in key order per level, children in key order within a parent.
 */
export function mergeAbove(specs: readonly AttributeSpec[], frame: TreeFrame, roots: readonly MergeSource[], store: (key: NodeKey, points: PointBlock) => MergeSource, emit: (key: NodeKey, points: PointBlock, same?: MergeSource) => void): void {
  const byLevel = new Map<number, MergeSource[]>();
  const add = (n: MergeSource) => {
    let m = byLevel.get(n.key.level);
    if (!m) byLevel.set(n.key.level, (m = []));
    m.push(n);
  };
  roots.forEach(add);
  const deepest = Math.max(0, ...roots.map((r) => r.key.level));
  for (let level = deepest; level >= 1; level--) {
    const nodes = (byLevel.get(level) ?? []).sort((a, b) => compareKeys(a.key, b.key));
    byLevel.delete(level);
    const parents = new Map<string, { key: NodeKey; children: MergeSource[] }>();
    for (const n of nodes) {
      const key = { level: level - 1, x: n.key.x >> 1, y: n.key.y >> 1, z: n.key.z >> 1 };
      const id = keyId(key);
      let p = parents.get(id);
      if (!p) parents.set(id, (p = { key, children: [] }));
      p.children.push(n);
    }
    for (const p of [...parents.values()].sort((a, b) => compareKeys(a.key, b.key))) {
      const blocks = p.children.map((c) => c.read());
      const candidates = concatBlocks(specs, blocks);
      const [fx, fy, fz] = fineCoordinates(frame, candidates);
      const idx = new Uint32Array(candidates.count);
      for (let i = 0; i < idx.length; i++) idx[i] = i;
      const { mine, picked } = sampleCells(p.key.level, fx, fy, fz, idx);
      let at = 0;
      p.children.forEach((c, k) => {
        const count = blocks[k].count;
        const own = idx.subarray(at, at + count);
        const rest = notPicked(own, picked, at);
        at += count;
        if (rest.length === count) emit(c.key, blocks[k], c);
        else if (rest.length > 0) emit(c.key, gatherBlock(specs, candidates, rest));
      });
      add(store(p.key, gatherBlock(specs, candidates, mine)));
    }
  }
  for (const top of byLevel.get(0) ?? []) {
    const b = top.read();
    if (b.count > 0) emit(top.key, b, top);
  }
}
