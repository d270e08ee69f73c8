/**
 * The out-of-core octree engine. Takes any stream of PointChunks (point-cloud readers, mesh sampling, tie
 * points) and builds, on disk, the tree an output is written from:
 *
 * 1. Distribution (one pass over the stream): positions quantised on the tree's frame, every point
 *    appended to the block list of its cell at level G of the octree (one distribution file, blocks of
 *    one cell at a time, an index of cell -> blocks). The caller gives the root box; a point outside it
 *    ends the pass with `OutsideRootBox` carrying the measured bounds, so the caller can start again with
 *    them (header bounds are trusted first, and checked).
 * 2. Chunks: cells merged bottom-up into spatial chunks of at most `maxChunkPoints` (a subtree whose
 *    points fit the memory budget), each built independently on a thread (chunk-task.ts): additive nodes
 *    (lod.ts) or OPC tiles (opc-build.ts), written to the chunk's own file. Each chunk is a job part:
 *    recorded with `parts.finish` and skipped when found finished (its file still there) after a restart.
 * 3. Merge: the levels above the chunks, from the chunks' roots, in the calling thread (one parent's
 *    children in memory at a time, what it makes written to a file of its own).
 *
 * Memory budget split (`memoryBudgetBytes` = B): distribution buffers B/16 (each cell's waiting points
 * copied into arrays of its own, never views that would keep whole input blocks alive); chunk builds B/2,
 * sized for 6 builds at once from the bytes a build takes per point with its working arrays
 * (`buildBytesPerPoint`), never from the thread count; each thread reuses its working arrays from chunk to
 * chunk (scratch.ts) and writes nodes as soon as they are final. While the host's LAZ threads decode the
 * input, the distribution regroups in the calling thread and the tiling threads start only for the
 * chunks, after the idle LAZ threads have stopped. The tiling threads are stopped before the merge,
 * which holds one parent's children at a time and writes what it makes to a file; the rest is the output
 * encoders'. A single cell of level G denser than a chunk is built whole (it cannot be split further
 * without a deeper G), the one case memory may exceed the budget.
 *
 * Determinism: chunk boundaries come from the counts alone, points keep input order within a cell, and a
 * chunk's result depends only on its points, so the files are the same whatever the thread count.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { PointChunk } from "@realconv/formats";
import { throwIfAborted, type JobParts, type JsonValue, type RunnerResources } from "../contract/runner.js";
import { allocate, bytesPerPoint, decodeBlock, emptyBlock, encodeBlock, type AttributeArray, type AttributeSpec, type PointBlock } from "./block.js";
import { ChunkPool, type PositionMapping } from "./chunk-pool.js";
import type { CellSorted } from "./cell-sort.js";
import { readRanges, type ChunkTask, type FileRange, type StoredNode } from "./chunk-task.js";
import { compareKeys, FINE_BITS, keyId, type NodeKey, type TreeFrame } from "./frame.js";
import { mergeAbove, type MergeSource } from "./lod.js";
import { decodeOpcPoints, encodeOpcPoints, thinLevelFrom, type OpcTileSource } from "./opc-build.js";
import { releaseScratch } from "./scratch.js";
import { compareOpcTiles, type OpcLayout, type OpcPoints } from "@realconv/formats";

export type TreeMode = { kind: "additive"; maxLeaf: number } | { kind: "opc"; layout: OpcLayout };

export interface OctreeOptions {
  frame: TreeFrame;
  /** The attributes carried (PointChunk columns by name, extra attributes as "extra:<name>"). */
  specs: AttributeSpec[];
  mode: TreeMode;
  /** Points expected (header counts), to choose the distribution grid; the pass counts them anyway. */
  expectedPoints: number;
  /** Names this tree among the job's parts (one job may build several trees). */
  name: string;
  /** Positions to map before quantising (on the tiling threads), e.g. to a tileset's local frame. */
  positions?: PositionMapping;
  /** The source's chunks are not used once yielded: their arrays may be handed to the threads (no copies). */
  chunksHandedOver?: boolean;
}

export interface OctreeEnv {
  resources: RunnerResources;
  parts: JobParts;
  signal: AbortSignal;
  /** Progress of the engine's own work, 0..1. */
  progress(fraction: number): void;
}

/** Thrown by the distribution pass when a point lies outside the root box; `bounds` are the points' own. */
export class OutsideRootBox extends Error {
  constructor(readonly bounds: Float64Array) {
    super("a point lies outside the octree's root box");
  }
}

/** A node of the finished tree and where its points are. */
export interface TreeNode {
  key: NodeKey;
  count: number;
  read(): PointBlock;
}

export interface OpcTreeTile {
  level: number;
  x: number;
  y: number;
  z: number;
  count: number;
  read(): OpcPoints;
}

export interface Octree {
  frame: TreeFrame;
  specs: AttributeSpec[];
  pointCount: number;
  /** Bounds of the points, in CRS units. */
  bounds: Float64Array;
  /** 8 when colours are 16-bit (keep the top byte), 0 when every colour value is below 256. */
  colorShift: number;
  /** Additive trees: every node with points, sorted by level then x, y, z. */
  nodes: TreeNode[];
  /** OPC trees: the tiles of each level (index = OPC level), in file order. */
  opcLevels: OpcTreeTile[][];
  /** Removes the tree's files. */
  dispose(): Promise<void>;
}

/** The level of the distribution grid: about 4^G occupied cells for a surface, each a fraction of a chunk. */
function gridLevel(expected: number, maxChunk: number): number {
  let g = 0;
  while (g < 8 && 4 ** g < (8 * expected) / maxChunk) g++;
  return g;
}

const FLUSH_POINTS = 32_768;
/** Chunk builds the build half of the budget is sized for. */
const BUILDS_IN_BUDGET = 6;

/**
 * Bytes a chunk build takes per point of the chunk, its working arrays included. Additive: the chunk's
 * block, fine coordinates (12), octant and two index arrays (9), the node being written and its bytes,
 * the sampling's temporaries. OPC: the block, fine coordinates, slot and order (8), the level-0 tiles' OPC
 * columns (30: xyz as doubles), and what a thread's heap was measured to hold beyond them while it builds
 * chunks one after the other (the thinning's temporaries, and their garbage until collected): about 160
 * bytes per point over the block, not the 72 the arrays alone add up to.
 */
export function buildBytesPerPoint(specs: readonly AttributeSpec[], mode: TreeMode): number {
  const bpp = bytesPerPoint(specs);
  return mode.kind === "additive" ? 2 * bpp + 32 : bpp + 160;
}

interface CellIndex {
  counts: Map<number, number>;
  ranges: Map<number, FileRange[]>;
}

interface Distribution {
  file: string;
  grid: number;
  cells: CellIndex;
  count: number;
  bounds: Float64Array;
  colorMax: number;
}

/** A cell's waiting points: copies in arrays of its own (a view would keep the whole input block alive). */
interface CellBuffer {
  block: PointBlock;
  count: number;
}

async function distribute(source: AsyncIterable<PointChunk>, options: OctreeOptions, grid: number, file: string, env: OctreeEnv, bufferBytes: number, pool: ChunkPool): Promise<Distribution> {
  const { frame, specs } = options;
  const bpp = bytesPerPoint(specs);
  const fh = await open(file, "w");
  const cells: CellIndex = { counts: new Map(), ranges: new Map() };
  const buffers = new Map<number, CellBuffer>();
  // Bytes of the cells' arrays (their capacity, not only the points in them).
  let buffered = 0;
  let position = 0;
  let count = 0;
  const lo = new Float64Array([Infinity, Infinity, Infinity]);
  const hi = new Float64Array([-Infinity, -Infinity, -Infinity]);
  let colorMax = 0;
  // The integer range of the root box: a point outside it (beyond half a step) means the box was wrong.
  const boxLo = frame.min.map((m, a) => (m - frame.offset[a]) / frame.scale[a] - 0.5);
  const boxHi = frame.min.map((m, a) => (m + frame.edge[a] - frame.offset[a]) / frame.scale[a] + 0.5);
  // One buffer for the encoded blocks (each written before the next is encoded).
  let encoded = new Uint8Array(0);
  const encodeInto = (n: number) => {
    if (encoded.length < n) encoded = new Uint8Array(Math.max(n, 2 * encoded.length));
    return encoded.subarray(0, n);
  };

  const write = async (cell: number, points: PointBlock) => {
    const bytes = encodeBlock(specs, points, encodeInto);
    await fh.write(bytes, 0, bytes.length, position);
    let r = cells.ranges.get(cell);
    if (!r) cells.ranges.set(cell, (r = []));
    r.push({ offset: position, length: bytes.length });
    position += bytes.length;
  };
  const flush = async (cell: number) => {
    const buf = buffers.get(cell);
    if (!buf) return;
    buffers.delete(cell);
    buffered -= buf.block.count * bpp;
    if (buf.count > 0) await write(cell, sliceBlock(buf.block, 0, buf.count));
  };
  /** Points `from`..`to` of `src` appended to the cell's buffer (copied), written out once it is full. */
  const append = async (cell: number, src: PointBlock, from: number, to: number) => {
    const m = to - from;
    let buf = buffers.get(cell);
    // A whole block's worth at once, nothing waiting: straight to the file.
    if (!buf && m >= FLUSH_POINTS) return write(cell, sliceBlock(src, from, to));
    const need = (buf?.count ?? 0) + m;
    if (!buf || need > buf.block.count) {
      // Grown by doubling from a small start: most cells fill slowly, and their arrays count in the budget.
      let capacity = Math.max(1024, buf?.block.count ?? 0);
      while (capacity < need) capacity *= 2;
      capacity = Math.max(need, Math.min(capacity, FLUSH_POINTS));
      const grown = emptyBlock(specs, capacity);
      if (buf) copyPoints(buf.block, 0, buf.count, grown, 0);
      buffered += (capacity - (buf?.block.count ?? 0)) * bpp;
      buffers.set(cell, (buf = { block: grown, count: buf?.count ?? 0 }));
    }
    copyPoints(src, from, to, buf.block, buf.count);
    buf.count += m;
    if (buf.count >= FLUSH_POINTS) await flush(cell);
  };

  const inFlight: Promise<CellSorted>[] = [];
  const depth = 2 * Math.max(1, pool.threads);
  const take = async (r: CellSorted) => {
    for (let a = 0; a < 3; a++) {
      if (r.lo[a] < lo[a]) lo[a] = r.lo[a];
      if (r.hi[a] > hi[a]) hi[a] = r.hi[a];
    }
    if (r.colorMax > colorMax) colorMax = r.colorMax;
    for (let k = 0; k < r.cells.length; k++) {
      const cell = r.cells[k];
      const from = r.starts[k], to = r.starts[k + 1];
      cells.counts.set(cell, (cells.counts.get(cell) ?? 0) + (to - from));
      await append(cell, r.block, from, to);
    }
  };

  try {
    for await (const chunk of source) {
      throwIfAborted(env.signal);
      const n = chunk.count;
      if (n === 0) continue;
      // The regrouping runs on the pool's threads, several chunks at once; results are taken in input
      // order, so each cell's points keep the input order whatever the thread count.
      // Quantised there too (cell-sort.ts): this thread only reads.
      inFlight.push(pool.sortChunk({ specs, frame, grid }, chunk, options.positions, options.chunksHandedOver));
      count += n;
      if (inFlight.length < depth) continue;
      await take(await inFlight.shift()!);
      if (buffered > bufferBytes) {
        // The largest buffers first: fewer, larger blocks.
        const byCount = [...buffers.entries()].sort((p, q) => q[1].count - p[1].count || p[0] - q[0]);
        for (const [cell] of byCount) {
          if (buffered <= bufferBytes / 2) break;
          await flush(cell);
        }
      }
      env.progress(Math.min(1, count / Math.max(1, options.expectedPoints)));
    }
    while (inFlight.length > 0) await take(await inFlight.shift()!);
    for (const cell of [...buffers.keys()].sort((p, q) => p - q)) await flush(cell);
  } finally {
    await Promise.allSettled(inFlight);
    await fh.close();
  }
  const bounds = new Float64Array(6);
  for (let a = 0; a < 3; a++) {
    bounds[a] = count > 0 ? lo[a] * frame.scale[a] + frame.offset[a] : 0;
    bounds[a + 3] = count > 0 ? hi[a] * frame.scale[a] + frame.offset[a] : 0;
  }
  if (count > 0 && [0, 1, 2].some((a) => lo[a] < boxLo[a] || hi[a] > boxHi[a])) throw new OutsideRootBox(bounds);
  return { file, grid, cells, count, bounds, colorMax };
}

/** Points `from`..`to` of `src` copied into `dst` from point `at` on. */
function copyPoints(src: PointBlock, from: number, to: number, dst: PointBlock, at: number): void {
  dst.x.set(src.x.subarray(from, to), at);
  dst.y.set(src.y.subarray(from, to), at);
  dst.z.set(src.z.subarray(from, to), at);
  src.attributes.forEach((a, k) => dst.attributes[k].set(a.subarray(from, to) as never, at));
}

/** Points `from`..`to` of a block, as views (no copy). */
function sliceBlock(b: PointBlock, from: number, to: number): PointBlock {
  return { count: to - from, x: b.x.subarray(from, to), y: b.y.subarray(from, to), z: b.z.subarray(from, to), attributes: b.attributes.map((a) => a.subarray(from, to)) };
}

interface PlannedChunk {
  root: NodeKey;
  count: number;
  ranges: FileRange[];
}

/**
 * Cells merged top-down into chunks: a node is a chunk when its points fit, or when it is a cell, or at
 * `deepest` (OPC: a chunk is never smaller than a level-0 tile, whatever its points).
 */
function planChunks(d: Distribution, maxChunk: number, deepest: number): PlannedChunk[] {
  const g = d.grid;
  const side = 2 ** g;
  const levelCounts: Map<string, number>[] = [];
  for (let l = 0; l <= g; l++) levelCounts.push(new Map());
  const cellList = [...d.cells.counts.entries()].sort((a, b) => a[0] - b[0]);
  for (const [cell, n] of cellList) {
    const cz = cell % side, cy = Math.floor(cell / side) % side, cx = Math.floor(cell / side / side);
    for (let l = 0; l <= g; l++) {
      const s = g - l;
      const id = `${cx >> s}-${cy >> s}-${cz >> s}`;
      levelCounts[l].set(id, (levelCounts[l].get(id) ?? 0) + n);
    }
  }
  const chunks: PlannedChunk[] = [];
  const visit = (key: NodeKey) => {
    const n = levelCounts[key.level].get(`${key.x}-${key.y}-${key.z}`) ?? 0;
    if (n === 0) return;
    if (n <= maxChunk || key.level === g || key.level === deepest) {
      const s = g - key.level;
      const ranges: FileRange[] = [];
      for (const [cell] of cellList) {
        const cz = cell % side, cy = Math.floor(cell / side) % side, cx = Math.floor(cell / side / side);
        if (cx >> s === key.x && cy >> s === key.y && cz >> s === key.z) ranges.push(...(d.cells.ranges.get(cell) ?? []));
      }
      chunks.push({ root: key, count: n, ranges });
      return;
    }
    for (let o = 0; o < 8; o++) visit({ level: key.level + 1, x: 2 * key.x + (o >> 2), y: 2 * key.y + ((o >> 1) & 1), z: 2 * key.z + (o & 1) });
  };
  visit({ level: 0, x: 0, y: 0, z: 0 });
  return chunks;
}

function isStoredNodes(v: JsonValue | undefined): v is { signature: string; file: string; bytes: number; nodes: StoredNode[] } & JsonValue {
  return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as Record<string, unknown>).signature === "string";
}

async function fileHasSize(path: string, size: number): Promise<boolean> {
  try {
    return (await stat(path)).size === size;
  } catch {
    return false;
  }
}

/** A file written by appending (synchronously: the merge runs in one thread, block after block). */
class AppendFile {
  private readonly fd: number;
  private at = 0;
  constructor(path: string) {
    this.fd = openSync(path, "w");
  }
  append(bytes: Uint8Array): FileRange {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.at + done);
    const r = { offset: this.at, length: bytes.length };
    this.at += bytes.length;
    return r;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Runs `task(0..n-1)` with at most `width` running at once; the first failure stops the rest. */
async function inBatches(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}

/** Builds the tree of `source` (one pass over it). */
export async function buildOctree(source: AsyncIterable<PointChunk>, options: OctreeOptions, env: OctreeEnv): Promise<Octree> {
  const { resources, parts } = env;
  const threads = Math.max(1, resources.threads?.size ?? 1);
  const budget = resources.memoryBudgetBytes;
  // Chunk size from the budget alone (never from the thread count, so the tree is the same whatever it
  // is): B/2 for BUILDS_IN_BUDGET builds at once; more threads than fit run fewer chunks at a time.
  const perPoint = buildBytesPerPoint(options.specs, options.mode);
  const maxChunk = Math.max(50_000, Math.floor(budget / 2 / BUILDS_IN_BUDGET / perPoint));
  const concurrent = Math.max(1, Math.min(threads, Math.floor(budget / 2 / (maxChunk * perPoint))));
  const bufferBytes = Math.max(FLUSH_POINTS * bytesPerPoint(options.specs), Math.floor(budget / 16));
  const grid = gridLevel(options.expectedPoints, maxChunk);
  const dir = join(resources.partsDir ?? join(resources.scratch.dir, "parts"), options.name);
  await mkdir(dir, { recursive: true });
  // Parts recorded by an earlier run count only for the same tree (same frame, attributes, mode, grid).
  const signature = JSON.stringify({ frame: options.frame, specs: options.specs, mode: options.mode, grid, maxChunk });
  const finished = await parts.finished();

  // Idle LAZ threads left from earlier work stop (their memory back); they start again on demand.
  await resources.threads?.stopIdle();
  // While the host's LAZ threads decode the input (they have started), the distribution regroups its
  // blocks in this thread: two threads at work beside it rather than four, and the tiling threads start
  // for the chunk phase only, after the LAZ ones have stopped.
  const pool = new ChunkPool(threads, () => (resources.threads?.threadCount ?? 0) > 0);
  try {
    return await buildWith(pool, source, options, env, { signature, finished, dir, grid, maxChunk, bufferBytes, concurrent });
  } finally {
    await pool.close();
  }
}

interface BuildPlan {
  signature: string;
  finished: ReadonlyMap<string, JsonValue>;
  dir: string;
  grid: number;
  maxChunk: number;
  bufferBytes: number;
  concurrent: number;
}

async function buildWith(pool: ChunkPool, source: AsyncIterable<PointChunk>, options: OctreeOptions, env: OctreeEnv, plan: BuildPlan): Promise<Octree> {
  const { parts, signal } = env;
  const { signature, finished, dir, grid, maxChunk, bufferBytes, concurrent } = plan;
  const distPart = `${options.name}/distribution`;
  const distFile = join(dir, "distribution.bin");
  let dist: Distribution;
  const prev = finished.get(distPart) as Record<string, JsonValue> | undefined;
  if (prev && prev.signature === signature && (await fileHasSize(distFile, Number(prev.bytes)))) {
    const cellsJson = prev.cells as [number, number, [number, number][]][];
    dist = {
      file: distFile,
      grid,
      count: Number(prev.count),
      bounds: Float64Array.from(prev.bounds as number[]),
      colorMax: Number(prev.colorMax),
      cells: {
        counts: new Map(cellsJson.map(([c, n]) => [c, n])),
        ranges: new Map(cellsJson.map(([c, , r]) => [c, r.map(([offset, length]) => ({ offset, length }))])),
      },
    };
    env.progress(0.5);
  } else {
    dist = await distribute(source, options, grid, distFile, { ...env, progress: (f) => env.progress(0.5 * f) }, bufferBytes, pool);
    // The LAZ threads that read the input have nothing to do until the output (if it compresses).
    await env.resources.threads?.stopIdle();
    const bytes = (await stat(distFile)).size;
    const cellsJson = [...dist.cells.counts.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => [c, n, (dist.cells.ranges.get(c) ?? []).map((r) => [r.offset, r.length])]);
    await parts.finish(distPart, { signature, bytes, count: dist.count, bounds: [...dist.bounds], colorMax: dist.colorMax, cells: cellsJson } as JsonValue);
  }
  const colorShift = dist.colorMax > 255 ? 8 : 0;

  const planned = planChunks(dist, maxChunk, options.mode.kind === "opc" ? options.mode.layout.levelCount - 1 : FINE_BITS);
  const mode = options.mode;
  const taskMode: ChunkTask["mode"] = mode.kind === "additive" ? mode : { kind: "opc", layout: mode.layout, colorShift };
  const built: { root: NodeKey; file: string; nodes: StoredNode[] }[] = new Array(planned.length);
  let donePoints = 0;
  // At most `concurrent` chunks in memory at once (the budget's build half).
  await inBatches(planned.length, concurrent, async (i) => {
        const c = planned[i];
        const id = `${options.name}/chunk-${keyId(c.root)}`;
        const file = join(dir, `chunk-${keyId(c.root)}.bin`);
        const m = finished.get(id);
        if (isStoredNodes(m) && m.signature === signature && (await fileHasSize(file, m.bytes))) {
          built[i] = { root: c.root, file, nodes: m.nodes };
        } else {
          throwIfAborted(signal);
          const r = await pool.run({ specs: options.specs, frame: options.frame, root: c.root, input: dist.file, ranges: c.ranges, count: c.count, output: file, mode: taskMode });
          throwIfAborted(signal);
          await parts.finish(id, { signature, file: `chunk-${keyId(c.root)}.bin`, bytes: r.bytes, nodes: r.nodes } as unknown as JsonValue);
          built[i] = { root: c.root, file, nodes: r.nodes };
        }
        donePoints += c.count;
        env.progress(0.5 + (0.4 * donePoints) / Math.max(1, dist.count));
  });
  throwIfAborted(signal);
  // The threads' heaps go before the merge and the output: nothing runs on them any more.
  await pool.close();
  releaseScratch();

  const stored = (file: string, n: StoredNode): FileRange => ({ offset: n.offset, length: n.length });
  const tree: Octree = {
    frame: options.frame,
    specs: options.specs,
    pointCount: dist.count,
    bounds: dist.bounds,
    colorShift,
    nodes: [],
    opcLevels: [],
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
  // The merge writes what it makes to a file of its own: one parent's children in memory at a time.
  const mergeFile = join(dir, "merge.bin");
  const merged = new AppendFile(mergeFile);

  try {
    if (mode.kind === "additive") {
      const { specs, frame } = options;
      const readAt = (file: string, r: FileRange) => () => decodeBlock(specs, readRanges(file, [r])[0]);
      const roots: (MergeSource & { count: number })[] = [];
      const refs: TreeNode[] = [];
      for (const c of built) {
        for (const n of c.nodes) {
          const read = readAt(c.file, stored(c.file, n));
          if (compareKeys(n, c.root) === 0) roots.push({ key: c.root, count: n.count, read });
          else refs.push({ key: { level: n.level, x: n.x, y: n.y, z: n.z }, count: n.count, read });
        }
      }
      const keep = (key: NodeKey, points: PointBlock) => ({ key, count: points.count, read: readAt(mergeFile, merged.append(encodeBlock(specs, points))) });
      mergeAbove(specs, frame, roots, keep, (key, points, same) => refs.push(same ? { key, count: points.count, read: same.read } : keep(key, points)));
      tree.nodes = refs.sort((a, b) => compareKeys(a.key, b.key));
    } else {
      const top = mode.layout.levelCount - 1;
      const levels: OpcTreeTile[][] = [];
      for (let l = 0; l <= top; l++) levels.push([]);
      const frontier: OpcTileSource[][] = levels.map(() => []);
      for (const c of built) {
        const rootLevel = top - c.root.level;
        for (const n of c.nodes) {
          const where = stored(c.file, n);
          const read = () => decodeOpcPoints(readRanges(c.file, [where])[0]);
          levels[n.level].push({ level: n.level, x: n.x, y: n.y, z: n.z, count: n.count, read });
          if (n.level === rootLevel) frontier[n.level].push({ x: n.x, y: n.y, z: n.z, read });
        }
      }
      for (let l = 1; l <= top; l++) {
        if (frontier[l - 1].length === 0) continue;
        thinLevelFrom(mode.layout, l, frontier[l - 1], (t) => {
          const where = merged.append(encodeOpcPoints(t.points));
          const read = () => decodeOpcPoints(readRanges(mergeFile, [where])[0]);
          frontier[l].push({ x: t.x, y: t.y, z: t.z, read });
          levels[l].push({ level: l, x: t.x, y: t.y, z: t.z, count: t.points.count, read });
        });
        frontier[l - 1] = [];
      }
      const bs = mode.layout.blockSize;
      for (const lv of levels) lv.sort((a, b) => compareOpcTiles(a.x, a.y, a.z, b.x, b.y, b.z, bs));
      tree.opcLevels = levels;
    }
  } finally {
    merged.close();
  }
  releaseScratch();
  env.progress(1);
  return tree;
}
