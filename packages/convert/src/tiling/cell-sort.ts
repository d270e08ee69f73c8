/**
 * One step of the distribution pass, for any thread: a block's points regrouped by their cell of the
 * distribution grid (input order kept within a cell), with the block's integer bounds and largest colour.
 */
import { emptyBlock, gatherColumn, gatherI32, type AttributeSpec, type PointBlock } from "./block.js";
import { FINE_BITS, fineCoordinates, type TreeFrame } from "./frame.js";

export interface CellSortTask {
  specs: AttributeSpec[];
  frame: TreeFrame;
  grid: number;
  block: PointBlock;
}

export interface CellSorted {
  /** The points, cell after cell. */
  block: PointBlock;
  /** Cell ids in order of first appearance, and where each one's points start in `block` (one more entry: the end). */
  cells: Float64Array;
  starts: Int32Array;
  lo: [number, number, number];
  hi: [number, number, number];
  colorMax: number;
}

export function sortByCell(t: CellSortTask): CellSorted {
  const { specs, frame, grid, block: b } = t;
  const n = b.count;
  const lo: [number, number, number] = [Infinity, Infinity, Infinity];
  const hi: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  const cols = [b.x, b.y, b.z];
  for (let a = 0; a < 3; a++) {
    const c = cols[a];
    let l = lo[a], h = hi[a];
    for (let i = 0; i < n; i++) {
      const v = c[i];
      if (v < l) l = v;
      if (v > h) h = v;
    }
    lo[a] = l;
    hi[a] = h;
  }
  let colorMax = 0;
  specs.forEach((s, k) => {
    if (s.name !== "red" && s.name !== "green" && s.name !== "blue") return;
    const c = b.attributes[k] as Uint16Array;
    for (let i = 0; i < n; i++) if (c[i] > colorMax) colorMax = c[i];
  });
  const [fx, fy, fz] = fineCoordinates(frame, b);
  const shift = FINE_BITS - grid;
  const side = 2 ** grid;
  // A counting sort over the block's cells, numbered in order of first appearance (consecutive points
  // mostly share a cell, so the map is rarely asked).
  const slotOf = new Int32Array(n);
  const slotIndex = new Map<number, number>();
  const slotCells: number[] = [];
  const slotCounts: number[] = [];
  let lastCell = -1;
  let lastSlot = -1;
  for (let i = 0; i < n; i++) {
    const cell = ((fx[i] >>> shift) * side + (fy[i] >>> shift)) * side + (fz[i] >>> shift);
    if (cell !== lastCell) {
      let s = slotIndex.get(cell);
      if (s === undefined) {
        s = slotCells.length;
        slotIndex.set(cell, s);
        slotCells.push(cell);
        slotCounts.push(0);
      }
      lastCell = cell;
      lastSlot = s;
    }
    slotOf[i] = lastSlot;
    slotCounts[lastSlot]++;
  }
  const starts = new Int32Array(slotCells.length + 1);
  for (let k = 0; k < slotCells.length; k++) starts[k + 1] = starts[k] + slotCounts[k];
  const fill = starts.slice(0, slotCells.length);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[fill[slotOf[i]]++] = i;
  const out = emptyBlock(specs, n);
  gatherI32(out.x, b.x, idx, n);
  gatherI32(out.y, b.y, idx, n);
  gatherI32(out.z, b.z, idx, n);
  b.attributes.forEach((a, c) => gatherColumn(out.attributes[c], a, idx, n));
  return { block: out, cells: Float64Array.from(slotCells), starts, lo, hi, colorMax };
}

/** The buffers of a block, to transfer it to another thread. */
export function blockBuffers(b: PointBlock): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  for (const a of [b.x, b.y, b.z, ...b.attributes]) set.add(a.buffer as ArrayBuffer);
  return [...set];
}

