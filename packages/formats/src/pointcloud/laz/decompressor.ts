/**
 * Decompression of one LAZ chunk into raw point records, behind a small async interface so callers can
 * run chunks elsewhere (worker threads) while the reader keeps them in order. The in-thread default and
 * the worker threads run the same decoder (`../lazdec/chunk.ts`), checks included.
 */
import { decodeChunk, type RawLimits } from "../lazdec/chunk.js";
import type { PointChunk } from "../chunk.js";
import type { RecordLayout } from "../las/records.js";

export { LazChunkError } from "../lazdec/chunk-decoder.js";
export type { RawLimits } from "../lazdec/chunk.js";

/** Decompresses one whole chunk (the chunk's entropy models start fresh, so chunks are independent). */
export interface LazChunkDecompressor {
  /**
   * Raw records (`pointCount * recordLength` bytes) of one chunk. `chunk` is only read (implementations
   * copy it before handing it elsewhere). Rejects with LazChunkError when the bytes do not decode into
   * that many records, or (with `limits`) when a point lies outside them.
   */
  decompress(chunk: Uint8Array, pdrf: number, recordLength: number, pointCount: number, limits?: RawLimits): Promise<Uint8Array>;
  /**
   * Optional: the caller is done with records this decompressor returned (they were copied), so their
   * buffer may be reused. A decompressor with `release` gets its records copied, never kept.
   */
  release?(records: Uint8Array): void;
  /**
   * Optional: one chunk decompressed and its records decoded into columns (`decodeRecords` with
   * `layout`), for decompressors that run elsewhere, so the record decoding runs there too. The reader
   * then hands out these columns in its blocks.
   */
  decompressColumns?(chunk: Uint8Array, pointCount: number, limits: RawLimits | undefined, layout: RecordLayout): Promise<PointChunk>;
}

/** The in-thread default: one chunk at a time in this thread. */
export const inThreadLazDecompressor: LazChunkDecompressor = {
  async decompress(chunk, pdrf, recordLength, pointCount, limits) {
    return decodeChunk(chunk, pdrf, recordLength, pointCount, limits);
  },
};
