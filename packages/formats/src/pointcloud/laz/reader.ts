/**
 * LAZ reader: reads the chunks in order through the ByteSource and has each decompressed by a
 * LazChunkDecompressor (our decoder, `../lazdec/`): in this thread by default, or elsewhere (worker
 * threads) with up to `lazConcurrency` chunks in flight, records still handed out in order; the LAS
 * record decoder then decodes them. Every chunk is checked (its streams end where its bytes end, its
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

function lazRecordBlocks(src: ByteSource, h: LasHeader, lz: LaszipVlr, chunks: readonly LazChunk[], options: LasReadOptions): RecordBlockSource {
  const limits = rawLimits(h);
  // Compressor 1 is one arithmetic stream over all points (nothing to split); very large chunks would
  // need a whole-chunk buffer: both stay on the piecewise in-thread path.
  const whole = lz.compressor !== COMPRESSOR_POINTWISE && chunks.every((ch) => ch.pointCount * h.recordLength <= MAX_WHOLE_CHUNK_BYTES);
  if (!whole) return streamedRecordBlocks(src, h, chunks, limits);
  const decompressor = options.lazDecompressor ?? inThreadLazDecompressor;
  const depth = Math.max(1, Math.floor(options.lazConcurrency ?? 1));
  // A decompressor that recycles its buffers gets its records copied out, never handed on as views.
  const reuse = decompressor.release !== undefined;
  return async function* (maxPoints, signal) {
    const rl = h.recordLength;
    /** Decompressions started and not yet handed out, in chunk order (the first is chunk `c`). */
    const inflight: Promise<Uint8Array>[] = [];
    let next = 0;
    let failed = false;
    // Reads stay sequential; a chunk's read or check error is kept in its slot so errors surface in chunk
    // order, after the records of the chunks before it (as a one-chunk-at-a-time reader would).
    const start = async (c: number): Promise<{ records: Promise<Uint8Array> }> => {
      const ch = chunks[c];
      try {
        const bytes = await readChunk(src, chunks, c);
        const p = decompressor.decompress(bytes, h.pdrf, rl, ch.pointCount, limits).then(
          (records) => {
            if (records.byteLength !== ch.pointCount * rl) throw new Error(`LAZ chunk ${c}: the decompressor returned ${records.byteLength} bytes, not ${ch.pointCount * rl}`);
            return records;
          },
          (e: unknown) => {
            throw chunkFailure(e, c, ch, src.name);
          },
        );
        // Awaited later, in order; until then a rejection must not count as unhandled.
        p.catch(() => undefined);
        return { records: p };
      } catch (e) {
        failed = true;
        const p = Promise.reject(e);
        p.catch(() => undefined);
        return { records: p };
      }
    };
    const blocks = new BlockGatherer(maxPoints, rl);
    for (let c = 0; c < chunks.length; c++) {
      throwIfAborted(signal);
      while (!failed && next < chunks.length && next < c + depth) inflight.push((await start(next++)).records);
      const records = await untilAborted(inflight.shift()!, signal);
      throwIfAborted(signal);
      let at = 0;
      let left = chunks[c].pointCount;
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
