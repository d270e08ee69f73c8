/**
 * Helpers for the encoder tests: a deterministic PRNG, a minimal LAS file builder, and a round trip
 * through laz-perf and our own reader. Kept out of the package index.
 */
import { bytesSource } from "../io/byte-source.js";
import { openLaz } from "../pointcloud/laz/reader.js";
import { decodeWithLazPerf } from "./lazperf-decode.js";
import { writeLazFile } from "../pointcloud/lazenc/laz-file.js";
import type { LazEncoderOptions } from "../pointcloud/lazenc/encoder.js";

/** The tests' deterministic generator (mulberry32). */
export { mulberry32 as prng } from "./prng.js";

/**
 * A LAS file around raw records: 1.2 header (227 bytes) for formats 0-5, 1.4 (375 bytes) for 6-10,
 * no VLRs. Only the fields an encoder or decoder reads are meaningful.
 */
export function makeLas(pointFormat: number, recordLength: number, records: Uint8Array): Uint8Array {
  const v14 = pointFormat >= 6;
  const hs = v14 ? 375 : 227;
  const n = records.length / recordLength;
  const out = new Uint8Array(hs + records.length);
  const dv = new DataView(out.buffer);
  out.set([0x4c, 0x41, 0x53, 0x46], 0);
  out[24] = 1;
  out[25] = v14 ? 4 : 2;
  dv.setUint16(94, hs, true);
  dv.setUint32(96, hs, true);
  dv.setUint32(100, 0, true);
  out[104] = pointFormat;
  dv.setUint16(105, recordLength, true);
  dv.setUint32(107, v14 ? 0 : n, true);
  for (let i = 0; i < 3; i++) dv.setFloat64(131 + 8 * i, 0.01, true);
  if (v14) dv.setBigUint64(247, BigInt(n), true);
  out.set(records, hs);
  return out;
}

/** Raw records of a LAS file (read directly from its bytes). */
export function lasRecords(las: Uint8Array): { pointFormat: number; recordLength: number; count: number; records: Uint8Array } {
  const dv = new DataView(las.buffer, las.byteOffset, las.byteLength);
  const off = dv.getUint32(96, true);
  const pointFormat = las[104] & 0x3f;
  const recordLength = dv.getUint16(105, true);
  let count = dv.getUint32(107, true);
  if (las[25] >= 4) {
    const n64 = Number(dv.getBigUint64(247, true));
    if (n64 > 0) count = n64;
  }
  return { pointFormat, recordLength, count, records: las.subarray(off, off + count * recordLength) };
}

/** Index of the first differing byte, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Raw records of a LAZ file through our reader (its decoder and checks). */
export async function lazRecords(laz: Uint8Array, name = "test.laz"): Promise<Uint8Array> {
  const r = await openLaz(bytesSource(laz, name));
  const out = new Uint8Array(r.pointCount * r.header.recordLength);
  let at = 0;
  for await (const block of r.records()) {
    out.set(block.bytes.subarray(0, block.count * r.header.recordLength), at);
    at += block.count * r.header.recordLength;
  }
  return out;
}

/**
 * LAS → our LAZ → laz-perf and our reader; returns the LAZ and the index of the first wrong byte
 * (-1 if both decode it exactly; -2 / -3 when laz-perf's count / format differ).
 */
export async function roundTrip(las: Uint8Array, opts?: LazEncoderOptions): Promise<{ laz: Uint8Array; mismatch: number; count: number }> {
  const src = lasRecords(las);
  const laz = writeLazFile(las, opts);
  const dec = await decodeWithLazPerf(laz);
  if (dec.count !== src.count) return { laz, mismatch: -2, count: dec.count };
  if (dec.recordLength !== src.recordLength || dec.pointFormat !== src.pointFormat) return { laz, mismatch: -3, count: dec.count };
  const byLazPerf = firstDifference(dec.records, src.records);
  return { laz, mismatch: byLazPerf >= 0 ? byLazPerf : firstDifference(await lazRecords(laz), src.records), count: dec.count };
}

/**
 * The golden test's input: 20 deterministic point format 3 records (varied returns, classes,
 * intensities, GPS steps including a repeat and a jump, grey and coloured RGB).
 */
export function goldenLas(): Uint8Array {
  const n = 20;
  const rl = 34;
  const rec = new Uint8Array(n * rl);
  const dv = new DataView(rec.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * rl;
    dv.setInt32(o, 100000 + i * 37 - (i % 3) * 11, true);
    dv.setInt32(o + 4, -5000 + i * i * 3, true);
    dv.setInt32(o + 8, 200 + ((i * 7) % 13), true);
    dv.setUint16(o + 12, 1000 + ((i * 97) % 400), true);
    const nret = 1 + (i % 3);
    const ret = 1 + (i % nret);
    rec[o + 14] = ret | (nret << 3) | (i % 5 === 0 ? 0x40 : 0);
    rec[o + 15] = i < 10 ? 2 : 6;
    dv.setInt8(o + 16, -10 + i);
    rec[o + 17] = i % 4;
    dv.setUint16(o + 18, i < 15 ? 7 : 8, true);
    dv.setFloat64(o + 20, i === 7 ? 12345.125 + 6 * 0.001 : i < 12 ? 12345.125 + i * 0.001 : 99999.5 + i * 0.0005, true);
    const grey = i % 4 === 0;
    dv.setUint16(o + 28, (i * 3000) & 0xffff, true);
    dv.setUint16(o + 30, grey ? (i * 3000) & 0xffff : 40000 - i * 100, true);
    dv.setUint16(o + 32, grey ? (i * 3000) & 0xffff : 256 * i, true);
  }
  return makeLas(3, rl, rec);
}

/** Base64 of bytes (tests and fixture generation). */
export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}
