/**
 * LAZ reader: reads the chunks in order through the ByteSource and has each decompressed (laz-perf's
 * WASM ChunkDecoder, formats 0..3 and 6..8) by a LazChunkDecompressor: in this thread by default, or
 * elsewhere (worker threads) with up to `lazConcurrency` chunks in flight, records still handed out in
 * order; the LAS record decoder then decodes them. Memory: `lazConcurrency` chunks (compressed + raw)
 * plus the output blocks of `chunkPoints` records.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { readLasHeader, type LasHeader } from "../las/header.js";
import { throwIfAborted } from "../../abort.js";
import { LasReader, type LasReadOptions, type RecordBlock, type RecordBlockSource } from "../las/reader.js";
import {
  discardLazPerf,
  inThreadLazDecompressor,
  LazChunkError,
  lazPerf,
  safely,
  type LazChunkDecompressor,
  type LazPerfModule,
} from "./decompressor.js";
import { parseLaszipVlr, readChunkTable, VARIABLE_CHUNK_SIZE, type LazChunk, type LaszipVlr } from "./chunk-table.js";

export { lazPerf, LazChunkError, inThreadLazDecompressor, type LazChunkDecompressor, type LazPerfModule } from "./decompressor.js";

/** Layers per laszip item in a layered (LAS 1.4) chunk: POINT14 9, RGB14 1, RGBNIR14 2, WAVEPACKET14 1, BYTE14 one per byte. */
function layerCount(items: LaszipVlr["items"]): number | undefined {
  let n = 0;
  for (const it of items) {
    if (it.type === 10) n += 9;
    else if (it.type === 11 || it.type === 13) n += 1;
    else if (it.type === 12) n += 2;
    else if (it.type === 14) n += it.size;
    else return undefined;
  }
  return n;
}

/**
 * Checks a layered chunk's own header (first point raw, point count, layer sizes) before laz-perf sees
 * it: the decoder allocates what the layer sizes say, so corrupt sizes must not reach it.
 */
function checkLayeredChunk(bytes: Uint8Array, c: number, ch: LazChunk, lz: LaszipVlr, rl: number, last: boolean, file: string): void {
  const layers = layerCount(lz.items);
  if (layers === undefined) throw new FormatError(`laszip items ${lz.items.map((i) => i.type).join(",")} are not LAS 1.4 layered items`, file, ch.start);
  const headEnd = rl + 4 + 4 * layers;
  if (headEnd > bytes.byteLength) throw new FormatError(`LAZ chunk ${c} (${bytes.byteLength} bytes) is shorter than its own header`, file, ch.start);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = v.getUint32(rl, true);
  const countOk = count === ch.pointCount || (last && count > ch.pointCount && (lz.chunkSize === VARIABLE_CHUNK_SIZE || count <= lz.chunkSize));
  if (!countOk) throw new FormatError(`LAZ chunk ${c} says ${count} points where ${ch.pointCount} are expected`, file, ch.start + rl);
  let total = headEnd;
  for (let i = 0; i < layers; i++) total += v.getUint32(rl + 4 + 4 * i, true);
  if (total > bytes.byteLength) {
    throw new FormatError(`LAZ chunk ${c} layer sizes add up to ${total} bytes, more than the chunk's ${bytes.byteLength}`, file, ch.start + rl + 4);
  }
}

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

/** Formats the laz-perf WASM can decompress. */
export const LAZ_DECODABLE_FORMATS: readonly number[] = [0, 1, 2, 3, 6, 7, 8];

export function isLazHeader(h: LasHeader): boolean {
  return h.compressedFlag || h.vlrs.some((r) => r.userId === "laszip encoded" && r.recordId === 22204);
}

/** Grows-only scratch allocation in the WASM heap. */
class WasmBuffer {
  ptr = 0;
  size = 0;
  constructor(private readonly m: LazPerfModule) {}
  ensure(size: number): number {
    if (size > this.size) {
      if (this.ptr) this.m._free(this.ptr);
      this.ptr = this.m._malloc(size);
      if (!this.ptr) throw new Error(`laz-perf: cannot allocate ${size} bytes`);
      this.size = size;
    }
    return this.ptr;
  }
  free(): void {
    if (this.ptr) this.m._free(this.ptr);
    this.ptr = this.size = 0;
  }
}

/** Chunk `c`'s compressed bytes, whole, with a layered chunk's own header checked. */
async function readChunk(src: ByteSource, lz: LaszipVlr, chunks: readonly LazChunk[], c: number, rl: number): Promise<Uint8Array> {
  const ch = chunks[c];
  const bytes = await src.read(ch.start, ch.byteLength);
  if (bytes.byteLength < ch.byteLength) {
    throw new FormatError(`LAZ chunk ${c} is truncated (${bytes.byteLength} of ${ch.byteLength} bytes)`, src.name, ch.start + bytes.byteLength);
  }
  if (lz.compressor === 3) checkLayeredChunk(bytes, c, ch, lz, rl, c === chunks.length - 1, src.name);
  return bytes;
}

/** Raw records of a chunk above this size are decoded piecewise in this thread rather than as one buffer. */
const MAX_WHOLE_CHUNK_BYTES = 64 * 1024 * 1024;

function lazRecordBlocks(src: ByteSource, h: LasHeader, lz: LaszipVlr, chunks: readonly LazChunk[], options: LasReadOptions): RecordBlockSource {
  // Compressor 1 is one arithmetic stream over all points (nothing to split); very large chunks would
  // need a whole-chunk buffer: both stay on the piecewise in-thread path.
  const whole = lz.compressor !== 1 && chunks.every((ch) => ch.pointCount * h.recordLength <= MAX_WHOLE_CHUNK_BYTES);
  if (!whole) return streamedRecordBlocks(src, h, lz, chunks);
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
        const bytes = await readChunk(src, lz, chunks, c, rl);
        const p = decompressor.decompress(bytes, h.pdrf, rl, ch.pointCount).then(
          (records) => {
            if (records.byteLength !== ch.pointCount * rl) throw new Error(`LAZ chunk ${c}: the decompressor returned ${records.byteLength} bytes, not ${ch.pointCount * rl}`);
            return records;
          },
          (e: unknown) => {
            throw e instanceof LazChunkError ? new FormatError(`LAZ chunk ${c} ${e.message}`, src.name, ch.start) : e;
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
function streamedRecordBlocks(src: ByteSource, h: LasHeader, lz: LaszipVlr, chunks: readonly LazChunk[]): RecordBlockSource {
  return async function* (maxPoints, signal) {
    const m = await lazPerf();
    const rl = h.recordLength;
    const compressed = new WasmBuffer(m);
    const out = new WasmBuffer(m);
    const blocks = new BlockGatherer(maxPoints, rl);
    try {
      for (let c = 0; c < chunks.length; c++) {
        throwIfAborted(signal);
        const ch = chunks[c];
        const bytes = await readChunk(src, lz, chunks, c, rl);
        // Slack after the chunk: the arithmetic decoder reads a few bytes ahead of what it uses.
        const cptr = compressed.ensure(ch.byteLength + 64);
        m.HEAPU8.fill(0, cptr + ch.byteLength, cptr + ch.byteLength + 64);
        m.HEAPU8.set(bytes, cptr);
        const decoder = new m.ChunkDecoder();
        try {
          try {
            decoder.open(h.pdrf, rl, cptr);
          } catch (e) {
            discardLazPerf();
            throw new FormatError(`LAZ chunk ${c} cannot be opened: ${(e as Error)?.message ?? e}`, src.name, ch.start);
          }
          let left = ch.pointCount;
          while (left > 0) {
            const k = Math.min(left, blocks.room);
            const optr = out.ensure(maxPoints * rl);
            try {
              for (let i = 0; i < k; i++) decoder.getPoint(optr + i * rl);
            } catch (e) {
              discardLazPerf();
              throw new FormatError(`LAZ chunk ${c} is corrupt: ${(e as Error)?.message ?? e}`, src.name, ch.start);
            }
            // HEAPU8 is re-read after the calls: the WASM memory may have grown and moved.
            const full = blocks.add(m.HEAPU8.subarray(optr, optr + k * rl), k);
            left -= k;
            if (full) {
              yield full;
              throwIfAborted(signal);
            }
          }
        } finally {
          safely(() => decoder.delete());
        }
      }
      const rest = blocks.rest();
      if (rest) yield rest;
    } finally {
      safely(() => compressed.free());
      safely(() => out.free());
    }
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
  const vlr = h.vlrs.find((r) => r.userId === "laszip encoded" && r.recordId === 22204);
  if (!vlr) throw new FormatError("LAZ file without a laszip VLR (user 'laszip encoded', record 22204)", src.name, h.headerSize);
  const lz = parseLaszipVlr(vlr.data, src.name, vlr.dataOffset);
  if (!LAZ_DECODABLE_FORMATS.includes(h.pdrf)) {
    throw new FormatError(
      `LAZ point format ${h.pdrf} (with waveform packets) cannot be decompressed; supported compressed formats are ${LAZ_DECODABLE_FORMATS.join(", ")}`,
      src.name,
      104,
    );
  }
  // The items describe the record the decoder rebuilds; a header disagreeing with them is corrupt.
  const itemBytes = lz.items.reduce((n, it) => n + it.size, 0);
  if (itemBytes !== h.recordLength) {
    throw new FormatError(`point record length ${h.recordLength} differs from the ${itemBytes} bytes of the laszip items`, src.name, 105);
  }
  let chunks: LazChunk[];
  if (lz.compressor === 1) {
    // Point-wise without chunks: the whole point data is one arithmetic-coded stream.
    const end = h.evlrCount > 0 && h.evlrOffset > h.offsetToPointData ? h.evlrOffset : src.size;
    chunks = h.pointCount > 0 ? [{ start: h.offsetToPointData, byteLength: end - h.offsetToPointData, pointCount: h.pointCount }] : [];
  } else if (lz.compressor === 2 || lz.compressor === 3) {
    chunks = h.pointCount > 0 ? await readChunkTable(src, h, lz) : [];
  } else {
    throw new FormatError(`unsupported LAZ compressor ${lz.compressor}`, src.name, vlr.dataOffset);
  }
  return new LazReader(src, h, warnings, lz, chunks, options);
}
