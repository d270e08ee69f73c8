/**
 * The laszip VLR (user "laszip encoded", record 22204) and the LAZ chunk table: where each compressed
 * chunk starts and how many points it holds, so chunks can be read one at a time.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import type { LasHeader } from "../las/header.js";
import { ArithmeticDecoder, IntegerDecompressor } from "../lazdec/arithmetic.js";
import { VARIABLE_CHUNK_SIZE } from "./coder/layout.js";

export interface LaszipVlr {
  /** 0 none, 1 point-wise, 2 point-wise chunked, 3 layered chunked (LAS 1.4 formats 6..10). */
  compressor: number;
  coder: number;
  version: string;
  options: number;
  /** Points per chunk, or 0xFFFFFFFF for variable-size chunks (counts in the chunk table). */
  chunkSize: number;
  items: { type: number; size: number; version: number }[];
}

export function parseLaszipVlr(data: Uint8Array, file: string, offset: number): LaszipVlr {
  if (data.byteLength < 34) throw new FormatError(`laszip VLR is too short (${data.byteLength} bytes)`, file, offset);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = v.getUint16(32, true);
  if (34 + 6 * n > data.byteLength) throw new FormatError(`laszip VLR lists ${n} items but is only ${data.byteLength} bytes`, file, offset);
  const items = [];
  for (let i = 0; i < n; i++) {
    items.push({ type: v.getUint16(34 + 6 * i, true), size: v.getUint16(36 + 6 * i, true), version: v.getUint16(38 + 6 * i, true) });
  }
  return {
    compressor: v.getUint16(0, true),
    coder: v.getUint16(2, true),
    version: `${data[4]}.${data[5]}r${v.getUint16(6, true)}`,
    options: v.getUint32(8, true),
    chunkSize: v.getUint32(12, true),
    items,
  };
}

export interface LazChunk {
  /** File offset of the chunk's compressed bytes. */
  start: number;
  byteLength: number;
  pointCount: number;
}

/**
 * Reads the chunk table. Its file offset is the 8 bytes at the start of the point data (-1 means the
 * writer put it in the last 8 bytes of the file); the table is version, count, then entropy-coded
 * (point counts when chunks vary and) byte sizes, each predicted from the previous entry.
 */
export async function readChunkTable(src: ByteSource, h: LasHeader, lz: LaszipVlr): Promise<LazChunk[]> {
  const name = src.name;
  const ptr = await src.read(h.offsetToPointData, 8);
  if (ptr.byteLength < 8) throw new FormatError("LAZ point data ends before the chunk table offset", name, h.offsetToPointData);
  let tableAt = Number(new DataView(ptr.buffer, ptr.byteOffset, 8).getBigInt64(0, true));
  if (tableAt === -1) {
    const tail = await src.read(src.size - 8, 8);
    tableAt = Number(new DataView(tail.buffer, tail.byteOffset, 8).getBigInt64(0, true));
  }
  const dataStart = h.offsetToPointData + 8;
  if (tableAt < h.headerSize) {
    throw new FormatError(`LAZ chunk table offset ${tableAt} is inside the header (${h.headerSize} bytes)`, name, h.offsetToPointData);
  }
  if (tableAt < dataStart) {
    throw new FormatError(`LAZ chunk table offset ${tableAt} is before the chunk data (which starts at byte ${dataStart})`, name, h.offsetToPointData);
  }
  if (tableAt + 8 > src.size) {
    throw new FormatError(`LAZ chunk table offset ${tableAt} is past the end of the file (${src.size} bytes); the file is truncated or was not finished`, name, h.offsetToPointData);
  }
  const head = await src.read(tableAt, 8);
  const hv = new DataView(head.buffer, head.byteOffset, 8);
  const version = hv.getUint32(0, true);
  const count = hv.getUint32(4, true);
  if (version !== 0) throw new FormatError(`unknown LAZ chunk table version ${version}`, name, tableAt);
  // Each entry takes at least a few bits; a count far beyond the points is corruption, not a big file.
  if (count > h.pointCount + 1) throw new FormatError(`LAZ chunk table claims ${count} chunks for ${h.pointCount} points`, name, tableAt + 4);
  const variable = lz.chunkSize === VARIABLE_CHUNK_SIZE;
  if (!variable && lz.chunkSize === 0) throw new FormatError("laszip VLR announces chunks of 0 points", name, h.offsetToPointData);
  // The coded table is small (a few bytes per chunk); read what is left of the file, capped.
  const codedLength = Math.min(src.size - (tableAt + 8), 64 + count * 16);
  const coded = await src.read(tableAt + 8, codedLength);
  const dec = new ArithmeticDecoder();
  dec.start(coded, 0);
  const ic = new IntegerDecompressor(32, 2);
  const sizes: number[] = [];
  const counts: number[] = [];
  let prevCount = 0;
  let prevSize = 0;
  for (let i = 0; i < count; i++) {
    if (variable) counts.push((prevCount = ic.decompress(dec, prevCount, 0)));
    sizes.push((prevSize = ic.decompress(dec, prevSize, 1)));
  }
  // The coded entries end with the 4 bytes the decoder reads ahead; reading beyond means they were cut.
  if (dec.overrun > 0) throw new FormatError(`LAZ chunk table (${count} chunks) cannot be read: it is cut short`, name, tableAt + 8 + coded.length);
  const tableCount = variable ? counts.reduce((n, c) => n + Math.max(0, c), 0) : undefined;
  if (variable ? tableCount !== h.pointCount : count !== Math.ceil(h.pointCount / lz.chunkSize)) {
    const holds = variable ? `${tableCount} points` : `${count} chunks of at most ${lz.chunkSize} points`;
    throw new FormatError(`LAZ chunk table (${holds}) disagrees with the header's ${h.pointCount} points`, name, tableAt + 4);
  }
  const chunks: LazChunk[] = [];
  let at = dataStart;
  for (let i = 0; i < count; i++) {
    const n = variable ? counts[i] : Math.min(lz.chunkSize, h.pointCount - i * lz.chunkSize);
    const size = sizes[i];
    if (size <= 0 || n <= 0 || at + size > tableAt) {
      throw new FormatError(`LAZ chunk ${i} (${size} bytes, ${n} points) is invalid or runs past the chunk table at ${tableAt}`, name, at);
    }
    chunks.push({ start: at, byteLength: size, pointCount: n });
    at += size;
  }
  if (at !== tableAt) throw new FormatError(`LAZ chunks end at ${at}, not where the chunk table starts (${tableAt})`, name, at);
  return chunks;
}
