/**
 * Chunked LAZ point encoders. Raw LAS point records go in (any batch size, whole records), compressed
 * chunks come out as soon as they are complete; `finish()` returns the last chunk and the chunk
 * table. The caller lays the file out as: LAS header (point format + 128, laszip VLR added) + VLRs +
 * i64 offset of the chunk table + chunks + chunk table.
 */
import { ArithmeticEncoder } from "./arithmetic.js";
import { COMPRESSOR_POINTWISE_CHUNKED, DEFAULT_CHUNK_SIZE, ItemType, type LazItem, lazItemsFor, VARIABLE_CHUNK_SIZE } from "../laz/coder/layout.js";
import { type ChunkEntry, encodeChunkTable, lazVlrPayload } from "./laszip-format.js";
import {
  ByteV2Compressor,
  GpsTime11V2Compressor,
  Point10V2Compressor,
  type PointwiseItemCompressor,
  Rgb12V2Compressor,
} from "./pointwise-items.js";

export interface LazEncoderOptions {
  /** Points per chunk (default 50 000). Ignored when `variableChunks` is set. */
  chunkSize?: number;
  /**
   * Variable-size chunks (chunk_size 0xFFFFFFFF, point counts in the chunk table): chunks end only
   * when `closeChunk()` is called (COPC writes one chunk per octree node this way).
   */
  variableChunks?: boolean;
}

export interface LazFinish {
  /** Compressed bytes not returned yet (the last chunk), in order. */
  chunks: Uint8Array[];
  /** The chunk table, written right after the last chunk; its absolute offset goes in the i64 slot. */
  tail: Uint8Array;
  /** Payload of the 'laszip encoded' / 22204 VLR (same as `vlrPayload`). */
  vlr: Uint8Array;
  /** Points and compressed bytes of every chunk. */
  chunkEntries: ChunkEntry[];
  pointCount: number;
  /** Total bytes of all chunks (not counting the 8-byte offset nor the table). */
  chunkBytes: number;
}

export interface LazChunkEncoder {
  readonly pointFormat: number;
  readonly recordLength: number;
  readonly items: readonly LazItem[];
  /** Payload of the 22204 VLR; known up front so headers can be written before the points. */
  readonly vlrPayload: Uint8Array;
  /** Compresses whole records; returns the chunks completed by this call. */
  encode(records: Uint8Array): Uint8Array[];
  /** Ends the current chunk now (no-op if empty); returns it. */
  closeChunk(): Uint8Array[];
  finish(): LazFinish;
}

/** Shared chunk bookkeeping; subclasses implement the per-chunk compression scheme. */
export abstract class ChunkedEncoderBase implements LazChunkEncoder {
  readonly pointFormat: number;
  readonly recordLength: number;
  readonly items: readonly LazItem[];
  readonly vlrPayload: Uint8Array;
  protected readonly chunkSize: number;
  protected readonly variable: boolean;
  protected pointsInChunk = 0;
  private readonly entries: ChunkEntry[] = [];
  private totalPoints = 0;
  private totalBytes = 0;
  private finished = false;

  constructor(pointFormat: number, recordLength: number, compressor: number, opts: LazEncoderOptions) {
    this.pointFormat = pointFormat;
    this.recordLength = recordLength;
    this.items = lazItemsFor(pointFormat, recordLength);
    this.variable = opts.variableChunks === true;
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!this.variable && (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize >= VARIABLE_CHUNK_SIZE)) {
      throw new RangeError(`LAZ encoder: invalid chunk size ${chunkSize}`);
    }
    this.chunkSize = this.variable ? Infinity : chunkSize;
    this.vlrPayload = lazVlrPayload(compressor, [...this.items], this.variable ? VARIABLE_CHUNK_SIZE : chunkSize);
  }

  encode(records: Uint8Array): Uint8Array[] {
    if (this.finished) throw new Error("LAZ encoder: encode after finish");
    const rl = this.recordLength;
    if (records.length % rl !== 0) {
      throw new RangeError(`LAZ encoder: ${records.length} bytes is not a whole number of ${rl}-byte records`);
    }
    const out: Uint8Array[] = [];
    const n = records.length / rl;
    let i = 0;
    while (i < n) {
      // compress as many records as fit in the current chunk in one call (tight loop inside)
      const room = this.chunkSize - this.pointsInChunk;
      const take = Math.min(room, n - i);
      this.compressRecords(records, i * rl, take);
      this.pointsInChunk += take;
      i += take;
      if (this.pointsInChunk === this.chunkSize) out.push(this.endChunk());
    }
    return out;
  }

  closeChunk(): Uint8Array[] {
    if (this.finished) throw new Error("LAZ encoder: closeChunk after finish");
    return this.pointsInChunk > 0 ? [this.endChunk()] : [];
  }

  finish(): LazFinish {
    if (this.finished) throw new Error("LAZ encoder: finish called twice");
    const chunks = this.closeChunk();
    this.finished = true;
    return {
      chunks,
      tail: encodeChunkTable(this.entries, this.variable),
      vlr: this.vlrPayload,
      chunkEntries: this.entries.slice(),
      pointCount: this.totalPoints,
      chunkBytes: this.totalBytes,
    };
  }

  private endChunk(): Uint8Array {
    const bytes = this.finishChunk();
    this.entries.push({ points: this.pointsInChunk, bytes: bytes.length });
    this.totalPoints += this.pointsInChunk;
    this.totalBytes += bytes.length;
    this.pointsInChunk = 0;
    return bytes;
  }

  /** Compresses `count` records starting at byte `off`; `pointsInChunk` says where in the chunk. */
  protected abstract compressRecords(records: Uint8Array, off: number, count: number): void;
  /** Returns the bytes of the current chunk and resets all models for the next one. */
  protected abstract finishChunk(): Uint8Array;
}

/** Compressor type 2 (point-wise chunked), item version 2: point formats 0-3 (+ extra bytes). */
export class LazPointwiseEncoder extends ChunkedEncoderBase {
  private readonly enc = new ArithmeticEncoder(1 << 20);
  private readonly first: Uint8Array;
  private itemCompressors: PointwiseItemCompressor[] = [];
  private offsets: Int32Array;
  // The same items again as typed fields: the per-record loop calls each through a monomorphic site
  // (one class per field) instead of one polymorphic call over the item list.
  private point10: Point10V2Compressor = new Point10V2Compressor();
  private gpsTime: GpsTime11V2Compressor | null = null;
  private rgb: Rgb12V2Compressor | null = null;
  private extra: ByteV2Compressor | null = null;
  private readonly gpsOff: number;
  private readonly rgbOff: number;
  private readonly extraOff: number;

  constructor(pointFormat: number, recordLength: number, opts: LazEncoderOptions = {}) {
    if (pointFormat > 3) throw new RangeError(`LazPointwiseEncoder handles point formats 0-3, not ${pointFormat}`);
    super(pointFormat, recordLength, COMPRESSOR_POINTWISE_CHUNKED, opts);
    this.first = new Uint8Array(recordLength);
    this.offsets = new Int32Array(this.items.length);
    let o = 0;
    let gpsOff = 0;
    let rgbOff = 0;
    let extraOff = 0;
    this.items.forEach((it, k) => {
      this.offsets[k] = o;
      if (it.type === ItemType.GPSTIME11) gpsOff = o;
      else if (it.type === ItemType.RGB12) rgbOff = o;
      else if (it.type !== ItemType.POINT10) extraOff = o;
      o += it.size;
    });
    this.gpsOff = gpsOff;
    this.rgbOff = rgbOff;
    this.extraOff = extraOff;
    this.resetModels();
  }

  private resetModels(): void {
    this.gpsTime = null;
    this.rgb = null;
    this.extra = null;
    this.itemCompressors = this.items.map((it) => {
      switch (it.type) {
        case ItemType.POINT10:
          return (this.point10 = new Point10V2Compressor());
        case ItemType.GPSTIME11:
          return (this.gpsTime = new GpsTime11V2Compressor());
        case ItemType.RGB12:
          return (this.rgb = new Rgb12V2Compressor());
        default:
          return (this.extra = new ByteV2Compressor(it.size));
      }
    });
    this.enc.reset();
  }

  protected compressRecords(records: Uint8Array, off: number, count: number): void {
    const rl = this.recordLength;
    let p = off;
    let c = 0;
    if (this.pointsInChunk === 0 && count > 0) {
      // the first point of a chunk is stored raw and seeds the predictors
      this.first.set(records.subarray(p, p + rl));
      const items = this.itemCompressors;
      for (let k = 0; k < items.length; k++) items[k].first(records, p + this.offsets[k]);
      p += rl;
      c = 1;
    }
    const enc = this.enc;
    const point10 = this.point10;
    const gps = this.gpsTime;
    const rgb = this.rgb;
    const extra = this.extra;
    const gpsOff = this.gpsOff;
    const rgbOff = this.rgbOff;
    const extraOff = this.extraOff;
    // item order is fixed by the format: POINT10, GPSTIME11, RGB12, BYTE
    for (; c < count; c++, p += rl) {
      point10.compress(enc, records, p);
      if (gps !== null) gps.compress(enc, records, p + gpsOff);
      if (rgb !== null) rgb.compress(enc, records, p + rgbOff);
      if (extra !== null) extra.compress(enc, records, p + extraOff);
    }
  }

  protected finishChunk(): Uint8Array {
    const body = this.enc.done();
    const out = new Uint8Array(this.recordLength + body.length);
    out.set(this.first);
    out.set(body, this.recordLength);
    this.resetModels();
    return out;
  }
}
