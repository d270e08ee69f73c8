/** What the chunk decoders of the point-wise and layered schemes have in common. */

/** Where an arithmetic stream stopped reading, against where its bytes end (chunk-relative offsets). */
export interface StreamEnd {
  stream: string;
  end: number;
  expected: number;
  /** The decoder's state after the last symbol is one an encoder's flush leaves. */
  atFlush: boolean;
}

/** Decodes a chunk's records in order, any number at a time. */
export interface ChunkRecordDecoder {
  /** Decodes the next `count` records into `out` from byte `at`. */
  decode(out: Uint8Array, at: number, count: number): void;
  /** Where each stream that was read stopped (once all the chunk's records are decoded). */
  streamEnds(): StreamEnd[];
}

/**
 * A chunk that does not decode into the records it should. It names neither file nor chunk (the
 * decoder sees only bytes); `at` is the byte offset in the chunk it points at. The reader turns it into
 * a FormatError naming the file, the chunk and the absolute offset. Plain data (`detail`, `at`), so it
 * can cross a thread boundary.
 */
export class LazChunkError extends Error {
  constructor(
    readonly detail: string,
    readonly at: number,
  ) {
    super(detail);
    this.name = "LazChunkError";
  }
}

/**
 * The shape both schemes share: a chunk's first record is stored raw and starts the predictors, the
 * others come from the arithmetic streams.
 */
export abstract class RecordStreamDecoder implements ChunkRecordDecoder {
  private started = false;

  constructor(readonly recordLength: number) {}

  decode(out: Uint8Array, at: number, count: number): void {
    if (count <= 0) return;
    if (this.started) {
      this.records(out, at, count);
      return;
    }
    this.started = true;
    this.first(out, at);
    this.records(out, at + this.recordLength, count - 1);
  }

  streamEnds(): StreamEnd[] {
    return this.started ? this.ends() : [];
  }

  /** Copies the raw first record to `out` at `o` and starts the predictors and streams from it. */
  protected abstract first(out: Uint8Array, o: number): void;
  /** Decodes `count` records (after the first) into `out` from byte `at`. */
  protected abstract records(out: Uint8Array, at: number, count: number): void;
  protected abstract ends(): StreamEnd[];
}
