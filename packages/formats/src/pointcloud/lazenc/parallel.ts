/**
 * LAS → LAZ with the chunks compressed elsewhere (worker threads) while the file layout stays here.
 * LAZ chunks are independent (every entropy model restarts at a chunk), so the records are cut into
 * whole chunks of the fixed chunk size, each handed to a LazChunkCompressor, and the compressed chunks
 * are written in order: the bytes are identical to `LasToLazTransformer`'s. Memory: `concurrency`
 * chunks of records and their outputs, plus the chunk being filled.
 */
import { LasToLazTransformer, createLazEncoder } from "./laz-file.js";
import { DEFAULT_CHUNK_SIZE } from "../laz/coder/layout.js";
import { type ChunkEntry, encodeChunkTable } from "./laszip-format.js";
import type { LazChunkEncoder } from "./encoder.js";

/** Compresses the records of one whole chunk, for one point format and record length. */
export interface LazChunkCompressor {
  /**
   * The compressed chunk of `count` records. `records` is handed over: the compressor may detach its
   * buffer (transfer it to another thread), so the caller must not use it afterwards.
   */
  compress(records: Uint8Array, count: number): Promise<Uint8Array>;
  /**
   * Optional: a buffer of `bytes` bytes (its whole buffer) for the records of a next chunk, e.g. one
   * handed over earlier and now free: reusing warm memory beats faulting in fresh pages per chunk.
   */
  recordsBuffer?(bytes: number): Uint8Array;
}

/** One chunk, compressed in this thread (the same encoder as the serial path, one chunk per call). */
export function compressLazChunk(encoder: LazChunkEncoder, records: Uint8Array, count: number): Uint8Array {
  if (records.byteLength !== count * encoder.recordLength) {
    throw new RangeError(`LAZ chunk: ${records.byteLength} bytes are not ${count} records of ${encoder.recordLength} bytes`);
  }
  // The encoder was made with variable chunks: it never ends a chunk by itself, closeChunk does.
  const done = encoder.encode(records);
  const chunks = [...done, ...encoder.closeChunk()];
  if (chunks.length !== 1) throw new Error(`LAZ chunk: the encoder returned ${chunks.length} chunks`);
  return chunks[0];
}

/** An encoder suited to `compressLazChunk` (reusable: its models restart at every chunk). */
export function createLazChunkEncoder(pointFormat: number, recordLength: number): LazChunkEncoder {
  return createLazEncoder(pointFormat, recordLength, { variableChunks: true });
}

/** The in-thread default compressor. */
export function inThreadLazCompressor(pointFormat: number, recordLength: number): LazChunkCompressor {
  const encoder = createLazChunkEncoder(pointFormat, recordLength);
  return {
    async compress(records, count) {
      return compressLazChunk(encoder, records, count);
    },
  };
}

/** Records of one chunk, waiting to be compressed. */
interface PendingChunk {
  records: Uint8Array;
  count: number;
}

/**
 * A `LasToLazTransformer` that does not compress: it cuts the records into whole chunks (`takeChunks`)
 * and lays out the compressed chunks it is given back in order (`emitChunk`). Fixed-size chunks only.
 */
export class ChunkingLasToLazTransformer extends LasToLazTransformer {
  readonly chunkSize: number;
  private readonly ready: PendingChunk[] = [];
  private current: Uint8Array | undefined;
  private currentCount = 0;
  private readonly entries: ChunkEntry[] = [];
  /** Where the buffers of the chunks come from (set by `lasToLazStreamParallel` from its compressor). */
  allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes);

  constructor(opts: { chunkSize?: number } = {}) {
    super({ chunkSize: opts.chunkSize });
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /** Point format and record length, once the header has been read. */
  get recordFormat(): { pointFormat: number; recordLength: number } | undefined {
    return this.layout && { pointFormat: this.layout.pointFormat, recordLength: this.layout.recordLength };
  }

  /** Whole chunks completed by the input pushed so far (handed over to the caller). */
  takeChunks(): PendingChunk[] {
    return this.ready.splice(0);
  }

  /** The last, partial chunk once the input is complete (undefined when the points filled whole chunks). */
  takeLastChunk(): PendingChunk | undefined {
    if (!this.current || this.currentCount === 0) return undefined;
    const rl = this.layout!.recordLength;
    const last = { records: this.current.slice(0, this.currentCount * rl), count: this.currentCount };
    this.current = undefined;
    this.currentCount = 0;
    return last;
  }

  /** Records a compressed chunk as the next one of the file; returns it (the bytes to write). */
  emitChunk(bytes: Uint8Array, count: number): Uint8Array {
    this.entries.push({ points: count, bytes: bytes.length });
    this.outPos += bytes.length;
    return bytes;
  }

  protected override encodeRecords(records: Uint8Array): void {
    const rl = this.layout!.recordLength;
    const n = records.length / rl;
    for (let i = 0; i < n; ) {
      // Each chunk gets its own buffer: it is handed over (possibly to another thread) once full.
      this.current ??= this.allocate(this.chunkSize * rl);
      const take = Math.min(this.chunkSize - this.currentCount, n - i);
      this.current.set(records.subarray(i * rl, (i + take) * rl), this.currentCount * rl);
      this.currentCount += take;
      i += take;
      if (this.currentCount === this.chunkSize) {
        this.ready.push({ records: this.current, count: this.currentCount });
        this.current = undefined;
        this.currentCount = 0;
      }
    }
  }

  protected override finishRecords(): Uint8Array {
    if (this.ready.length > 0 || this.currentCount > 0) throw new Error("ChunkingLasToLazTransformer: chunks were not all compressed before end()");
    return encodeChunkTable(this.entries, false);
  }
}

export interface ParallelLazOptions {
  /** Compressor for the file's point format (default: in this thread). */
  compressor?: (pointFormat: number, recordLength: number) => LazChunkCompressor;
  /** Chunks compressing at once (default 1). */
  concurrency?: number;
}

/**
 * Streams LAS bytes to LAZ bytes, compressing up to `concurrency` chunks at once; output identical to
 * `lasToLazStream`'s with the same chunk size. After the iteration, apply `transformer.patches`.
 */
export async function* lasToLazStreamParallel(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  transformer: ChunkingLasToLazTransformer = new ChunkingLasToLazTransformer(),
  options: ParallelLazOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const t = transformer;
  const depth = Math.max(1, Math.floor(options.concurrency ?? 1));
  const make = options.compressor ?? inThreadLazCompressor;
  let compressor: LazChunkCompressor | undefined;
  const inflight: { bytes: Promise<Uint8Array>; count: number }[] = [];
  /** The compressor, once the header says the record format (before the first chunk fills, in practice). */
  const ready = (): LazChunkCompressor | undefined => {
    const f = t.recordFormat;
    if (!compressor && f) {
      const made = make(f.pointFormat, f.recordLength);
      compressor = made;
      if (made.recordsBuffer) t.allocate = (n) => made.recordsBuffer!(n);
    }
    return compressor;
  };
  const submit = (c: PendingChunk) => {
    const bytes = ready()!.compress(c.records, c.count);
    // Awaited in order below; a rejection meanwhile is not unhandled.
    bytes.catch(() => undefined);
    inflight.push({ bytes, count: c.count });
  };
  try {
    for await (const piece of input) {
      // Big pieces go in slices of about one chunk, so whole chunks never pile up beyond `depth`.
      const step = Math.max(1, t.chunkSize * (t.recordFormat?.recordLength ?? 1));
      for (let at = 0; at < piece.length; at += step) {
        for (const b of t.push(piece.length <= step ? piece : piece.subarray(at, at + step))) yield b;
        ready();
        for (const c of t.takeChunks()) {
          while (inflight.length >= depth) {
            const done = inflight.shift()!;
            yield t.emitChunk(await done.bytes, done.count);
          }
          submit(c);
        }
      }
    }
    const last = t.takeLastChunk();
    if (last) {
      while (inflight.length >= depth) {
        const done = inflight.shift()!;
        yield t.emitChunk(await done.bytes, done.count);
      }
      submit(last);
    }
    while (inflight.length > 0) {
      const done = inflight.shift()!;
      yield t.emitChunk(await done.bytes, done.count);
    }
    for (const b of t.end()) yield b;
  } finally {
    // Chunks still compressing when the consumer stopped: their results are dropped.
    inflight.length = 0;
  }
}
