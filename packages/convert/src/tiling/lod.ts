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
import { CELL_BITS, compareKeys, FINE_BITS, fineCoordinates, keyId, MAX_SAMPLED_LEVEL, type NodeKey, type TreeFrame } from "./frame.js";

export interface BuiltNode {
  key: NodeKey;
  block: PointBlock;
}

/**
 * Picks one point per occupied sampling cell of a node at `level` among `candidates` (indices into the
 * fine coordinates): returns them in candidate order, and `picked` (1 per candidate position picked).
 */
function sampleCells(level: number, fx: Uint32Array, fy: Uint32Array, fz: Uint32Array, candidates: Uint32Array): { mine: Uint32Array; picked: Uint8Array } {
  const n = candidates.length;
  const shift = FINE_BITS - level - CELL_BITS;
  const mask = (1 << CELL_BITS) - 1;
  const within = (1 << shift) - 1;
  const centre = (1 << shift) / 2 - 0.5;
  let size = 16;
  while (size < 2 * n) size *= 2;
  const slotKey = new Int32Array(size).fill(-1);
  const slotBest = new Int32Array(size);
  const slotDistance = new Float64Array(size);
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
  const picked = new Uint8Array(n);
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
 * node with at least one point, the root included (its points are those the merge above may take).
 */
export function buildAdditive(specs: readonly AttributeSpec[], frame: TreeFrame, root: NodeKey, block: PointBlock, maxLeaf: number): BuiltNode[] {
  const [fx, fy, fz] = fineCoordinates(frame, block);
  const nodes: BuiltNode[] = [];
  const octant = new Uint8Array(block.count);

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
    const sorted = new Uint32Array(idx.length);
    const fill = starts.slice(0, 8);
    for (let k = 0; k < idx.length; k++) sorted[fill[octant[idx[k]]]++] = idx[k];
    const kept: { key: NodeKey; idx: Uint32Array }[] = [];
    for (let o = 0; o < 8; o++) {
      if (counts[o] === 0) continue;
      const child: NodeKey = { level: key.level + 1, x: 2 * key.x + (o >> 2), y: 2 * key.y + ((o >> 1) & 1), z: 2 * key.z + (o & 1) };
      kept.push({ key: child, idx: build(child, sorted.subarray(starts[o], starts[o + 1])) });
    }
    let total = 0;
    for (const c of kept) total += c.idx.length;
    const candidates = new Uint32Array(total);
    let at = 0;
    for (const c of kept) {
      candidates.set(c.idx, at);
      at += c.idx.length;
    }
    const { mine, picked } = sampleCells(key.level, fx, fy, fz, candidates);
    let from = 0;
    for (const c of kept) {
      const rest = notPicked(c.idx, picked, from);
      from += c.idx.length;
      if (rest.length > 0) nodes.push({ key: c.key, block: gatherBlock(specs, block, rest) });
    }
    return mine;
  };

  const all = new Uint32Array(block.count);
  for (let i = 0; i < block.count; i++) all[i] = i;
  const rootPoints = build(root, all);
  if (rootPoints.length > 0) nodes.push({ key: root, block: gatherBlock(specs, block, rootPoints) });
  return nodes.sort((a, b) => compareKeys(a.key, b.key));
}

/**
 * The levels above the chunks: from the deepest chunk root up to the root, each parent samples itself from
 * its children's points (which then lose the points it picks). Takes the chunk roots (disjoint subtrees);
 * returns the new ancestors and the roots with the points they keep (empty nodes left out).
 */
export function mergeAbove(specs: readonly AttributeSpec[], frame: TreeFrame, roots: readonly BuiltNode[]): BuiltNode[] {
  const byLevel = new Map<number, Map<string, BuiltNode>>();
  const add = (n: BuiltNode) => {
    let m = byLevel.get(n.key.level);
    if (!m) byLevel.set(n.key.level, (m = new Map()));
    m.set(keyId(n.key), n);
  };
  roots.forEach(add);
  const out: BuiltNode[] = [];
  const deepest = Math.max(0, ...roots.map((r) => r.key.level));
  for (let level = deepest; level >= 1; level--) {
    const nodes = [...(byLevel.get(level)?.values() ?? [])].sort((a, b) => compareKeys(a.key, b.key));
    const parents = new Map<string, { key: NodeKey; children: BuiltNode[] }>();
    for (const n of nodes) {
      const key = { level: level - 1, x: n.key.x >> 1, y: n.key.y >> 1, z: n.key.z >> 1 };
      const id = keyId(key);
      let p = parents.get(id);
      if (!p) parents.set(id, (p = { key, children: [] }));
      p.children.push(n);
    }
    for (const p of [...parents.values()].sort((a, b) => compareKeys(a.key, b.key))) {
      const candidates = concatBlocks(specs, p.children.map((c) => c.block));
      const [fx, fy, fz] = fineCoordinates(frame, candidates);
      const idx = new Uint32Array(candidates.count);
      for (let i = 0; i < idx.length; i++) idx[i] = i;
      const { mine, picked } = sampleCells(p.key.level, fx, fy, fz, idx);
      let at = 0;
      for (const c of p.children) {
        const own = idx.subarray(at, at + c.block.count);
        const rest = notPicked(own, picked, at);
        at += c.block.count;
        if (rest.length > 0) out.push({ key: c.key, block: rest.length === c.block.count ? c.block : gatherBlock(specs, candidates, rest) });
      }
      add({ key: p.key, block: gatherBlock(specs, candidates, mine) });
    }
  }
  const top = byLevel.get(0)?.get("0-0-0-0");
  if (top && top.block.count > 0) out.push(top);
  return out.sort((a, b) => compareKeys(a.key, b.key));
}
