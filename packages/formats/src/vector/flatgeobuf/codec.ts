/**
 * FlatGeobuf headers and features (FlatBuffers tables, through the flatgeobuf package's generated schema
 * classes) to and from the vector model. Layout of a file: magic (8 bytes), size-prefixed Header, the
 * packed R-tree (rtree.ts), then size-prefixed Features in index order.
 */
import * as flatbuffers from "flatbuffers";
import { Column } from "flatgeobuf/lib/mjs/flat-geobuf/column.js";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import { Crs } from "flatgeobuf/lib/mjs/flat-geobuf/crs.js";
import { Feature } from "flatgeobuf/lib/mjs/flat-geobuf/feature.js";
import type { Geometry as FgbGeometry } from "flatgeobuf/lib/mjs/flat-geobuf/geometry.js";
import { GeometryType as FgbType } from "flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js";
import { Header } from "flatgeobuf/lib/mjs/flat-geobuf/header.js";
import { FormatError } from "../../io/byte-source.js";
import { geometryBounds, type Geometry, type GeometryType, type Position, type PropertyValue, type VectorFeature } from "../feature.js";

export { ColumnType };

export const MAGIC = new Uint8Array([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00]);

export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

export interface HeaderSpec {
  name: string;
  title?: string;
  description?: string;
  /** A JSON text of what the store adds (layers and their counts). */
  metadata?: string;
  geometryType: GeometryType | "Unknown";
  hasZ: boolean;
  columns: readonly ColumnSpec[];
  featuresCount: number;
  indexNodeSize: number;
  envelope?: readonly number[];
  crs?: { code?: number; wkt?: string };
}

const TYPE_CODES: Record<GeometryType | "Unknown", FgbType> = {
  Unknown: FgbType.Unknown,
  Point: FgbType.Point,
  LineString: FgbType.LineString,
  Polygon: FgbType.Polygon,
  MultiPoint: FgbType.MultiPoint,
  MultiLineString: FgbType.MultiLineString,
  MultiPolygon: FgbType.MultiPolygon,
  GeometryCollection: FgbType.GeometryCollection,
};
const TYPE_NAMES = new Map<number, GeometryType>(Object.entries(TYPE_CODES).filter(([k]) => k !== "Unknown").map(([k, v]) => [v, k as GeometryType]));

/** Magic and size-prefixed header. */
export function encodeHeader(h: HeaderSpec): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  const columns = h.columns.map((c) => {
    const name = b.createString(c.name);
    Column.startColumn(b);
    Column.addName(b, name);
    Column.addType(b, c.type);
    Column.addNullable(b, true);
    return Column.endColumn(b);
  });
  const name = b.createString(h.name);
  const title = h.title !== undefined ? b.createString(h.title) : 0;
  const description = h.description !== undefined ? b.createString(h.description) : 0;
  const metadata = h.metadata !== undefined ? b.createString(h.metadata) : 0;
  let crs = 0;
  if (h.crs) {
    const wkt = h.crs.wkt ? b.createString(h.crs.wkt) : 0;
    const org = h.crs.code !== undefined ? b.createString("EPSG") : 0;
    Crs.startCrs(b);
    if (org) Crs.addOrg(b, org);
    if (h.crs.code !== undefined) Crs.addCode(b, h.crs.code);
    if (wkt) Crs.addWkt(b, wkt);
    crs = Crs.endCrs(b);
  }
  const columnsVector = columns.length > 0 ? Header.createColumnsVector(b, columns) : 0;
  const envelope = h.envelope ? Header.createEnvelopeVector(b, [...h.envelope]) : 0;
  Header.startHeader(b);
  Header.addName(b, name);
  if (envelope) Header.addEnvelope(b, envelope);
  Header.addGeometryType(b, TYPE_CODES[h.geometryType]);
  Header.addHasZ(b, h.hasZ);
  if (columnsVector) Header.addColumns(b, columnsVector);
  Header.addFeaturesCount(b, BigInt(h.featuresCount));
  Header.addIndexNodeSize(b, h.indexNodeSize);
  if (crs) Header.addCrs(b, crs);
  if (title) Header.addTitle(b, title);
  if (description) Header.addDescription(b, description);
  if (metadata) Header.addMetadata(b, metadata);
  Header.finishSizePrefixedHeaderBuffer(b, Header.endHeader(b));
  const body = b.asUint8Array();
  const out = new Uint8Array(MAGIC.byteLength + body.byteLength);
  out.set(MAGIC);
  out.set(body, MAGIC.byteLength);
  return out;
}

const textEncoder = new TextEncoder();

/** Reused buffer for property bytes (grown as needed). */
let propBuf = new Uint8Array(1 << 16);
let propView = new DataView(propBuf.buffer);

function ensureProps(n: number): void {
  if (n <= propBuf.byteLength) return;
  const next = new Uint8Array(Math.max(n, propBuf.byteLength * 2));
  next.set(propBuf);
  propBuf = next;
  propView = new DataView(next.buffer);
}

/** Property bytes: per non-null value, the u16 column index then the value in its column's type. */
function encodeProperties(properties: Record<string, PropertyValue>, columns: ReadonlyMap<string, { index: number; type: ColumnType }>): Uint8Array {
  let o = 0;
  for (const name in properties) {
    const value = properties[name];
    if (value === null || value === undefined) continue;
    const col = columns.get(name);
    if (!col) throw new Error(`property ${name} has no column`);
    ensureProps(o + 10);
    propView.setUint16(o, col.index, true);
    o += 2;
    switch (col.type) {
      case ColumnType.Bool:
        propBuf[o++] = value ? 1 : 0;
        break;
      case ColumnType.Int:
        propView.setInt32(o, value as number, true);
        o += 4;
        break;
      case ColumnType.Long:
        propView.setBigInt64(o, BigInt(value as number), true);
        o += 8;
        break;
      case ColumnType.Double:
        propView.setFloat64(o, value as number, true);
        o += 8;
        break;
      default: {
        const text = col.type === ColumnType.Json ? JSON.stringify(value) : String(value);
        // UTF-8 takes at most 3 bytes per UTF-16 unit.
        ensureProps(o + 4 + 3 * text.length);
        const { written } = textEncoder.encodeInto(text, propBuf.subarray(o + 4));
        propView.setUint32(o, written, true);
        o += 4 + written;
      }
    }
  }
  return propBuf.subarray(0, o);
}

/**
 * Writes one size-prefixed Feature table front to back into a reused buffer (FlatBuffers allows any
 * layout where every uoffset points forward): vtables before their tables, vectors after them. Offsets are
 * aligned from the start of the size prefix, as the FlatBuffers builder aligns them, so a reader that
 * views coordinates as Float64Arrays over a copy of a feature finds them 8-aligned. No intermediate
 * arrays or builder objects per feature.
 */
class FeatureWriter {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  private f64 = new Float64Array(this.buf.buffer);
  private pos = 0;
  /** Whether f64 values were written (the feature's length is then a multiple of 8). */
  private wide = false;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.pos + n, 2 * this.buf.byteLength) + 7 & ~7);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
    this.f64 = new Float64Array(next.buffer);
  }

  /** Zero padding up to a multiple of `to`, plus `skew`: the next value starts at `skew` mod `to`. */
  private align(to: number, skew = 0): void {
    this.ensure(to);
    while (this.pos % to !== skew) this.buf[this.pos++] = 0;
  }

  private u32(v: number): number {
    const at = this.pos;
    this.dv.setUint32(at, v, true);
    this.pos += 4;
    return at;
  }

  /** Points the uoffset at `field` to `target` (after it). */
  private patch(field: number, target: number): void {
    this.dv.setUint32(field, target - field, true);
  }

  /** A vtable of `slots` fields (offsets within the table; 0: absent), then the table's soffset. */
  private table(tableSize: number, slots: readonly number[]): number {
    this.align(2);
    this.ensure(4 + 2 * slots.length + 8);
    const vtable = this.pos;
    this.dv.setUint16(this.pos, 4 + 2 * slots.length, true);
    this.dv.setUint16(this.pos + 2, tableSize, true);
    this.pos += 4;
    for (const s of slots) {
      this.dv.setUint16(this.pos, s, true);
      this.pos += 2;
    }
    this.align(4);
    const table = this.pos;
    this.ensure(tableSize + 4);
    this.dv.setInt32(table, table - vtable, true);
    this.buf.fill(0, table + 4, table + tableSize);
    this.pos = table + tableSize;
    return table;
  }

  private points(lines: readonly Position[][]): number {
    let n = 0;
    for (const line of lines) n += line.length;
    return n;
  }

  /** A vector of f64: x and y of every position of `lines`, or (`z`) their heights, 0 where one has none. */
  private doubles(lines: readonly Position[][], count: number, z: boolean): number {
    this.align(8, 4);
    this.ensure(4 + 8 * count * (z ? 1 : 2));
    const at = this.u32(z ? count : 2 * count);
    let o = this.pos >> 3;
    const f64 = this.f64;
    for (const line of lines) {
      for (const p of line) {
        if (z) f64[o++] = p.length > 2 ? p[2] : 0;
        else {
          f64[o++] = p[0];
          f64[o++] = p[1];
        }
      }
    }
    this.pos = o << 3;
    this.wide = true;
    return at;
  }

  /** A Geometry table; returns its position. */
  private geometry(g: Geometry, hasZ: boolean): number {
    const type = TYPE_CODES[g.type];
    if (g.type === "MultiPolygon" || g.type === "GeometryCollection") {
      // Fields: type (slot 6, a byte after the soffset), parts (slot 7, the uoffset at 8).
      const table = this.table(12, [0, 0, 0, 0, 0, 0, 4, 8]);
      this.buf[table + 4] = type;
      const count = g.type === "MultiPolygon" ? g.coordinates.length : g.geometries.length;
      this.align(4);
      this.ensure(4 + 4 * count);
      this.patch(table + 8, this.u32(count));
      // The parts' uoffsets, each pointed at its table once that is written after them.
      const slots = this.pos;
      this.pos += 4 * count;
      for (let i = 0; i < count; i++) {
        const part = g.type === "MultiPolygon" ? this.geometry({ type: "Polygon", coordinates: g.coordinates[i] }, hasZ) : this.geometry(g.geometries[i], hasZ);
        this.patch(slots + 4 * i, part);
      }
      return table;
    }
    let lines: readonly Position[][];
    switch (g.type) {
      case "Point":
        lines = g.coordinates.length > 0 ? [[g.coordinates]] : [];
        break;
      case "MultiPoint":
      case "LineString":
        lines = [g.coordinates];
        break;
      default:
        lines = g.coordinates;
    }
    const withEnds = (g.type === "MultiLineString" || g.type === "Polygon") && lines.length > 1;
    // Table: soffset, [ends], xy, [z] uoffsets, then the type byte (field offsets within the table).
    const endsAt = withEnds ? 4 : 0;
    const xyAt = withEnds ? 8 : 4;
    const zAt = hasZ ? xyAt + 4 : 0;
    const typeAt = (hasZ ? zAt : xyAt) + 4;
    const table = this.table(typeAt + 1, [endsAt, xyAt, zAt, 0, 0, 0, typeAt]);
    this.buf[table + typeAt] = type;
    if (withEnds) {
      this.align(4);
      this.ensure(4 + 4 * lines.length);
      this.patch(table + endsAt, this.u32(lines.length));
      let end = 0;
      for (const line of lines) {
        end += line.length;
        this.u32(end);
      }
    }
    const count = this.points(lines);
    this.patch(table + xyAt, this.doubles(lines, count, false));
    if (hasZ) this.patch(table + zAt, this.doubles(lines, count, true));
    return table;
  }

  feature(geometry: Geometry | null, props: Uint8Array, hasZ: boolean): Uint8Array {
    this.pos = 0;
    this.wide = false;
    this.ensure(64);
    this.pos = 8; // size prefix and root offset, written last
    const geometryAt = geometry ? 4 : 0;
    const propsAt = props.byteLength > 0 ? (geometry ? 8 : 4) : 0;
    const slots = propsAt ? [geometryAt, propsAt] : geometryAt ? [geometryAt] : [];
    const table = this.table(4 + (geometryAt ? 4 : 0) + (propsAt ? 4 : 0), slots);
    this.dv.setUint32(4, table - 4, true);
    if (geometry) this.patch(table + geometryAt, this.geometry(geometry, hasZ));
    if (propsAt) {
      this.align(4);
      this.ensure(4 + props.byteLength);
      this.patch(table + propsAt, this.u32(props.byteLength));
      this.buf.set(props, this.pos);
      this.pos += props.byteLength;
    }
    this.align(this.wide ? 8 : 4);
    this.dv.setUint32(0, this.pos - 4, true);
    return this.buf.subarray(0, this.pos);
  }
}

/** Whether a geometry has at least one position (an empty one is written as none, as GDAL writes it). */
function hasPositions(g: Geometry): boolean {
  switch (g.type) {
    case "Point":
      return g.coordinates.length > 0;
    case "MultiPoint":
    case "LineString":
      return g.coordinates.length > 0;
    case "MultiLineString":
    case "Polygon":
      return g.coordinates.some((l) => l.length > 0);
    case "MultiPolygon":
      return g.coordinates.some((p) => p.some((l) => l.length > 0));
    case "GeometryCollection":
      return g.geometries.some(hasPositions);
  }
}

const featureWriter = new FeatureWriter();

/**
 * One size-prefixed Feature; an empty geometry is written as none, as GDAL writes it. The bytes are a view
 * of a buffer the next call reuses: copy them before encoding another feature.
 */
export function encodeFeature(f: VectorFeature, columns: ReadonlyMap<string, { index: number; type: ColumnType }>, hasZ: boolean): Uint8Array {
  const geometry = f.geometry && hasPositions(f.geometry) ? f.geometry : null;
  return featureWriter.feature(geometry, encodeProperties(f.properties, columns), hasZ);
}

export interface HeaderInfo {
  name: string;
  title?: string;
  description?: string;
  metadata?: string;
  geometryType: GeometryType | "Unknown";
  hasZ: boolean;
  columns: ColumnSpec[];
  featuresCount: number;
  indexNodeSize: number;
  envelope?: number[];
  crs?: { code?: number; wkt?: string };
  /** Bytes of magic and header: the index starts here. */
  headerEnd: number;
}

/** Size of magic and header, from the first 12 bytes of a file. */
export function headerLength(first12: Uint8Array, file: string): number {
  if (first12.byteLength < 12) throw new FormatError("too short for a FlatGeobuf file", file, 0);
  for (let i = 0; i < 3; i++) if (first12[i] !== MAGIC[i] || first12[i + 4] !== MAGIC[i + 4]) throw new FormatError("not a FlatGeobuf file (bad magic bytes)", file, 0);
  if (first12[3] !== 3) throw new FormatError(`FlatGeobuf version ${first12[3]} is not supported (3 is)`, file, 3);
  return 12 + new DataView(first12.buffer, first12.byteOffset, 12).getUint32(8, true);
}

export function decodeHeader(bytes: Uint8Array, file: string): HeaderInfo {
  const end = headerLength(bytes, file);
  if (bytes.byteLength < end) throw new FormatError("the header is cut short", file, bytes.byteLength);
  let h: Header;
  try {
    h = Header.getRootAsHeader(new flatbuffers.ByteBuffer(bytes.subarray(12, end)));
  } catch (e) {
    throw new FormatError(`bad header: ${(e as Error).message}`, file, 12);
  }
  const columns: ColumnSpec[] = [];
  for (let i = 0; i < h.columnsLength(); i++) {
    const c = h.columns(i)!;
    columns.push({ name: c.name() ?? `column${i}`, type: c.type() });
  }
  const crs = h.crs();
  const envelope = h.envelopeArray();
  return {
    name: h.name() ?? "",
    title: h.title() ?? undefined,
    description: h.description() ?? undefined,
    metadata: h.metadata() ?? undefined,
    geometryType: TYPE_NAMES.get(h.geometryType()) ?? "Unknown",
    hasZ: h.hasZ(),
    columns,
    featuresCount: Number(h.featuresCount()),
    indexNodeSize: h.indexNodeSize(),
    envelope: envelope && envelope.length >= 4 ? [...envelope] : undefined,
    crs: crs ? { code: crs.code() || undefined, wkt: crs.wkt() ?? undefined } : undefined,
    headerEnd: end,
  };
}

function positions(xy: Float64Array, z: Float64Array | null, from: number, to: number): Position[] {
  const out: Position[] = new Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = z ? [xy[2 * i], xy[2 * i + 1], z[i]] : [xy[2 * i], xy[2 * i + 1]];
  return out;
}

function lines(g: FgbGeometry): Position[][] {
  const xy = g.xyArray() ?? new Float64Array(0);
  const z = g.zArray();
  const n = xy.length / 2;
  const ends = g.endsArray();
  if (!ends || ends.length === 0) return [positions(xy, z, 0, n)];
  const out: Position[][] = [];
  let start = 0;
  for (const end of ends) {
    out.push(positions(xy, z, start, end));
    start = end;
  }
  return out;
}

function decodeGeometry(g: FgbGeometry, type: number, file: string, offset: number): Geometry {
  const name = TYPE_NAMES.get(type);
  switch (name) {
    case "Point": {
      const [p] = lines(g)[0];
      return { type: "Point", coordinates: p ?? [] };
    }
    case "MultiPoint":
      return { type: "MultiPoint", coordinates: lines(g)[0] };
    case "LineString":
      return { type: "LineString", coordinates: lines(g)[0] };
    case "MultiLineString":
      return { type: "MultiLineString", coordinates: lines(g) };
    case "Polygon":
      return { type: "Polygon", coordinates: lines(g) };
    case "MultiPolygon": {
      const polys: Position[][][] = [];
      for (let i = 0; i < g.partsLength(); i++) polys.push(lines(g.parts(i)!));
      return { type: "MultiPolygon", coordinates: polys };
    }
    case "GeometryCollection": {
      const parts: Geometry[] = [];
      for (let i = 0; i < g.partsLength(); i++) {
        const p = g.parts(i)!;
        parts.push(decodeGeometry(p, p.type(), file, offset));
      }
      return { type: "GeometryCollection", geometries: parts };
    }
    default:
      throw new FormatError(`geometry type ${type} is not supported`, file, offset);
  }
}

const textDecoder = new TextDecoder();

/** A Feature table (without its size prefix); `offset` places it in the file for messages. */
export function decodeFeature(bytes: Uint8Array, header: HeaderInfo, file: string, offset: number): VectorFeature {
  let f: Feature;
  try {
    f = Feature.getRootAsFeature(new flatbuffers.ByteBuffer(bytes));
  } catch (e) {
    throw new FormatError(`bad feature: ${(e as Error).message}`, file, offset);
  }
  const g = f.geometry();
  const type = header.geometryType === "Unknown" ? g?.type() : TYPE_CODES[header.geometryType];
  const geometry = g && type !== undefined ? decodeGeometry(g, type, file, offset) : null;
  const properties: Record<string, PropertyValue> = {};
  const p = f.propertiesArray();
  if (p) {
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    let o = 0;
    while (o + 2 <= p.byteLength) {
      const col = header.columns[dv.getUint16(o, true)];
      if (!col) throw new FormatError("a property names a column the header does not have", file, offset);
      o += 2;
      switch (col.type) {
        case ColumnType.Bool:
          properties[col.name] = p[o] !== 0;
          o += 1;
          break;
        case ColumnType.Byte:
          properties[col.name] = dv.getInt8(o);
          o += 1;
          break;
        case ColumnType.UByte:
          properties[col.name] = p[o];
          o += 1;
          break;
        case ColumnType.Short:
          properties[col.name] = dv.getInt16(o, true);
          o += 2;
          break;
        case ColumnType.UShort:
          properties[col.name] = dv.getUint16(o, true);
          o += 2;
          break;
        case ColumnType.Int:
          properties[col.name] = dv.getInt32(o, true);
          o += 4;
          break;
        case ColumnType.UInt:
          properties[col.name] = dv.getUint32(o, true);
          o += 4;
          break;
        case ColumnType.Long:
          properties[col.name] = Number(dv.getBigInt64(o, true));
          o += 8;
          break;
        case ColumnType.ULong:
          properties[col.name] = Number(dv.getBigUint64(o, true));
          o += 8;
          break;
        case ColumnType.Float:
          properties[col.name] = dv.getFloat32(o, true);
          o += 4;
          break;
        case ColumnType.Double:
          properties[col.name] = dv.getFloat64(o, true);
          o += 8;
          break;
        default: {
          const len = dv.getUint32(o, true);
          o += 4;
          if (o + len > p.byteLength) throw new FormatError("a property value runs past its feature", file, offset);
          const raw = p.subarray(o, o + len);
          o += len;
          if (col.type === ColumnType.Binary) properties[col.name] = Buffer.from(raw).toString("hex").toUpperCase();
          else {
            const text = textDecoder.decode(raw);
            properties[col.name] = col.type === ColumnType.Json ? (JSON.parse(text) as PropertyValue) : text;
          }
        }
      }
    }
  }
  return { geometry, properties };
}

/**
 * Column types inferred from the values seen, as values arrive (first-seen order kept). Features can be
 * encoded as they arrive: while no column changes type (and heights do not appear), they stay in one
 * epoch, whose columns decode them; a change starts a new epoch, and features of earlier ones are
 * re-encoded with the final columns.
 */
export class SchemaBuilder {
  readonly columns = new Map<string, { index: number; type: ColumnType }>();
  hasZ = false;
  /** Columns and heights of each epoch before the last (the last is the builder's current state). */
  private readonly closed: { columns: ColumnSpec[]; hasZ: boolean }[] = [];

  get epoch(): number {
    return this.closed.length;
  }

  /** Takes in a feature's properties (and whether it has heights); returns the epoch it is encoded in. */
  observe(properties: Record<string, PropertyValue>, hasZ = false): number {
    let changes = hasZ && !this.hasZ;
    for (const name in properties) {
      const value = properties[name];
      if (value === null || value === undefined) continue;
      const col = this.columns.get(name);
      if (col && (col.type as number) !== -1 && merge(col.type, typeOf(value)) !== col.type) changes = true;
    }
    if (changes) this.closed.push({ columns: this.specs(false), hasZ: this.hasZ });
    if (hasZ) this.hasZ = true;
    for (const name in properties) {
      const value = properties[name];
      const col = this.columns.get(name);
      if (value === null || value === undefined) {
        if (!col) this.columns.set(name, { index: this.columns.size, type: -1 as ColumnType });
      } else if (!col) this.columns.set(name, { index: this.columns.size, type: typeOf(value) });
      else col.type = merge(col.type, typeOf(value));
    }
    return this.closed.length;
  }

  /** Columns and heights features of an earlier epoch were encoded with. */
  epochState(epoch: number): { columns: ColumnSpec[]; hasZ: boolean } {
    return this.closed[epoch] ?? { columns: this.specs(false), hasZ: this.hasZ };
  }

  /** Columns in index order; `final`: a column that only ever held nulls becomes a String. */
  specs(final = true): ColumnSpec[] {
    const out: ColumnSpec[] = [];
    for (const [name, c] of this.columns) {
      if (final && (c.type as number) === -1) c.type = ColumnType.String;
      out[c.index] = { name, type: c.type };
    }
    return out;
  }
}

function typeOf(v: PropertyValue): ColumnType {
  if (typeof v === "boolean") return ColumnType.Bool;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) return ColumnType.Double;
    return v >= -2147483648 && v <= 2147483647 ? ColumnType.Int : Number.isSafeInteger(v) ? ColumnType.Long : ColumnType.Double;
  }
  if (typeof v === "string") return ColumnType.String;
  return ColumnType.Json;
}

const NUMERIC = [ColumnType.Int, ColumnType.Long, ColumnType.Double];

/** The type that holds values of both: the wider number, else JSON (which keeps every value as it is). */
function merge(a: ColumnType, b: ColumnType): ColumnType {
  if ((a as number) === -1) return b;
  if (a === b) return a;
  if (NUMERIC.includes(a) && NUMERIC.includes(b)) return NUMERIC[Math.max(NUMERIC.indexOf(a), NUMERIC.indexOf(b))];
  return ColumnType.Json;
}
