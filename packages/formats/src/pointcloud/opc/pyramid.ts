/**
 * Every level of an OPC file built in memory from the level-0 points: for clouds that fit in memory
 * (small inputs, tests). An out-of-core tiler does the same tile by tile: bucket level 0 by
 * `opcTileOf`, then `thinOpcTile` each coarser tile from its children.
 */
import { compareOpcTiles, type OpcLayout, type OpcPoints, opcTileOf } from "./layout.js";
import { thinOpcTile } from "./thin.js";
import type { OpcTile } from "./writer.js";

/**
 * The tiles of every level (index = level), each in file order. Level-0 tiles keep the input order of
 * their points; coarser levels are thinned from their children.
 */
export function buildOpcLevels(layout: OpcLayout, points: OpcPoints): OpcTile[][] {
  const n = points.count;
  const tileOfPoint = new Int32Array(3 * n);
  const t = new Int32Array(3);
  for (let i = 0; i < n; i++) {
    opcTileOf(layout, 0, points.xyz[3 * i], points.xyz[3 * i + 1], points.xyz[3 * i + 2], t);
    tileOfPoint.set(t, 3 * i);
  }
  const bs = layout.blockSize;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => compareOpcTiles(tileOfPoint[3 * a], tileOfPoint[3 * a + 1], tileOfPoint[3 * a + 2], tileOfPoint[3 * b], tileOfPoint[3 * b + 1], tileOfPoint[3 * b + 2], bs) || a - b);

  const level0: OpcTile[] = [];
  for (let start = 0; start < n; ) {
    const p = order[start];
    let end = start + 1;
    while (end < n && sameTile(tileOfPoint, p, order[end])) end++;
    level0.push({ x: tileOfPoint[3 * p], y: tileOfPoint[3 * p + 1], z: tileOfPoint[3 * p + 2], points: gather(points, order.subarray(start, end)) });
    start = end;
  }

  const levels: OpcTile[][] = [level0];
  for (let level = 1; level < layout.levelCount; level++) {
    const children = levels[level - 1];
    const parents = new Map<string, { x: number; y: number; z: number; children: OpcPoints[] }>();
    for (const c of children) {
      const x = Math.floor(c.x / 2);
      const y = Math.floor(c.y / 2);
      const z = Math.floor(c.z / 2);
      const key = `${x},${y},${z}`;
      let parent = parents.get(key);
      if (!parent) parents.set(key, (parent = { x, y, z, children: [] }));
      parent.children.push(c.points);
    }
    const sorted = [...parents.values()].sort((a, b) => compareOpcTiles(a.x, a.y, a.z, b.x, b.y, b.z, bs));
    levels.push(sorted.map((p) => ({ x: p.x, y: p.y, z: p.z, points: thinOpcTile(layout, level, p.x, p.y, p.z, p.children) })));
  }
  return levels;
}

function sameTile(tiles: Int32Array, a: number, b: number): boolean {
  return tiles[3 * a] === tiles[3 * b] && tiles[3 * a + 1] === tiles[3 * b + 1] && tiles[3 * a + 2] === tiles[3 * b + 2];
}

/** The points at `indices`, every column copied. */
function gather(p: OpcPoints, indices: Uint32Array): OpcPoints {
  const m = indices.length;
  const out: OpcPoints = { count: m, xyz: new Float64Array(3 * m) };
  if (p.rgb) out.rgb = new Uint8Array(3 * m);
  if (p.intensity) out.intensity = new Uint16Array(m);
  if (p.classification) out.classification = new Uint8Array(m);
  if (p.weight) out.weight = new Uint32Array(m);
  for (let k = 0; k < m; k++) {
    const i = indices[k];
    out.xyz.set(p.xyz.subarray(3 * i, 3 * i + 3), 3 * k);
    if (out.rgb) out.rgb.set(p.rgb!.subarray(3 * i, 3 * i + 3), 3 * k);
    if (out.intensity) out.intensity[k] = p.intensity![i];
    if (out.classification) out.classification[k] = p.classification![i];
    if (out.weight) out.weight[k] = p.weight![i];
  }
  return out;
}
