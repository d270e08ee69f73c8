/**
 * Streaming E57 point reader: header, CRC-checked pages, XML section, then each scan's
 * CompressedVector decoded packet by packet (bitpack codec) into PointChunks of bounded size.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import {
  DEFAULT_CHUNK_POINTS,
  type ColumnName,
  type ExtraAttribute,
  type PointChunk,
  type PointCloudReader,
  type PointSchema,
} from "../chunk.js";
import { E57ModelError, parseDocument, type E57Field, type E57Pose, type E57ScanInfo } from "./model.js";
import { PAGE_PAYLOAD, PAGE_SIZE, PagedReader, logicalToPhysical, physicalToLogical } from "./paged.js";
import { XmlError, parseXml } from "../../xml/xml.js";

export interface E57ReadOptions {
  /** Points per chunk at most (default DEFAULT_CHUNK_POINTS). */
  chunkPoints?: number;
  /**
   * Prototype fields to deliver as extra attributes too, even when they are consumed as coordinates or
   * columns (e.g. "sphericalRange", "cartesianInvalidState"), as decoded values (ScaledInteger scaled).
   */
  extraFields?: string[];
}

/** What a scan turned into while reading (filled in as its chunks are consumed). */
export interface E57ScanStats {
  /** Points yielded. */
  valid: number;
  /** Points dropped because their invalid state is 2 (no valid coordinates). */
  invalid: number;
  /** Points dropped because their invalid state is 1 (direction only, no range). */
  directionOnly: number;
}

/** A scan as the reader exposes it: file metadata plus which chunk columns it really carries. */
export interface E57Scan extends E57ScanInfo {
  /** "cartesian" or "spherical" (converted to cartesian on read). */
  coordinates: "cartesian" | "spherical";
  /** Columns this scan provides; other columns of the reader's schema are zero-filled in its chunks. */
  columns: ColumnName[];
  /** Fields kept as extra attributes (rowIndex, columnIndex, ...). */
  extra: ExtraAttribute[];
  /** True when records carry an invalid state: invalid ones are dropped, so fewer points than records may come. */
  dropsInvalid: boolean;
}

/** Canonical order of the columns an E57 file can fill. */
const COLUMN_ORDER: ColumnName[] = [
  "intensity",
  "red",
  "green",
  "blue",
  "classification",
  "returnNumber",
  "numberOfReturns",
  "gpsTime",
  "normalX",
  "normalY",
  "normalZ",
];

type ColumnArray = Uint8Array | Uint16Array | Float32Array | Float64Array;
const COLUMN_CTOR: Partial<Record<ColumnName, new (n: number) => ColumnArray>> = {
  intensity: Uint16Array,
  red: Uint16Array,
  green: Uint16Array,
  blue: Uint16Array,
  classification: Uint8Array,
  returnNumber: Uint8Array,
  numberOfReturns: Uint8Array,
  gpsTime: Float64Array,
  normalX: Float32Array,
  normalY: Float32Array,
  normalZ: Float32Array,
};

/** How one column is produced from decoded field values. */
interface ColumnPlan {
  column: ColumnName;
  field: number;
  /** out = clamp(round((v - lo) * factor)) for the "scale" kind; v + add for "add"; v for "copy". */
  kind: "scale" | "add" | "copy";
  lo: number;
  factor: number;
  add: number;
  max: number;
}

interface ScanPlan {
  x: number;
  y: number;
  z: number;
  state: number;
  columns: ColumnPlan[];
  extra: { name: string; field: number }[];
}

function localName(name: string): string {
  const i = name.indexOf(":");
  return i < 0 ? name : name.slice(i + 1);
}

function extraType(f: E57Field): ExtraAttribute["type"] {
  if (f.type === "Float") return f.precision === "single" ? "f32" : "f64";
  if (f.type === "ScaledInteger") return "f64";
  const { minimum: lo, maximum: hi } = f;
  if (lo >= 0) return hi <= 0xff ? "u8" : hi <= 0xffff ? "u16" : hi <= 0xffffffff ? "u32" : "u64";
  if (lo >= -0x80 && hi <= 0x7f) return "i8";
  if (lo >= -0x8000 && hi <= 0x7fff) return "i16";
  if (lo >= -0x80000000 && hi <= 0x7fffffff) return "i32";
  return "i64";
}

/** Field bounds as values (ScaledInteger scaled), or undefined when the type has no meaningful bounds. */
function fieldRange(f: E57Field): [number, number] | undefined {
  if (f.type === "Float" && (f.minimum <= -Number.MAX_VALUE || f.maximum >= Number.MAX_VALUE)) return undefined;
  const a = f.minimum * f.scale + f.offset;
  const b = f.maximum * f.scale + f.offset;
  return a <= b ? [a, b] : [b, a];
}

function planScan(file: string, scan: E57ScanInfo, warnings: string[], extraFields: readonly string[]): { plan: ScanPlan; info: E57Scan } {
  const idx = new Map(scan.fields.map((f, i) => [f.name, i]));
  const at = (n: string): number => idx.get(n) ?? -1;
  let coordinates: "cartesian" | "spherical";
  let x: number, y: number, z: number, state: number;
  const used = new Set<number>();
  if (at("cartesianX") >= 0 && at("cartesianY") >= 0 && at("cartesianZ") >= 0) {
    coordinates = "cartesian";
    [x, y, z, state] = [at("cartesianX"), at("cartesianY"), at("cartesianZ"), at("cartesianInvalidState")];
    // Spherical fields next to cartesian ones carry the same points; they are not extra attributes.
    for (const n of ["sphericalRange", "sphericalAzimuth", "sphericalElevation", "sphericalInvalidState"]) {
      if (at(n) >= 0) used.add(at(n));
    }
  } else if (at("sphericalRange") >= 0 && at("sphericalAzimuth") >= 0 && at("sphericalElevation") >= 0) {
    coordinates = "spherical";
    [x, y, z, state] = [at("sphericalRange"), at("sphericalAzimuth"), at("sphericalElevation"), at("sphericalInvalidState")];
  } else {
    throw new E57ModelError(`scan ${scan.index} has neither cartesian nor spherical coordinates`);
  }
  for (const i of [x, y, z, state]) if (i >= 0) used.add(i);
  if (coordinates === "cartesian" && at("sphericalInvalidState") >= 0) used.add(at("sphericalInvalidState"));

  const columns: ColumnPlan[] = [];
  const label = scan.name ?? `#${scan.index}`;
  const unit = (column: ColumnName, field: number, limits: [number, number] | undefined): void => {
    const f = scan.fields[field];
    let range = limits && Number.isFinite(limits[0]) && Number.isFinite(limits[1]) && limits[1] > limits[0] ? limits : undefined;
    range ??= fieldRange(f);
    if (!range || !(range[1] > range[0])) {
      warnings.push(`${file}: scan ${label}: ${f.name} has no usable limits; values are clamped to 0..65535`);
      columns.push({ column, field, kind: "scale", lo: 0, factor: 1, add: 0, max: 65535 });
    } else {
      columns.push({ column, field, kind: "scale", lo: range[0], factor: 65535 / (range[1] - range[0]), add: 0, max: 65535 });
    }
    used.add(field);
  };
  if (at("intensity") >= 0) unit("intensity", at("intensity"), scan.intensityLimits);
  if (at("colorRed") >= 0) unit("red", at("colorRed"), scan.colorLimits?.red);
  if (at("colorGreen") >= 0) unit("green", at("colorGreen"), scan.colorLimits?.green);
  if (at("colorBlue") >= 0) unit("blue", at("colorBlue"), scan.colorLimits?.blue);
  if (at("timeStamp") >= 0) {
    columns.push({ column: "gpsTime", field: at("timeStamp"), kind: "copy", lo: 0, factor: 1, add: 0, max: 0 });
    used.add(at("timeStamp"));
  }
  // E57 return indices count from 0; LAS return numbers from 1.
  if (at("returnIndex") >= 0) {
    columns.push({ column: "returnNumber", field: at("returnIndex"), kind: "add", lo: 0, factor: 1, add: 1, max: 255 });
    used.add(at("returnIndex"));
  }
  if (at("returnCount") >= 0) {
    columns.push({ column: "numberOfReturns", field: at("returnCount"), kind: "add", lo: 0, factor: 1, add: 0, max: 255 });
    used.add(at("returnCount"));
  }
  scan.fields.forEach((f, i) => {
    if (used.has(i)) return;
    const ln = localName(f.name);
    if (ln === "classification" && f.type === "Integer" && f.minimum >= 0 && f.maximum <= 255) {
      columns.push({ column: "classification", field: i, kind: "add", lo: 0, factor: 1, add: 0, max: 255 });
      used.add(i);
    } else if ((ln === "normalX" || ln === "normalY" || ln === "normalZ") && f.name !== ln) {
      columns.push({ column: ln, field: i, kind: "copy", lo: 0, factor: 1, add: 0, max: 0 });
      used.add(i);
    }
  });
  const extra: { name: string; field: number }[] = [];
  const extraAttrs: ExtraAttribute[] = [];
  scan.fields.forEach((f, i) => {
    if (used.has(i) && !extraFields.includes(f.name)) return;
    // Our writer stores other formats' extra attributes as "realconv:" extension fields.
    const name = f.name.startsWith("realconv:") ? f.name.slice(9) : f.name;
    extra.push({ name, field: i });
    extraAttrs.push({ name, type: extraType(f), description: `E57 ${f.type} field ${f.name}` });
  });
  columns.sort((a, b) => COLUMN_ORDER.indexOf(a.column) - COLUMN_ORDER.indexOf(b.column));
  return {
    plan: { x, y, z, state, columns, extra },
    info: { ...scan, coordinates, columns: columns.map((c) => c.column), extra: extraAttrs, dropsInvalid: state >= 0 },
  };
}

/** Bytes of one field's bytestream not yet decoded; a field's stream continues across packets. */
class FieldStream {
  buf = new Uint8Array(4096);
  view = new DataView(this.buf.buffer);
  len = 0;
  bitPos = 0;
  private readonly mask: number;
  constructor(readonly f: E57Field) {
    this.mask = f.bits >= 32 ? -1 : (1 << f.bits) - 1;
  }

  append(src: Uint8Array): void {
    const drop = this.bitPos >>> 3;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.bitPos &= 7;
    }
    // 8 spare bytes so the unaligned multi-byte reads below never leave the array.
    const need = this.len + src.length + 8;
    if (need > this.buf.length) {
      const nb = new Uint8Array(Math.max(need, this.buf.length * 2));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
      this.view = new DataView(nb.buffer);
    }
    this.buf.set(src, this.len);
    this.len += src.length;
  }

  available(): number {
    if (this.f.bits === 0) return Infinity;
    return Math.floor((this.len * 8 - this.bitPos) / this.f.bits);
  }

  /** Decodes n values into out[at..at+n) as doubles (ScaledInteger already scaled). */
  decode(out: Float64Array, at: number, n: number): void {
    const f = this.f;
    const end = at + n;
    if (f.type === "Float") {
      let p = this.bitPos >>> 3;
      const v = this.view;
      if (f.precision === "single") {
        for (let i = at; i < end; i++, p += 4) out[i] = v.getFloat32(p, true);
      } else {
        for (let i = at; i < end; i++, p += 8) out[i] = v.getFloat64(p, true);
      }
      this.bitPos = p * 8;
      return;
    }
    const bits = f.bits;
    const min = f.minimum;
    const scaled = f.type === "ScaledInteger";
    const scale = f.scale;
    const offset = f.offset;
    if (bits === 0) {
      const v = scaled ? min * scale + offset : min;
      out.fill(v, at, end);
      return;
    }
    const b = this.buf;
    let p = this.bitPos;
    if (bits <= 32) {
      const mask = this.mask;
      if ((bits & 7) === 0 && (p & 7) === 0 && bits <= 16) {
        // Byte-aligned 8/16-bit values (colours, small integers) need no shifting.
        let q = p >>> 3;
        if (bits === 8) for (let i = at; i < end; i++) out[i] = min + b[q++];
        else for (let i = at; i < end; i++, q += 2) out[i] = min + (b[q] | (b[q + 1] << 8));
        p = q * 8;
      } else {
        for (let i = at; i < end; i++) {
          const q = p >>> 3;
          const sh = p & 7;
          let v = (b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> sh;
          if (sh + bits > 32) v |= b[q + 4] << (32 - sh);
          out[i] = min + ((v & mask) >>> 0);
          p += bits;
        }
      }
    } else {
      const hiBits = bits - 32;
      const hiMask = hiBits >= 32 ? -1 : (1 << hiBits) - 1;
      for (let i = at; i < end; i++) {
        let q = p >>> 3;
        let sh = p & 7;
        let lo = (b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> sh;
        if (sh > 0) lo |= b[q + 4] << (32 - sh);
        q = (p + 32) >>> 3;
        sh = (p + 32) & 7;
        let hi = (b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24)) >>> sh;
        if (sh + hiBits > 32) hi |= b[q + 4] << (32 - sh);
        // Above 2^53 the double loses low bits; E57 values that large are not coordinates in practice.
        out[i] = min + (lo >>> 0) + ((hi & hiMask) >>> 0) * 4294967296;
        p += bits;
      }
    }
    this.bitPos = p;
    if (scaled) for (let i = at; i < end; i++) out[i] = out[i] * scale + offset;
  }
}

function u64(dv: DataView, at: number, what: string, file: string, physical: number): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`${what} is out of range (${v})`, file, physical);
  return Number(v);
}

/** Why `length` logical bytes from a physical offset cannot be a section, or undefined when they can. */
function sectionProblem(physical: number, length: number, pageCount: number): string | undefined {
  const logical = physicalToLogical(physical);
  if (physical < 48) return "starts inside the 48-byte file header";
  if (logical === undefined) return "starts inside a page checksum";
  if (logical + length > pageCount * PAGE_PAYLOAD) return `runs past the end of the file (${pageCount * PAGE_SIZE} bytes)`;
  return undefined;
}

/** Logical offset of the first data packet with bytes between `pos` and `end` (index and empty packets skipped). */
async function nextDataPacket(paged: PagedReader, pos: number, end: number): Promise<number | undefined> {
  while (pos + 6 <= end) {
    const head = await paged.read(pos, 6);
    const length = (head[2] | (head[3] << 8)) + 1;
    if (head[0] === 1) {
      const streams = head[4] | (head[5] << 8);
      const sizes = await paged.read(pos + 6, Math.min(2 * streams, end - pos - 6));
      for (let k = 0; k + 1 < sizes.length; k += 2) if (sizes[k] | sizes[k + 1]) return pos;
    }
    pos += length;
  }
  return undefined;
}

/** True when the first bytes of a file carry the E57 signature "ASTM-E57". */
export function looksLikeE57(first: Uint8Array): boolean {
  const sig = [0x41, 0x53, 0x54, 0x4d, 0x2d, 0x45, 0x35, 0x37];
  return first.length >= 8 && sig.every((c, i) => first[i] === c);
}

/** Opens an E57 file: reads and checks the header, page 0 and the XML section. */
export async function openE57(source: ByteSource, options: E57ReadOptions = {}): Promise<E57Reader> {
  const name = source.name;
  if (source.size < PAGE_SIZE) throw new FormatError(`file of ${source.size} bytes is too small for E57`, name, 0);
  const head = await source.read(0, 48);
  if (head.length < 48) throw new FormatError("file is truncated", name, head.length);
  const sig = String.fromCharCode(...head.subarray(0, 8));
  if (sig !== "ASTM-E57") throw new FormatError(`not an E57 file (signature "${sig}")`, name, 0);
  const dv = new DataView(head.buffer, head.byteOffset, 48);
  const major = dv.getUint32(8, true);
  const minor = dv.getUint32(12, true);
  if (major !== 1) throw new FormatError(`unsupported E57 version ${major}.${minor}`, name, 8);
  const fileLength = u64(dv, 16, "file length", name, 16);
  const xmlPhysical = u64(dv, 24, "XML offset", name, 24);
  const xmlLength = u64(dv, 32, "XML length", name, 32);
  const pageSize = u64(dv, 40, "page size", name, 40);
  if (pageSize !== PAGE_SIZE) throw new FormatError(`unsupported page size ${pageSize}`, name, 40);
  if (fileLength > source.size) {
    throw new FormatError(`file is truncated: header says ${fileLength} bytes, file has ${source.size}`, name, source.size);
  }
  if (fileLength % PAGE_SIZE !== 0 || fileLength === 0) {
    throw new FormatError(`file length ${fileLength} is not a whole number of pages`, name, 16);
  }
  const pageCount = fileLength / PAGE_SIZE;
  const paged = new PagedReader(source, pageCount, 0); // exact reads: only pages 0 and the XML pages are checked here
  await paged.read(0, 48); // checks the CRC of page 0, which holds the header
  const xmlProblem = xmlLength === 0 ? "is empty" : sectionProblem(xmlPhysical, xmlLength, pageCount);
  if (xmlProblem) throw new FormatError(`XML section (offset ${xmlPhysical}, length ${xmlLength}) ${xmlProblem}`, name, 24);
  const xmlLogical = physicalToLogical(xmlPhysical)!;
  const xmlBytes = (await paged.read(xmlLogical, xmlLength)).slice();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(xmlBytes);
  } catch {
    throw new FormatError("XML section is not valid UTF-8", name, xmlPhysical);
  }
  let doc;
  try {
    doc = parseDocument(parseXml(text));
  } catch (e) {
    if (e instanceof XmlError) {
      // Character index ≈ byte index for the ASCII XML that E57 writers produce.
      throw new FormatError(`bad XML: ${e.message}`, name, logicalToPhysical(xmlLogical + Math.min(e.position, xmlLength - 1)));
    }
    if (e instanceof E57ModelError) throw new FormatError(e.message, name, xmlPhysical);
    throw e;
  }
  const warnings: string[] = [];
  const plans: ScanPlan[] = [];
  const scans: E57Scan[] = [];
  for (const s of doc.scans) {
    const where = sectionProblem(s.sectionOffset, 32, pageCount);
    if (where) throw new FormatError(`scan ${s.index}: points section at offset ${s.sectionOffset} ${where}`, name, xmlPhysical);
    try {
      const { plan, info } = planScan(name, s, warnings, options.extraFields ?? []);
      plans.push(plan);
      scans.push(info);
    } catch (e) {
      if (e instanceof E57ModelError) throw new FormatError(e.message, name, xmlPhysical);
      throw e;
    }
  }
  return new E57Reader(source, pageCount, doc.coordinateMetadata, doc.guid, doc.libraryVersion, scans, plans, warnings, options);
}

export class E57Reader implements PointCloudReader {
  readonly schema: PointSchema;
  /** Sum of the scans' record counts, invalid points included (they are dropped while reading). */
  readonly pointCount: number;
  readonly stats: E57ScanStats[];
  private readonly chunkPoints: number;
  /** Scans whose dropped points are in `warnings` already: a scan read again (another pass) is not reported twice. */
  private readonly reported = new Set<number>();

  constructor(
    private readonly source: ByteSource,
    private readonly pageCount: number,
    /** coordinateMetadata of the file (a WKT or other CRS string), undefined when empty. */
    readonly crs: string | undefined,
    readonly guid: string | undefined,
    readonly libraryVersion: string | undefined,
    readonly scans: E57Scan[],
    private readonly plans: ScanPlan[],
    readonly warnings: string[],
    options: E57ReadOptions,
  ) {
    const cols = new Set<ColumnName>();
    const extra = new Map<string, ExtraAttribute>();
    for (const s of scans) {
      for (const c of s.columns) cols.add(c);
      for (const e of s.extra) if (!extra.has(e.name)) extra.set(e.name, e);
    }
    // Union of the scans' columns: a scan lacking a column gets zeros for it (see E57Scan.columns).
    this.schema = { columns: COLUMN_ORDER.filter((c) => cols.has(c)), extra: [...extra.values()] };
    this.pointCount = scans.reduce((a, s) => a + s.pointCount, 0);
    this.stats = scans.map(() => ({ valid: 0, invalid: 0, directionOnly: 0 }));
    this.chunkPoints = Math.max(1, Math.floor(options.chunkPoints ?? DEFAULT_CHUNK_POINTS));
  }

  /** All scans one after the other; a chunk never mixes scans. */
  async *chunks(signal?: AbortSignal): AsyncIterable<PointChunk> {
    for (let i = 0; i < this.scans.length; i++) yield* this.scanChunks(i, signal);
  }

  /** The chunks of one scan, positions in the file's frame (pose applied), invalid points dropped. */
  async *scanChunks(index: number, signal?: AbortSignal): AsyncIterable<PointChunk> {
    const scan = this.scans[index];
    if (!scan) throw new RangeError(`no scan ${index}`);
    const file = this.source.name;
    const stats = this.stats[index];
    stats.valid = stats.invalid = stats.directionOnly = 0;
    // 1 MiB blocks: a packet straddling a block end re-reads (and re-checks) at most 64 KiB of it.
    const paged = new PagedReader(this.source, this.pageCount, 1 << 20);
    const secLogical = physicalToLogical(scan.sectionOffset)!;
    const sh = (await paged.read(secLogical, 32)).slice();
    const sdv = new DataView(sh.buffer);
    if (sh[0] !== 1) {
      throw new FormatError(`scan ${index}: section id ${sh[0]} is not a CompressedVector (1)`, file, scan.sectionOffset);
    }
    const secLength = u64(sdv, 8, "section length", file, scan.sectionOffset + 8);
    const dataPhysical = u64(sdv, 16, "data offset", file, scan.sectionOffset + 16);
    const secEnd = secLogical + secLength;
    if (secLength < 32 || secEnd > paged.logicalSize) {
      throw new FormatError(`scan ${index}: section length ${secLength} does not fit the file`, file, scan.sectionOffset + 8);
    }
    const dataLogical = physicalToLogical(dataPhysical);
    if (scan.pointCount > 0 && (dataLogical === undefined || dataLogical < secLogical + 32 || dataLogical >= secEnd)) {
      throw new FormatError(`scan ${index}: data offset ${dataPhysical} is outside its section`, file, scan.sectionOffset + 16);
    }

    const streams = scan.fields.map((f) => new FieldStream(f));
    // Scratch holds one double per field and point: bound it even for prototypes with many fields.
    const cap = Math.max(1, Math.min(this.chunkPoints, scan.pointCount, Math.floor((1 << 23) / Math.max(1, scan.fields.length))));
    const scratch = scan.fields.map(() => new Float64Array(cap));
    let filled = 0;
    let remaining = scan.pointCount;
    let pos = dataLogical ?? secEnd;
    const allConstant = streams.every((s) => s.f.bits === 0);

    let packetAt = pos;
    while (remaining > 0) {
      signal?.throwIfAborted();
      if (!allConstant) {
        packetAt = pos;
        if (pos + 4 > secEnd) {
          throw new FormatError(
            `scan ${index}: section ends with ${remaining} of ${scan.pointCount} records missing`,
            file,
            logicalToPhysical(Math.min(pos, paged.logicalSize - 1)),
          );
        }
        const ph = await paged.read(pos, 4);
        const type = ph[0];
        const plen = (ph[2] | (ph[3] << 8)) + 1;
        if (pos + plen > secEnd) {
          throw new FormatError(`scan ${index}: packet of ${plen} bytes runs past its section`, file, logicalToPhysical(pos));
        }
        if (type === 1) {
          const pk = await paged.read(pos, plen);
          const count = plen >= 6 ? pk[4] | (pk[5] << 8) : -1;
          if (count !== streams.length) {
            throw new FormatError(
              `scan ${index}: data packet has ${count} bytestreams, prototype has ${streams.length} fields`,
              file,
              logicalToPhysical(pos),
            );
          }
          let off = 6 + 2 * count;
          for (let k = 0; k < count; k++) {
            const n = pk[6 + 2 * k] | (pk[7 + 2 * k] << 8);
            if (off + n > plen) {
              throw new FormatError(`scan ${index}: bytestream ${k} runs past its packet`, file, logicalToPhysical(pos));
            }
            streams[k].append(pk.subarray(off, off + n));
            off += n;
          }
        } else if (type !== 0 && type !== 2) {
          // 0 = index packet, 2 = empty packet: neither carries records.
          throw new FormatError(`scan ${index}: unknown packet type ${type}`, file, logicalToPhysical(pos));
        }
        pos += plen;
      }
      for (;;) {
        let n = Math.min(remaining, cap - filled);
        for (const s of streams) n = Math.min(n, s.available());
        if (n <= 0) break;
        for (let k = 0; k < streams.length; k++) streams[k].decode(scratch[k], filled, n);
        filled += n;
        remaining -= n;
        if (filled === cap || remaining === 0) {
          yield this.assemble(index, scratch, filled);
          filled = 0;
          signal?.throwIfAborted();
        }
      }
    }
    // Values past recordCount (in the last packet, or in data packets after it) mean the XML count is too
    // low: those records would be lost without a word. Fields of 8 bits or more pad less than one value.
    if (!allConstant) {
      const extraValues = streams.some((s) => s.f.bits >= 8 && s.available() > 0);
      const beyond = extraValues ? packetAt : await nextDataPacket(paged, pos, secEnd);
      if (beyond !== undefined) {
        throw new FormatError(`scan ${index}: the points section holds more than the ${scan.pointCount} records its recordCount announces`, file, logicalToPhysical(beyond));
      }
    }
    if (this.reported.has(index)) return;
    this.reported.add(index);
    const label = scan.name ?? `#${index}`;
    if (stats.directionOnly > 0) {
      this.warnings.push(`${file}: scan ${label}: ${stats.directionOnly} points have a direction but no range and were dropped`);
    }
    if (stats.invalid > 0) this.warnings.push(`${file}: scan ${label}: ${stats.invalid} invalid points were dropped`);
  }

  private assemble(index: number, s: Float64Array[], n: number): PointChunk {
    const plan = this.plans[index];
    const scan = this.scans[index];
    const stats = this.stats[index];
    // Indices of the valid records, or undefined when all are valid (the common case, no indirection).
    let idx: Int32Array | undefined;
    let valid = n;
    if (plan.state >= 0) {
      const state = s[plan.state];
      valid = 0;
      for (let i = 0; i < n; i++) {
        const v = state[i];
        if (v === 0) valid++;
        else if (v === 1) stats.directionOnly++;
        else stats.invalid++;
      }
      if (valid < n) {
        idx = new Int32Array(valid);
        for (let i = 0, j = 0; i < n; i++) if (state[i] === 0) idx[j++] = i;
      }
    }
    stats.valid += valid;
    const pick = (v: Float64Array): Float64Array => {
      const out = new Float64Array(valid);
      if (idx) for (let j = 0; j < valid; j++) out[j] = v[idx[j]];
      else out.set(v.subarray(0, n));
      return out;
    };
    let X: Float64Array;
    let Y: Float64Array;
    let Z: Float64Array;
    if (scan.coordinates === "cartesian") {
      X = pick(s[plan.x]);
      Y = pick(s[plan.y]);
      Z = pick(s[plan.z]);
    } else {
      // range, azimuth (from +X towards +Y), elevation (from the XY plane towards +Z)
      X = pick(s[plan.x]);
      const az = pick(s[plan.y]);
      const el = pick(s[plan.z]);
      Y = new Float64Array(valid);
      Z = new Float64Array(valid);
      for (let j = 0; j < valid; j++) {
        const r = X[j];
        const ce = Math.cos(el[j]);
        X[j] = r * ce * Math.cos(az[j]);
        Y[j] = r * ce * Math.sin(az[j]);
        Z[j] = r * Math.sin(el[j]);
      }
    }
    const m = scan.pose ? poseMatrix(scan.pose) : undefined;
    if (m) transform(X, Y, Z, m, true);
    const chunk: PointChunk = { count: valid, positions: { kind: "f64", x: X, y: Y, z: Z } };
    for (const col of this.schema.columns) {
      const out = new COLUMN_CTOR[col]!(valid);
      const p = plan.columns.find((c) => c.column === col);
      if (p) {
        const v = s[p.field];
        if (p.kind === "copy") {
          if (idx) for (let j = 0; j < valid; j++) out[j] = v[idx[j]];
          else for (let j = 0; j < valid; j++) out[j] = v[j];
        } else {
          // scale: clamp(round((v - lo) * factor)); add: clamp(v + add)
          const scale = p.kind === "scale";
          const lo = scale ? p.lo : -p.add;
          const factor = scale ? p.factor : 1;
          const max = p.max;
          for (let j = 0; j < valid; j++) {
            const t = Math.round((v[idx ? idx[j] : j] - lo) * factor);
            out[j] = t < 0 ? 0 : t > max ? max : t;
          }
        }
      }
      (chunk as unknown as Record<string, ColumnArray>)[col] = out;
    }
    if (m && chunk.normalX && chunk.normalY && chunk.normalZ) {
      const nx = Float64Array.from(chunk.normalX);
      const ny = Float64Array.from(chunk.normalY);
      const nz = Float64Array.from(chunk.normalZ);
      transform(nx, ny, nz, m, false);
      chunk.normalX.set(nx);
      chunk.normalY.set(ny);
      chunk.normalZ.set(nz);
    }
    if (this.schema.extra.length > 0) {
      const extra: Record<string, Float64Array> = {};
      for (const e of this.schema.extra) {
        const f = plan.extra.find((x) => x.name === e.name);
        extra[e.name] = f ? pick(s[f.field]) : new Float64Array(valid);
      }
      chunk.extra = extra;
    }
    return chunk;
  }
}

/** Row-major 3x4 [R | t] of a pose, or undefined for the identity. */
export function poseMatrix(pose: E57Pose): Float64Array | undefined {
  const [w, x, y, z] = pose.rotation;
  const [tx, ty, tz] = pose.translation;
  if (w === 1 && x === 0 && y === 0 && z === 0 && tx === 0 && ty === 0 && tz === 0) return undefined;
  return new Float64Array([
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y), tx,
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x), ty,
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y), tz,
  ]);
}

function transform(X: Float64Array, Y: Float64Array, Z: Float64Array, m: Float64Array, translate: boolean): void {
  const t = translate ? 1 : 0;
  for (let i = 0; i < X.length; i++) {
    const x = X[i];
    const y = Y[i];
    const z = Z[i];
    X[i] = m[0] * x + m[1] * y + m[2] * z + m[3] * t;
    Y[i] = m[4] * x + m[5] * y + m[6] * z + m[7] * t;
    Z[i] = m[8] * x + m[9] * y + m[10] * z + m[11] * t;
  }
}
