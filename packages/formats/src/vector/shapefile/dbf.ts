/**
 * dBASE (.dbf) attribute tables of shapefiles: field descriptors, records read front to back, text decoded
 * in the code page the `.cpg` file or the header's language driver id names (ISO-8859-1 when neither does,
 * as GDAL reads them).
 */
import iconv from "iconv-lite";
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { SequentialReader, type PropertyValue } from "../feature.js";

export interface DbfField {
  name: string;
  type: string;
  length: number;
  decimals: number;
  offset: number;
}

export interface DbfHeader {
  records: number;
  headerLength: number;
  recordLength: number;
  languageDriver: number;
  fields: DbfField[];
}

/** Code pages by dBASE language driver id (the ones ESRI and GDAL write). */
const LANGUAGE_DRIVERS: Record<number, string> = {
  0x01: "cp437",
  0x02: "cp850",
  0x03: "cp1252",
  0x08: "cp865",
  0x09: "cp437",
  0x0a: "cp850",
  0x0b: "cp437",
  0x0d: "cp437",
  0x0e: "cp850",
  0x0f: "cp437",
  0x10: "cp850",
  0x11: "cp437",
  0x12: "cp850",
  0x13: "cp932",
  0x14: "cp850",
  0x15: "cp437",
  0x16: "cp850",
  0x17: "cp865",
  0x18: "cp437",
  0x19: "cp437",
  0x1a: "cp850",
  0x1b: "cp437",
  0x1c: "cp863",
  0x1d: "cp850",
  0x1f: "cp852",
  0x22: "cp852",
  0x23: "cp852",
  0x24: "cp860",
  0x25: "cp850",
  0x26: "cp866",
  0x37: "cp850",
  0x40: "cp852",
  0x4d: "cp936",
  0x4e: "cp949",
  0x4f: "cp950",
  0x50: "cp874",
  0x57: "cp1252",
  0x58: "cp1252",
  0x59: "cp1252",
  0x64: "cp852",
  0x65: "cp866",
  0x66: "cp865",
  0x67: "cp861",
  0x6a: "cp737",
  0x6b: "cp857",
  0x78: "cp950",
  0x79: "cp949",
  0x7a: "cp936",
  0x7b: "cp932",
  0x7c: "cp874",
  0x7d: "cp1255",
  0x7e: "cp1256",
  0x86: "cp737",
  0x87: "cp852",
  0x88: "cp857",
  0xc8: "cp1250",
  0xc9: "cp1251",
  0xca: "cp1254",
  0xcb: "cp1253",
  0xcc: "cp1257",
};

/** iconv name of a `.cpg` file's text ("UTF-8", "1252", "ISO 8859-1", "65001"); undefined when unknown. */
export function encodingOfCpg(text: string): string | undefined {
  const t = text.trim().replace(/^"|"$/g, "");
  if (/^(utf-?8|65001)$/i.test(t)) return "utf8";
  const digits = /^(?:cp|ansi|windows|ibm|oem)?[\s_-]*(\d{3,5})$/i.exec(t);
  if (digits) {
    const n = Number(digits[1]);
    if (n >= 28591 && n <= 28605) return `iso-8859-${n - 28590}`;
    return `cp${n}`;
  }
  const iso = /^iso[\s_-]*8859[\s_-]*(\d{1,2})$/i.exec(t);
  if (iso) return `iso-8859-${iso[1]}`;
  return iconv.encodingExists(t) ? t : undefined;
}

/** Encoding for a table: the `.cpg` file's, else the language driver's, else ISO-8859-1. */
export function chooseEncoding(cpg: string | undefined, languageDriver: number, warnings: string[], file: string): string {
  if (cpg !== undefined) {
    const e = encodingOfCpg(cpg);
    if (e && iconv.encodingExists(e)) return e;
    warnings.push(`${file}: the code page "${cpg.trim()}" of its .cpg file is unknown; text read as ISO-8859-1`);
  } else if (languageDriver !== 0) {
    const e = LANGUAGE_DRIVERS[languageDriver];
    if (e) return e;
    warnings.push(`${file}: unknown dBASE language driver 0x${languageDriver.toString(16)}; text read as ISO-8859-1`);
  }
  return "iso-8859-1";
}

export async function readDbfHeader(source: ByteSource): Promise<DbfHeader> {
  const head = await source.read(0, 32);
  if (head.byteLength < 32) throw new FormatError("too short for a dBASE header", source.name, 0);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const records = dv.getUint32(4, true);
  const headerLength = dv.getUint16(8, true);
  const recordLength = dv.getUint16(10, true);
  if (headerLength < 33 || recordLength < 1) throw new FormatError("bad dBASE header lengths", source.name, 8);
  const descr = await source.read(32, headerLength - 32);
  if (descr.byteLength < headerLength - 32) throw new FormatError("the field descriptors are cut short", source.name, 32 + descr.byteLength);
  const fields: DbfField[] = [];
  let offset = 1;
  for (let p = 0; p + 32 <= descr.byteLength && descr[p] !== 0x0d; p += 32) {
    let end = p;
    while (end < p + 11 && descr[end] !== 0) end++;
    const name = iconv.decode(Buffer.from(descr.subarray(p, end)), "latin1").trim();
    const type = String.fromCharCode(descr[p + 11]).toUpperCase();
    const length = descr[p + 16];
    const decimals = descr[p + 17];
    fields.push({ name, type, length, decimals, offset });
    offset += length;
  }
  if (offset > recordLength) throw new FormatError(`fields take ${offset} bytes but records have ${recordLength}`, source.name, 10);
  return { records, headerLength, recordLength, languageDriver: head[29], fields };
}

const ascii = (b: Uint8Array, from: number, to: number) => {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]);
  return s;
};

/** Field type as GDAL reads it: N/F numbers with no decimals are integers when they fit. */
function isInteger(f: DbfField): boolean {
  return (f.type === "N" || f.type === "F") && f.decimals === 0 && f.length < 19;
}

/** Decodes the value of one field of a record. */
function fieldValue(f: DbfField, rec: Uint8Array, encoding: string): PropertyValue {
  const from = f.offset;
  const to = f.offset + f.length;
  switch (f.type) {
    case "C": {
      let end = to;
      while (end > from && (rec[end - 1] === 0x20 || rec[end - 1] === 0)) end--;
      let start = from;
      // Some writers pad on the left too; GDAL keeps leading blanks, so only NULs go.
      while (start < end && rec[start] === 0) start++;
      // A blank text is a null, as GDAL reads it.
      if (start === end) return null;
      return encoding === "utf8" ? Buffer.from(rec.buffer, rec.byteOffset + start, end - start).toString("utf8") : iconv.decode(Buffer.from(rec.subarray(start, end)), encoding);
    }
    case "N":
    case "F":
    case "O": {
      const t = ascii(rec, from, to).trim();
      if (t === "" || /^\*+$/.test(t) || /^-?\.?$/.test(t)) return null;
      const v = Number(t.replace(",", "."));
      if (!Number.isFinite(v)) return null;
      return isInteger(f) ? Math.trunc(v) : v;
    }
    case "D": {
      const t = ascii(rec, from, to).trim();
      if (!/^\d{8}$/.test(t) || t === "00000000") return null;
      return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}`;
    }
    case "L": {
      const c = String.fromCharCode(rec[from]).toUpperCase();
      return "TY".includes(c) ? true : "FN".includes(c) ? false : null;
    }
    case "I":
      return f.length === 4 ? new DataView(rec.buffer, rec.byteOffset + from, 4).getInt32(0, true) : null;
    default:
      return null;
  }
}

/** Records front to back, each with its deleted flag. */
export class DbfReader {
  private readonly reader: SequentialReader;
  private index = 0;
  constructor(
    readonly source: ByteSource,
    readonly header: DbfHeader,
    readonly encoding: string,
  ) {
    this.reader = new SequentialReader(source, header.headerLength);
  }

  /** The next record's values; undefined after the last. */
  async next(): Promise<{ deleted: boolean; properties: Record<string, PropertyValue> } | undefined> {
    if (this.index >= this.header.records) return undefined;
    const offset = this.reader.position;
    const rec = await this.reader.read(this.header.recordLength);
    if (rec.byteLength < this.header.recordLength) {
      throw new FormatError(`record ${this.index + 1} of ${this.header.records} is cut short (truncated file?)`, this.source.name, offset);
    }
    this.index++;
    const properties: Record<string, PropertyValue> = {};
    for (const f of this.header.fields) properties[f.name] = fieldValue(f, rec, this.encoding);
    return { deleted: rec[0] === 0x2a, properties };
  }
}
