/**
 * One LAZ chunk to raw LAS point records with our decoders (point-wise for formats 0-5, layered for
 * 6-10), and the checks that tell a damaged chunk from a good one: the arithmetic decoder cannot see
 * every corruption, but a damaged chunk rarely ends where its bytes end, and its points rarely stay
 * inside the header's bounds.
 */
import { type ChunkRecordDecoder, LazChunkError } from "./chunk-decoder.js";
import { LayeredChunkDecoder } from "./layered.js";
import { PointwiseChunkDecoder } from "./pointwise.js";

/**
 * Bytes a stream may stop short of, or read past, its end: none. Every LASzip-compatible encoder (ours,
 * LASzip's, hence laz-perf's and laz-rs's ports) ends a stream exactly where the decoder stops reading
 * (the decoder's 4 bytes of look-ahead are the encoder's flush bytes), so a stream ending a byte early
 * or late was damaged, or decoded with a wrong point count (a header count off by one shows here).
 */
const STREAM_END_SLACK = 0;

/** The decoder for a chunk of `pointCount` records of `pointFormat` (layered chunks: its own header checked). */
export function chunkDecoder(chunk: Uint8Array, pointFormat: number, recordLength: number, pointCount: number): ChunkRecordDecoder {
  if (pointFormat <= 5) return new PointwiseChunkDecoder(pointFormat, recordLength, chunk);
  const d = new LayeredChunkDecoder(pointFormat, recordLength, chunk);
  if (d.pointCount !== pointCount) throw new LazChunkError(`says it holds ${d.pointCount} points where the chunk table says ${pointCount}`, recordLength);
  return d;
}

/** Throws when a stream of the fully decoded chunk did not end where its bytes end. */
export function checkStreamEnds(d: ChunkRecordDecoder): void {
  for (const e of d.streamEnds()) {
    if (e.end > e.expected + STREAM_END_SLACK) {
      throw new LazChunkError(`is corrupt: its ${e.stream} needs ${e.end - e.expected} bytes more than it holds`, e.expected);
    }
    if (e.end < e.expected - STREAM_END_SLACK) {
      throw new LazChunkError(`is corrupt: its ${e.stream} decodes all points ${e.expected - e.end} bytes before its end`, e.end);
    }
    if (!e.atFlush) throw new LazChunkError(`is corrupt: its ${e.stream} does not end as an encoder ends it (wrong point count or damaged bytes)`, e.end);
  }
}

/**
 * Raw (integer) coordinate limits of the points: the header's bounds in record units, widened by one
 * step for writers that round the bounds. [minX, minY, minZ, maxX, maxY, maxZ].
 */
export type RawLimits = readonly [number, number, number, number, number, number];

/** Throws when a decoded point lies outside `limits`. */
export function checkLimits(records: Uint8Array, at: number, count: number, recordLength: number, limits: RawLimits): void {
  const [x0, y0, z0, x1, y1, z1] = limits;
  const b = records;
  for (let i = 0, p = at; i < count; i++, p += recordLength) {
    const x = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    const y = b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24);
    const z = b[p + 8] | (b[p + 9] << 8) | (b[p + 10] << 16) | (b[p + 11] << 24);
    if (x < x0 || x > x1 || y < y0 || y > y1 || z < z0 || z > z1) {
      throw new LazChunkError(`is corrupt: its point ${i} (raw X ${x}, Y ${y}, Z ${z}) lies outside the header's bounds`, 0);
    }
  }
}

/**
 * Decodes a whole chunk into `into` (when given and large enough) or a new array, with every check:
 * the chunk's own header, where its streams end, and (with `limits`) the points against the bounds.
 */
export function decodeChunk(chunk: Uint8Array, pointFormat: number, recordLength: number, pointCount: number, limits?: RawLimits, into?: Uint8Array): Uint8Array {
  const need = pointCount * recordLength;
  const out = into !== undefined && into.length >= need ? into.subarray(0, need) : new Uint8Array(need);
  const d = chunkDecoder(chunk, pointFormat, recordLength, pointCount);
  d.decode(out, 0, pointCount);
  checkStreamEnds(d);
  if (limits) checkLimits(out, 0, pointCount, recordLength, limits);
  return out;
}
