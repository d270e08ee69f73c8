/**
 * The FeatureDB store: one FlatGeobuf file (features in Hilbert order behind a packed Hilbert R-tree, so a
 * bbox query is a few ranged reads) and `featuredb.json`, the manifest the query endpoint reads (its
 * collection, CRS, extent, layers, property types).
 *
 * Memory does not grow with the number of features: everything kept per feature is on disk, in the
 * scratch folder. Features are encoded as they arrive and appended to a spool file, and a fixed-size
 * record (box, place in the spool, encoded length) to a records file. Once all are in (FgbSchemaBuilder's
 * epochs: features written before a property changed type, or before heights appeared, are a prefix of
 * the spool, encoded again with the final columns into a second spool, their records updated), the
 * extent is known and the records are sorted externally by the Hilbert value of their box centre: runs of
 * at most `runRecords` records are read, keyed, radix-sorted and written back in place, then merged k
 * ways (several passes when there are more runs than the merge takes at once; ties keep the features'
 * order, so the order is that of one stable sort). The last merge writes the index leaves, the features'
 * spool places in sorted order and the first inner level to scratch files; each upper level is made from
 * the one below in one streaming pass. The file is then streamed out: header, inner levels root first,
 * leaves, and the features, gathered slice by slice: each slice (at most `sliceBytes`, from the memory
 * budget) takes the next features in sorted order, groups them by window of the spools and fills its
 * buffer from one large read per window that holds any of them. Memory: one run, the merge's read
 * buffers and one slice, whatever the count. When some features have heights, all get them (0 where
 * they had none): a FlatGeobuf file has one dimension for all its geometries.
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  decodeFgbFeature,
  encodeFgbFeature,
  encodeFgbHeader,
  FGB_NODE_SIZE,
  fgbLevelBounds,
  FgbColumnType,
  FgbSchemaBuilder,
  boundsInto,
  hasHeights,
  hilbertValues,
  sortByKeys,
  type FgbHeaderInfo,
  type GeometryType,
  type VectorFeature,
  writeFgbNode,
} from "@realconv/formats";
import { throwIfAborted } from "../contract/runner.js";

export const MANIFEST = "featuredb.json";
export const STORE_FILE = "features.fgb";
export const STORE_FORMAT = "realconv-featuredb";

/**
 * Largest slice of sorted features held in memory (more slices cost little: a slice reads only the
 * windows of the spools that hold its features, or the features alone where they are sparse).
 */
const MAX_SLICE_BYTES = 32 << 20;
/** Bytes of a window per feature of a slice in it above which its features are read one by one. */
const SPARSE_BYTES = 8 << 10;

/**
 * A feature's record, 6 f64 words: its box (minX, minY, maxX, maxY), its place in the spools, then as
 * u32 words 10 and 11 its Hilbert key (set when the runs are sorted) and its encoded length.
 */
const RECORD_WORDS = 6;
const RECORD_BYTES = 8 * RECORD_WORDS;
/** Memory a record takes while its run is sorted: itself, its key, the radix sort's two arrays. */
const RUN_BYTES_PER_RECORD = RECORD_BYTES + 12;
/** Largest run (with a larger budget, fewer runs gain little: the merge is a small share of the time). */
const MAX_RUN_RECORDS = 1 << 17;
/** Records each run's cursor reads at a time while runs are merged. */
const CURSOR_RECORDS = 4096;
/** Most runs merged at once. */
const MAX_FAN_IN = 64;
/** Index nodes, 5 f64 words: the box, then the offset as u32 words 8 (low) and 9 (high). */
const NODE_WORDS = 5;
/** A feature's place in the spools and its length, in sorted order (2 f64 words). */
const PLACE_WORDS = 2;
/** Records sorted or merged between two yields to the event loop (and checks for a cancel). */
const YIELD_RECORDS = 1 << 16;

export interface CollectionManifest {
  id: string;
  title: string;
  file: string;
  crs: string;
  featureCount: number;
  bbox?: number[];
  geometryTypes: GeometryType[];
  layers: { name: string; featureCount: number }[];
  properties: { name: string; type: string }[];
}

export interface StoreManifest {
  format: typeof STORE_FORMAT;
  version: 1;
  collections: CollectionManifest[];
}

/**
 * Sizes of the external sort and of the gather, for tests that make it take many runs and merge passes,
 * or read every feature on its own (`sparseBytes` 0).
 */
export interface SortTuning {
  runRecords?: number;
  fanIn?: number;
  sparseBytes?: number;
}

/** Appends to a file through a 4 MiB buffer (features are small: one write call per many of them). */
class SpoolWriter {
  private readonly buf = Buffer.allocUnsafe(4 << 20);
  private pending = 0;
  written = 0;
  constructor(readonly fd: number) {}
  write(b: Uint8Array): void {
    if (this.pending + b.byteLength > this.buf.byteLength) this.flush();
    if (b.byteLength > this.buf.byteLength) {
      writeAll(this.fd, b, -1);
    } else {
      this.buf.set(b, this.pending);
      this.pending += b.byteLength;
    }
    this.written += b.byteLength;
  }
  flush(): void {
    writeAll(this.fd, this.buf.subarray(0, this.pending), -1);
    this.pending = 0;
  }
}

/** Writes all of `b` at `position` (-1: at the file's current position). */
function writeAll(fd: number, b: Uint8Array, position: number): void {
  for (let o = 0; o < b.byteLength; ) {
    const n = position < 0 ? writeSync(fd, b, o, b.byteLength - o) : writeSync(fd, b, o, b.byteLength - o, position + o);
    o += n;
  }
}

/** Fills `b[0, length)` from `position`; the file must hold them. */
function readFully(fd: number, b: Uint8Array, length: number, position: number, what: string): void {
  for (let o = 0; o < length; ) {
    const n = readSync(fd, b, o, length - o, position + o);
    if (n === 0) throw new Error(`the ${what} ended early`);
    o += n;
  }
}

/** Appends fixed-size items of f64 words to a file through a buffer the caller fills in place. */
class WordWriter {
  readonly f64: Float64Array;
  readonly u32: Uint32Array;
  private used = 0;
  /** Items written so far (buffered ones included). */
  count = 0;
  constructor(
    readonly fd: number,
    private readonly words: number,
    items = 1 << 16,
  ) {
    this.f64 = new Float64Array(words * items);
    this.u32 = new Uint32Array(this.f64.buffer);
  }
  /** The f64 index of a new item in `f64`. */
  next(): number {
    if (this.used === this.f64.length) this.flush();
    const at = this.used;
    this.used += this.words;
    this.count++;
    return at;
  }
  flush(): void {
    writeAll(this.fd, new Uint8Array(this.f64.buffer, 0, 8 * this.used), -1);
    this.used = 0;
  }
}

/** Reads fixed-size items of f64 words [from, to) of a file front to back, a block at a time. */
class WordReader {
  readonly f64: Float64Array;
  readonly u32: Uint32Array;
  private readonly bytes: Uint8Array;
  /** The f64 index of the current item in `f64`. */
  at = 0;
  private have = 0;
  private next: number;
  constructor(
    private readonly fd: number,
    private readonly words: number,
    from: number,
    private readonly to: number,
    items: number,
    private readonly what: string,
  ) {
    this.f64 = new Float64Array(words * Math.max(1, Math.min(items, to - from)));
    this.u32 = new Uint32Array(this.f64.buffer);
    this.bytes = new Uint8Array(this.f64.buffer);
    this.next = from;
  }
  /** Moves to the next item (the first on the first call); false at the end. */
  advance(): boolean {
    this.at += this.words;
    if (this.at < this.have) return true;
    if (this.next >= this.to) return false;
    const items = Math.min(this.f64.length / this.words, this.to - this.next);
    readFully(this.fd, this.bytes, 8 * this.words * items, 8 * this.words * this.next, this.what);
    this.next += items;
    this.have = this.words * items;
    this.at = 0;
    return true;
  }
  /** Starts before the first item: the first advance() reads it. */
  static open(fd: number, words: number, from: number, to: number, items: number, what: string): WordReader {
    const r = new WordReader(fd, words, from, to, items, what);
    r.at = r.have = 0;
    return r;
  }
}

/** A zeroed buffer on its own ArrayBuffer (offset 0, a whole number of 32-bit words). */
function wordBuffer(bytes: number): Buffer {
  return Buffer.from(new ArrayBuffer((bytes + 3) & ~3));
}

const pause = (signal: AbortSignal): Promise<void> =>
  new Promise<void>((r) => setImmediate(r)).then(() => throwIfAborted(signal));

/**
 * Reads the features [from, to) of a spool front to back, from byte `start`, in reads of SCAN_BYTES;
 * `visit` gets each feature's bytes as `buf[at, at + length)` (valid until it returns). `lengthOf` is
 * called once per feature, in order, before its visit. Yields to the event loop between reads.
 */
async function scanSpool(
  fd: number,
  start: number,
  from: number,
  to: number,
  lengthOf: (i: number) => number,
  visit: (i: number, buf: Buffer, at: number, length: number) => void,
  signal: AbortSignal,
): Promise<void> {
  let buf = wordBuffer(SCAN_BYTES);
  let position = start;
  let have = 0;
  let at = 0;
  for (let i = from; i < to; i++) {
    const length = lengthOf(i);
    if (at + length > have) {
      buf.copy(buf, 0, at, have);
      have -= at;
      at = 0;
      if (length > buf.byteLength) {
        const bigger = wordBuffer(length);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      while (have < length) {
        const n = readSync(fd, buf, have, buf.byteLength - have, position);
        if (n === 0) throw new Error("the feature spool ended early");
        have += n;
        position += n;
      }
      await pause(signal);
    }
    visit(i, buf, at, length);
    at += length;
  }
}

/** Bytes read from a spool at a time while it is scanned (and the window of the spools a slice reads). */
const SCAN_BYTES = 8 << 20;

/** Parts the file is yielded in (the output sink may buffer a few of them ahead). */
const PART_BYTES = 1 << 20;

/** Less-than of two merge cursors: by current key, then by run (earlier runs hold earlier features). */
type Cursor = { r: WordReader; run: number; key: number };
const before = (a: Cursor, b: Cursor): boolean => a.key < b.key || (a.key === b.key && a.run < b.run);

/**
 * Merges the sorted runs [start, end) of records of `fd` (in feature order: a tie goes to the earlier
 * run); `emit` gets each record in sorted order as `f64[at, at + RECORD_WORDS)` (valid until it returns).
 */
async function mergeRuns(
  fd: number,
  runs: readonly [number, number][],
  emit: (f64: Float64Array, u32: Uint32Array, at: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const heap: Cursor[] = [];
  for (let run = 0; run < runs.length; run++) {
    const r = WordReader.open(fd, RECORD_WORDS, runs[run][0], runs[run][1], CURSOR_RECORDS, "record file");
    if (r.advance()) heap.push({ r, run, key: r.u32[2 * r.at + 10] });
  }
  const down = (i: number): void => {
    const n = heap.length;
    const c = heap[i];
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && before(heap[m + 1], heap[m])) m++;
      if (!before(heap[m], c)) break;
      heap[i] = heap[m];
      i = m;
    }
    heap[i] = c;
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  let emitted = 0;
  while (heap.length > 0) {
    const c = heap[0];
    const r = c.r;
    emit(r.f64, r.u32, r.at);
    if (r.advance()) c.key = r.u32[2 * r.at + 10];
    else {
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    down(0);
    if (++emitted % YIELD_RECORDS === 0) await pause(signal);
  }
}

/** Builds one level of the index from the one below, streamed: a parent per `nodeSize` children. */
class LevelWriter {
  private readonly out: WordWriter;
  private children = 0;
  private first = 0;
  private minX = Infinity;
  private minY = Infinity;
  private maxX = -Infinity;
  private maxY = -Infinity;
  constructor(
    fd: number,
    private readonly nodeSize: number,
    /** Node index of the first child (children are numbered as in the whole index). */
    private readonly childStart: number,
  ) {
    this.out = new WordWriter(fd, NODE_WORDS, 1 << 14);
  }
  /** The box of the next child, `f64[at, at + 4)`. */
  add(f64: Float64Array, at: number): void {
    if (this.children % this.nodeSize === 0) {
      this.first = this.children;
      this.minX = Infinity;
      this.minY = Infinity;
      this.maxX = -Infinity;
      this.maxY = -Infinity;
    }
    if (f64[at] < this.minX) this.minX = f64[at];
    if (f64[at + 1] < this.minY) this.minY = f64[at + 1];
    if (f64[at + 2] > this.maxX) this.maxX = f64[at + 2];
    if (f64[at + 3] > this.maxY) this.maxY = f64[at + 3];
    if (++this.children % this.nodeSize === 0) this.close();
  }
  private close(): void {
    const o = this.out.next();
    writeFgbNode(this.out.f64, this.out.u32, o, this.minX, this.minY, this.maxX, this.maxY, this.childStart + this.first);
  }
  /** Writes the last, partial parent; returns the parents written. */
  end(): number {
    if (this.children % this.nodeSize !== 0) this.close();
    this.out.flush();
    return this.out.count;
  }
}

export class FeatureStoreBuilder {
  private count = 0;
  /** Where each schema epoch's features start in the spool (epochs only grow: each is one run of it). */
  private readonly epochStarts: { feature: number; byte: number }[] = [{ feature: 0, byte: 0 }];
  private readonly schema = new FgbSchemaBuilder();
  private readonly types = new Set<GeometryType>();
  private readonly layers = new Map<string, number>();
  private readonly extent = [Infinity, Infinity, -Infinity, -Infinity];
  private spool!: SpoolWriter;
  private records!: WordWriter;
  private dir!: string;
  private readonly open = new Map<number, string>();

  private constructor(
    private readonly memoryBudgetBytes: number,
    private readonly signal: AbortSignal,
    private readonly tuning: SortTuning,
  ) {}

  static async create(scratchDir: string, memoryBudgetBytes: number, signal: AbortSignal, tuning: SortTuning = {}): Promise<FeatureStoreBuilder> {
    const b = new FeatureStoreBuilder(memoryBudgetBytes, signal, tuning);
    b.dir = await mkdtemp(join(scratchDir, "featuredb-"));
    b.spool = new SpoolWriter(b.openFile("spool.bin"));
    b.records = new WordWriter(b.openFile("records.bin"), RECORD_WORDS, 1 << 14);
    return b;
  }

  private openFile(name: string): number {
    const path = join(this.dir, name);
    const fd = openSync(path, "w+");
    this.open.set(fd, path);
    return fd;
  }

  private closeFile(fd: number): void {
    if (this.open.delete(fd)) closeSync(fd);
  }

  /** Closes and deletes a scratch file no longer needed (the folder goes in `dispose` in any case). */
  private dropFile(fd: number): void {
    const path = this.open.get(fd);
    this.closeFile(fd);
    if (path) unlinkSync(path);
  }

  get featureCount(): number {
    return this.count;
  }

  /** [minX, minY, maxX, maxY] of every feature's positions; undefined when none has any. */
  get bounds(): number[] | undefined {
    return this.extent[0] <= this.extent[2] ? [...this.extent] : undefined;
  }

  /**
   * Bytes of encoded features gathered in memory at a time in Hilbert order: the output is built in
   * slices of this size, each from reads of the spools in their order, in one buffer.
   */
  get sliceBytes(): number {
    return Math.max(1 << 20, Math.min(MAX_SLICE_BYTES, Math.floor(this.memoryBudgetBytes / 16)));
  }

  /** Records sorted in memory at a time (a run of the external sort). */
  get runRecords(): number {
    return this.tuning.runRecords ?? Math.max(4096, Math.min(MAX_RUN_RECORDS, Math.floor(this.memoryBudgetBytes / 64 / RUN_BYTES_PER_RECORD)));
  }

  add(features: readonly VectorFeature[], layer: string): void {
    const extent = this.extent;
    const records = this.records;
    const f64 = records.f64;
    const u32 = records.u32;
    for (const f of features) {
      const i = this.count;
      const o = records.next();
      if (boundsInto(f.geometry, f64, o)) {
        if (f64[o] < extent[0]) extent[0] = f64[o];
        if (f64[o + 1] < extent[1]) extent[1] = f64[o + 1];
        if (f64[o + 2] > extent[2]) extent[2] = f64[o + 2];
        if (f64[o + 3] > extent[3]) extent[3] = f64[o + 3];
      }
      if (f.geometry) this.types.add(f.geometry.type);
      const epoch = this.schema.observe(f.properties, f.geometry !== null && !this.schema.hasZ && hasHeights(f.geometry));
      while (this.epochStarts.length <= epoch) this.epochStarts.push({ feature: i, byte: this.spool.written });
      const bytes = encodeFgbFeature(f, this.schema.columns, this.schema.hasZ);
      if (bytes.byteLength & 3) throw new Error("a FlatGeobuf feature's length is not a multiple of 4");
      f64[o + 4] = this.spool.written;
      u32[2 * o + 10] = 0;
      u32[2 * o + 11] = bytes.byteLength;
      this.spool.write(bytes);
      this.count++;
    }
    this.layers.set(layer, (this.layers.get(layer) ?? 0) + features.length);
  }

  /**
   * Features of epochs before the last (a prefix of the spool) encoded again with the final columns and
   * heights, into a second spool whose bytes follow the first's in the features' places (`base`, the
   * first's size, is where it starts); their records are updated in place. Returns its descriptor and size.
   */
  private async reencodePrefix(end: number, base: number): Promise<{ fd: number; bytes: number }> {
    const columns = this.schema.columns;
    const hasZ = this.schema.hasZ;
    const out = new SpoolWriter(this.openFile("reencoded.bin"));
    const fd = this.records.fd;
    // Records a block at a time, each written back once its features are encoded again.
    const block = new Float64Array(RECORD_WORDS * (1 << 14));
    const blockU32 = new Uint32Array(block.buffer);
    const blockBytes = new Uint8Array(block.buffer);
    const perBlock = block.length / RECORD_WORDS;
    let blockStart = -1;
    let blockCount = 0;
    const writeBack = () => {
      if (blockStart >= 0) writeAll(fd, blockBytes.subarray(0, blockCount * RECORD_BYTES), blockStart * RECORD_BYTES);
    };
    const lengthOf = (i: number): number => {
      if (blockStart < 0 || i >= blockStart + blockCount) {
        writeBack();
        blockStart = i;
        blockCount = Math.min(perBlock, end - i);
        readFully(fd, blockBytes, blockCount * RECORD_BYTES, i * RECORD_BYTES, "record file");
      }
      return blockU32[2 * RECORD_WORDS * (i - blockStart) + 11];
    };
    // Decoded from an 8-aligned copy: the decoder views coordinates as Float64Arrays.
    let aligned = new Uint8Array(1 << 16);
    let epoch = 0;
    let header: FgbHeaderInfo | undefined;
    await scanSpool(
      this.spool.fd,
      0,
      0,
      end,
      lengthOf,
      (i, buf, at, length) => {
        if (!header || (epoch + 1 < this.epochStarts.length && i >= this.epochStarts[epoch + 1].feature)) {
          while (epoch + 1 < this.epochStarts.length && i >= this.epochStarts[epoch + 1].feature) epoch++;
          const state = this.schema.epochState(epoch);
          header = { name: "", geometryType: "Unknown", hasZ: state.hasZ, columns: state.columns, featuresCount: 0, indexNodeSize: 0, headerEnd: 0 };
        }
        if (length > aligned.byteLength) aligned = new Uint8Array(2 * length);
        aligned.set(buf.subarray(at, at + length));
        const bytes = encodeFgbFeature(decodeFgbFeature(aligned.subarray(4, length), header, "spool", i), columns, hasZ);
        const o = RECORD_WORDS * (i - blockStart);
        block[o + 4] = base + out.written;
        blockU32[2 * o + 11] = bytes.byteLength;
        out.write(bytes);
      },
      this.signal,
    );
    writeBack();
    out.flush();
    return { fd: out.fd, bytes: out.written };
  }

  /**
   * Sorts the records in runs (keys from the final extent) written back in place; returns the runs.
   */
  private async sortRuns(extent: readonly number[]): Promise<[number, number][]> {
    const n = this.count;
    const fd = this.records.fd;
    const size = Math.max(1, Math.min(n, this.runRecords));
    const run = new Float64Array(RECORD_WORDS * size);
    const runBytes = new Uint8Array(run.buffer);
    const keys = new Uint32Array(size);
    const boxes = new Float64Array(4 * Math.min(size, 1 << 14));
    const outWords = RECORD_WORDS * Math.min(size, 1 << 14);
    const out = new Float64Array(outWords);
    const outU32 = new Uint32Array(out.buffer);
    const outBytes = new Uint8Array(out.buffer);
    const runs: [number, number][] = [];
    for (let start = 0; start < n; start += size) {
      const m = Math.min(size, n - start);
      readFully(fd, runBytes, m * RECORD_BYTES, start * RECORD_BYTES, "record file");
      for (let from = 0; from < m; from += boxes.length / 4) {
        const to = Math.min(m, from + boxes.length / 4);
        for (let k = from; k < to; k++) {
          const s = RECORD_WORDS * k;
          const d = 4 * (k - from);
          boxes[d] = run[s];
          boxes[d + 1] = run[s + 1];
          boxes[d + 2] = run[s + 2];
          boxes[d + 3] = run[s + 3];
        }
        keys.set(hilbertValues(boxes, to - from, extent), from);
      }
      const order = sortByKeys(m === size ? keys : keys.subarray(0, m));
      for (let from = 0; from < m; from += outWords / RECORD_WORDS) {
        const to = Math.min(m, from + outWords / RECORD_WORDS);
        for (let k = from; k < to; k++) {
          const i = order[k];
          const s = RECORD_WORDS * i;
          const d = RECORD_WORDS * (k - from);
          out[d] = run[s];
          out[d + 1] = run[s + 1];
          out[d + 2] = run[s + 2];
          out[d + 3] = run[s + 3];
          out[d + 4] = run[s + 4];
          out[d + 5] = run[s + 5];
          outU32[2 * d + 10] = keys[i];
        }
        writeAll(fd, outBytes.subarray(0, (to - from) * RECORD_BYTES), (start + from) * RECORD_BYTES);
      }
      runs.push([start, start + m]);
      await pause(this.signal);
    }
    return runs;
  }

  /**
   * Merges the sorted runs down to at most the fan-in, a pass at a time (each pass merges groups of
   * neighbouring runs into another file); returns the file and its runs.
   */
  private async reduceRuns(runs: [number, number][]): Promise<{ fd: number; runs: [number, number][] }> {
    const fanIn = Math.max(2, this.tuning.fanIn ?? MAX_FAN_IN);
    let fd = this.records.fd;
    let pass = 0;
    while (runs.length > fanIn) {
      const out = new WordWriter(this.openFile(`merge-${pass++}.bin`), RECORD_WORDS, 1 << 14);
      const merged: [number, number][] = [];
      for (let g = 0; g < runs.length; g += fanIn) {
        const group = runs.slice(g, g + fanIn);
        const start = out.count;
        await mergeRuns(
          fd,
          group,
          (f64, _u32, at) => {
            const o = out.next();
            const to = out.f64;
            for (let w = 0; w < RECORD_WORDS; w++) to[o + w] = f64[at + w];
          },
          this.signal,
        );
        merged.push([start, out.count]);
      }
      out.flush();
      this.dropFile(fd);
      fd = out.fd;
      runs = merged;
    }
    return { fd, runs };
  }

  /**
   * Sorts and encodes the features; returns the manifest and the FlatGeobuf file as a stream of parts
   * (`onProgress` gets the fraction of features written). `dispose` removes the scratch files.
   */
  async finish(
    meta: { id: string; title: string; crs: string; epsg?: number; wkt?: string },
    onProgress: (fraction: number) => void,
  ): Promise<{ manifest: StoreManifest; file: AsyncIterable<Uint8Array> }> {
    this.spool.flush();
    this.records.flush();
    const n = this.count;
    const hasIndex = n > 0;
    const extent = this.extent[0] <= this.extent[2] ? this.extent : [0, 0, 0, 0];
    const specs = this.schema.specs();
    const lastEpoch = this.epochStarts[this.schema.epoch];
    const mainBytes = this.spool.written;
    const second = lastEpoch.feature > 0 ? await this.reencodePrefix(lastEpoch.feature, mainBytes) : { fd: -1, bytes: 0 };
    const reencoded = second.fd;
    const totalBytes = mainBytes + second.bytes;

    // The external sort; its last merge writes the leaves (box, offset in the features section), the
    // features' places in sorted order and the first inner level.
    const nodeSize = FGB_NODE_SIZE;
    const bounds = hasIndex ? fgbLevelBounds(n, nodeSize) : [];
    const levelFds: number[] = [];
    let leavesFd = -1;
    let placesFd = -1;
    if (hasIndex) {
      const sorted = await this.reduceRuns(await this.sortRuns(extent));
      const leaves = new WordWriter(this.openFile("leaves.bin"), NODE_WORDS, 1 << 14);
      const places = new WordWriter(this.openFile("places.bin"), PLACE_WORDS, 1 << 15);
      levelFds.push(this.openFile("level-1.bin"));
      const level1 = new LevelWriter(levelFds[0], nodeSize, bounds[0][0]);
      let offset = 0;
      await mergeRuns(
        sorted.fd,
        sorted.runs,
        (f64, u32, at) => {
          const length = u32[2 * at + 11];
          const o = leaves.next();
          writeFgbNode(leaves.f64, leaves.u32, o, f64[at], f64[at + 1], f64[at + 2], f64[at + 3], offset);
          offset += length;
          const p = places.next();
          places.f64[p] = f64[at + 4];
          places.f64[p + 1] = length;
          level1.add(f64, at);
        },
        this.signal,
      );
      this.dropFile(sorted.fd);
      leaves.flush();
      places.flush();
      level1.end();
      leavesFd = leaves.fd;
      placesFd = places.fd;
      // Each upper level from the one below.
      for (let level = 1; level + 1 < bounds.length; level++) {
        const below = levelFds[level - 1];
        levelFds.push(this.openFile(`level-${level + 1}.bin`));
        const up = new LevelWriter(levelFds[level], nodeSize, bounds[level][0]);
        const r = WordReader.open(below, NODE_WORDS, 0, bounds[level][1] - bounds[level][0], 1 << 14, "index level");
        while (r.advance()) up.add(r.f64, r.at);
        up.end();
        await pause(this.signal);
      }
    }

    const types = [...this.types];
    const header = encodeFgbHeader({
      name: meta.id,
      title: meta.title,
      metadata: JSON.stringify({ layers: Object.fromEntries(this.layers) }),
      geometryType: types.length === 1 ? types[0] : "Unknown",
      hasZ: this.schema.hasZ,
      columns: specs,
      featuresCount: n,
      indexNodeSize: hasIndex ? nodeSize : 0,
      envelope: this.extent[0] <= this.extent[2] ? extent : undefined,
      crs: meta.epsg !== undefined ? { code: meta.epsg } : meta.wkt ? { wkt: meta.wkt } : undefined,
    });
    const manifest: StoreManifest = {
      format: STORE_FORMAT,
      version: 1,
      collections: [
        {
          id: meta.id,
          title: meta.title,
          file: STORE_FILE,
          crs: meta.crs,
          featureCount: n,
          ...(this.extent[0] <= this.extent[2] ? { bbox: [...extent] } : {}),
          geometryTypes: types,
          layers: [...this.layers].map(([name, featureCount]) => ({ name, featureCount })),
          properties: specs.map((c) => ({ name: c.name, type: FgbColumnType[c.type] })),
        },
      ],
    };

    const spool = this.spool.fd;
    const signal = this.signal;
    const sliceLimit = this.sliceBytes;
    const sparseBytes = this.tuning.sparseBytes ?? SPARSE_BYTES;
    // Features per slice at most (their places, lengths, slots and order take 20 bytes each).
    const sliceFeatures = Math.max(1, Math.floor(sliceLimit / 128));
    const closeAll = () => {
      for (const fd of [...this.open.keys()]) this.closeFile(fd);
    };
    /** Fills `b[at, at + length)` from `position` of the spools, seen as one: the first, then the second. */
    const readSpools = (b: Uint8Array, at: number, length: number, position: number): void => {
      for (let o = 0; o < length; ) {
        const p = position + o;
        const inMain = p < mainBytes;
        const want = inMain ? Math.min(length - o, mainBytes - p) : length - o;
        const n = readSync(inMain ? spool : reencoded, b, at + o, want, inMain ? p : p - mainBytes);
        if (n === 0) throw new Error("the feature spool ended early");
        o += n;
      }
    };
    /** Streams a scratch file of `bytes` bytes in parts. */
    async function* fileParts(fd: number, bytes: number): AsyncIterable<Uint8Array> {
      for (let o = 0; o < bytes; o += PART_BYTES) {
        const part = Buffer.allocUnsafe(Math.min(PART_BYTES, bytes - o));
        readFully(fd, part, part.byteLength, o, "index file");
        yield part;
        throwIfAborted(signal);
      }
    }
    async function* file(): AsyncIterable<Uint8Array> {
      yield header;
      for (let level = bounds.length - 1; level >= 1; level--) {
        yield* fileParts(levelFds[level - 1], (bounds[level][1] - bounds[level][0]) * NODE_WORDS * 8);
      }
      if (hasIndex) yield* fileParts(leavesFd, n * NODE_WORDS * 8);
      // Features, slice by slice: the next features in sorted order, grouped by window of the spools
      // (a counting sort on the window of their first byte); each window that holds any is read once
      // and its features copied to their places in the slice.
      // One slice buffer for all slices: its parts are yielded as copies (the sink may hold a few parts
      // ahead), so it can be refilled at once and no second slice is ever alive.
      let slice = wordBuffer(0);
      let sliceWords = new Int32Array(slice.buffer);
      let window = wordBuffer(SCAN_BYTES + (1 << 20));
      let windowWords = new Int32Array(window.buffer);
      const places = new Float64Array(Math.min(n, sliceFeatures));
      const lengths = new Uint32Array(places.length);
      const slots = new Uint32Array(places.length);
      const order = new Uint32Array(places.length);
      const windows = Math.ceil(totalBytes / SCAN_BYTES) + 1;
      const counts = new Uint32Array(windows + 1);
      const r = hasIndex ? WordReader.open(placesFd, PLACE_WORDS, 0, n, 1 << 15, "feature places") : undefined;
      let more = r ? r.advance() : false;
      let done = 0;
      while (more && r) {
        // The slice: features while they fit (always at least one).
        let m = 0;
        let bytes = 0;
        while (more && m < places.length) {
          const length = r.f64[r.at + 1];
          if (bytes > 0 && bytes + length > sliceLimit) break;
          places[m] = r.f64[r.at];
          lengths[m] = length;
          slots[m] = bytes;
          bytes += length;
          m++;
          more = r.advance();
        }
        if (bytes > slice.byteLength) {
          slice = wordBuffer(bytes);
          sliceWords = new Int32Array(slice.buffer);
        }
        counts.fill(0);
        for (let k = 0; k < m; k++) counts[Math.floor(places[k] / SCAN_BYTES) + 1]++;
        for (let w = 0; w < windows; w++) counts[w + 1] += counts[w];
        for (let k = 0; k < m; k++) order[counts[Math.floor(places[k] / SCAN_BYTES)]++] = k;
        // counts[w] is now the end of window w's features in `order` (and the start of window w + 1's).
        for (let w = 0, from = 0; w < windows; w++) {
          const to = counts[w];
          if (to === from) continue;
          let lo = Infinity;
          let hi = 0;
          for (let j = from; j < to; j++) {
            const k = order[j];
            if (places[k] < lo) lo = places[k];
            if (places[k] + lengths[k] > hi) hi = places[k] + lengths[k];
          }
          if (hi - lo > sparseBytes * (to - from)) {
            // Few features of the slice here: each read on its own, straight to its place.
            for (let j = from; j < to; j++) {
              const k = order[j];
              readSpools(slice, slots[k], lengths[k], places[k]);
            }
            from = to;
            continue;
          }
          if (hi - lo > window.byteLength) {
            window = wordBuffer(hi - lo);
            windowWords = new Int32Array(window.buffer);
          }
          readSpools(window, 0, hi - lo, lo);
          // Features are whole 32-bit words at word offsets (their lengths are multiples of 4): copied a
          // word at a time, cheaper for features this small than a native copy call each.
          for (let j = from; j < to; j++) {
            const k = order[j];
            const d = slots[k] >> 2;
            const s = (places[k] - lo) >> 2;
            const words = lengths[k] >> 2;
            for (let x = 0; x < words; x++) sliceWords[d + x] = windowWords[s + x];
          }
          from = to;
          await pause(signal);
        }
        for (let p = 0; p < bytes; p += PART_BYTES) yield Buffer.from(slice.subarray(p, Math.min(p + PART_BYTES, bytes)));
        done += m;
        onProgress(done / n);
      }
      closeAll();
    }
    return { manifest, file: file() };
  }

  async dispose(): Promise<void> {
    for (const fd of [...this.open.keys()]) this.closeFile(fd);
    await rm(this.dir, { recursive: true, force: true });
  }
}
