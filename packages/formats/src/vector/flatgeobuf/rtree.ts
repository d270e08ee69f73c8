/**
 * FlatGeobuf's packed Hilbert R-tree: nodes of 40 bytes (minX, minY, maxX, maxY as f64, then a u64 offset),
 * levels stored root first, leaves last; a leaf's offset is its feature's byte offset in the features
 * section, an inner node's the index of its first child. Built bottom-up from boxes already in Hilbert order.
 */
export const NODE_BYTES = 40;
export const DEFAULT_NODE_SIZE = 16;

/** [start, end) node indices of each level, leaves first (as the format numbers them, root at 0). */
export function levelBounds(items: number, nodeSize: number): [number, number][] {
  let n = items;
  let total = n;
  const counts = [n];
  do {
    n = Math.ceil(n / nodeSize);
    total += n;
    counts.push(n);
  } while (n !== 1);
  const bounds: [number, number][] = [];
  let end = total;
  for (const c of counts) {
    bounds.push([end - c, end]);
    end -= c;
  }
  return bounds;
}

export function indexBytes(items: number, nodeSize: number): number {
  if (items === 0 || nodeSize === 0) return 0;
  const b = levelBounds(items, nodeSize);
  return b[0][1] * NODE_BYTES;
}

/** Hilbert curve index of (x, y) in [0, 65535]² (the flatbush/FlatGeobuf variant). */
export function hilbert(x: number, y: number): number {
  let a = x ^ y;
  let b = 0xffff ^ a;
  let c = 0xffff ^ (x | y);
  let d = x & (y ^ 0xffff);
  let A = a | (b >> 1);
  let B = (a >> 1) ^ a;
  let C = (c >> 1) ^ (b & (d >> 1)) ^ c;
  let D = (a & (c >> 1)) ^ (d >> 1) ^ d;
  a = A; b = B; c = C; d = D;
  A = (a & (a >> 2)) ^ (b & (b >> 2));
  B = (a & (b >> 2)) ^ (b & ((a ^ b) >> 2));
  C ^= (a & (c >> 2)) ^ (b & (d >> 2));
  D ^= (b & (c >> 2)) ^ ((a ^ b) & (d >> 2));
  a = A; b = B; c = C; d = D;
  A = (a & (a >> 4)) ^ (b & (b >> 4));
  B = (a & (b >> 4)) ^ (b & ((a ^ b) >> 4));
  C ^= (a & (c >> 4)) ^ (b & (d >> 4));
  D ^= (b & (c >> 4)) ^ ((a ^ b) & (d >> 4));
  a = A; b = B; c = C; d = D;
  C ^= (a & (c >> 8)) ^ (b & (d >> 8));
  D ^= (b & (c >> 8)) ^ ((a ^ b) & (d >> 8));
  a = C ^ (C >> 1);
  b = D ^ (D >> 1);
  let i0 = x ^ y;
  let i1 = b | (0xffff ^ (i0 | a));
  i0 = (i0 | (i0 << 8)) & 0x00ff00ff;
  i0 = (i0 | (i0 << 4)) & 0x0f0f0f0f;
  i0 = (i0 | (i0 << 2)) & 0x33333333;
  i0 = (i0 | (i0 << 1)) & 0x55555555;
  i1 = (i1 | (i1 << 8)) & 0x00ff00ff;
  i1 = (i1 | (i1 << 4)) & 0x0f0f0f0f;
  i1 = (i1 | (i1 << 2)) & 0x33333333;
  i1 = (i1 | (i1 << 1)) & 0x55555555;
  return ((i1 << 1) | i0) >>> 0;
}

/**
 * Hilbert values of box centres within `extent`; boxes without coordinates (minX > maxX, features
 * without geometry) sort last.
 */
export function hilbertValues(boxes: Float64Array, count: number, extent: readonly number[]): Uint32Array {
  const out = new Uint32Array(count);
  const w = extent[2] - extent[0];
  const h = extent[3] - extent[1];
  const sx = w > 0 ? 0xffff / w : 0;
  const sy = h > 0 ? 0xffff / h : 0;
  for (let i = 0; i < count; i++) {
    const o = 4 * i;
    if (!(boxes[o] <= boxes[o + 2])) {
      out[i] = 0xffffffff;
      continue;
    }
    const x = Math.floor(sx * ((boxes[o] + boxes[o + 2]) / 2 - extent[0]));
    const y = Math.floor(sy * ((boxes[o + 1] + boxes[o + 3]) / 2 - extent[1]));
    out[i] = hilbert(x, y);
  }
  return out;
}

/**
 * Positions 0..n-1 ordered by their key (equal keys keep their order): a least-significant-digit radix
 * sort in two 16-bit passes, linear in n and without a comparator call per pair.
 */
export function sortByKeys(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  const low = new Uint32Array(65537);
  const high = new Uint32Array(65537);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    low[(k & 0xffff) + 1]++;
    high[(k >>> 16) + 1]++;
  }
  for (let d = 0; d < 65536; d++) {
    low[d + 1] += low[d];
    high[d + 1] += high[d];
  }
  const byLow = new Uint32Array(n);
  for (let i = 0; i < n; i++) byLow[low[keys[i] & 0xffff]++] = i;
  const out = new Uint32Array(n);
  for (let j = 0; j < n; j++) {
    const i = byLow[j];
    out[high[keys[i] >>> 16]++] = i;
  }
  return out;
}

/**
 * An index node at f64 slot `o` of typed views over index bytes (little-endian, as FlatGeobuf and every
 * platform Node runs on are): its box in 4 f64 slots, then its offset (a u64) as the low and high u32 of the
 * fifth (u32 words 2o + 8 and 2o + 9). Node k of an index starts at slot 5k.
 */
export function writeNode(f64: Float64Array, u32: Uint32Array, o: number, minX: number, minY: number, maxX: number, maxY: number, offset: number): void {
  f64[o] = minX;
  f64[o + 1] = minY;
  f64[o + 2] = maxX;
  f64[o + 3] = maxY;
  u32[2 * o + 8] = offset >>> 0;
  u32[2 * o + 9] = Math.floor(offset / 0x100000000);
}

/** Leaves read per call of `leafBoxes` while the inner nodes are built. */
const LEAF_BLOCK = 1 << 16;

/**
 * The inner nodes of the index (node indices [0, first leaf), root first: the bytes that come before the
 * leaves in the file). `leafBoxes(from, to, out)` puts the boxes of leaves [from, to), in their final
 * order, into `out` (4 per leaf); it is called once per block of leaves, front to back, so the leaves
 * themselves need not be held.
 */
export function buildInnerNodes(count: number, nodeSize: number, leafBoxes: (from: number, to: number, out: Float64Array) => void): Uint8Array {
  const bounds = levelBounds(count, nodeSize);
  const leafStart = bounds[0][0];
  const out = new Uint8Array(leafStart * NODE_BYTES);
  const f64 = new Float64Array(out.buffer);
  const u32 = new Uint32Array(out.buffer);
  const block = new Float64Array(4 * Math.min(count, LEAF_BLOCK - (LEAF_BLOCK % nodeSize)));
  const perBlock = block.length / 4;
  let parent = bounds[1][0];
  for (let from = 0; from < count; from += perBlock) {
    const to = Math.min(count, from + perBlock);
    leafBoxes(from, to, block);
    for (let child = 0; child < to - from; parent++) {
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      const first = child;
      for (let k = 0; k < nodeSize && child < to - from; k++, child++) {
        const o = 4 * child;
        if (block[o] < minX) minX = block[o];
        if (block[o + 1] < minY) minY = block[o + 1];
        if (block[o + 2] > maxX) maxX = block[o + 2];
        if (block[o + 3] > maxY) maxY = block[o + 3];
      }
      writeNode(f64, u32, 5 * parent, minX, minY, maxX, maxY, leafStart + from + first);
    }
  }
  for (let level = 1; level + 1 < bounds.length; level++) {
    const [start, end] = bounds[level];
    for (let child = start, parent = bounds[level + 1][0]; child < end; parent++) {
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      const first = child;
      for (let k = 0; k < nodeSize && child < end; k++, child++) {
        const o = 5 * child;
        if (f64[o] < minX) minX = f64[o];
        if (f64[o + 1] < minY) minY = f64[o + 1];
        if (f64[o + 2] > maxX) maxX = f64[o + 2];
        if (f64[o + 3] > maxY) maxY = f64[o + 3];
      }
      writeNode(f64, u32, 5 * parent, minX, minY, maxX, maxY, first);
    }
  }
  return out;
}

/** Bytes of `count` consecutive leaves: their boxes (4 per leaf) and their features' byte offsets. */
export function encodeLeaves(boxes: Float64Array, offsets: Float64Array, count: number): Uint8Array {
  const out = new Uint8Array(count * NODE_BYTES);
  const f64 = new Float64Array(out.buffer);
  const u32 = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) {
    const o = 4 * i;
    writeNode(f64, u32, 5 * i, boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3], offsets[i]);
  }
  return out;
}

/**
 * The index bytes for leaves in their final order: `boxes` (4 per leaf) and each leaf's feature offset.
 * Inner nodes get the union of their children's boxes.
 */
export function buildIndex(boxes: Float64Array, offsets: Float64Array, count: number, nodeSize = DEFAULT_NODE_SIZE): Uint8Array {
  const inner = buildInnerNodes(count, nodeSize, (from, to, out) => out.set(boxes.subarray(4 * from, 4 * to)));
  const out = new Uint8Array(inner.byteLength + count * NODE_BYTES);
  out.set(inner);
  out.set(encodeLeaves(boxes, offsets, count), inner.byteLength);
  return out;
}

/** A node as read from the index. */
export interface IndexNode {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  offset: number;
}

export function readNode(bytes: Uint8Array, at: number): IndexNode {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, NODE_BYTES);
  return {
    minX: dv.getFloat64(0, true),
    minY: dv.getFloat64(8, true),
    maxX: dv.getFloat64(16, true),
    maxY: dv.getFloat64(24, true),
    offset: Number(dv.getBigUint64(32, true)),
  };
}

/**
 * Leaves whose boxes intersect `rect` ([minX, minY, maxX, maxY]), as leaf positions (0-based, in file
 * order), ascending. `read(offset, length)` reads bytes of the index; each level is read in runs of
 * adjacent nodes, so a query costs a few ranged reads per level.
 */
export async function searchIndex(
  items: number,
  nodeSize: number,
  rect: readonly number[],
  read: (offset: number, length: number) => Promise<Uint8Array>,
): Promise<number[]> {
  const bounds = levelBounds(items, nodeSize);
  const leafStart = bounds[0][0];
  // Ranges of nodes to visit on the current level, as [start, end) node indices.
  let ranges: [number, number][] = [[0, 1]];
  for (let level = bounds.length - 1; level >= 0; level--) {
    const next: [number, number][] = [];
    const hits: number[] = [];
    for (const [start, end] of ranges) {
      const bytes = await read(start * NODE_BYTES, (end - start) * NODE_BYTES);
      for (let i = start; i < end; i++) {
        const n = readNode(bytes, (i - start) * NODE_BYTES);
        if (rect[2] < n.minX || rect[3] < n.minY || rect[0] > n.maxX || rect[1] > n.maxY) continue;
        if (level === 0) hits.push(i - leafStart);
        else {
          const childEnd = Math.min(n.offset + nodeSize, bounds[level - 1][1]);
          const last = next[next.length - 1];
          // Children of neighbouring nodes are neighbours: one read covers them.
          if (last && n.offset <= last[1] + nodeSize) last[1] = childEnd;
          else next.push([n.offset, childEnd]);
        }
      }
    }
    if (level === 0) return hits;
    ranges = next;
  }
  return [];
}
