/**
 * COPC writer, pure and streaming: a LAZ 1.4 file (PDRF 6, 7 or 8) whose octree nodes are LAZ chunks of
 * variable size, one chunk per node, in the order the nodes arrive. Layout:
 *
 *   LAS 1.4 header (375) · `copc`/1 info VLR (first, at 375) · `laszip encoded` VLR · WKT VLR · extra-bytes
 *   VLR · i64 chunk-table offset · node chunks · LAZ chunk table · `copc`/1000 hierarchy EVLR (pages)
 *
 * The hierarchy is additive (each point in exactly one node). Header statistics, the chunk-table and EVLR
 * offsets, and the info VLR's hierarchy and GPS-time fields are known at the end: `finish()` returns them
 * as patches over the bytes written first. Memory: one node's records and chunk, plus 32 bytes per node.
 */
import type { PointChunk } from "../chunk.js";
import { pdrfHasNir, pdrfHasRgb } from "../las/records.js";
import { chooseLasFormat, type LasHeaderPatch, LasWriter, type LasWriterOptions, vlrBytes } from "../las/writer.js";
import { encodeChunkTable, inThreadLazCompressor, type LazChunkCompressor, variableChunkLazVlr } from "./laz-chunks.js";
import { patchedBytes, patchedStream } from "../../io/patched.js";

/** An octree node: level 0 is the root cube; at level L, x, y, z run over 0 .. 2^L - 1. */
export interface CopcKey {
  level: number;
  x: number;
  y: number;
  z: number;
}

/** The root cube of the octree, in file (scaled) coordinates. */
export interface CopcCube {
  center: readonly [number, number, number];
  halfSize: number;
}

export interface CopcWriterOptions extends Omit<LasWriterOptions, "pdrf" | "minorVersion" | "crs" | "scale" | "offset"> {
  /** 6, 7 (RGB) or 8 (RGB + NIR); default: the smallest of them holding the schema's columns. */
  pdrf?: 6 | 7 | 8;
  /** Quantisation of every record (fixed up front: nodes are checked against their cubes). */
  scale: readonly [number, number, number];
  offset: readonly [number, number, number];
  cube: CopcCube;
  /** Point spacing at the root (halved at each level); default: the cube's edge / 128. */
  spacing?: number;
  /** The CRS as OGC WKT (LASF_Projection 2112 VLR, the global-encoding WKT bit); COPC has no GeoTIFF keys. */
  wkt?: string;
  /** Octree levels per hierarchy page (default 6): deeper subtrees go to child pages. */
  pageLevels?: number;
}

const HEADER_SIZE = 375;
const VLR_HEADER = 54;
const EVLR_HEADER = 60;
const INFO_SIZE = 160;
const ENTRY = 32;
const DEFAULT_PAGE_LEVELS = 6;
/** Root spacing by default: a root node of 128³ cells. */
const ROOT_CELLS = 128;
/** Byte offsets of the LAS 1.4 header fields the writer fills after LasWriter's header. */
const POINT_DATA_OFFSET = 96;
const VLR_COUNT = 100;
const POINT_FORMAT = 104;
const EVLR_OFFSET = 235;
const EVLR_COUNT = 243;
/** Info VLR fields known only at the end (root hierarchy offset and size, GPS time range). */
const INFO_PATCH_AT = HEADER_SIZE + VLR_HEADER + 40;
const MAX_LEVEL = 30;

/** The cube holding `bounds` ([minX, minY, minZ, maxX, maxY, maxZ]): centred on them, edge = the largest extent. */
export function copcCube(bounds: ArrayLike<number>): CopcCube {
  const center: [number, number, number] = [0, 0, 0];
  let half = 0;
  for (let a = 0; a < 3; a++) {
    center[a] = (bounds[a] + bounds[a + 3]) / 2;
    half = Math.max(half, (bounds[a + 3] - bounds[a]) / 2);
  }
  // A cube of at least one unit, so a single point (or a flat cloud) still has a cube.
  return { center, halfSize: half > 0 ? half : 0.5 };
}

/** The level-`level` node holding (x, y, z) (clamped into the cube), written to `out[0..2]`. */
export function copcNodeOf(cube: CopcCube, level: number, x: number, y: number, z: number, out: Int32Array): Int32Array {
  const cells = 2 ** level;
  const size = (2 * cube.halfSize) / cells;
  const p = [x, y, z];
  for (let a = 0; a < 3; a++) {
    const i = Math.floor((p[a] - (cube.center[a] - cube.halfSize)) / size);
    out[a] = i < 0 ? 0 : i >= cells ? cells - 1 : i;
  }
  return out;
}

const keyString = (level: number, x: number, y: number, z: number): string => `${level}-${x}-${y}-${z}`;

/** Growable columns of the hierarchy: key, chunk offset, byte size, point count per node. */
class NodeTable {
  keys = new Int32Array(4 * 256);
  offsets = new Float64Array(256);
  sizes = new Int32Array(256);
  counts = new Int32Array(256);
  length = 0;
  private readonly index = new Map<string, number>();

  find(level: number, x: number, y: number, z: number): number | undefined {
    return this.index.get(keyString(level, x, y, z));
  }

  add(level: number, x: number, y: number, z: number, count: number): number {
    if (this.length === this.sizes.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.keys = grow(this.keys, (n) => new Int32Array(n));
      this.offsets = grow(this.offsets, (n) => new Float64Array(n));
      this.sizes = grow(this.sizes, (n) => new Int32Array(n));
      this.counts = grow(this.counts, (n) => new Int32Array(n));
    }
    const i = this.length++;
    this.keys.set([level, x, y, z], 4 * i);
    this.counts[i] = count;
    this.offsets[i] = 0;
    this.sizes[i] = 0;
    this.index.set(keyString(level, x, y, z), i);
    return i;
  }
}

/**
 * Push-style COPC writer: every method returns the bytes to append, in call order.
 *
 * ```ts
 * const w = new CopcWriter({ schema, scale, offset, cube, wkt });
 * out(w.header());
 * for (const node of nodes) out(w.addNode(node.key, w.encode(node.chunk)));   // any order, each node once
 * const { bytes, patches } = w.finish(); out(bytes); // then write each patch at patch.offset
 * ```
 */
export class CopcWriter {
  readonly pdrf: number;
  readonly recordLength: number;
  readonly cube: CopcCube;
  readonly spacing: number;
  private readonly stats: LasWriter;
  private readonly encoder: LasWriter;
  private readonly scale: readonly [number, number, number];
  private readonly offset: readonly [number, number, number];
  private readonly lazVlr: Uint8Array;
  private readonly pageLevels: number;
  private readonly nodes = new NodeTable();
  /** Nodes measured and not placed yet (their chunks are being compressed). */
  private readonly pending = new Set<number>();
  private readonly chunkEntries: { points: number; bytes: number }[] = [];
  private compressor: LazChunkCompressor | undefined;
  private pointDataOffset = 0;
  private position = 0;
  private gpsMin = Infinity;
  private gpsMax = -Infinity;
  private started = false;
  private finished = false;

  constructor(options: CopcWriterOptions) {
    const pdrf = options.pdrf ?? copcFormat(options);
    if (pdrf !== 6 && pdrf !== 7 && pdrf !== 8) throw new RangeError(`COPC needs point data record format 6, 7 or 8, not ${pdrf}`);
    const wkt = options.wkt?.trim();
    if (wkt && /^EPSG:/i.test(wkt)) throw new RangeError("COPC stores its CRS as WKT: give the WKT of the EPSG code");
    const { cube } = options;
    if (!(cube.halfSize > 0) || !cube.center.every(Number.isFinite)) throw new RangeError("COPC cube: the half size must be positive and the centre finite");
    this.spacing = options.spacing ?? (2 * cube.halfSize) / ROOT_CELLS;
    if (!(this.spacing > 0)) throw new RangeError(`COPC spacing must be positive, not ${this.spacing}`);
    this.pageLevels = options.pageLevels ?? DEFAULT_PAGE_LEVELS;
    if (!Number.isInteger(this.pageLevels) || this.pageLevels < 1) throw new RangeError(`COPC page levels must be a positive integer, not ${this.pageLevels}`);
    const lasOptions: LasWriterOptions = { ...options, pdrf, minorVersion: 4, crs: wkt || undefined };
    this.stats = new LasWriter(lasOptions);
    this.encoder = new LasWriter(lasOptions);
    this.pdrf = pdrf;
    this.recordLength = this.stats.recordLength;
    this.cube = cube;
    this.scale = options.scale;
    this.offset = options.offset;
    this.lazVlr = variableChunkLazVlr(pdrf, this.recordLength);
  }

  /** LAS records of a chunk in this file's format and quantisation (a column the chunk lacks is zero). */
  encode(chunk: PointChunk): Uint8Array {
    return this.encoder.encode(chunk);
  }

  /** Header + VLRs + the chunk-table offset placeholder: the bytes before the first node. */
  header(): Uint8Array {
    if (this.started) throw new Error("CopcWriter.header: called twice");
    this.started = true;
    const las = this.stats.header();
    const info = vlrBytes("copc", 1, "copc info", this.infoPayload(0, 0));
    const total = las.length + info.length + this.lazVlr.length + 8;
    const out = new Uint8Array(total);
    out.set(las.subarray(0, HEADER_SIZE), 0);
    out.set(info, HEADER_SIZE);
    out.set(this.lazVlr, HEADER_SIZE + info.length);
    out.set(las.subarray(HEADER_SIZE), HEADER_SIZE + info.length + this.lazVlr.length);
    const v = new DataView(out.buffer);
    this.pointDataOffset = total - 8;
    v.setUint32(POINT_DATA_OFFSET, this.pointDataOffset, true);
    v.setUint32(VLR_COUNT, v.getUint32(VLR_COUNT, true) + 2, true);
    out[POINT_FORMAT] = this.pdrf | 0x80;
    v.setUint32(EVLR_COUNT, 1, true);
    // The chunk-table offset (patched): laz readers refuse -1, so a placeholder that is merely wrong.
    v.setBigInt64(this.pointDataOffset, 0n, true);
    this.position = total;
    return out;
  }

  /**
   * Checks a node's records and counts them into the header statistics, before they are compressed
   * (`placeNode` takes the chunk). Every point must lie in the node's cube; each node comes once.
   * Returns the number of records.
   */
  measureNode(key: CopcKey, records: Uint8Array): number {
    if (!this.started || this.finished) throw new Error("CopcWriter: call header() first, and not after finish()");
    const { level, x, y, z } = key;
    if (!Number.isInteger(level) || level < 0 || level > MAX_LEVEL) throw new RangeError(`COPC node level ${level} is outside 0..${MAX_LEVEL}`);
    const cells = 2 ** level;
    for (const i of [x, y, z]) if (!Number.isInteger(i) || i < 0 || i >= cells) throw new RangeError(`COPC node ${keyString(level, x, y, z)} is outside the cube`);
    const rl = this.recordLength;
    const n = records.byteLength / rl;
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw new RangeError(`COPC node ${keyString(level, x, y, z)}: ${records.byteLength} bytes are not 1..2^31-1 records of ${rl} bytes`);
    if (this.nodes.find(level, x, y, z) !== undefined) throw new Error(`COPC node ${keyString(level, x, y, z)} was already added`);
    this.checkInCube(key, records, n);
    this.stats.measureRecords(records, n);
    const v = new DataView(records.buffer, records.byteOffset, records.byteLength);
    let lo = this.gpsMin;
    let hi = this.gpsMax;
    for (let i = 0, p = 22; i < n; i++, p += rl) {
      const t = v.getFloat64(p, true);
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    this.gpsMin = lo;
    this.gpsMax = hi;
    this.pending.add(this.nodes.add(level, x, y, z, n));
    return n;
  }

  /** The compressed chunk of a measured node (any order): returns it, as the bytes to append. */
  placeNode(key: CopcKey, chunk: Uint8Array): Uint8Array {
    const i = this.nodes.find(key.level, key.x, key.y, key.z);
    if (i === undefined || !this.pending.delete(i)) throw new Error(`COPC node ${keyString(key.level, key.x, key.y, key.z)} was not measured, or was placed already`);
    if (chunk.byteLength > 0x7fffffff) throw new RangeError("a COPC node's chunk exceeds 2 GiB");
    this.nodes.offsets[i] = this.position;
    this.nodes.sizes[i] = chunk.byteLength;
    this.chunkEntries.push({ points: this.nodes.counts[i], bytes: chunk.byteLength });
    this.position += chunk.byteLength;
    return chunk;
  }

  /** Measures, compresses (in this thread) and places a node: its LAZ chunk, the bytes to append. */
  async addNode(key: CopcKey, records: Uint8Array): Promise<Uint8Array> {
    const n = this.measureNode(key, records);
    this.compressor ??= inThreadLazCompressor(this.pdrf, this.recordLength);
    return this.placeNode(key, await this.compressor.compress(records, n));
  }

  /**
   * After the last node: the chunk table and the hierarchy EVLR to append, and the patches (header
   * statistics, chunk-table and EVLR offsets, info VLR) to write over the header.
   */
  finish(): { bytes: Uint8Array; patches: LasHeaderPatch[] } {
    if (!this.started || this.finished) throw new Error("CopcWriter.finish: call header() first, and only once");
    if (this.pending.size > 0) throw new Error(`${this.pending.size} COPC nodes were measured but never placed`);
    this.finished = true;
    const table = encodeChunkTable(this.chunkEntries, true);
    const tableOffset = this.position;
    const evlrOffset = tableOffset + table.length;
    const pages = this.hierarchyPages(evlrOffset + EVLR_HEADER);
    const evlr = new Uint8Array(EVLR_HEADER + pages.bytes.length);
    const ev = new DataView(evlr.buffer);
    ascii(evlr, 2, "copc");
    ev.setUint16(18, 1000, true);
    ev.setBigUint64(20, BigInt(pages.bytes.length), true);
    ascii(evlr, 28, "EPT hierarchy");
    evlr.set(pages.bytes, EVLR_HEADER);
    const bytes = new Uint8Array(table.length + evlr.length);
    bytes.set(table, 0);
    bytes.set(evlr, table.length);

    const info = this.infoPayload(pages.rootOffset, pages.rootSize);
    const patches: LasHeaderPatch[] = [
      ...this.stats.statisticsPatches(),
      { offset: EVLR_OFFSET, bytes: u64(evlrOffset) },
      { offset: this.pointDataOffset, bytes: u64(tableOffset) },
      { offset: INFO_PATCH_AT, bytes: info.slice(40, 72) },
    ];
    return { bytes, patches };
  }

  /** Bounds of the points so far, [minX, minY, minZ, maxX, maxY, maxZ]; undefined before any. */
  get bounds(): Float64Array | undefined {
    return this.stats.bounds;
  }

  get pointCount(): number {
    return this.stats.pointCount;
  }

  private checkInCube(key: CopcKey, records: Uint8Array, n: number): void {
    const size = (2 * this.cube.halfSize) / 2 ** key.level;
    const rl = this.recordLength;
    const v = new DataView(records.buffer, records.byteOffset, records.byteLength);
    const k = [key.x, key.y, key.z];
    for (let a = 0; a < 3; a++) {
      // Half a quantisation step of slack: points are assigned on their stored (rounded) coordinates.
      const slack = this.scale[a] / 2;
      const lo = this.cube.center[a] - this.cube.halfSize + k[a] * size - slack;
      const hi = lo + size + 2 * slack;
      const s = this.scale[a];
      const o = this.offset[a];
      for (let i = 0, p = 4 * a; i < n; i++, p += rl) {
        const c = v.getInt32(p, true) * s + o;
        if (!(c >= lo && c <= hi)) {
          throw new RangeError(`COPC node ${keyString(key.level, key.x, key.y, key.z)}: point ${i} (${"xyz"[a]} = ${c}) lies outside the node's cube`);
        }
      }
    }
  }

  private infoPayload(rootOffset: number, rootSize: number): Uint8Array {
    const out = new Uint8Array(INFO_SIZE);
    const v = new DataView(out.buffer);
    v.setFloat64(0, this.cube.center[0], true);
    v.setFloat64(8, this.cube.center[1], true);
    v.setFloat64(16, this.cube.center[2], true);
    v.setFloat64(24, this.cube.halfSize, true);
    v.setFloat64(32, this.spacing, true);
    v.setBigUint64(40, BigInt(rootOffset), true);
    v.setBigUint64(48, BigInt(rootSize), true);
    const timed = this.gpsMin <= this.gpsMax;
    v.setFloat64(56, timed ? this.gpsMin : 0, true);
    v.setFloat64(64, timed ? this.gpsMax : 0, true);
    return out;
  }

  /**
   * The hierarchy pages, laid out from `at` (absolute): the root page first, then the child pages depth
   * first. A page holds the nodes of `pageLevels` levels under its root; a node at the next page level is
   * an entry with point count -1 pointing at its own page. Every ancestor of a node gets an entry (0
   * points if it has none) so readers can walk down to each node.
   */
  private hierarchyPages(at: number): { bytes: Uint8Array; rootOffset: number; rootSize: number } {
    const t = this.nodes;
    if (t.find(0, 0, 0, 0) === undefined) t.add(0, 0, 0, 0, 0);
    for (let i = 0; i < t.length; i++) {
      let [l, x, y, z] = t.keys.subarray(4 * i, 4 * i + 4);
      while (l > 0) {
        l--;
        x >>= 1;
        y >>= 1;
        z >>= 1;
        if (t.find(l, x, y, z) !== undefined) break;
        t.add(l, x, y, z, 0);
      }
    }
    const P = this.pageLevels;
    // Page of each node: its ancestor at the page level at or above it.
    const members = new Map<number, number[]>();
    const children = new Map<number, number[]>();
    for (let i = 0; i < t.length; i++) {
      const l = t.keys[4 * i];
      const rootLevel = Math.floor(l / P) * P;
      const shift = l - rootLevel;
      const root = t.find(rootLevel, t.keys[4 * i + 1] >> shift, t.keys[4 * i + 2] >> shift, t.keys[4 * i + 3] >> shift)!;
      if (!members.has(root)) members.set(root, []);
      members.get(root)!.push(i);
      if (l === rootLevel && l > 0) {
        const parentPage = t.find(l - P, t.keys[4 * i + 1] >> P, t.keys[4 * i + 2] >> P, t.keys[4 * i + 3] >> P)!;
        if (!children.has(parentPage)) children.set(parentPage, []);
        children.get(parentPage)!.push(i);
      }
    }
    const byKey = (a: number, b: number): number =>
      t.keys[4 * a] - t.keys[4 * b] || t.keys[4 * a + 1] - t.keys[4 * b + 1] || t.keys[4 * a + 2] - t.keys[4 * b + 2] || t.keys[4 * a + 3] - t.keys[4 * b + 3];
    // Depth-first page order and offsets.
    const order: number[] = [];
    const visit = (page: number): void => {
      order.push(page);
      for (const c of (children.get(page) ?? []).sort(byKey)) visit(c);
    };
    const root = t.find(0, 0, 0, 0)!;
    visit(root);
    const pageSize = (p: number): number => ENTRY * (members.get(p)!.length + (children.get(p)?.length ?? 0));
    const pageOffset = new Map<number, number>();
    let total = 0;
    for (const p of order) {
      pageOffset.set(p, at + total);
      total += pageSize(p);
    }
    const bytes = new Uint8Array(total);
    const v = new DataView(bytes.buffer);
    let w = 0;
    const entry = (i: number, offset: number, size: number, count: number): void => {
      for (let k = 0; k < 4; k++) v.setInt32(w + 4 * k, t.keys[4 * i + k], true);
      v.setBigUint64(w + 16, BigInt(offset), true);
      v.setInt32(w + 24, size, true);
      v.setInt32(w + 28, count, true);
      w += ENTRY;
    };
    for (const p of order) {
      for (const i of members.get(p)!.sort(byKey)) entry(i, t.counts[i] > 0 ? t.offsets[i] : 0, t.counts[i] > 0 ? t.sizes[i] : 0, t.counts[i]);
      for (const c of children.get(p) ?? []) entry(c, pageOffset.get(c)!, pageSize(c), -1);
    }
    return { bytes, rootOffset: pageOffset.get(root)!, rootSize: pageSize(root) };
  }
}

/** The smallest COPC format holding the schema's columns: 8 with NIR, 7 with RGB, else 6. */
function copcFormat(options: CopcWriterOptions): 6 | 7 | 8 {
  const f = chooseLasFormat(options.schema);
  if (pdrfHasNir(f) || options.schema.columns.includes("nir")) return 8;
  return pdrfHasRgb(f) ? 7 : 6;
}

function ascii(dst: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) dst[at + i] = s.charCodeAt(i);
}

function u64(v: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(v), true);
  return out;
}

/** A node to write: its key and its records (LAS records in the writer's format, e.g. from `encode`). */
export interface CopcNodeRecords {
  key: CopcKey;
  records: Uint8Array;
}

/**
 * Streams a whole COPC file over `nodes` (any order, each once), compressing up to `concurrency` nodes at
 * a time with `compressor` (default: in this thread); chunks are written in the order the nodes came.
 * Write `stream` as it comes, then `patches()` (known once the stream has ended) over it.
 */
export function writeCopc(
  options: CopcWriterOptions,
  nodes: AsyncIterable<CopcNodeRecords> | Iterable<CopcNodeRecords>,
  parallel: { compressor?: LazChunkCompressor; concurrency?: number } = {},
): { stream: AsyncIterable<Uint8Array>; patches: () => LasHeaderPatch[]; writer: CopcWriter } {
  const writer = new CopcWriter(options);
  const compressor = parallel.compressor ?? inThreadLazCompressor(writer.pdrf, writer.recordLength);
  const concurrency = Math.max(1, parallel.concurrency ?? 1);
  const { stream, patches } = patchedStream("writeCopc", async function* () {
    yield writer.header();
    const inFlight: { key: CopcKey; chunk: Promise<Uint8Array> }[] = [];
    try {
      for await (const node of nodes) {
        const n = writer.measureNode(node.key, node.records);
        inFlight.push({ key: node.key, chunk: compressor.compress(node.records, n) });
        if (inFlight.length >= concurrency) {
          const done = inFlight.shift()!;
          yield writer.placeNode(done.key, await done.chunk);
        }
      }
      while (inFlight.length > 0) {
        const done = inFlight.shift()!;
        yield writer.placeNode(done.key, await done.chunk);
      }
    } finally {
      // Chunks still compressing when the stream stops early: settle them so none rejects unobserved.
      await Promise.allSettled(inFlight.map((f) => f.chunk));
    }
    const end = writer.finish();
    yield end.bytes;
    return end.patches;
  });
  return { stream, patches, writer };
}

/** A whole COPC file in memory, patches applied (tests, small clouds). */
export async function encodeCopc(options: CopcWriterOptions, nodes: AsyncIterable<CopcNodeRecords> | Iterable<CopcNodeRecords>): Promise<Uint8Array> {
  const { stream, patches } = writeCopc(options, nodes);
  return patchedBytes(stream, patches);
}
