/**
 * Streaming E57 1.0 writer. Bytes go to a sink in blocks of 64 pages; memory holds one data packet
 * (<= 64 KiB) of staged values per scan plus a few pages to patch.
 *
 * Why patches: the 48-byte header (XML offset, file length) and each points section header (section
 * length) come before data whose size is only known later, and every page carries a CRC. So the sink
 * first receives placeholder pages, and `finish()` returns the final versions of those pages as
 * whole 1024-byte pages with their physical offsets: a caller writing to a file writes the stream
 * sequentially, then writes each patch at its offset (`applyE57Patches` does it for bytes in memory).
 * The XML section is written after the binary sections, as libE57Format does.
 */
import { PagedWriter, logicalToPhysical, type E57ByteSink, type E57Patch } from "./paged.js";
import type { ColumnName, ExtraAttribute, PointChunk, PointSchema, Positions } from "../chunk.js";
import type { E57Pose } from "./model.js";
import { cdata, escapeXml } from "../../xml/xml.js";

export type { E57ByteSink, E57Patch } from "./paged.js";

export interface E57WriterOptions {
  /** File guid (default: random). Fix it, with the scans' guids and creationGpsTime, for reproducible bytes. */
  guid?: string;
  /** CRS (WKT) stored as coordinateMetadata. */
  crs?: string;
  /** Stored as e57LibraryVersion. */
  libraryVersion?: string;
  /** creationDateTime as GPS seconds (default: now). */
  creationGpsTime?: number;
}

export interface E57ScanOptions {
  guid?: string;
  description?: string;
  /** Scan pose; positions are written as given (the scan's own frame). Default identity. */
  pose?: E57Pose;
  /** CRS (WKT); the file holds one, so scans must agree. */
  crs?: string;
}

/**
 * Points of a scan: an iterable read once, or a function returning a fresh iterable of the same points.
 * With a function the writer reads the points twice: first for the exact integer ranges (tight bit widths,
 * and a ScaledInteger minimum/maximum from the data), then to encode.
 */
export type E57ChunkInput =
  | AsyncIterable<PointChunk>
  | Iterable<PointChunk>
  | (() => AsyncIterable<PointChunk> | Iterable<PointChunk>);

export interface E57WrittenScan {
  name: string;
  guid: string;
  pointCount: number;
  /** [minX, minY, minZ, maxX, maxY, maxZ] of the written positions, undefined when empty. */
  bounds: number[] | undefined;
  /** "Float" (double) or "ScaledInteger" cartesian coordinates. */
  coordinateType: "Float" | "ScaledInteger";
}

/** Largest data packet: the packet length is stored minus one in 16 bits. */
const PACKET_MAX = 65536;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

type Source =
  | { kind: "x" | "y" | "z" }
  | { kind: "column"; column: ColumnName; add: number; div: number }
  | { kind: "extra"; name: string; round: boolean };

interface FieldEnc {
  name: string;
  type: "Float" | "Integer" | "ScaledInteger";
  source: Source;
  /** Integer/ScaledInteger raw bounds (bits come from them). */
  min: number;
  max: number;
  bits: number;
  precision: "single" | "double";
  staging: Float64Array;
  /** Data min/max of the values, for Float fields' XML bounds. */
  seenMin: number;
  seenMax: number;
}

function bitsFor(min: number, max: number): number {
  // Smallest b with 2^b > max - min (exact for the integer ranges used here).
  const range = max - min;
  let b = 0;
  while (b < 64 && 2 ** b <= range) b++;
  return b;
}

function fmt(v: number): string {
  return Object.is(v, -0) ? "0" : String(v);
}

function newGuid(): string {
  return `{${globalThis.crypto.randomUUID().toUpperCase()}}`;
}

async function* iterate(src: AsyncIterable<PointChunk> | Iterable<PointChunk>): AsyncIterable<PointChunk> {
  yield* src;
}

/**
 * Columns written, with their E57 field and raw range, and how values map. Intensity and colour keep
 * a fixed 0..65535 range equal to their limits: some readers (cry-inc/e57, hence web-e57) normalize
 * with the prototype bounds instead of intensityLimits/colorLimits, so the two must agree.
 */
const COLUMN_FIELDS: {
  column: ColumnName;
  field: string;
  add: number;
  min: number;
  max: number;
  float?: "single" | "double";
  /** Raw range measured in two-pass mode (else the fixed min..max). */
  measured?: true;
  colour?: true;
}[] = [
  { column: "intensity", field: "intensity", add: 0, min: 0, max: 65535 },
  { column: "red", field: "colorRed", add: 0, min: 0, max: 65535, colour: true },
  { column: "green", field: "colorGreen", add: 0, min: 0, max: 65535, colour: true },
  { column: "blue", field: "colorBlue", add: 0, min: 0, max: 65535, colour: true },
  { column: "gpsTime", field: "timeStamp", add: 0, min: 0, max: 0, float: "double" },
  // E57 counts returns from 0, LAS from 1.
  { column: "returnNumber", field: "returnIndex", add: -1, min: 0, max: 255, measured: true },
  { column: "numberOfReturns", field: "returnCount", add: 0, min: 0, max: 255, measured: true },
  // Not in the standard: extension fields, declared as namespaces on the root (see NAMESPACES).
  { column: "classification", field: "realconv:classification", add: 0, min: 0, max: 255, measured: true },
  { column: "normalX", field: "nor:normalX", add: 0, min: 0, max: 0, float: "single" },
  { column: "normalY", field: "nor:normalY", add: 0, min: 0, max: 0, float: "single" },
  { column: "normalZ", field: "nor:normalZ", add: 0, min: 0, max: 0, float: "single" },
];

/** E57 extension namespaces: "nor" is libE57's surface-normals extension; "realconv" carries classification. */
const NAMESPACES: Record<string, string> = {
  nor: "http://www.libe57.org/E57_NOR_surface_normals.txt",
  realconv: "https://github.com/realconv/e57-extensions/v1",
};

/** Standard E57 per-point integer fields that arrive as extra attributes (e.g. from our E57 reader). */
const STANDARD_INT_EXTRAS = new Set(["rowIndex", "columnIndex", "isIntensityInvalid", "isColorInvalid", "isTimeStampInvalid"]);
const INT_RANGES: Partial<Record<ExtraAttribute["type"], [number, number]>> = {
  u8: [0, 255],
  i8: [-128, 127],
  u16: [0, 65535],
  i16: [-32768, 32767],
  u32: [0, 4294967295],
  i32: [INT32_MIN, INT32_MAX],
};

interface ExtraPlan {
  name: string;
  field: string;
  /** Integer range of the source type; undefined: written as Float. */
  range: [number, number] | undefined;
  precision: "single" | "double";
}

/**
 * Where each extra attribute goes: standard E57 names keep their name; anything else becomes a
 * "realconv:" extension field (the reader strips the prefix again), as Integer for integer types
 * up to 32 bits and as Float otherwise.
 */
function planExtras(extra: readonly ExtraAttribute[], taken: Set<string>): ExtraPlan[] {
  return extra.map((e) => {
    const range = INT_RANGES[e.type];
    let field: string;
    if (STANDARD_INT_EXTRAS.has(e.name) && range) field = e.name;
    else {
      let base = (e.name.startsWith("realconv:") ? e.name.slice(9) : e.name).replace(/[^A-Za-z0-9_.-]/g, "_");
      if (!/^[A-Za-z_]/.test(base)) base = "_" + base;
      field = `realconv:${base}`;
    }
    let unique = field;
    for (let k = 2; taken.has(unique); k++) unique = `${field}_${k}`;
    taken.add(unique);
    return { name: e.name, field: unique, range, precision: e.type === "f32" ? "single" : "double" };
  });
}

function extraOf(c: PointChunk, name: string): Float64Array {
  const arr = c.extra?.[name];
  if (!arr || arr.length < c.count) throw new Error(`E57Writer: chunk lacks extra attribute ${name} of the schema`);
  return arr;
}

export class E57Writer {
  private readonly paged: PagedWriter;
  private readonly scansXml: string[] = [];
  private readonly namespaces = new Set<string>();
  private crs: string | undefined;
  private started = false;
  private busy = false;
  private finished = false;

  constructor(
    sink: E57ByteSink,
    private readonly options: E57WriterOptions = {},
  ) {
    this.paged = new PagedWriter(sink);
    this.crs = options.crs;
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.paged.hold(0, 48);
    await this.paged.writeZeros(48);
  }

  /** Writes one scan (data3D entry). Scans are written one after the other, never concurrently. */
  async addScan(
    name: string,
    schema: PointSchema,
    chunks: E57ChunkInput,
    options: E57ScanOptions = {},
  ): Promise<E57WrittenScan> {
    if (this.finished) throw new Error("E57Writer: addScan after finish");
    if (this.busy) throw new Error("E57Writer: scans must be added one after the other");
    this.busy = true;
    try {
      if (options.crs !== undefined) {
        if (this.crs !== undefined && this.crs !== options.crs) {
          throw new Error("E57Writer: an E57 file holds one CRS; scans with different CRSs cannot share a file");
        }
        this.crs = options.crs;
      }
      await this.start();
      return await this.writeScan(name, schema, chunks, options);
    } finally {
      this.busy = false;
    }
  }

  private async writeScan(
    name: string,
    schema: PointSchema,
    input: E57ChunkInput,
    options: E57ScanOptions,
  ): Promise<E57WrittenScan> {
    const twoPass = typeof input === "function";
    const open = (): AsyncIterable<PointChunk> => iterate(typeof input === "function" ? input() : input);
    const columns = COLUMN_FIELDS.filter((c) => schema.columns.includes(c.column));
    const extras = planExtras(schema.extra, new Set(COLUMN_FIELDS.map((c) => c.field)));

    // Decide the coordinate type from the first chunk, and in two-pass mode measure the integer ranges.
    let posKind: "f64" | "i32" | undefined;
    let scale: readonly [number, number, number] = [1, 1, 1];
    let offset: readonly [number, number, number] = [0, 0, 0];
    const ranges = new Map<string, [number, number]>();
    const note = (k: string, lo: number, hi: number): void => {
      const r = ranges.get(k);
      if (!r) ranges.set(k, [lo, hi]);
      else {
        if (lo < r[0]) r[0] = lo;
        if (hi > r[1]) r[1] = hi;
      }
    };
    // Two-pass mode: 16-bit colours that are all multiples of 257 came from 8 bits; store them as 0..255.
    let colour8 = twoPass && columns.some((c) => c.colour);
    let iterator: AsyncIterator<PointChunk> | undefined;
    let pending: PointChunk | undefined;
    if (twoPass) {
      const raw = [new Float64Array(0), new Float64Array(0), new Float64Array(0)];
      for await (const c of open()) {
        if (c.count === 0) continue;
        if (posKind === undefined) ({ posKind, scale, offset } = firstPositions(c.positions));
        if (posKind === "i32") {
          for (let a = 0; a < 3; a++) {
            if (raw[a].length < c.count) raw[a] = new Float64Array(c.count);
            rawAxis(c.positions, a, scale[a], offset[a], raw[a], 0, 0, c.count);
            let lo = Infinity;
            let hi = -Infinity;
            const r = raw[a];
            for (let i = 0; i < c.count; i++) {
              const v = r[i];
              if (v < lo) lo = v;
              if (v > hi) hi = v;
            }
            note("xyz"[a], lo, hi);
          }
        }
        for (const col of columns) {
          if (col.float) continue;
          const arr = columnOf(c, col.column);
          if (col.colour && colour8) {
            for (let i = 0; i < c.count; i++) {
              if (arr[i] % 257 !== 0) {
                colour8 = false;
                break;
              }
            }
          }
          if (!col.measured) continue;
          let lo = Infinity;
          let hi = -Infinity;
          for (let i = 0; i < c.count; i++) {
            const v = arr[i];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
          note(col.field, Math.max(0, lo + col.add), Math.max(0, hi + col.add));
        }
        for (const e of extras) {
          if (!e.range) continue;
          const arr = extraOf(c, e.name);
          let lo = Infinity;
          let hi = -Infinity;
          for (let i = 0; i < c.count; i++) {
            const v = Math.round(arr[i]);
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
          note(e.field, lo, hi);
        }
      }
    } else {
      iterator = open()[Symbol.asyncIterator]();
      for (;;) {
        const r = await iterator.next();
        if (r.done) break;
        if (r.value.count > 0) {
          pending = r.value;
          ({ posKind, scale, offset } = firstPositions(r.value.positions));
          break;
        }
      }
    }
    posKind ??= "f64";

    // Packet capacity: n records, a multiple of 8 so each bytestream ends on a byte boundary
    // (a stream continues across packets, so no padding bits may sit between packets).
    const fields: FieldEnc[] = [];
    const mk = (
      name: string,
      type: FieldEnc["type"],
      source: Source,
      min: number,
      max: number,
      precision: "single" | "double" = "double",
    ): void => {
      const prefix = name.includes(":") ? name.slice(0, name.indexOf(":")) : undefined;
      if (prefix) this.namespaces.add(prefix);
      fields.push({
        name,
        type,
        source,
        min,
        max,
        precision,
        bits: type === "Float" ? (precision === "single" ? 32 : 64) : bitsFor(min, max),
        staging: new Float64Array(0),
        seenMin: Infinity,
        seenMax: -Infinity,
      });
    };
    for (const k of ["x", "y", "z"] as const) {
      const fname = `cartesian${k.toUpperCase()}`;
      if (posKind === "i32") {
        const r = twoPass ? (ranges.get(k) ?? [0, 0]) : [INT32_MIN, INT32_MAX];
        mk(fname, "ScaledInteger", { kind: k }, r[0], r[1]);
      } else mk(fname, "Float", { kind: k }, 0, 0);
    }
    for (const c of columns) {
      const source = { kind: "column", column: c.column, add: c.add, div: 1 } as const;
      if (c.float) mk(c.field, "Float", source, 0, 0, c.float);
      else if (c.colour && colour8) mk(c.field, "Integer", { ...source, div: 257 }, 0, 255);
      else {
        const r = twoPass && c.measured ? (ranges.get(c.field) ?? [0, 0]) : [c.min, c.max];
        mk(c.field, "Integer", source, r[0], r[1]);
      }
    }
    for (const e of extras) {
      if (!e.range) mk(e.field, "Float", { kind: "extra", name: e.name, round: false }, 0, 0, e.precision);
      else {
        const r = twoPass ? (ranges.get(e.field) ?? [0, 0]) : e.range;
        mk(e.field, "Integer", { kind: "extra", name: e.name, round: true }, r[0], r[1]);
      }
    }
    const sumBits = fields.reduce((s, f) => s + f.bits, 0);
    const header = 6 + 2 * fields.length;
    const perPacket =
      sumBits === 0 ? 65536 : Math.max(8, Math.floor(((PACKET_MAX - header - 3) * 8) / sumBits) & ~7);
    for (const f of fields) f.staging = new Float64Array(perPacket);

    // Section header placeholder; patched once the section length is known.
    const paged = this.paged;
    const secStart = paged.logicalPos;
    paged.hold(secStart, 32);
    await paged.writeZeros(32);

    let total = 0;
    let filled = 0;
    const packet = new Uint8Array(PACKET_MAX);
    const pdv = new DataView(packet.buffer);
    const emit = async (n: number): Promise<void> => {
      let o = header;
      const lengths: number[] = [];
      for (const f of fields) {
        const start = o;
        const s = f.staging;
        if (f.type === "Float" && f.precision === "single") {
          for (let i = 0; i < n; i++, o += 4) {
            pdv.setFloat32(o, s[i], true);
            const v = Math.fround(s[i]);
            if (v < f.seenMin) f.seenMin = v;
            if (v > f.seenMax) f.seenMax = v;
          }
        } else if (f.type === "Float") {
          for (let i = 0; i < n; i++, o += 8) {
            const v = s[i];
            pdv.setFloat64(o, v, true);
            if (v < f.seenMin) f.seenMin = v;
            if (v > f.seenMax) f.seenMax = v;
          }
        } else {
          o = packBits(packet, o, s, n, f);
        }
        lengths.push(o - start);
      }
      const len = (o + 3) & ~3;
      packet.fill(0, o, len);
      packet[0] = 1;
      packet[1] = 0;
      pdv.setUint16(2, len - 1, true);
      pdv.setUint16(4, fields.length, true);
      lengths.forEach((l, k) => pdv.setUint16(6 + 2 * k, l, true));
      await paged.write(packet.subarray(0, len));
    };

    const add = async (c: PointChunk): Promise<void> => {
      if (c.count === 0) return;
      const cols = fields.map((f) =>
        f.source.kind === "column" ? columnOf(c, f.source.column) : f.source.kind === "extra" ? extraOf(c, f.source.name) : undefined,
      );
      if (c.positions.x.length < c.count) throw new Error("E57Writer: chunk positions shorter than count");
      let i = 0;
      while (i < c.count) {
        const k = Math.min(perPacket - filled, c.count - i);
        for (let fi = 0; fi < fields.length; fi++) {
          const f = fields[fi];
          const src = f.source;
          if (src.kind === "column") {
            const arr = cols[fi]!;
            const s = f.staging;
            if (src.div !== 1) for (let j = 0; j < k; j++) s[filled + j] = arr[i + j] / src.div;
            else if (src.add === 0) s.set(arr.subarray(i, i + k), filled);
            else for (let j = 0; j < k; j++) s[filled + j] = Math.max(0, arr[i + j] + src.add);
          } else if (src.kind === "extra") {
            const arr = cols[fi]!;
            const s = f.staging;
            if (src.round) for (let j = 0; j < k; j++) s[filled + j] = Math.round(arr[i + j]);
            else s.set(arr.subarray(i, i + k), filled);
          } else {
            const a = src.kind === "x" ? 0 : src.kind === "y" ? 1 : 2;
            if (posKind === "i32") {
              rawAxis(c.positions, a, scale[a], offset[a], f.staging, filled, i, k);
              checkRange(f, filled, k);
            } else {
              const p = c.positions;
              const arr = a === 0 ? p.x : a === 1 ? p.y : p.z;
              if (p.kind === "f64") f.staging.set((arr as Float64Array).subarray(i, i + k), filled);
              else {
                const sc = p.scale[a];
                const of = p.offset[a];
                for (let j = 0; j < k; j++) f.staging[filled + j] = arr[i + j] * sc + of;
              }
            }
          }
        }
        filled += k;
        i += k;
        total += k;
        if (filled === perPacket) {
          await emit(filled);
          filled = 0;
        }
      }
    };

    if (twoPass) {
      for await (const c of open()) await add(c);
    } else {
      if (pending) await add(pending);
      if (iterator) {
        for (;;) {
          const r = await iterator.next();
          if (r.done) break;
          await add(r.value);
        }
      }
    }
    if (filled > 0) await emit(filled);

    const secEnd = paged.logicalPos;
    const sh = new Uint8Array(32);
    const sdv = new DataView(sh.buffer);
    sh[0] = 1;
    sdv.setBigUint64(8, BigInt(secEnd - secStart), true);
    sdv.setBigUint64(16, BigInt(logicalToPhysical(secStart + 32)), true);
    sdv.setBigUint64(24, 0n, true);
    paged.patch(secStart, sh);

    // Bounds in the written frame (ScaledInteger: from the raw range actually written).
    let bounds: number[] | undefined;
    if (total > 0) {
      bounds = [0, 0, 0, 0, 0, 0];
      for (let a = 0; a < 3; a++) {
        const f = fields[a];
        if (f.type === "Float") {
          bounds[a] = f.seenMin;
          bounds[a + 3] = f.seenMax;
        } else {
          bounds[a] = f.seenMin * scale[a] + offset[a];
          bounds[a + 3] = f.seenMax * scale[a] + offset[a];
        }
      }
      // NaN or infinite coordinates (or none but NaN) leave no meaningful bounds; XML cannot carry infinities.
      if (!bounds.every(Number.isFinite)) bounds = undefined;
    }
    const guid = options.guid ?? newGuid();
    this.scansXml.push(
      scanXml(name, guid, options, fields, columns, colour8 ? 255 : 65535, bounds, total, logicalToPhysical(secStart), scale, offset),
    );
    return { name, guid, pointCount: total, bounds, coordinateType: posKind === "i32" ? "ScaledInteger" : "Float" };
  }

  /**
   * Writes the XML section and the last page. Returns the pages to write over the placeholders
   * (header page, section header pages) and the final file length.
   */
  async finish(): Promise<{ patches: E57Patch[]; fileLength: number }> {
    if (this.finished) throw new Error("E57Writer: finish called twice");
    if (this.busy) throw new Error("E57Writer: finish while a scan is being written");
    this.finished = true;
    await this.start();
    const o = this.options;
    const gps = o.creationGpsTime ?? Date.now() / 1000 - 315964800 + 18;
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<e57Root type="Structure" xmlns="http://www.astm.org/COMMIT/E57/2010-e57-v1.0"` +
      [...this.namespaces].sort().map((p) => ` xmlns:${p}="${escapeXml(NAMESPACES[p])}"`).join("") +
      `>\n` +
      `  <formatName type="String">${cdata("ASTM E57 3D Imaging Data File")}</formatName>\n` +
      `  <guid type="String">${cdata(o.guid ?? newGuid())}</guid>\n` +
      `  <versionMajor type="Integer">1</versionMajor>\n` +
      `  <versionMinor type="Integer">0</versionMinor>\n` +
      `  <e57LibraryVersion type="String">${cdata(o.libraryVersion ?? "realconv-e57")}</e57LibraryVersion>\n` +
      (this.crs
        ? `  <coordinateMetadata type="String">${cdata(this.crs)}</coordinateMetadata>\n`
        : `  <coordinateMetadata type="String"/>\n`) +
      `  <creationDateTime type="Structure">\n` +
      `    <dateTimeValue type="Float">${fmt(gps)}</dateTimeValue>\n` +
      `    <isAtomicClockReferenced type="Integer">0</isAtomicClockReferenced>\n` +
      `  </creationDateTime>\n` +
      `  <data3D type="Vector" allowHeterogeneousChildren="1">\n` +
      this.scansXml.join("") +
      `  </data3D>\n` +
      `  <images2D type="Vector" allowHeterogeneousChildren="1"/>\n` +
      `</e57Root>\n`;
    const bytes = new TextEncoder().encode(xml);
    const paged = this.paged;
    const xmlLogical = paged.logicalPos;
    await paged.write(bytes);
    const pages = Math.ceil(paged.logicalPos / 1020);
    const head = new Uint8Array(48);
    const dv = new DataView(head.buffer);
    head.set(new TextEncoder().encode("ASTM-E57"), 0);
    dv.setUint32(8, 1, true);
    dv.setUint32(12, 0, true);
    dv.setBigUint64(16, BigInt(pages * 1024), true);
    dv.setBigUint64(24, BigInt(logicalToPhysical(xmlLogical)), true);
    dv.setBigUint64(32, BigInt(bytes.length), true);
    dv.setBigUint64(40, 1024n, true);
    paged.patch(0, head);
    return paged.finish();
  }
}

function firstPositions(p: Positions): {
  posKind: "f64" | "i32";
  scale: readonly [number, number, number];
  offset: readonly [number, number, number];
} {
  return p.kind === "i32"
    ? { posKind: "i32", scale: p.scale, offset: p.offset }
    : { posKind: "f64", scale: [1, 1, 1], offset: [0, 0, 0] };
}

/** Raw integers of axis a in the writer's scale/offset; chunks with another quantization are requantized. */
function rawAxis(
  p: Positions,
  a: number,
  scale: number,
  offset: number,
  out: Float64Array,
  at: number,
  from: number,
  k: number,
): void {
  const arr = a === 0 ? p.x : a === 1 ? p.y : p.z;
  if (p.kind === "i32" && p.scale[a] === scale && p.offset[a] === offset) {
    out.set((arr as Int32Array).subarray(from, from + k), at);
    return;
  }
  const s = p.kind === "i32" ? p.scale[a] : 1;
  const o = p.kind === "i32" ? p.offset[a] : 0;
  for (let j = 0; j < k; j++) out[at + j] = Math.round((arr[from + j] * s + o - offset) / scale);
}

function checkRange(f: FieldEnc, at: number, k: number): void {
  const s = f.staging;
  for (let j = at; j < at + k; j++) {
    const v = s[j];
    if (v < f.min || v > f.max) {
      throw new Error(`E57Writer: ${f.name} raw value ${v} is outside ${f.min}..${f.max} (requantized chunk?)`);
    }
    if (v < f.seenMin) f.seenMin = v;
    if (v > f.seenMax) f.seenMax = v;
  }
}

function columnOf(c: PointChunk, col: ColumnName): ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> } {
  const arr = c[col] as (ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }) | undefined;
  if (!arr || arr.length < c.count) throw new Error(`E57Writer: chunk lacks column ${col} of the schema`);
  return arr;
}

/** Packs n values (minus f.min) LSB-first, f.bits each, at packet[o...]; returns the end offset. */
function packBits(packet: Uint8Array, o: number, s: Float64Array, n: number, f: FieldEnc): number {
  const bits = f.bits;
  if (bits === 0) return o;
  const min = f.min;
  const max = f.max;
  for (let i = 0; i < n; i++) {
    const v = s[i];
    if (!(v >= min && v <= max)) throw new Error(`E57Writer: ${f.name} value ${v} is outside ${min}..${max}`);
  }
  if (bits === 8 || bits === 16) {
    // Byte-aligned fast path (colours, intensity in single-pass mode).
    if (bits === 8) for (let i = 0; i < n; i++) packet[o++] = s[i] - min;
    else
      for (let i = 0; i < n; i++) {
        const u = s[i] - min;
        packet[o++] = u & 0xff;
        packet[o++] = u >>> 8;
      }
    return o;
  }
  let acc = 0; // pending bits, fewer than 8 between values
  let accBits = 0;
  if (bits <= 24) {
    for (let i = 0; i < n; i++) {
      acc |= (s[i] - min) << accBits;
      accBits += bits;
      while (accBits >= 8) {
        packet[o++] = acc & 0xff;
        acc >>>= 8;
        accBits -= 8;
      }
    }
  } else if (bits <= 32) {
    // 25..32 bits: the low 16 bits, then the high part, so the accumulator stays within 31 bits.
    const hiBits = bits - 16;
    for (let i = 0; i < n; i++) {
      const u = s[i] - min;
      acc |= (u & 0xffff) << accBits;
      accBits += 16;
      while (accBits >= 8) {
        packet[o++] = acc & 0xff;
        acc >>>= 8;
        accBits -= 8;
      }
      acc |= (u >>> 16) << accBits;
      accBits += hiBits;
      while (accBits >= 8) {
        packet[o++] = acc & 0xff;
        acc >>>= 8;
        accBits -= 8;
      }
    }
  } else {
    // Wider values: push the low 24 bits then the rest, keeping every step within 32-bit integer ops.
    const hiBits = bits - 24;
    for (let i = 0; i < n; i++) {
      const u = s[i] - min;
      const lo = u % 16777216;
      let hi = (u - lo) / 16777216;
      acc |= lo << accBits;
      accBits += 24;
      while (accBits >= 8) {
        packet[o++] = acc & 0xff;
        acc >>>= 8;
        accBits -= 8;
      }
      let left = hiBits;
      while (left > 0) {
        const take = Math.min(left, 16);
        const part = hi % 65536;
        hi = (hi - part) / 65536;
        acc |= (take === 16 ? part : part & ((1 << take) - 1)) << accBits;
        accBits += take;
        left -= take;
        while (accBits >= 8) {
          packet[o++] = acc & 0xff;
          acc >>>= 8;
          accBits -= 8;
        }
      }
    }
  }
  if (accBits > 0) packet[o++] = acc & 0xff;
  return o;
}

function scanXml(
  name: string,
  guid: string,
  options: E57ScanOptions,
  fields: FieldEnc[],
  columns: typeof COLUMN_FIELDS,
  colourMax: number,
  bounds: number[] | undefined,
  count: number,
  sectionPhysical: number,
  scale: readonly [number, number, number],
  offset: readonly [number, number, number],
): string {
  const pose = options.pose ?? { rotation: [1, 0, 0, 0], translation: [0, 0, 0] };
  const fl = (tag: string, v: number): string => `<${tag} type="Float">${fmt(v)}</${tag}>`;
  const int = (tag: string, v: number): string => `<${tag} type="Integer">${fmt(v)}</${tag}>`;
  let x = `    <vectorChild type="Structure">\n`;
  x += `      <guid type="String">${cdata(guid)}</guid>\n`;
  x += `      <name type="String">${cdata(name)}</name>\n`;
  if (options.description) x += `      <description type="String">${cdata(options.description)}</description>\n`;
  x +=
    `      <pose type="Structure">\n` +
    `        <rotation type="Structure">${fl("w", pose.rotation[0])}${fl("x", pose.rotation[1])}${fl("y", pose.rotation[2])}${fl("z", pose.rotation[3])}</rotation>\n` +
    `        <translation type="Structure">${fl("x", pose.translation[0])}${fl("y", pose.translation[1])}${fl("z", pose.translation[2])}</translation>\n` +
    `      </pose>\n`;
  if (bounds) {
    x +=
      `      <cartesianBounds type="Structure">` +
      `${fl("xMinimum", bounds[0])}${fl("xMaximum", bounds[3])}${fl("yMinimum", bounds[1])}${fl("yMaximum", bounds[4])}${fl("zMinimum", bounds[2])}${fl("zMaximum", bounds[5])}` +
      `</cartesianBounds>\n`;
  }
  // Limits give the full scale and equal the prototype bounds (see COLUMN_FIELDS).
  if (columns.some((c) => c.column === "intensity")) {
    x += `      <intensityLimits type="Structure">${int("intensityMinimum", 0)}${int("intensityMaximum", 65535)}</intensityLimits>\n`;
  }
  if (columns.some((c) => c.column === "red")) {
    x +=
      `      <colorLimits type="Structure">` +
      `${int("colorRedMinimum", 0)}${int("colorRedMaximum", colourMax)}${int("colorGreenMinimum", 0)}${int("colorGreenMaximum", colourMax)}${int("colorBlueMinimum", 0)}${int("colorBlueMaximum", colourMax)}` +
      `</colorLimits>\n`;
  }
  x += `      <points type="CompressedVector" fileOffset="${sectionPhysical}" recordCount="${count}">\n`;
  x += `        <prototype type="Structure">\n`;
  for (const [i, f] of fields.entries()) {
    let attrs: string;
    if (f.type === "Float") {
      attrs = `type="Float"` + (f.precision === "single" ? ` precision="single"` : "") + (Number.isFinite(f.seenMin) && Number.isFinite(f.seenMax) ? ` minimum="${fmt(f.seenMin)}" maximum="${fmt(f.seenMax)}"` : "");
    } else if (f.type === "ScaledInteger") {
      attrs = `type="ScaledInteger" minimum="${fmt(f.min)}" maximum="${fmt(f.max)}" scale="${fmt(scale[i])}" offset="${fmt(offset[i])}"`;
    } else {
      attrs = `type="Integer" minimum="${fmt(f.min)}" maximum="${fmt(f.max)}"`;
    }
    x += `          <${escapeXml(f.name)} ${attrs}/>\n`;
  }
  x += `        </prototype>\n`;
  x += `        <codecs type="Vector" allowHeterogeneousChildren="1"/>\n`;
  x += `      </points>\n`;
  x += `    </vectorChild>\n`;
  return x;
}

/** Applies the writer's patches to a whole file held in memory. */
export function applyE57Patches(file: Uint8Array, patches: readonly E57Patch[]): void {
  for (const p of patches) file.set(p.bytes, p.offset);
}

export interface E57ScanInput {
  name: string;
  schema: PointSchema;
  chunks: E57ChunkInput;
  options?: E57ScanOptions;
}

/** Writes a whole E57 file into memory (tests, small clouds). */
export async function writeE57ToBytes(scans: readonly E57ScanInput[], options: E57WriterOptions = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const w = new E57Writer((b) => {
    parts.push(b);
  }, options);
  for (const s of scans) await w.addScan(s.name, s.schema, s.chunks, s.options);
  const { patches, fileLength } = await w.finish();
  const out = new Uint8Array(fileLength);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  applyE57Patches(out, patches);
  return out;
}
