/**
 * Decompression of one LAZ chunk into raw point records, behind a small async interface so callers can
 * run chunks elsewhere (worker threads) while the reader keeps them in order. The in-thread default uses
 * laz-perf's WASM ChunkDecoder; a worker thread runs the same `decompressLazChunk`.
 */
import { createLazPerf } from "laz-perf";

/** The part of the laz-perf module we use (its typings need @types/emscripten, which we do not ship). */
export interface LazPerfModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  ChunkDecoder: new () => {
    open(pdrf: number, recordLength: number, ptr: number): void;
    getPoint(ptr: number): void;
    delete(): void;
  };
  LASZip: new () => {
    open(ptr: number, length: number): void;
    getPoint(ptr: number): void;
    getCount(): number;
    getPointLength(): number;
    getPointFormat(): number;
    delete(): void;
  };
}

let lazPerfPromise: Promise<LazPerfModule> | undefined;

/** The laz-perf WASM module, instantiated once per process (per thread). */
export function lazPerf(): Promise<LazPerfModule> {
  lazPerfPromise ??= (createLazPerf as () => Promise<LazPerfModule>)();
  return lazPerfPromise;
}

/**
 * After the WASM failed (an Emscripten abort leaves the instance unusable, and a failed decode may have
 * grown its memory), later users get a fresh instance; those still holding the old one keep it.
 */
export function discardLazPerf(): void {
  lazPerfPromise = undefined;
}

/** Cleanup after a WASM failure must not hide the error that reports it. */
export function safely(f: () => void): void {
  try {
    f();
  } catch {
    discardLazPerf();
  }
}

/**
 * A chunk the decoder refused: "open" when its start is unreadable, "corrupt" when decoding failed.
 * It names neither file nor offset (the decompressor sees only bytes); the reader turns it into a
 * FormatError naming both. Plain data, so it can cross a thread boundary as `{ kind, detail }`.
 */
export class LazChunkError extends Error {
  constructor(
    readonly kind: "open" | "corrupt",
    readonly detail: string,
  ) {
    super(kind === "open" ? `cannot be opened: ${detail}` : `is corrupt: ${detail}`);
    this.name = "LazChunkError";
  }
}

/** Decompresses one whole chunk (the chunk's entropy models start fresh, so chunks are independent). */
export interface LazChunkDecompressor {
  /**
   * Raw records (`pointCount * recordLength` bytes) of one chunk. `chunk` is only read (implementations
   * copy it before handing it elsewhere). Rejects with LazChunkError when the bytes do not decode.
   */
  decompress(chunk: Uint8Array, pdrf: number, recordLength: number, pointCount: number): Promise<Uint8Array>;
  /**
   * Optional: the caller is done with records this decompressor returned (they were copied), so their
   * buffer may be reused. A decompressor with `release` gets its records copied, never kept.
   */
  release?(records: Uint8Array): void;
}

/** Bytes of slack after the chunk: the arithmetic decoder reads a few bytes ahead of what it uses. */
const SLACK = 64;

/**
 * Decodes one chunk with laz-perf's ChunkDecoder (synchronous once the module is loaded), into `into`
 * when given (at least `pointCount * rl` bytes; the records are its first bytes), else a new array.
 */
export function decompressLazChunk(m: LazPerfModule, chunk: Uint8Array, pdrf: number, rl: number, pointCount: number, into?: Uint8Array): Uint8Array {
  if (into && into.byteLength < pointCount * rl) throw new RangeError(`LAZ chunk: ${into.byteLength} bytes cannot hold ${pointCount} records of ${rl} bytes`);
  const out = into ? into.subarray(0, pointCount * rl) : new Uint8Array(pointCount * rl);
  const cptr = m._malloc(chunk.byteLength + SLACK);
  if (!cptr) throw new Error(`laz-perf: cannot allocate ${chunk.byteLength + SLACK} bytes`);
  let optr = 0;
  let decoder: InstanceType<LazPerfModule["ChunkDecoder"]> | undefined;
  try {
    m.HEAPU8.fill(0, cptr + chunk.byteLength, cptr + chunk.byteLength + SLACK);
    m.HEAPU8.set(chunk, cptr);
    // Points are decoded into a bounded WASM block and copied out block by block.
    const blockPoints = Math.max(1, Math.min(pointCount, Math.floor((4 << 20) / rl)));
    optr = m._malloc(blockPoints * rl);
    if (!optr) throw new Error(`laz-perf: cannot allocate ${blockPoints * rl} bytes`);
    decoder = new m.ChunkDecoder();
    try {
      decoder.open(pdrf, rl, cptr);
    } catch (e) {
      discardLazPerf();
      throw new LazChunkError("open", String((e as Error)?.message ?? e));
    }
    for (let done = 0; done < pointCount; ) {
      const k = Math.min(blockPoints, pointCount - done);
      try {
        for (let i = 0; i < k; i++) decoder.getPoint(optr + i * rl);
      } catch (e) {
        discardLazPerf();
        throw new LazChunkError("corrupt", String((e as Error)?.message ?? e));
      }
      // HEAPU8 is re-read after the calls: the WASM memory may have grown and moved.
      out.set(m.HEAPU8.subarray(optr, optr + k * rl), done * rl);
      done += k;
    }
    return out;
  } finally {
    const d = decoder;
    if (d) safely(() => d.delete());
    safely(() => m._free(cptr));
    if (optr) safely(() => m._free(optr));
  }
}

/** The in-thread default: laz-perf in this thread, one chunk at a time. */
export const inThreadLazDecompressor: LazChunkDecompressor = {
  async decompress(chunk, pdrf, recordLength, pointCount) {
    return decompressLazChunk(await lazPerf(), chunk, pdrf, recordLength, pointCount);
  },
};
