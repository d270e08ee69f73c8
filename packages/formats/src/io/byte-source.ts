/**
 * Random access to the bytes of one file, wherever it lives (local disk, blob storage, memory).
 * Codecs read through this so they never touch `fs` and never need the whole file in memory.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A name for messages (file name), e.g. "autzen.las". */
  readonly name: string;
  /** Reads `length` bytes at `offset`; returns fewer only at the end of the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A ByteSource over bytes already in memory (tests, small files). */
export function bytesSource(bytes: Uint8Array, name = "memory"): ByteSource {
  return {
    size: bytes.byteLength,
    name,
    async read(offset, length) {
      return bytes.subarray(offset, Math.min(bytes.byteLength, offset + length));
    },
  };
}

/** Where a codec failed: the file and the byte offset, so users can find the damage. */
export class FormatError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly offset: number,
  ) {
    super(`${file}: ${message} (at byte ${offset})`);
    this.name = "FormatError";
  }
}
