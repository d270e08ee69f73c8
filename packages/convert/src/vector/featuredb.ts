/**
 * The FeatureDB store: one FlatGeobuf file (features in Hilbert order behind a packed Hilbert R-tree, so a
 * bbox query is a few ranged reads) and `featuredb.json`, the manifest the query endpoint reads (its
 * collection, CRS, extent, layers, property types).
 *
 * Features are encoded as they arrive and appended to a spool file; memory keeps per feature only its box
 * and encoded length. Once all are in (FgbSchemaBuilder's epochs: features written before a property
 * changed type, or before heights appeared, are a prefix of the spool, encoded again with the final
 * columns into a second spool), they are ordered by the Hilbert value of their box centre (a radix sort)
 * and the file is streamed out: header, the index's inner nodes, its leaves (made block by block from the
 * order), then the features, gathered slice by slice: each slice (at most `sliceBytes`, from the memory
 * budget) is filled from one front-to-back scan of the spools in large reads, each feature copied to its
 * place. Memory: BYTES_PER_FEATURE per feature (checked against half the budget) plus one slice, whatever
 * the features' size. When some features have heights, all get them (0 where they had none): a FlatGeobuf
 * file has one dimension for all its geometries.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  buildFgbInnerNodes,
  decodeFgbFeature,
  encodeFgbLeaves,
  encodeFgbFeature,
  encodeFgbHeader,
  FGB_NODE_BYTES,
  FGB_NODE_SIZE,
  FgbColumnType,
  FgbSchemaBuilder,
  boundsInto,
  hasHeights,
  hilbertValues,
  sortByKeys,
  type FgbHeaderInfo,
  type GeometryType,
  type VectorFeature,
} from "@realconv/formats";
import { ConversionError, throwIfAborted } from "../contract/runner.js";

export const MANIFEST = "featuredb.json";
export const STORE_FILE = "features.fgb";
export const STORE_FORMAT = "realconv-featuredb";

/**
 * Bytes of memory the builder keeps per feature: while features come in, a box (32) and an encoded
 * length (4); once they are all in, a sort key (4, then reused for the feature's rank in the order), the
 * order and the radix sort's scratch (4 + 4, while it sorts), the lengths in sorted order (4) and the
 * index's inner nodes (about 3).
 */
export const BYTES_PER_FEATURE = 56;

/** Largest slice of sorted features held in memory (with a larger budget, fewer scans gain little). */
const MAX_SLICE_BYTES = 64 << 20;

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

/** Appends to a file through a 4 MiB buffer (features are small: one write call per many of them). */
class SpoolWriter {
  private readonly buf = Buffer.allocUnsafe(4 << 20);
  private pending = 0;
  written = 0;
  constructor(readonly fd: number) {}
  write(b: Uint8Array): void {
    if (this.pending + b.byteLength > this.buf.byteLength) this.flush();
    if (b.byteLength > this.buf.byteLength) {
      this.writeOut(b);
    } else {
      this.buf.set(b, this.pending);
      this.pending += b.byteLength;
    }
    this.written += b.byteLength;
  }
  writeText(text: string): void {
    if (this.pending + 3 * text.length > this.buf.byteLength) {
      this.flush();
      if (3 * text.length > this.buf.byteLength) return this.write(Buffer.from(text));
    }
    const n = this.buf.write(text, this.pending);
    this.pending += n;
    this.written += n;
  }
  flush(): void {
    this.writeOut(this.buf.subarray(0, this.pending));
    this.pending = 0;
  }
  private writeOut(b: Uint8Array): void {
    for (let o = 0; o < b.byteLength; ) o += writeSync(this.fd, b, o, b.byteLength - o);
  }
}

/** Features per chunk of the per-feature columns (chunks, not one growing array: no copy when they grow). */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

/** Bytes read from a spool at a time while it is scanned. */
const SCAN_BYTES = 8 << 20;

/** Parts the file is yielded in (the output sink may buffer a few of them ahead). */
const PART_BYTES = 1 << 20;

/**
 * Puts the boxes (chunked, 4 per feature) in sorted order in place: position k gets the box of feature
 * `order[k]`, following the permutation's cycles (a bit per position marks those done).
 */
function sortBoxes(boxes: Float64Array[], order: Uint32Array): void {
  const n = order.length;
  const done = new Uint8Array((n + 7) >> 3);
  for (let start = 0; start < n; start++) {
    if (done[start >> 3] & (1 << (start & 7))) continue;
    const first = boxes[start >>> CHUNK_BITS];
    const f = 4 * (start & CHUNK_MASK);
    const a = first[f], b = first[f + 1], c = first[f + 2], d = first[f + 3];
    for (let k = start; ; ) {
      done[k >> 3] |= 1 << (k & 7);
      const to = boxes[k >>> CHUNK_BITS];
      const t = 4 * (k & CHUNK_MASK);
      const src = order[k];
      if (src === start) {
        to[t] = a;
        to[t + 1] = b;
        to[t + 2] = c;
        to[t + 3] = d;
        break;
      }
      const from = boxes[src >>> CHUNK_BITS];
      const o = 4 * (src & CHUNK_MASK);
      to[t] = from[o];
      to[t + 1] = from[o + 1];
      to[t + 2] = from[o + 2];
      to[t + 3] = from[o + 3];
      k = src;
    }
  }
}

/** A zeroed buffer on its own ArrayBuffer (offset 0, a whole number of 32-bit words). */
function wordBuffer(bytes: number): Buffer {
  return Buffer.from(new ArrayBuffer((bytes + 3) & ~3));
}

/**
 * Reads the features [from, to) of a spool front to back, from byte `start`, in reads of SCAN_BYTES;
 * `visit` gets each feature's bytes as `buf[at, at + length)` (valid until it returns). Yields to the
 * event loop between reads.
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
      await new Promise((r) => setImmediate(r));
      throwIfAborted(signal);
    }
    visit(i, buf, at, length);
    at += length;
  }
}

export class FeatureStoreBuilder {
  private count = 0;
  /** Per feature: its box (minX, minY, maxX, maxY) and the bytes of its encoding, in chunks of CHUNK. */
  private readonly boxes: Float64Array[] = [];
  private readonly lengths: Uint32Array[] = [];
  /** Where each schema epoch's features start in the spool (epochs only grow: each is one run of it). */
  private readonly epochStarts: { feature: number; byte: number }[] = [{ feature: 0, byte: 0 }];
  private readonly schema = new FgbSchemaBuilder();
  private readonly types = new Set<GeometryType>();
  private readonly layers = new Map<string, number>();
  private readonly extent = [Infinity, Infinity, -Infinity, -Infinity];
  private spool!: SpoolWriter;
  private dir!: string;
  private readonly open = new Set<number>();

  private constructor(
    private readonly memoryBudgetBytes: number,
    private readonly signal: AbortSignal,
  ) {}

  static async create(scratchDir: string, memoryBudgetBytes: number, signal: AbortSignal): Promise<FeatureStoreBuilder> {
    const b = new FeatureStoreBuilder(memoryBudgetBytes, signal);
    b.dir = await mkdtemp(join(scratchDir, "featuredb-"));
    b.spool = new SpoolWriter(b.openFile("spool.bin"));
    return b;
  }

  private openFile(name: string): number {
    const fd = openSync(join(this.dir, name), "w+");
    this.open.add(fd);
    return fd;
  }

  private closeFile(fd: number): void {
    if (this.open.delete(fd)) closeSync(fd);
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
   * slices of this size, each from one sequential scan of the spool, in one buffer.
   */
  get sliceBytes(): number {
    return Math.max(1 << 20, Math.min(MAX_SLICE_BYTES, Math.floor(this.memoryBudgetBytes / 16)));
  }

  add(features: readonly VectorFeature[], layer: string): void {
    if ((this.count + features.length) * BYTES_PER_FEATURE > this.memoryBudgetBytes / 2) {
      throw new ConversionError(
        "InsufficientMemory",
        "Not enough memory",
        "Indexing more than %1 features needs more memory than the %2 MB the conversion may use (REALCONV_MEMORY_MB).",
        [String(this.count), String(Math.round(this.memoryBudgetBytes / 2 ** 20))],
      );
    }
    const extent = this.extent;
    for (const f of features) {
      const i = this.count;
      const slot = i & CHUNK_MASK;
      if (slot === 0) {
        this.boxes.push(new Float64Array(4 * CHUNK));
        this.lengths.push(new Uint32Array(CHUNK));
      }
      const boxes = this.boxes[i >>> CHUNK_BITS];
      const o = 4 * slot;
      if (boundsInto(f.geometry, boxes, o)) {
        if (boxes[o] < extent[0]) extent[0] = boxes[o];
        if (boxes[o + 1] < extent[1]) extent[1] = boxes[o + 1];
        if (boxes[o + 2] > extent[2]) extent[2] = boxes[o + 2];
        if (boxes[o + 3] > extent[3]) extent[3] = boxes[o + 3];
      }
      if (f.geometry) this.types.add(f.geometry.type);
      const epoch = this.schema.observe(f.properties, f.geometry !== null && !this.schema.hasZ && hasHeights(f.geometry));
      while (this.epochStarts.length <= epoch) this.epochStarts.push({ feature: i, byte: this.spool.written });
      const bytes = encodeFgbFeature(f, this.schema.columns, this.schema.hasZ);
      if (bytes.byteLength & 3) throw new Error("a FlatGeobuf feature's length is not a multiple of 4");
      this.lengths[i >>> CHUNK_BITS][slot] = bytes.byteLength;
      this.spool.write(bytes);
      this.count++;
    }
    this.layers.set(layer, (this.layers.get(layer) ?? 0) + features.length);
  }

  private lengthOf = (i: number): number => this.lengths[i >>> CHUNK_BITS][i & CHUNK_MASK];

  /**
   * Features of epochs before the last (a prefix of the spool) encoded again with the final columns and
   * heights, into a second spool; their lengths are updated. Returns that spool's descriptor.
   */
  private async reencodePrefix(end: number): Promise<number> {
    const columns = this.schema.columns;
    const hasZ = this.schema.hasZ;
    const out = new SpoolWriter(this.openFile("reencoded.bin"));
    // Decoded from an 8-aligned copy: the decoder views coordinates as Float64Arrays.
    let aligned = new Uint8Array(1 << 16);
    let epoch = 0;
    let header: FgbHeaderInfo | undefined;
    await scanSpool(
      this.spool.fd,
      0,
      0,
      end,
      this.lengthOf,
      (i, buf, at, length) => {
        if (!header || (epoch + 1 < this.epochStarts.length && i >= this.epochStarts[epoch + 1].feature)) {
          while (epoch + 1 < this.epochStarts.length && i >= this.epochStarts[epoch + 1].feature) epoch++;
          const state = this.schema.epochState(epoch);
          header = { name: "", geometryType: "Unknown", hasZ: state.hasZ, columns: state.columns, featuresCount: 0, indexNodeSize: 0, headerEnd: 0 };
        }
        if (length > aligned.byteLength) aligned = new Uint8Array(2 * length);
        aligned.set(buf.subarray(at, at + length));
        const bytes = encodeFgbFeature(decodeFgbFeature(aligned.subarray(4, length), header, "spool", i), columns, hasZ);
        this.lengths[i >>> CHUNK_BITS][i & CHUNK_MASK] = bytes.byteLength;
        out.write(bytes);
      },
      this.signal,
    );
    out.flush();
    return out.fd;
  }

  /**
   * Sorts and encodes the features; returns the manifest and the FlatGeobuf file as a stream of parts
   * (`onProgress` gets the fraction of features written). `dispose` removes the spools.
   */
  async finish(
    meta: { id: string; title: string; crs: string; epsg?: number; wkt?: string },
    onProgress: (fraction: number) => void,
  ): Promise<{ manifest: StoreManifest; file: AsyncIterable<Uint8Array> }> {
    this.spool.flush();
    const n = this.count;
    const hasIndex = n > 0;
    const extent = this.extent[0] <= this.extent[2] ? this.extent : [0, 0, 0, 0];
    const specs = this.schema.specs();
    const lastEpoch = this.epochStarts[this.schema.epoch];
    const reencoded = lastEpoch.feature > 0 ? await this.reencodePrefix(lastEpoch.feature) : -1;

    // Hilbert order of the box centres, then each feature's rank in it.
    const keys = new Uint32Array(n);
    for (let c = 0; c < this.boxes.length; c++) {
      const m = Math.min(CHUNK, n - c * CHUNK);
      keys.set(hilbertValues(this.boxes[c], m, extent), c * CHUNK);
    }
    const order = sortByKeys(keys);
    const rank = keys; // reused: the keys are no longer needed
    for (let k = 0; k < n; k++) rank[order[k]] = k;
    // Boxes and lengths in sorted order (one gather each), so the index and the slices are made from
    // sequential reads; the order itself is then no longer needed.
    sortBoxes(this.boxes, order);
    const sortedLengths = new Uint32Array(n);
    for (let k = 0; k < n; k++) sortedLengths[k] = this.lengthOf(order[k]);

    // Slices of the sorted features, each at most sliceBytes (or one feature).
    const sliceLimit = this.sliceBytes;
    const sliceEnds: number[] = [];
    const sliceSizes: number[] = [];
    let bytes = 0;
    for (let k = 0; k < n; k++) {
      const length = sortedLengths[k];
      if (bytes > 0 && bytes + length > sliceLimit) {
        sliceEnds.push(k);
        sliceSizes.push(bytes);
        bytes = 0;
      }
      bytes += length;
    }
    if (n > 0) {
      sliceEnds.push(n);
      sliceSizes.push(bytes);
    }

    const boxes = this.boxes;
    const leafBoxes = (from: number, to: number, out: Float64Array): void => {
      for (let k = from; k < to; ) {
        const chunk = boxes[k >>> CHUNK_BITS];
        const end = Math.min(to, ((k >>> CHUNK_BITS) + 1) << CHUNK_BITS);
        out.set(chunk.subarray(4 * (k & CHUNK_MASK), 4 * (k & CHUNK_MASK) + 4 * (end - k)), 4 * (k - from));
        k = end;
      }
    };
    const inner = hasIndex ? buildFgbInnerNodes(n, FGB_NODE_SIZE, leafBoxes) : new Uint8Array(0);

    const types = [...this.types];
    const header = encodeFgbHeader({
      name: meta.id,
      title: meta.title,
      metadata: JSON.stringify({ layers: Object.fromEntries(this.layers) }),
      geometryType: types.length === 1 ? types[0] : "Unknown",
      hasZ: this.schema.hasZ,
      columns: specs,
      featuresCount: n,
      indexNodeSize: hasIndex ? FGB_NODE_SIZE : 0,
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
    const lengthOf = this.lengthOf;
    const closeAll = () => {
      for (const fd of [...this.open]) this.closeFile(fd);
    };
    async function* file(): AsyncIterable<Uint8Array> {
      yield header;
      for (let o = 0; o < inner.byteLength; o += PART_BYTES) yield inner.subarray(o, o + PART_BYTES);
      // Leaves: boxes in sorted order, offsets the running sum of the sorted features' lengths.
      const leavesPerPart = Math.floor(PART_BYTES / FGB_NODE_BYTES);
      const partBoxes = new Float64Array(4 * leavesPerPart);
      const partOffsets = new Float64Array(leavesPerPart);
      let offset = 0;
      for (let from = 0; from < n; from += leavesPerPart) {
        const to = Math.min(n, from + leavesPerPart);
        leafBoxes(from, to, partBoxes);
        for (let k = from; k < to; k++) {
          partOffsets[k - from] = offset;
          offset += sortedLengths[k];
        }
        yield encodeFgbLeaves(partBoxes, partOffsets, to - from);
      }
      // Features, slice by slice: each slice's features gathered at their places from one front-to-back
      // scan of the spools (the re-encoded prefix, then the rest), in large reads.
      // One slice buffer for all slices: its parts are yielded as copies (the sink may hold a few parts
      // ahead), so it can be refilled at once and no second slice is ever alive.
      const slice = wordBuffer(Math.max(0, ...sliceSizes));
      const sliceWords = new Int32Array(slice.buffer);
      let sliceStart = 0;
      for (let s = 0; s < sliceEnds.length; s++) {
        const sliceEnd = sliceEnds[s];
        const at = new Float64Array(sliceEnd - sliceStart);
        let o = 0;
        for (let k = sliceStart; k < sliceEnd; k++) {
          at[k - sliceStart] = o;
          o += sortedLengths[k];
        }
        const first = sliceStart;
        // Features are whole 32-bit words at word offsets (their lengths are multiples of 4): copied a
        // word at a time, cheaper for features this small than a native copy call each.
        let scanned: Buffer | undefined;
        let scannedWords = sliceWords;
        const visit = (i: number, buf: Buffer, from: number, length: number): void => {
          const r = rank[i];
          if (r < first || r >= sliceEnd) return;
          if (buf !== scanned) {
            scanned = buf;
            scannedWords = new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
          }
          const d = at[r - first] >> 2;
          const src = from >> 2;
          const words = length >> 2;
          for (let w = 0; w < words; w++) sliceWords[d + w] = scannedWords[src + w];
        };
        if (reencoded >= 0) await scanSpool(reencoded, 0, 0, lastEpoch.feature, lengthOf, visit, signal);
        await scanSpool(spool, lastEpoch.byte, lastEpoch.feature, n, lengthOf, visit, signal);
        for (let p = 0; p < sliceSizes[s]; p += PART_BYTES) yield Buffer.from(slice.subarray(p, Math.min(p + PART_BYTES, sliceSizes[s])));
        sliceStart = sliceEnd;
        onProgress(sliceEnd / n);
      }
      closeAll();
    }
    return { manifest, file: file() };
  }

  async dispose(): Promise<void> {
    for (const fd of [...this.open]) this.closeFile(fd);
    await rm(this.dir, { recursive: true, force: true });
  }
}
