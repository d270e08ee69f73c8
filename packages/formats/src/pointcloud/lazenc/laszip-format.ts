/**
 * LASzip container pieces: the 'laszip encoded' / 22204 VLR that describes the item layout and
 * chunking, and the compressed chunk table written after the last chunk.
 */
import { LASZIP_RECORD_ID, LASZIP_USER_ID, type LazItem } from "../laz/coder/layout.js";
import { ArithmeticEncoder, IntegerCompressor } from "./arithmetic.js";

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
