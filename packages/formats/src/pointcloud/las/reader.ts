/**
 * LAS reader: header and VLRs at open, then point records read in ranges of at most `chunkPoints`
 * records through the ByteSource (memory bounded by the chunk size, never the whole file).
 * The LAZ reader reuses this class with a different source of record bytes.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { DEFAULT_CHUNK_POINTS, type PointChunk, type PointCloudReader, type PointSchema } from "../chunk.js";
import type { LazChunkDecompressor } from "../laz/decompressor.js";
import { throwIfAborted } from "../../abort.js";
import { resolveLasCrs, type LasCrsInfo } from "./crs.js";
import { readLasHeader, type LasHeader } from "./header.js";
import { decodeRecords, parseExtraBytes, PDRF_BASE_LENGTH, recordLayout, type ExtraBytesField, type RecordLayout } from "./records.js";

const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

export interface LasReadOptions {
  /** Points per chunk (default DEFAULT_CHUNK_POINTS). */
  chunkPoints?: number;
  /** LAZ only: who decompresses the chunks (default: our LAZ decoder in this thread). */
  lazDecompressor?: LazChunkDecompressor;
  /** LAZ only: chunks read ahead and decompressing at once (default 1); records still come in order. */
  lazConcurrency?: number;
}

/** A run of consecutive raw point records. */
export interface RecordBlock {
  bytes: Uint8Array;
  count: number;
}

/** Produces the raw records of a file, in order, in blocks of at most `maxPoints` records. */
export type RecordBlockSource = (maxPoints: number, signal?: AbortSignal) => AsyncIterable<RecordBlock>;

export class LasReader implements PointCloudReader {
  readonly schema: PointSchema;
  readonly pointCount: number;
  readonly crs: string | undefined;
  readonly crsInfo: LasCrsInfo;
  readonly layout: RecordLayout;
  readonly extraBytes: ExtraBytesField[];
  readonly chunkPoints: number;

  constructor(
    readonly source: ByteSource,
    readonly header: LasHeader,
    readonly warnings: string[],
    /** "las" or "laz": how the point records are stored. */
    readonly compression: "las" | "laz",
    private readonly blocks: RecordBlockSource,
    options: LasReadOptions = {},
  ) {
    this.chunkPoints = Math.max(1, Math.floor(options.chunkPoints ?? DEFAULT_CHUNK_POINTS));
    this.pointCount = header.pointCount;
    this.crsInfo = resolveLasCrs(header, source.name, warnings);
    this.crs = this.crsInfo.crs;
    this.extraBytes = lasExtraBytes(header, source.name, warnings);
    this.layout = recordLayout(header, this.extraBytes);
    this.schema = this.layout.schema;
  }

  /** Points per block: `chunkPoints`, but long records (many extra bytes) cap a block at 64 MiB. */
  private blockPoints(): number {
    return Math.min(this.chunkPoints, Math.max(1, Math.floor(MAX_BLOCK_BYTES / this.header.recordLength)));
  }

  /** The point records as stored (uncompressed), in blocks of at most `chunkPoints`: for copies that keep them. */
  records(signal?: AbortSignal): AsyncIterable<RecordBlock> {
    return this.blocks(this.blockPoints(), signal);
  }

  async *chunks(signal?: AbortSignal): AsyncIterable<PointChunk> {
    for await (const block of this.blocks(this.blockPoints(), signal)) {
      throwIfAborted(signal);
      yield decodeRecords(block.bytes, block.count, this.layout);
    }
  }
}

/** Validates the record length against the format and resolves the extra-bytes descriptors. */
export function lasExtraBytes(h: LasHeader, file: string, warnings: string[]): ExtraBytesField[] {
  const base = PDRF_BASE_LENGTH[h.pdrf];
  if (h.recordLength < base) {
    throw new FormatError(`point record length ${h.recordLength} is shorter than format ${h.pdrf} needs (${base})`, file, 105);
  }
  if (h.recordLength === base) return [];
  // Some writers append a second extra-bytes VLR instead of extending the first: descriptors follow in VLR order.
  const vlrs = h.vlrs.filter((r) => r.userId === "LASF_Spec" && r.recordId === 4);
  if (vlrs.length > 0) {
    const data = new Uint8Array(vlrs.reduce((n, r) => n + r.data.byteLength - (r.data.byteLength % 192), 0));
    let at = 0;
    for (const r of vlrs) {
      const whole = r.data.byteLength - (r.data.byteLength % 192);
      data.set(r.data.subarray(0, whole), at);
      at += whole;
    }
    if (vlrs.length > 1) warnings.push(`${file}: ${vlrs.length} extra-bytes VLRs; their descriptors were read in order`);
    return parseExtraBytes(data, base, h.recordLength, warnings, file);
  }
  // Undescribed trailing bytes: keep them as u8 attributes so a LAS -> LAS copy loses nothing.
  const out: ExtraBytesField[] = [];
  for (let i = 0; i < h.recordLength - base; i++) {
    out.push({ name: `undocumented[${i}]`, description: "", offset: base + i, type: "u8", scale: 1, valueOffset: 0 });
  }
  return out;
}

/** Record blocks of an uncompressed LAS file, read range by range. */
export function lasRecordBlocks(src: ByteSource, h: LasHeader): RecordBlockSource {
  return async function* (maxPoints, signal) {
    const rl = h.recordLength;
    let done = 0;
    while (done < h.pointCount) {
      throwIfAborted(signal);
      const n = Math.min(maxPoints, h.pointCount - done);
      const start = h.offsetToPointData + done * rl;
      const want = n * rl;
      const bytes = start < src.size ? await src.read(start, want) : new Uint8Array(0);
      if (bytes.byteLength < want) {
        const complete = Math.floor(bytes.byteLength / rl);
        throw new FormatError(
          `point data is truncated: the header announces ${h.pointCount} points of ${rl} bytes, the file holds only ${done + complete}`,
          src.name,
          start + complete * rl,
        );
      }
      yield { bytes, count: n };
      done += n;
    }
  };
}

/** Opens an uncompressed LAS file (LAS 1.0 to 1.4). LAZ files are refused: use openPointCloud or openLaz. */
export async function openLas(src: ByteSource, options: LasReadOptions = {}): Promise<LasReader> {
  const warnings: string[] = [];
  const h = await readLasHeader(src, warnings);
  if (h.compressedFlag || h.vlrs.some((r) => r.userId === "laszip encoded" && r.recordId === 22204)) {
    throw new FormatError("the point data is LAZ-compressed; open it as LAZ", src.name, 104);
  }
  return new LasReader(src, h, warnings, "las", lasRecordBlocks(src, h), options);
}
