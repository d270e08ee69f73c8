/**
 * Point data record formats 0..10: which columns each carries, and decoding/encoding of record bytes
 * to/from the typed-array columns of a PointChunk with one DataView (no per-point allocation).
 */
import type { ColumnName, ExtraAttribute, PointChunk, PointSchema } from "../chunk.js";
import type { LasHeader } from "./header.js";

/** Bytes of each format's standard fields (waveform packets included for 4, 5, 9, 10). */
export { PDRF_BASE_LENGTH } from "./pdrf.js";
import { PDRF_BASE_LENGTH } from "./pdrf.js";

export function pdrfHasGpsTime(f: number): boolean {
  return f !== 0 && f !== 2;
}
export function pdrfHasRgb(f: number): boolean {
  return f === 2 || f === 3 || f === 5 || f === 7 || f === 8 || f === 10;
}
export function pdrfHasNir(f: number): boolean {
  return f === 8 || f === 10;
}
export function pdrfHasWaveform(f: number): boolean {
  return f === 4 || f === 5 || f === 9 || f === 10;
}
export function pdrfIsExtended(f: number): boolean {
  return f >= 6;
}
function rgbOffset(f: number): number {
  return f === 2 ? 20 : f === 3 || f === 5 ? 28 : 30;
}

/** Columns a format carries, in a stable order. */
export function pdrfColumns(f: number): ColumnName[] {
  const cols: ColumnName[] = ["intensity", "returnNumber", "numberOfReturns", "scanFlags", "classification", "classificationFlags"];
  if (pdrfIsExtended(f)) cols.push("scannerChannel");
  cols.push("scanAngle", "userData", "pointSourceId");
  if (pdrfHasGpsTime(f)) cols.push("gpsTime");
  if (pdrfHasRgb(f)) cols.push("red", "green", "blue");
  if (pdrfHasNir(f)) cols.push("nir");
  return cols;
}

/** One extra-bytes descriptor (LASF_Spec record 4), resolved to a scalar at a byte offset in the record. */
export interface ExtraBytesField {
  name: string;
  description: string;
  /** Offset from the start of the record. */
  offset: number;
  type: ExtraAttribute["type"];
  /** Value = raw * scale + offset (1 and 0 when the descriptor gives none). */
  scale: number;
  valueOffset: number;
  noData?: number;
}

const EB_TYPES: (ExtraAttribute["type"] | undefined)[] = [
  undefined, "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64",
];
export const TYPE_SIZE: Record<ExtraAttribute["type"], number> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8, f32: 4, f64: 8,
};
export const TYPE_CODE: Record<ExtraAttribute["type"], number> = {
  u8: 1, i8: 2, u16: 3, i16: 4, u32: 5, i32: 6, u64: 7, i64: 8, f32: 9, f64: 10,
};

function readAnyType(v: DataView, at: number, type: ExtraAttribute["type"]): number {
  if (type === "f32" || type === "f64") return v.getFloat64(at, true);
  if (type.startsWith("u")) return Number(v.getBigUint64(at, true));
  return Number(v.getBigInt64(at, true));
}

/**
 * Parses the extra-bytes descriptors. Deprecated array types (11..30) become `name[0]`, `name[1]`, ...;
 * undocumented bytes (type 0) become one u8 attribute per byte, so no byte of the record is lost.
 */
export function parseExtraBytes(data: Uint8Array, baseLength: number, recordLength: number, warnings: string[], file: string): ExtraBytesField[] {
  const out: ExtraBytesField[] = [];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = baseLength;
  const used = new Set<string>();
  const unique = (n: string) => {
    let name = n || "extra";
    for (let k = 2; used.has(name); k++) name = `${n}_${k}`;
    used.add(name);
    return name;
  };
  for (let d = 0; d + 192 <= data.byteLength; d += 192) {
    const dataType = data[d + 2];
    const options = data[d + 3];
    let name = "";
    for (let i = d + 4; i < d + 36 && data[i] !== 0; i++) name += String.fromCharCode(data[i]);
    let description = "";
    for (let i = d + 160; i < d + 192 && data[i] !== 0; i++) description += String.fromCharCode(data[i]);
    name = name.trim();
    if (dataType === 0) {
      for (let i = 0; i < options; i++) {
        out.push({ name: unique(`${name || "undocumented"}[${i}]`), description, offset: at + i, type: "u8", scale: 1, valueOffset: 0 });
      }
      at += options;
      continue;
    }
    if (dataType > 30) {
      warnings.push(`${file}: extra-bytes descriptor "${name}" has unknown data type ${dataType}; the remaining extra bytes are ignored`);
      break;
    }
    const base = ((dataType - 1) % 10) + 1;
    const dims = dataType <= 10 ? 1 : dataType <= 20 ? 2 : 3;
    const type = EB_TYPES[base]!;
    for (let k = 0; k < dims; k++) {
      const scale = options & 8 ? v.getFloat64(d + 112 + 8 * k, true) : 1;
      const valueOffset = options & 16 ? v.getFloat64(d + 136 + 8 * k, true) : 0;
      const field: ExtraBytesField = {
        name: unique(dims === 1 ? name : `${name}[${k}]`),
        description,
        offset: at,
        type,
        scale: scale === 0 ? 1 : scale,
        valueOffset,
      };
      if (options & 1) field.noData = readAnyType(v, d + 40 + 8 * k, type);
      out.push(field);
      at += TYPE_SIZE[type];
    }
  }
  if (at > recordLength) {
    warnings.push(`${file}: extra-bytes descriptors need ${at - baseLength} bytes but records have ${recordLength - baseLength}; the extra bytes are read as undocumented bytes`);
    out.length = 0;
    used.clear();
    at = baseLength;
  }
  // Bytes the descriptors leave undescribed are kept as u8 attributes, so a LAS -> LAS copy loses nothing.
  for (let i = 0; at < recordLength; i++, at++) {
    out.push({ name: unique(`undocumented[${i}]`), description: "", offset: at, type: "u8", scale: 1, valueOffset: 0 });
  }
  return out;
}

/** Everything needed to turn record bytes into a chunk. */
export interface RecordLayout {
  pdrf: number;
  recordLength: number;
  scale: readonly [number, number, number];
  offset: readonly [number, number, number];
  extra: ExtraBytesField[];
  schema: PointSchema;
  /**
   * Decode only these columns (positions always) and the extra attributes only if `extra`: for readers
   * whose points feed an output that keeps a few. Absent: every column of the record format.
   */
  only?: { columns: readonly ColumnName[]; extra: boolean };
}

export function recordLayout(header: LasHeader, extra: ExtraBytesField[]): RecordLayout {
  return {
    pdrf: header.pdrf,
    recordLength: header.recordLength,
    scale: header.scale,
    offset: header.offset,
    extra,
    schema: {
      columns: pdrfColumns(header.pdrf),
      extra: extra.map((e) => (e.description ? { name: e.name, description: e.description, type: e.type } : { name: e.name, type: e.type })),
    },
  };
}

function readScalar(v: DataView, at: number, type: ExtraAttribute["type"]): number {
  switch (type) {
    case "u8": return v.getUint8(at);
    case "i8": return v.getInt8(at);
    case "u16": return v.getUint16(at, true);
    case "i16": return v.getInt16(at, true);
    case "u32": return v.getUint32(at, true);
    case "i32": return v.getInt32(at, true);
    // 64-bit integers become doubles (exact up to 2^53), the chunk shape's value type.
    case "u64": return v.getUint32(at, true) + v.getUint32(at + 4, true) * 4294967296;
    case "i64": return v.getUint32(at, true) + v.getInt32(at + 4, true) * 4294967296;
    case "f32": return v.getFloat32(at, true);
    case "f64": return v.getFloat64(at, true);
  }
}

export function writeScalar(v: DataView, at: number, type: ExtraAttribute["type"], x: number): void {
  switch (type) {
    case "u8": v.setUint8(at, x); return;
    case "i8": v.setInt8(at, x); return;
    case "u16": v.setUint16(at, x, true); return;
    case "i16": v.setInt16(at, x, true); return;
    case "u32": v.setUint32(at, x, true); return;
    case "i32": v.setInt32(at, x, true); return;
    case "u64": v.setBigUint64(at, BigInt(Math.max(0, x)), true); return;
    case "i64": v.setBigInt64(at, BigInt(x), true); return;
    case "f32": v.setFloat32(at, x, true); return;
    case "f64": v.setFloat64(at, x, true); return;
  }
}

/** Decodes `count` records starting at `bytes[0]` into a new chunk. */
export function decodeRecords(bytes: Uint8Array, count: number, layout: RecordLayout): PointChunk {
  if (layout.only) return decodeSomeRecords(bytes, count, layout, layout.only);
  const { pdrf, recordLength: rl } = layout;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const x = new Int32Array(count);
  const y = new Int32Array(count);
  const z = new Int32Array(count);
  const intensity = new Uint16Array(count);
  const returnNumber = new Uint8Array(count);
  const numberOfReturns = new Uint8Array(count);
  const scanFlags = new Uint8Array(count);
  const classification = new Uint8Array(count);
  const classificationFlags = new Uint8Array(count);
  const scanAngle = new Float32Array(count);
  const userData = new Uint8Array(count);
  const pointSourceId = new Uint16Array(count);
  const chunk: PointChunk = {
    count,
    positions: { kind: "i32", x, y, z, scale: layout.scale, offset: layout.offset },
    intensity, returnNumber, numberOfReturns, scanFlags, classification, classificationFlags, scanAngle, userData, pointSourceId,
  };
  const ext = pdrfIsExtended(pdrf);
  let scannerChannel: Uint8Array | undefined;
  if (ext) chunk.scannerChannel = scannerChannel = new Uint8Array(count);
  for (let i = 0, p = 0; i < count; i++, p += rl) {
    x[i] = v.getInt32(p, true);
    y[i] = v.getInt32(p + 4, true);
    z[i] = v.getInt32(p + 8, true);
    intensity[i] = v.getUint16(p + 12, true);
    const b14 = bytes[p + 14];
    if (ext) {
      const b15 = bytes[p + 15];
      returnNumber[i] = b14 & 15;
      numberOfReturns[i] = b14 >> 4;
      classificationFlags[i] = b15 & 15;
      scannerChannel![i] = (b15 >> 4) & 3;
      scanFlags[i] = b15 >> 6;
      classification[i] = bytes[p + 16];
      userData[i] = bytes[p + 17];
      scanAngle[i] = v.getInt16(p + 18, true) * 0.006;
      pointSourceId[i] = v.getUint16(p + 20, true);
    } else {
      const b15 = bytes[p + 15];
      returnNumber[i] = b14 & 7;
      numberOfReturns[i] = (b14 >> 3) & 7;
      scanFlags[i] = b14 >> 6;
      classification[i] = b15 & 31;
      classificationFlags[i] = b15 >> 5;
      scanAngle[i] = v.getInt8(p + 16);
      userData[i] = bytes[p + 17];
      pointSourceId[i] = v.getUint16(p + 18, true);
    }
  }
  if (pdrfHasGpsTime(pdrf)) {
    const t = (chunk.gpsTime = new Float64Array(count));
    const o = ext ? 22 : 20;
    for (let i = 0, p = o; i < count; i++, p += rl) t[i] = v.getFloat64(p, true);
  }
  if (pdrfHasRgb(pdrf)) {
    const r = (chunk.red = new Uint16Array(count));
    const g = (chunk.green = new Uint16Array(count));
    const b = (chunk.blue = new Uint16Array(count));
    for (let i = 0, p = rgbOffset(pdrf); i < count; i++, p += rl) {
      r[i] = v.getUint16(p, true);
      g[i] = v.getUint16(p + 2, true);
      b[i] = v.getUint16(p + 4, true);
    }
  }
  if (pdrfHasNir(pdrf)) {
    const n = (chunk.nir = new Uint16Array(count));
    for (let i = 0, p = 36; i < count; i++, p += rl) n[i] = v.getUint16(p, true);
  }
  if (layout.extra.length > 0) {
    chunk.extra = extraColumns(v, count, layout, rl);
  }
  return chunk;
}

/** The extra-bytes attributes of `count` records as scaled doubles, one column each. */
function extraColumns(v: DataView, count: number, layout: RecordLayout, rl: number): Record<string, Float64Array> {
  const extra: Record<string, Float64Array> = {};
  for (const f of layout.extra) {
    const col = (extra[f.name] = new Float64Array(count));
    const { scale, valueOffset, type } = f;
    const plain = scale === 1 && valueOffset === 0;
    for (let i = 0, p = f.offset; i < count; i++, p += rl) {
      const raw = readScalar(v, p, type);
      col[i] = plain ? raw : raw * scale + valueOffset;
    }
  }
  return extra;
}

/**
 * The positions and the wanted columns of `count` records, one loop per column (the values of
 * `decodeRecords`, the columns not wanted left out).
 */
function decodeSomeRecords(bytes: Uint8Array, count: number, layout: RecordLayout, only: NonNullable<RecordLayout["only"]>): PointChunk {
  const { pdrf, recordLength: rl } = layout;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const x = new Int32Array(count);
  const y = new Int32Array(count);
  const z = new Int32Array(count);
  for (let i = 0, p = 0; i < count; i++, p += rl) {
    x[i] = v.getInt32(p, true);
    y[i] = v.getInt32(p + 4, true);
    z[i] = v.getInt32(p + 8, true);
  }
  const chunk: PointChunk = { count, positions: { kind: "i32", x, y, z, scale: layout.scale, offset: layout.offset } };
  const ext = pdrfIsExtended(pdrf);
  const has = new Set(pdrfColumns(pdrf));
  const u8 = (at: number, f: (b: number) => number): Uint8Array => {
    const out = new Uint8Array(count);
    for (let i = 0, p = at; i < count; i++, p += rl) out[i] = f(bytes[p]);
    return out;
  };
  const u16 = (at: number): Uint16Array => {
    const out = new Uint16Array(count);
    for (let i = 0, p = at; i < count; i++, p += rl) out[i] = v.getUint16(p, true);
    return out;
  };
  const cols = chunk as unknown as Record<string, unknown>;
  for (const c of only.columns) {
    if (!has.has(c)) continue;
    switch (c) {
      case "intensity":
        chunk.intensity = u16(12);
        break;
      case "returnNumber":
        chunk.returnNumber = ext ? u8(14, (b) => b & 15) : u8(14, (b) => b & 7);
        break;
      case "numberOfReturns":
        chunk.numberOfReturns = ext ? u8(14, (b) => b >> 4) : u8(14, (b) => (b >> 3) & 7);
        break;
      case "scanFlags":
        chunk.scanFlags = ext ? u8(15, (b) => b >> 6) : u8(14, (b) => b >> 6);
        break;
      case "classification":
        chunk.classification = ext ? u8(16, (b) => b) : u8(15, (b) => b & 31);
        break;
      case "classificationFlags":
        chunk.classificationFlags = ext ? u8(15, (b) => b & 15) : u8(15, (b) => b >> 5);
        break;
      case "scannerChannel":
        chunk.scannerChannel = u8(15, (b) => (b >> 4) & 3);
        break;
      case "userData":
        chunk.userData = u8(17, (b) => b);
        break;
      case "scanAngle": {
        const out = new Float32Array(count);
        if (ext) for (let i = 0, p = 18; i < count; i++, p += rl) out[i] = v.getInt16(p, true) * 0.006;
        else for (let i = 0, p = 16; i < count; i++, p += rl) out[i] = v.getInt8(p);
        chunk.scanAngle = out;
        break;
      }
      case "pointSourceId":
        chunk.pointSourceId = u16(ext ? 20 : 18);
        break;
      case "gpsTime": {
        const t = (chunk.gpsTime = new Float64Array(count));
        for (let i = 0, p = ext ? 22 : 20; i < count; i++, p += rl) t[i] = v.getFloat64(p, true);
        break;
      }
      case "red":
      case "green":
      case "blue":
        cols[c] = u16(rgbOffset(pdrf) + (c === "red" ? 0 : c === "green" ? 2 : 4));
        break;
      case "nir":
        chunk.nir = u16(36);
        break;
      default:
        break;
    }
  }
  if (only.extra && layout.extra.length > 0) {
    chunk.extra = extraColumns(v, count, layout, rl);
  }
  return chunk;
}
