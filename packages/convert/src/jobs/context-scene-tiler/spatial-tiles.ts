/**
 * Spatial tiles of items made of a fixed number of vertices (camera frustums, annotation boxes): items are
 * split at the median of the longest axis of their anchors until a tile holds at most `perTile`; only
 * leaves have content (refine ADD), geometric errors shrink with the tiles to 0 at the leaves.
 */

export interface TileNode {
  items: number[];
  children: TileNode[];
  /** Content path, leaves only. */
  uri?: string;
  box: number[];
  geometricError: number;
}

/** Splits item indices at the median of the longest axis of their anchors (xyz per item) until each leaf is small. */
export function partition(indices: number[], anchors: Float64Array, perTile: number, uriOf: (path: string) => string, leaves: TileNode[], path = "0"): TileNode {
  if (indices.length <= perTile) {
    const leaf: TileNode = { items: indices, children: [], uri: uriOf(path), box: [], geometricError: 0 };
    leaves.push(leaf);
    return leaf;
  }
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (const i of indices) for (let k = 0; k < 3; k++) {
    min[k] = Math.min(min[k], anchors[i * 3 + k]);
    max[k] = Math.max(max[k], anchors[i * 3 + k]);
  }
  const axis = [0, 1, 2].reduce((a, k) => (max[k] - min[k] > max[a] - min[a] ? k : a), 0);
  // Ties broken by index: the same scene always splits the same way.
  const sorted = [...indices].sort((a, b) => anchors[a * 3 + axis] - anchors[b * 3 + axis] || a - b);
  const half = sorted.length >> 1;
  return {
    items: [],
    children: [
      partition(sorted.slice(0, half), anchors, perTile, uriOf, leaves, `${path}-0`),
      partition(sorted.slice(half), anchors, perTile, uriOf, leaves, `${path}-1`),
    ],
    box: [],
    geometricError: 0,
  };
}

/** 3D Tiles box (centre, three half-axes) around an axis-aligned min/max. */
export function boxOf(min: readonly number[], max: readonly number[]): number[] {
  const c = [0, 1, 2].map((k) => (min[k] + max[k]) / 2);
  // A flat box still needs a thickness for culling.
  const h = [0, 1, 2].map((k) => Math.max((max[k] - min[k]) / 2, 1e-3));
  return [...c, h[0], 0, 0, 0, h[1], 0, 0, 0, h[2]];
}

/** Fills boxes and geometric errors bottom-up from the items' vertices; returns the node's min/max. */
export function finishTree(node: TileNode, vertices: Float64Array, verticesPerItem: number): { min: number[]; max: number[] } {
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  const grow = (lo: readonly number[], hi: readonly number[]) => {
    for (let k = 0; k < 3; k++) {
      min[k] = Math.min(min[k], lo[k]);
      max[k] = Math.max(max[k], hi[k]);
    }
  };
  for (const item of node.items) {
    for (let v = 0; v < verticesPerItem; v++) {
      const at = (item * verticesPerItem + v) * 3;
      const p = [vertices[at], vertices[at + 1], vertices[at + 2]];
      grow(p, p);
    }
  }
  let childError = 0;
  for (const child of node.children) {
    const b = finishTree(child, vertices, verticesPerItem);
    grow(b.min, b.max);
    childError = Math.max(childError, child.geometricError);
  }
  node.box = boxOf(min, max);
  if (node.children.length > 0) {
    const diagonal = Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]);
    node.geometricError = Math.max(diagonal / 20, childError * 2, 1e-3);
  }
  return { min, max };
}

export function tileJson(node: TileNode): Record<string, unknown> {
  return {
    boundingVolume: { box: node.box },
    geometricError: node.geometricError,
    ...(node.uri ? { content: { uri: node.uri } } : {}),
    ...(node.children.length > 0 ? { children: node.children.map(tileJson) } : {}),
  };
}

/** The items' vertices of one leaf, copied out in leaf order. */
export function leafVertices(leaf: TileNode, vertices: Float64Array, verticesPerItem: number): Float64Array {
  const stride = verticesPerItem * 3;
  const out = new Float64Array(leaf.items.length * stride);
  leaf.items.forEach((item, i) => out.set(vertices.subarray(item * stride, (item + 1) * stride), i * stride));
  return out;
}

/** Transforms interleaved xyz in place. */
export function transformInterleaved(vertices: Float64Array, transform: { transform(x: Float64Array, y: Float64Array, z: Float64Array): void }): void {
  const count = vertices.length / 3;
  const x = new Float64Array(count);
  const y = new Float64Array(count);
  const z = new Float64Array(count);
  for (let v = 0; v < count; v++) [x[v], y[v], z[v]] = [vertices[v * 3], vertices[v * 3 + 1], vertices[v * 3 + 2]];
  transform.transform(x, y, z);
  for (let v = 0; v < count; v++) [vertices[v * 3], vertices[v * 3 + 1], vertices[v * 3 + 2]] = [x[v], y[v], z[v]];
}
