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
import type { RawLimits } from "../lazdec/chunk.js";

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
  protected blockPoints(): number {
    return Math.min(this.chunkPoints, Math.max(1, Math.floor(MAX_BLOCK_BYTES / this.header.recordLength)));
  }

  /** The point records as stored (uncompressed), in blocks of at most `chunkPoints`: for copies that keep them. */
  records(signal?: AbortSignal): AsyncIterable<RecordBlock> {
    return this.blocks(this.blockPoints(), signal);
  }

  /** The points; with `only`, just those columns (positions always) and the extra attributes if asked. */
  async *chunks(signal?: AbortSignal, only?: RecordLayout["only"]): AsyncIterable<PointChunk> {
    const layout = this.layoutFor(only);
    for await (const block of this.blocks(this.blockPoints(), signal)) {
      throwIfAborted(signal);
      yield decodeRecords(block.bytes, block.count, layout);
    }
  }

  protected layoutFor(only: RecordLayout["only"] | undefined): RecordLayout {
    return only ? { ...this.layout, only } : this.layout;
  }
}

/** Resolves the extra-bytes descriptors (the header checked that records hold the format's fields). */
export function lasExtraBytes(h: LasHeader, file: string, warnings: string[]): ExtraBytesField[] {
  const base = PDRF_BASE_LENGTH[h.pdrf];
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

/**
 * Points an uncompressed LAS file holds, where the header and the data disagree. The records fill the bytes
 * from the point-data offset to the end of the point data (the first EVLR, internal waveform data, or the end
 * of the file), and the data is trusted over the header's count:
 * - the header announces fewer points than whole records there: every whole record is read, with a warning
 *   (a count of 0 over records is a writer that never filled the header in, not an empty cloud);
 * - it announces more than fit: FormatError at the byte where the data ends (those points do not exist);
 * - bytes after the last whole record that make no whole record are left out, with a warning.
 */
export function lasStoredPointCount(src: ByteSource, h: LasHeader, warnings: string[]): number {
  let end = src.size;
  if (h.evlrCount > 0) end = Math.min(end, h.evlrOffset);
  const WAVEFORM_INTERNAL = 2;
  if (h.globalEncoding & WAVEFORM_INTERNAL && h.waveformDataOffset >= h.offsetToPointData) end = Math.min(end, h.waveformDataOffset);
  const rl = h.recordLength;
  const dataBytes = end - h.offsetToPointData;
  const stored = Math.floor(dataBytes / rl);
  const wholeEnd = h.offsetToPointData + stored * rl;
  if (h.pointCount > stored) {
    throw new FormatError(
      `point data is truncated: the header announces ${h.pointCount} points of ${rl} bytes (${BigInt(h.pointCount) * BigInt(rl)} bytes), ` +
        `the ${dataBytes} bytes of point data hold ${stored}; the whole records end here`,
      src.name,
      wholeEnd,
    );
  }
  if (stored > h.pointCount) {
    warnings.push(`${src.name}: the header announces ${h.pointCount} points but the point data holds ${stored} records of ${rl} bytes; all ${stored} were read`);
  }
  const trailing = end - wholeEnd;
  if (trailing > 0) {
    warnings.push(`${src.name}: ${trailing} bytes after the last point record (at byte ${wholeEnd}) make no whole record and were left out`);
  }
  return stored;
}

/**
 * The header's bounds in raw record units, widened by one scale step (and rounding) for writers that
 * round the bounds; undefined when the header gives no usable bounds (all zero, inverted, not finite).
 */
export function rawLimits(h: LasHeader): RawLimits | undefined {
  const b = h.bounds;
  if (b.every((v) => v === 0)) return undefined;
  const out: number[] = [];
  for (const side of [0, 1]) {
    for (let axis = 0; axis < 3; axis++) {
      const scale = h.scale[axis];
      const min = b[axis];
      const max = b[3 + axis];
      if (!(scale > 0) || !Number.isFinite(min) || !Number.isFinite(max) || min > max) return undefined;
      const raw = side === 0 ? Math.floor((min - h.offset[axis]) / scale) - 1 : Math.ceil((max - h.offset[axis]) / scale) + 1;
      out.push(Math.max(-2147483648, Math.min(2147483647, raw)));
    }
  }
  return out as unknown as RawLimits;
}

/**
 * Refuses the first of `count` records (the `first`-th of the file onwards, starting at byte `start`) whose
 * raw coordinates lie outside `limits`: a damaged record (or header) never reads as a point kilometres away.
 */
function checkRecordBounds(src: ByteSource, bytes: Uint8Array, count: number, rl: number, limits: RawLimits, first: number, start: number): void {
  const [x0, y0, z0, x1, y1, z1] = limits;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, p = 0; i < count; i++, p += rl) {
    const x = v.getInt32(p, true);
    const y = v.getInt32(p + 4, true);
    const z = v.getInt32(p + 8, true);
    if (x < x0 || x > x1 || y < y0 || y > y1 || z < z0 || z > z1) {
      throw new FormatError(`point record ${first + i} (raw X ${x}, Y ${y}, Z ${z}) lies outside the header's bounds: the record or the header is damaged`, src.name, start + p);
    }
  }
}

/** Record blocks of an uncompressed LAS file, read range by range, each point checked against the header's bounds. */
export function lasRecordBlocks(src: ByteSource, h: LasHeader): RecordBlockSource {
  const limits = rawLimits(h);
  return async function* (maxPoints, signal) {
    const rl = h.recordLength;
    let done = 0;
    while (done < h.pointCount) {
      throwIfAborted(signal);
      const n = Math.min(maxPoints, h.pointCount - done);
      const start = h.offsetToPointData + done * rl;
      const want = n * rl;
      const bytes = start < src.size ? await src.read(start, want) : new Uint8Array(0);
      // The count was checked against the size at open: a source that now gives less has shrunk.
      if (bytes.byteLength < want) {
        const complete = Math.floor(bytes.byteLength / rl);
        throw new FormatError(`point data ends after ${done + complete} of ${h.pointCount} points`, src.name, start + complete * rl);
      }
      if (limits) checkRecordBounds(src, bytes, n, rl, limits, done, start);
      yield { bytes, count: n };
      done += n;
    }
  };
}

/**
 * A reader over an uncompressed LAS file whose header is read: its point count is the one the data holds
 * (see lasStoredPointCount), so `header.pointCount` is what the records give.
 */
export function uncompressedLasReader(src: ByteSource, h: LasHeader, warnings: string[], options: LasReadOptions): LasReader {
  const header = { ...h, pointCount: lasStoredPointCount(src, h, warnings) };
  return new LasReader(src, header, warnings, "las", lasRecordBlocks(src, header), options);
}

/** Opens an uncompressed LAS file (LAS 1.0 to 1.4). LAZ files are refused: use openLasOrLaz or openLaz. */
export async function openLas(src: ByteSource, options: LasReadOptions = {}): Promise<LasReader> {
  const warnings: string[] = [];
  const h = await readLasHeader(src, warnings);
  if (h.compressedFlag || h.vlrs.some((r) => r.userId === "laszip encoded" && r.recordId === 22204)) {
    throw new FormatError("the point data is LAZ-compressed; open it as LAZ", src.name, 104);
  }
  return uncompressedLasReader(src, h, warnings, options);
}
