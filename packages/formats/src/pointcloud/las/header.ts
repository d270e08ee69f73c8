/**
 * LAS public header block, VLRs and EVLRs (LAS 1.0 to 1.4, R15 layout). Parsing only reads the
 * header and the (E)VLR areas through the ByteSource, never the point records.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { PDRF_BASE_LENGTH } from "./pdrf.js";

export interface LasVlr {
  userId: string;
  recordId: number;
  description: string;
  /** True for an extended VLR (stored after the points, 64-bit length). */
  extended: boolean;
  /** Byte offset of the record's payload in the file. */
  dataOffset: number;
  data: Uint8Array;
}

export interface LasHeader {
  versionMajor: number;
  versionMinor: number;
  /** "1.2", "1.4", ... */
  version: string;
  fileSourceId: number;
  globalEncoding: number;
  guid: string;
  systemIdentifier: string;
  generatingSoftware: string;
  creationDay: number;
  creationYear: number;
  headerSize: number;
  offsetToPointData: number;
  /** Point data record format, 0..10, with the LAZ compression bits (6, 7) removed. */
  pdrf: number;
  /** True when the format byte has the LAZ compression bit set. */
  compressedFlag: boolean;
  recordLength: number;
  /**
   * Point count: the 64-bit count for LAS 1.4 when set, else the legacy 32-bit one. A LAS (uncompressed)
   * reader's header has the count its point data holds instead (see lasStoredPointCount).
   */
  pointCount: number;
  legacyPointCount: number;
  /** Points by return, 15 entries for 1.4 (5 legacy entries otherwise, padded with zeros). */
  pointsByReturn: number[];
  scale: [number, number, number];
  offset: [number, number, number];
  /** Header bounds as [minX, minY, minZ, maxX, maxY, maxZ]. */
  bounds: [number, number, number, number, number, number];
  waveformDataOffset: number;
  evlrOffset: number;
  evlrCount: number;
  vlrs: LasVlr[];
}

/** Minimum header sizes by minor version (1.0-1.2: 227, 1.3: 235, 1.4: 375). */
export function lasHeaderSize(minor: number): number {
  return minor >= 4 ? 375 : minor === 3 ? 235 : 227;
}

/** Global encoding bit 4: the CRS is given as WKT (LAS 1.4). */
export const GLOBAL_ENCODING_WKT = 0x10;

export function readAscii(bytes: Uint8Array, start: number, length: number): string {
  let s = "";
  for (let i = start; i < start + length && i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s.trimEnd();
}

/** A 64-bit statistic (points by return): only reported, so a value beyond 2^53 may round. */
function u64(view: DataView, at: number): number {
  return Number(view.getBigUint64(at, true));
}

/**
 * A 64-bit count or offset the reader relies on. Beyond 2^53 no file a process reads can hold it, so it is
 * refused, printed exactly (a Number would print 1e+21).
 */
function checkedU64(view: DataView, at: number, what: string, file: string, fieldOffset = at): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`${what} ${v} is beyond any file size`, file, fieldOffset);
  return Number(v);
}

function guidString(b: Uint8Array): string {
  const v = new DataView(b.buffer, b.byteOffset + 8, 16);
  const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");
  const tail = Array.from(b.subarray(16, 24), (x) => hex(x, 2)).join("");
  return `${hex(v.getUint32(0, true), 8)}-${hex(v.getUint16(4, true), 4)}-${hex(v.getUint16(6, true), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}

async function readExact(src: ByteSource, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (offset < 0 || offset + length > src.size) {
    throw new FormatError(`${what} (${length} bytes) runs past the end of the file (${src.size} bytes)`, src.name, offset);
  }
  const b = await src.read(offset, length);
  if (b.byteLength < length) {
    throw new FormatError(`${what}: file ends after ${b.byteLength} of ${length} bytes`, src.name, offset + b.byteLength);
  }
  return b;
}

/** Parses the public header block, the VLRs and the EVLRs. Throws FormatError on anything inconsistent. */
export async function readLasHeader(src: ByteSource, warnings: string[] = []): Promise<LasHeader> {
  const name = src.name;
  if (src.size < 227) throw new FormatError(`too short for a LAS header (${src.size} bytes, need 227)`, name, src.size);
  const head = await readExact(src, 0, Math.min(src.size, 375), "LAS header");
  if (head[0] !== 0x4c || head[1] !== 0x41 || head[2] !== 0x53 || head[3] !== 0x46) {
    throw new FormatError("not a LAS/LAZ file (signature is not 'LASF')", name, 0);
  }
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const versionMajor = head[24];
  const versionMinor = head[25];
  if (versionMajor !== 1 || versionMinor > 4) {
    throw new FormatError(`unsupported LAS version ${versionMajor}.${versionMinor}`, name, 24);
  }
  const headerSize = v.getUint16(94, true);
  const need = lasHeaderSize(versionMinor);
  if (headerSize < need) throw new FormatError(`header size ${headerSize} is below ${need} for LAS 1.${versionMinor}`, name, 94);
  if (headerSize > src.size || need > head.byteLength) {
    throw new FormatError(`header size ${headerSize} runs past the end of the file`, name, 94);
  }
  const offsetToPointData = v.getUint32(96, true);
  if (offsetToPointData < headerSize) {
    throw new FormatError(`offset to point data ${offsetToPointData} is inside the header (${headerSize} bytes)`, name, 96);
  }
  if (offsetToPointData > src.size) {
    throw new FormatError(`offset to point data ${offsetToPointData} is past the end of the file (${src.size} bytes)`, name, 96);
  }
  const vlrCount = v.getUint32(100, true);
  const formatByte = head[104];
  const pdrf = formatByte & 0x3f;
  const compressedFlag = (formatByte & 0xc0) !== 0;
  if (pdrf > 10) {
    // The byte may carry the LAZ compression bits: name both the byte and the format it encodes.
    const byte = formatByte === pdrf ? "" : ` (format byte ${formatByte}, compression bits 0x${(formatByte & 0xc0).toString(16)})`;
    throw new FormatError(`unknown point data record format ${pdrf}${byte}`, name, 104);
  }
  const recordLength = v.getUint16(105, true);
  const baseLength = PDRF_BASE_LENGTH[pdrf];
  if (recordLength < baseLength) {
    throw new FormatError(`point record length ${recordLength} is shorter than format ${pdrf} needs (${baseLength})`, name, 105);
  }
  const legacyPointCount = v.getUint32(107, true);
  const pointsByReturn: number[] = [];
  for (let i = 0; i < 5; i++) pointsByReturn.push(v.getUint32(111 + 4 * i, true));
  const f = (at: number) => v.getFloat64(at, true);
  const scale: [number, number, number] = [f(131), f(139), f(147)];
  const offset: [number, number, number] = [f(155), f(163), f(171)];
  for (let i = 0; i < 3; i++) {
    if (!(scale[i] !== 0 && Number.isFinite(scale[i]))) throw new FormatError(`invalid scale factor ${scale[i]}`, name, 131 + 8 * i);
    if (!Number.isFinite(offset[i])) throw new FormatError(`invalid offset ${offset[i]}`, name, 155 + 8 * i);
  }
  const bounds: [number, number, number, number, number, number] = [f(187), f(203), f(219), f(179), f(195), f(211)];

  let waveformDataOffset = 0;
  let evlrOffset = 0;
  let evlrCount = 0;
  let pointCount = legacyPointCount;
  if (versionMinor >= 3) waveformDataOffset = checkedU64(v, 227, "waveform data offset", name);
  if (versionMinor >= 4) {
    evlrOffset = checkedU64(v, 235, "EVLR offset", name);
    evlrCount = v.getUint32(243, true);
    const count64 = checkedU64(v, 247, "LAS 1.4 point count", name);
    if (count64 !== 0 || legacyPointCount === 0) {
      if (legacyPointCount !== 0 && legacyPointCount !== count64) {
        warnings.push(`${name}: legacy point count ${legacyPointCount} differs from the LAS 1.4 count ${count64}; using ${count64}`);
      }
      pointCount = count64;
    }
    pointsByReturn.length = 0;
    for (let i = 0; i < 15; i++) pointsByReturn.push(u64(v, 255 + 8 * i));
  } else {
    while (pointsByReturn.length < 15) pointsByReturn.push(0);
  }

  // VLRs sit between the header and the point data; a VLR crossing into the points is corrupt.
  const vlrs: LasVlr[] = [];
  let at = headerSize;
  for (let i = 0; i < vlrCount; i++) {
    if (at + 54 > offsetToPointData) {
      throw new FormatError(`VLR ${i + 1} of ${vlrCount} header runs past the start of the point data (${offsetToPointData})`, name, at);
    }
    const vh = await readExact(src, at, 54, `VLR ${i + 1} header`);
    const vv = new DataView(vh.buffer, vh.byteOffset, 54);
    const len = vv.getUint16(20, true);
    if (at + 54 + len > offsetToPointData) {
      throw new FormatError(`VLR ${i + 1} (${len} bytes) runs past the start of the point data (${offsetToPointData})`, name, at);
    }
    const data = len > 0 ? (await readExact(src, at + 54, len, `VLR ${i + 1} payload`)).slice() : new Uint8Array(0);
    vlrs.push({
      userId: readAscii(vh, 2, 16),
      recordId: vv.getUint16(18, true),
      description: readAscii(vh, 22, 32),
      extended: false,
      dataOffset: at + 54,
      data,
    });
    at += 54 + len;
  }

  if (evlrCount > 0) {
    if (evlrOffset < offsetToPointData) {
      throw new FormatError(`EVLR offset ${evlrOffset} is before the point data (${offsetToPointData})`, name, 235);
    }
    if (evlrOffset > src.size) {
      throw new FormatError(`EVLR offset ${evlrOffset} is past the end of the file (${src.size} bytes)`, name, 235);
    }
    let e = evlrOffset;
    for (let i = 0; i < evlrCount; i++) {
      const eh = await readExact(src, e, 60, `EVLR ${i + 1} header`);
      const ev = new DataView(eh.buffer, eh.byteOffset, 60);
      const len = checkedU64(ev, 20, `EVLR ${i + 1} length`, name, e + 20);
      if (e + 60 + len > src.size) {
        throw new FormatError(`EVLR ${i + 1} (${len} bytes) runs past the end of the file (${src.size} bytes)`, name, e);
      }
      const userId = readAscii(eh, 2, 16);
      const recordId = ev.getUint16(18, true);
      // Only small EVLRs are loaded (CRS, extra bytes); big ones (waveforms, COPC hierarchy) keep an empty payload.
      const keep = len <= 1 << 20;
      const data = keep && len > 0 ? (await readExact(src, e + 60, len, `EVLR ${i + 1} payload`)).slice() : new Uint8Array(0);
      vlrs.push({ userId, recordId, description: readAscii(eh, 22, 32), extended: true, dataOffset: e + 60, data });
      e += 60 + len;
    }
  }

  return {
    versionMajor,
    versionMinor,
    version: `${versionMajor}.${versionMinor}`,
    fileSourceId: v.getUint16(4, true),
    globalEncoding: v.getUint16(6, true),
    guid: guidString(head),
    systemIdentifier: readAscii(head, 26, 32),
    generatingSoftware: readAscii(head, 58, 32),
    creationDay: v.getUint16(90, true),
    creationYear: v.getUint16(92, true),
    headerSize,
    offsetToPointData,
    pdrf,
    compressedFlag,
    recordLength,
    pointCount,
    legacyPointCount,
    pointsByReturn,
    scale,
    offset,
    bounds,
    waveformDataOffset,
    evlrOffset,
    evlrCount,
    vlrs,
  };
}

export function findVlr(header: LasHeader, userId: string, recordId: number): LasVlr | undefined {
  return header.vlrs.find((r) => r.userId === userId && r.recordId === recordId);
}
