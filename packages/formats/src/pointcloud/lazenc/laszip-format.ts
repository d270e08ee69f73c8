/**
 * LASzip container pieces: the 'laszip encoded' / 22204 VLR that describes the item layout and
 * chunking, and the compressed chunk table written after the last chunk.
 */
import { ArithmeticEncoder, IntegerCompressor } from "./arithmetic.js";

export const LASZIP_USER_ID = "laszip encoded";
export const LASZIP_RECORD_ID = 22204;
export const DEFAULT_CHUNK_SIZE = 50_000;
/** chunk_size value announcing variable-size chunks (point counts stored in the chunk table). */
export const VARIABLE_CHUNK_SIZE = 0xffffffff;

export const COMPRESSOR_POINTWISE_CHUNKED = 2;
export const COMPRESSOR_LAYERED_CHUNKED = 3;

/** LASzip item type codes. */
export const ItemType = {
  BYTE: 0,
  POINT10: 6,
  GPSTIME11: 7,
  RGB12: 8,
  POINT14: 10,
  RGB14: 11,
  RGBNIR14: 12,
  BYTE14: 14,
} as const;

export interface LazItem {
  type: number;
  size: number;
  version: number;
}

/** Core record size of each point data record format we can compress. */
export const BASE_RECORD_LENGTH: Record<number, number> = { 0: 20, 1: 28, 2: 26, 3: 34, 6: 30, 7: 36, 8: 38 };

/** Item list LASzip uses for a point format (v2 items for 0-3, v3 layered items for 6-8). */
export function lazItemsFor(pointFormat: number, recordLength: number): LazItem[] {
  const base = BASE_RECORD_LENGTH[pointFormat];
  if (base === undefined) throw new RangeError(`LAZ encoder: unsupported point data record format ${pointFormat}`);
  if (!Number.isInteger(recordLength) || recordLength < base || recordLength > base + 0xffff) {
    throw new RangeError(`LAZ encoder: record length ${recordLength} invalid for point format ${pointFormat}`);
  }
  const extra = recordLength - base;
  const items: LazItem[] = [];
  if (pointFormat <= 3) {
    items.push({ type: ItemType.POINT10, size: 20, version: 2 });
    if (pointFormat === 1 || pointFormat === 3) items.push({ type: ItemType.GPSTIME11, size: 8, version: 2 });
    if (pointFormat === 2 || pointFormat === 3) items.push({ type: ItemType.RGB12, size: 6, version: 2 });
    if (extra > 0) items.push({ type: ItemType.BYTE, size: extra, version: 2 });
  } else {
    items.push({ type: ItemType.POINT14, size: 30, version: 3 });
    if (pointFormat === 7) items.push({ type: ItemType.RGB14, size: 6, version: 3 });
    if (pointFormat === 8) items.push({ type: ItemType.RGBNIR14, size: 8, version: 3 });
    if (extra > 0) items.push({ type: ItemType.BYTE14, size: extra, version: 3 });
  }
  return items;
}

/** Payload of the 22204 VLR (34 bytes + 6 per item). */
export function lazVlrPayload(compressor: number, items: LazItem[], chunkSize: number): Uint8Array {
  const out = new Uint8Array(34 + 6 * items.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, compressor, true);
  dv.setUint16(2, 0, true); // coder: arithmetic
  // LASzip version the stream is compatible with (informative only for readers)
  out[4] = 3;
  out[5] = 4;
  dv.setUint16(6, 3, true);
  dv.setUint32(8, 0, true); // options
  dv.setUint32(12, chunkSize >>> 0, true);
  dv.setBigInt64(16, -1n, true); // number of special EVLRs: unused
  dv.setBigInt64(24, -1n, true); // offset to special EVLRs: unused
  dv.setUint16(32, items.length, true);
  items.forEach((it, i) => {
    dv.setUint16(34 + 6 * i, it.type, true);
    dv.setUint16(36 + 6 * i, it.size, true);
    dv.setUint16(38 + 6 * i, it.version, true);
  });
  return out;
}

/** A whole VLR (54-byte header + payload) as it goes into the LAS header area. */
export function lazVlrRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(54 + payload.length);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < LASZIP_USER_ID.length; i++) out[2 + i] = LASZIP_USER_ID.charCodeAt(i);
  dv.setUint16(18, LASZIP_RECORD_ID, true);
  dv.setUint16(20, payload.length, true);
  const desc = "realconv lazenc";
  for (let i = 0; i < desc.length; i++) out[22 + i] = desc.charCodeAt(i);
  out.set(payload, 54);
  return out;
}

export interface ChunkEntry {
  points: number;
  bytes: number;
}

/**
 * Chunk table: u32 version 0, u32 chunk count, then (point count if variable-size chunks and) byte
 * count of every chunk, each coded against the previous entry with a 32-bit integer compressor.
 */
export function encodeChunkTable(entries: readonly ChunkEntry[], variable: boolean): Uint8Array {
  const head = new Uint8Array(8);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, 0, true);
  dv.setUint32(4, entries.length, true);
  if (entries.length === 0) return head;
  const enc = new ArithmeticEncoder(64 + entries.length * 8);
  const ic = new IntegerCompressor(32, 2);
  let prevPoints = 0;
  let prevBytes = 0;
  for (const e of entries) {
    if (variable) {
      ic.compress(enc, prevPoints | 0, e.points | 0, 0);
      prevPoints = e.points;
    }
    ic.compress(enc, prevBytes | 0, e.bytes | 0, 1);
    prevBytes = e.bytes;
  }
  const body = enc.done();
  const out = new Uint8Array(8 + body.length);
  out.set(head);
  out.set(body, 8);
  return out;
}
