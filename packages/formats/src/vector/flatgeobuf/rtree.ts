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
 * The index bytes for leaves in their final order: `boxes` (4 per leaf) and each leaf's feature offset.
 * Inner nodes get the union of their children's boxes.
 */
export function buildIndex(boxes: Float64Array, offsets: Float64Array, count: number, nodeSize = DEFAULT_NODE_SIZE): Uint8Array {
  const bounds = levelBounds(count, nodeSize);
  const total = bounds[0][1];
  const out = new Uint8Array(total * NODE_BYTES);
  const dv = new DataView(out.buffer);
  const node = new Float64Array(total * 4);
  const [leafStart] = bounds[0];
  for (let i = 0; i < count; i++) {
    node.set(boxes.subarray(4 * i, 4 * i + 4), 4 * (leafStart + i));
    dv.setBigUint64((leafStart + i) * NODE_BYTES + 32, BigInt(offsets[i]), true);
  }
  for (let level = 0; level + 1 < bounds.length; level++) {
    const [start, end] = bounds[level];
    const [parentStart] = bounds[level + 1];
    for (let child = start, parent = parentStart; child < end; parent++) {
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      const first = child;
      for (let k = 0; k < nodeSize && child < end; k++, child++) {
        const o = 4 * child;
        if (node[o] < minX) minX = node[o];
        if (node[o + 1] < minY) minY = node[o + 1];
        if (node[o + 2] > maxX) maxX = node[o + 2];
        if (node[o + 3] > maxY) maxY = node[o + 3];
      }
      node[4 * parent] = minX;
      node[4 * parent + 1] = minY;
      node[4 * parent + 2] = maxX;
      node[4 * parent + 3] = maxY;
      dv.setBigUint64(parent * NODE_BYTES + 32, BigInt(first), true);
    }
  }
  for (let i = 0; i < total; i++) {
    const at = i * NODE_BYTES;
    dv.setFloat64(at, node[4 * i], true);
    dv.setFloat64(at + 8, node[4 * i + 1], true);
    dv.setFloat64(at + 16, node[4 * i + 2], true);
    dv.setFloat64(at + 24, node[4 * i + 3], true);
  }
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
