/**
 * One step of the distribution pass, for any thread: a chunk's points quantised on the tree's frame
 * (through a position grid first when the tree has one) and regrouped by their cell of the distribution
 * grid (input order kept within a cell), with the block's integer bounds and largest colour.
 */
import type { PointChunk } from "@realconv/formats";
import { allocate, emptyBlock, gatherColumn, gatherI32, type AttributeArray, type AttributeSpec, type PointBlock } from "./block.js";
import { FINE_BITS, fineCoordinates, type TreeFrame } from "./frame.js";
import { interpolateInside, positionsAsF64, type PositionGrid } from "./position-grid.js";

/** A chunk's positions and the columns of the tree's attributes (in spec order; undefined: absent, zeros). */
export interface RawPoints {
  count: number;
  positions: PointChunk["positions"];
  columns: (ArrayLike<number> | undefined)[];
}

export interface CellSortTask {
  specs: AttributeSpec[];
  frame: TreeFrame;
  grid: number;
  /** Points already on the frame's integers, or `raw` to be quantised here (through `positions` if given). */
  block?: PointBlock;
  raw?: RawPoints;
  positions?: PositionGrid;
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

/** What a thread answers: the sorted points, or that some lie outside the position grid (mapped by the caller instead). */
export type CellSortAnswer = CellSorted | { outside: true };

function specColumn(chunk: PointChunk, s: AttributeSpec): ArrayLike<number> | undefined {
  if (s.name.startsWith("extra:")) return chunk.extra?.[s.name.slice(6)];
  return (chunk as unknown as Record<string, ArrayLike<number> | undefined>)[s.name];
}

/** The first `n` values as a typed array of its own (copied only when the column is not exactly that). */
function own<T extends ArrayLike<number>>(col: T, n: number): T {
  if (!ArrayBuffer.isView(col)) return col;
  const v = col as unknown as Int32Array;
  if (v.length === n && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return col;
  return v.slice(0, n) as unknown as T;
}

/**
 * A chunk's points for a sort task: its own columns, each exactly `count` long on a buffer of its own, so
 * posting the task copies no more than the points (the chunk itself is left as it is).
 */
export function rawPoints(specs: readonly AttributeSpec[], chunk: PointChunk): RawPoints {
  const n = chunk.count;
  const p = chunk.positions;
  const positions: PointChunk["positions"] = p.kind === "f64" ? { kind: "f64", x: own(p.x, n), y: own(p.y, n), z: own(p.z, n) } : { kind: "i32", x: own(p.x, n), y: own(p.y, n), z: own(p.z, n), scale: p.scale, offset: p.offset };
  return { count: n, positions, columns: specs.map((s) => { const c = specColumn(chunk, s); return c === undefined ? undefined : own(c, n); }) };
}

const KIND_ARRAY: Record<AttributeSpec["kind"], unknown> = { u8: Uint8Array, u16: Uint16Array, f32: Float32Array, f64: Float64Array };

/** The buffers of a task's points (each column has one of its own, see `rawPoints`), to transfer them. */
export function rawBuffers(raw: RawPoints): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  const p = raw.positions;
  for (const a of [p.x, p.y, p.z, ...raw.columns]) if (a && ArrayBuffer.isView(a)) set.add(a.buffer as ArrayBuffer);
  return [...set];
}

/**
 * Points on the frame's integers, and their attributes in the tree's columns. Inputs are only read: a
 * column already of the right type is used as it is.
 */
export function toBlock(frame: TreeFrame, specs: readonly AttributeSpec[], raw: RawPoints): PointBlock {
  const n = raw.count;
  const p = raw.positions;
  let x: Int32Array, y: Int32Array, z: Int32Array;
  const same = p.kind === "i32" && p.scale.every((s, a) => s === frame.scale[a]) && p.offset.every((o, a) => o === frame.offset[a]);
  if (same) {
    x = p.x.subarray(0, n);
    y = p.y.subarray(0, n);
    z = p.z.subarray(0, n);
  } else {
    const cols = [(x = new Int32Array(n)), (y = new Int32Array(n)), (z = new Int32Array(n))];
    for (let a = 0; a < 3; a++) {
      const inv = 1 / frame.scale[a];
      const o = frame.offset[a];
      const dst = cols[a];
      if (p.kind === "f64") {
        const src = a === 0 ? p.x : a === 1 ? p.y : p.z;
        for (let i = 0; i < n; i++) dst[i] = Math.round((src[i] - o) * inv);
      } else {
        const src = a === 0 ? p.x : a === 1 ? p.y : p.z;
        const s = p.scale[a];
        const so = p.offset[a];
        for (let i = 0; i < n; i++) dst[i] = Math.round((src[i] * s + so - o) * inv);
      }
    }
  }
  const attributes = specs.map((s, k): AttributeArray => {
    const col = raw.columns[k];
    if (col && ArrayBuffer.isView(col) && col.constructor === KIND_ARRAY[s.kind]) return (col as AttributeArray).subarray(0, n);
    const out = allocate(s.kind, n);
    if (col) for (let i = 0; i < n; i++) out[i] = col[i];
    return out;
  });
  return { count: n, x, y, z, attributes };
}

/**
 * The points mapped through the grid (doubles, as `toEnu` of tiled-output.ts computes them), or undefined
 * when one lies outside the grid's box.
 */
function throughGrid(g: PositionGrid, raw: RawPoints): RawPoints | undefined {
  const n = raw.count;
  const { x, y, z } = positionsAsF64(raw.positions, n, true);
  if (interpolateInside(g, x, y, z, n) > 0) return undefined;
  return { count: n, positions: { kind: "f64", x, y, z }, columns: raw.columns };
}

/** A sort task run: its points quantised (raw tasks), then regrouped by cell. */
export function runSortTask(t: CellSortTask): CellSortAnswer {
  if (t.block) return sortByCell(t, t.block);
  let raw = t.raw!;
  if (t.positions) {
    const mapped = throughGrid(t.positions, raw);
    if (!mapped) return { outside: true };
    raw = mapped;
  }
  return sortByCell(t, toBlock(t.frame, t.specs, raw));
}

export function sortByCell(t: Pick<CellSortTask, "specs" | "frame" | "grid">, b: PointBlock): CellSorted {
  const { specs, frame, grid } = t;
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

