/**
 * LAZ reader: reads the chunks in order through the ByteSource and has each decompressed by a
 * LazChunkDecompressor (our decoder, `../lazdec/`): in this thread by default, or elsewhere (worker
 * threads) with up to `lazConcurrency` chunks in flight, records still handed out in order; the LAS
 * record decoder then decodes them (a decompressor with `decompressColumns` decodes them where it
 * decompresses, and this reader joins the columns into its blocks). Every chunk is checked (its streams end where its bytes end, its
 * points lie inside the header's bounds), so damage surfaces as a FormatError naming the file, the
 * chunk and its offset, never as garbage points. Memory: `lazConcurrency` chunks (compressed + raw)
 * plus the output blocks of `chunkPoints` records.
 *
 * Why our decoder for every point format, and not laz-perf's WASM ChunkDecoder (which this reader used
 * before): on the same chunks in one process it takes 7-30 % less CPU time for formats 0-3 and about
 * as much for 6-8 (0.97-1.02 of laz-perf's rate, inside the rounds' scatter; docs/benchmarks.md, "LAZ
 * decoding"), the whole read in one thread 5-10 % less than the laz-perf reader; it reads
 * the formats laz-perf lacks (4, 5, 9, 10), checks every chunk's stream ends as it decodes (laz-perf
 * cannot tell where a stream stopped), and keeps no WASM heap per thread. One decoder for all formats
 * rather than laz-perf for the layered ones at parity: laz-perf stays a devDependency, the tests'
 * independent decoder.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { readLasHeader, type LasHeader } from "../las/header.js";
import { throwIfAborted } from "../../abort.js";
import { LasReader, rawLimits, type LasReadOptions, type RecordBlock, type RecordBlockSource } from "../las/reader.js";
import type { RecordLayout } from "../las/records.js";
import { concatChunks, sliceChunk, type PointChunk } from "../chunk.js";
import { LazChunkError } from "../lazdec/chunk-decoder.js";
import { checkLimits, checkStreamEnds, chunkDecoder, type RawLimits } from "../lazdec/chunk.js";
import { COMPRESSOR_LAYERED_CHUNKED, COMPRESSOR_POINTWISE, COMPRESSOR_POINTWISE_CHUNKED, LASZIP_RECORD_ID, LASZIP_USER_ID, lazItemsFor } from "./coder/layout.js";
import { parseLaszipVlr, readChunkTable, type LazChunk, type LaszipVlr } from "./chunk-table.js";
import { inThreadLazDecompressor } from "./decompressor.js";

export { LazChunkError, inThreadLazDecompressor, type LazChunkDecompressor } from "./decompressor.js";

/**
 * Gathers decompressed records into blocks of `maxPoints`. Each block is a fresh buffer: a consumer may
 * keep the blocks it was given.
 */
class BlockGatherer {
  private block: Uint8Array;
  private filled = 0;

  constructor(
    private readonly maxPoints: number,
    private readonly recordLength: number,
  ) {
    this.block = new Uint8Array(maxPoints * recordLength);
  }

  get empty(): boolean {
    return this.filled === 0;
  }

  /** Records the current block still takes. */
  get room(): number {
    return this.maxPoints - this.filled;
  }

  /** Copies `count` (at most `room`) records in; returns the block once it is full. */
  add(records: Uint8Array, count: number): RecordBlock | undefined {
    this.block.set(records.subarray(0, count * this.recordLength), this.filled * this.recordLength);
    this.filled += count;
    if (this.filled < this.maxPoints) return undefined;
    const full = { bytes: this.block, count: this.filled };
    this.block = new Uint8Array(this.maxPoints * this.recordLength);
    this.filled = 0;
    return full;
  }

  /** The last, partly filled block, if any. */
  rest(): RecordBlock | undefined {
    return this.filled > 0 ? { bytes: this.block.subarray(0, this.filled * this.recordLength), count: this.filled } : undefined;
  }
}

/** Point formats the LAZ reader decompresses (4, 5, 9, 10 without their wave packets). */
export const LAZ_DECODABLE_FORMATS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

export function isLazHeader(h: LasHeader): boolean {
  return h.compressedFlag || h.vlrs.some((r) => r.userId === LASZIP_USER_ID && r.recordId === LASZIP_RECORD_ID);
}

/** A chunk's LazChunkError as the FormatError naming the file, the chunk and the absolute offset. */
function chunkFailure(e: unknown, c: number, ch: LazChunk, file: string): unknown {
  return e instanceof LazChunkError ? new FormatError(`LAZ chunk ${c} ${e.message}`, file, ch.start + e.at) : e;
}

/** Chunk `c`'s compressed bytes, whole. */
async function readChunk(src: ByteSource, chunks: readonly LazChunk[], c: number): Promise<Uint8Array> {
  const ch = chunks[c];
  const bytes = await src.read(ch.start, ch.byteLength);
  if (bytes.byteLength < ch.byteLength) {
    throw new FormatError(`LAZ chunk ${c} is truncated (${bytes.byteLength} of ${ch.byteLength} bytes)`, src.name, ch.start + bytes.byteLength);
  }
  return bytes;
}

/** Raw records of a chunk above this size are decoded piecewise in this thread rather than as one buffer. */
const MAX_WHOLE_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Runs `decompress` on every chunk with up to `depth` chunks in flight, and yields the results in chunk
 * order. Reads stay sequential; a chunk's read or check error is kept in its slot so errors surface in
 * chunk order, after the results of the chunks before it (as a one-chunk-at-a-time reader would).
 */
async function* inOrder<T>(
  src: ByteSource,
  chunks: readonly LazChunk[],
  depth: number,
  signal: AbortSignal | undefined,
  decompress: (bytes: Uint8Array, ch: LazChunk, c: number) => Promise<T>,
): AsyncGenerator<T> {
  /** Decompressions started and not yet handed out, in chunk order. */
  const inflight: Promise<T>[] = [];
  let next = 0;
  let failed = false;
  const start = async (c: number): Promise<{ result: Promise<T> }> => {
    const ch = chunks[c];
    let p: Promise<T>;
    try {
      const bytes = await readChunk(src, chunks, c);
      p = decompress(bytes, ch, c).catch((e: unknown) => {
        throw chunkFailure(e, c, ch, src.name);
      });
    } catch (e) {
      failed = true;
      p = Promise.reject(e);
    }
    // Awaited later, in order; until then a rejection must not count as unhandled.
    p.catch(() => undefined);
    return { result: p };
  };
  for (let c = 0; c < chunks.length; c++) {
    throwIfAborted(signal);
    while (!failed && next < chunks.length && next < c + depth) inflight.push((await start(next++)).result);
    const result = await untilAborted(inflight.shift()!, signal);
    throwIfAborted(signal);
    yield result;
  }
}

/** Whether the chunks decompress whole (possibly elsewhere) rather than piecewise in this thread. */
function decompressesWhole(h: LasHeader, lz: LaszipVlr, chunks: readonly LazChunk[]): boolean {
  // Compressor 1 is one arithmetic stream over all points (nothing to split); very large chunks would
  // need a whole-chunk buffer: both stay on the piecewise in-thread path.
  return lz.compressor !== COMPRESSOR_POINTWISE && chunks.every((ch) => ch.pointCount * h.recordLength <= MAX_WHOLE_CHUNK_BYTES);
}

function lazRecordBlocks(src: ByteSource, h: LasHeader, lz: LaszipVlr, chunks: readonly LazChunk[], options: LasReadOptions): RecordBlockSource {
  const limits = rawLimits(h);
  if (!decompressesWhole(h, lz, chunks)) return streamedRecordBlocks(src, h, chunks, limits);
  const decompressor = options.lazDecompressor ?? inThreadLazDecompressor;
  const depth = Math.max(1, Math.floor(options.lazConcurrency ?? 1));
  // A decompressor that recycles its buffers gets its records copied out, never handed on as views.
  const reuse = decompressor.release !== undefined;
  return async function* (maxPoints, signal) {
    const rl = h.recordLength;
    const decompress = async (bytes: Uint8Array, ch: LazChunk, c: number) => {
      const records = await decompressor.decompress(bytes, h.pdrf, rl, ch.pointCount, limits);
      if (records.byteLength !== ch.pointCount * rl) throw new Error(`LAZ chunk ${c}: the decompressor returned ${records.byteLength} bytes, not ${ch.pointCount * rl}`);
      return records;
    };
    const blocks = new BlockGatherer(maxPoints, rl);
    let c = 0;
    for await (const records of inOrder(src, chunks, depth, signal, decompress)) {
      let at = 0;
      let left = chunks[c++].pointCount;
      while (left > 0) {
        if (blocks.empty && left >= maxPoints && !reuse) {
          // A whole block inside this chunk: hand out a view (each chunk's records are a fresh buffer).
          yield { bytes: records.subarray(at * rl, (at + maxPoints) * rl), count: maxPoints };
          throwIfAborted(signal);
          at += maxPoints;
          left -= maxPoints;
          continue;
        }
        const k = Math.min(left, blocks.room);
        const full = blocks.add(records.subarray(at * rl), k);
        at += k;
        left -= k;
        if (full) {
          yield full;
          throwIfAborted(signal);
        }
      }
      if (reuse) decompressor.release!(records);
    }
    const rest = blocks.rest();
    if (rest) yield rest;
  };
}

/**
 * Decoded points in blocks of `maxPoints` from a decompressor that also decodes the records into columns
 * (a thread pool: the record decoding then runs beside the decompression): the same blocks, point for
 * point, as decoding the gathered records here. Undefined where the chunks are not decompressed whole or
 * the decompressor decodes no columns.
 */
function lazColumnBlocks(src: ByteSource, h: LasHeader, lz: LaszipVlr, chunks: readonly LazChunk[], options: LasReadOptions): ((maxPoints: number, signal: AbortSignal | undefined, layout: RecordLayout) => AsyncIterable<PointChunk>) | undefined {
  const decompressor = options.lazDecompressor;
  if (!decompressor?.decompressColumns || !decompressesWhole(h, lz, chunks)) return undefined;
  const limits = rawLimits(h);
  const depth = Math.max(1, Math.floor(options.lazConcurrency ?? 1));
  return async function* (maxPoints, signal, layout) {
    const decompress = async (bytes: Uint8Array, ch: LazChunk, c: number) => {
      const points = await decompressor.decompressColumns!(bytes, ch.pointCount, limits, layout);
      if (points.count !== ch.pointCount) throw new Error(`LAZ chunk ${c}: the decompressor returned ${points.count} points, not ${ch.pointCount}`);
      return points;
    };
    /** Pieces of the block being gathered, and their points. */
    let pieces: PointChunk[] = [];
    let filled = 0;
    for await (const points of inOrder(src, chunks, depth, signal, decompress)) {
      let at = 0;
      while (at < points.count) {
        const k = Math.min(points.count - at, maxPoints - filled);
        // Each chunk's columns are fresh arrays: a block inside one chunk is a view of them.
        pieces.push(at === 0 && k === points.count ? points : sliceChunk(points, at, at + k));
        filled += k;
        at += k;
        if (filled === maxPoints) {
          yield concatChunks(pieces);
          throwIfAborted(signal);
          pieces = [];
          filled = 0;
        }
      }
    }
    if (filled > 0) yield concatChunks(pieces);
  };
}

/** Waits for `p`, or rejects as soon as `signal` fires (the work behind `p` is left to finish unobserved). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** One chunk at a time in this thread, decoded piecewise into the output blocks (no whole-chunk buffer). */
function streamedRecordBlocks(src: ByteSource, h: LasHeader, chunks: readonly LazChunk[], limits: RawLimits | undefined): RecordBlockSource {
  return async function* (maxPoints, signal) {
    const rl = h.recordLength;
    const blocks = new BlockGatherer(maxPoints, rl);
    const piece = new Uint8Array(maxPoints * rl);
    for (let c = 0; c < chunks.length; c++) {
      throwIfAborted(signal);
      const ch = chunks[c];
      const bytes = await readChunk(src, chunks, c);
      let left = ch.pointCount;
      try {
        const decoder = chunkDecoder(bytes, h.pdrf, rl, ch.pointCount);
        while (left > 0) {
          const k = Math.min(left, blocks.room);
          decoder.decode(piece, 0, k);
          if (limits) checkLimits(piece, 0, k, rl, limits);
          left -= k;
          if (left === 0) checkStreamEnds(decoder);
          const full = blocks.add(piece, k);
          if (full) {
            yield full;
            throwIfAborted(signal);
          }
        }
      } catch (e) {
        throw chunkFailure(e, c, ch, src.name);
      }
    }
    const rest = blocks.rest();
    if (rest) yield rest;
  };
}

/** A LAS reader whose records come from LAZ chunks; also exposes the laszip VLR and the chunk table. */
export class LazReader extends LasReader {
  constructor(
    src: ByteSource,
    header: LasHeader,
    warnings: string[],
    readonly laszip: LaszipVlr,
    readonly lazChunks: readonly LazChunk[],
    options: LasReadOptions = {},
  ) {
    super(src, header, warnings, "laz", lazRecordBlocks(src, header, laszip, lazChunks, options), options);
    this.columnBlocks = lazColumnBlocks(src, header, laszip, lazChunks, options);
  }

  private readonly columnBlocks: ((maxPoints: number, signal: AbortSignal | undefined, layout: RecordLayout) => AsyncIterable<PointChunk>) | undefined;

  override async *chunks(signal?: AbortSignal, only?: RecordLayout["only"]): AsyncIterable<PointChunk> {
    if (!this.columnBlocks) {
      yield* super.chunks(signal, only);
      return;
    }
    for await (const chunk of this.columnBlocks(this.blockPoints(), signal, this.layoutFor(only))) {
      throwIfAborted(signal);
      yield chunk;
    }
  }
}

/** Opens a LAZ file (LAZ 1.0-1.4, point-wise or layered chunks; COPC files read as plain LAZ). */
export async function openLaz(src: ByteSource, options: LasReadOptions = {}): Promise<LazReader> {
  const warnings: string[] = [];
  const h = await readLasHeader(src, warnings);
  return openLazWithHeader(src, h, warnings, options);
}

export async function openLazWithHeader(src: ByteSource, h: LasHeader, warnings: string[], options: LasReadOptions = {}): Promise<LazReader> {
  const vlr = h.vlrs.find((r) => r.userId === LASZIP_USER_ID && r.recordId === LASZIP_RECORD_ID);
  if (!vlr) throw new FormatError("LAZ file without a laszip VLR (user 'laszip encoded', record 22204)", src.name, h.headerSize);
  const lz = parseLaszipVlr(vlr.data, src.name, vlr.dataOffset);
  const layered = h.pdrf >= 6;
  const compressorOk = layered ? lz.compressor === COMPRESSOR_LAYERED_CHUNKED : lz.compressor === COMPRESSOR_POINTWISE || lz.compressor === COMPRESSOR_POINTWISE_CHUNKED;
  if (!compressorOk) throw new FormatError(`unsupported LAZ compressor ${lz.compressor} for point format ${h.pdrf}`, src.name, vlr.dataOffset);
  // The items describe the record the decoder rebuilds; other items or versions are another layout.
  const expected = lazItemsFor(h.pdrf, h.recordLength);
  const same = expected.length === lz.items.length && expected.every((it, i) => it.type === lz.items[i].type && it.size === lz.items[i].size && it.version === lz.items[i].version);
  if (!same) {
    const list = (items: readonly { type: number; size: number; version: number }[]) => items.map((it) => `${it.type}/${it.size}/v${it.version}`).join(", ");
    throw new FormatError(
      `laszip items (type/size/version) ${list(lz.items)} are not the layout of point format ${h.pdrf} with ${h.recordLength}-byte records (${list(expected)})`,
      src.name,
      vlr.dataOffset + 32,
    );
  }
  if (h.pdrf === 4 || h.pdrf === 5 || h.pdrf >= 9) {
    warnings.push(`point format ${h.pdrf} carries waveform packets: they are not read (their record fields read as 0)`);
  }
  let chunks: LazChunk[];
  if (lz.compressor === COMPRESSOR_POINTWISE) {
    // Point-wise without chunks: the whole point data is one arithmetic-coded stream.
    const end = h.evlrCount > 0 && h.evlrOffset > h.offsetToPointData ? h.evlrOffset : src.size;
    chunks = h.pointCount > 0 ? [{ start: h.offsetToPointData, byteLength: end - h.offsetToPointData, pointCount: h.pointCount }] : [];
  } else {
    chunks = h.pointCount > 0 ? await readChunkTable(src, h, lz) : [];
  }
  return new LazReader(src, h, warnings, lz, chunks, options);
}
