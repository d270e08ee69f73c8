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

type ColumnIndex = ReadonlyMap<string, { index: number; type: ColumnType }>;

// Vtable slots (field offsets within their table; 0: absent), fixed by what a table holds.
// Geometry: ends, xy, z, m, t, tm, type, parts. Simple geometries: soffset, [ends], xy, [z] uoffsets, then
// the type byte; collections: soffset, the type byte (padded), the parts' uoffset.
const SIMPLE_SLOTS = [false, true].map((ends) =>
  [false, true].map((z) => {
    const xy = ends ? 8 : 4;
    const type = (z ? xy + 4 : xy) + 4;
    return { size: type + 1, ends: ends ? 4 : 0, xy, z: z ? xy + 4 : 0, type, slots: [ends ? 4 : 0, xy, z ? xy + 4 : 0, 0, 0, 0, type] };
  }),
);
const COLLECTION_SLOTS = [0, 0, 0, 0, 0, 0, 4, 8];
// Feature: geometry, properties.
const FEATURE_SLOTS = [[], [4], [0, 4], [4, 8]];

/**
 * Writes one size-prefixed Feature table front to back into a reused buffer (FlatBuffers allows any
 * layout where every uoffset points forward): vtables before their tables, vectors after them. Offsets are
 * aligned from the start of the size prefix, as the FlatBuffers builder aligns them, so a reader that
 * views coordinates as Float64Arrays over a copy of a feature finds them 8-aligned; a feature's length
 * is a multiple of 4 (of 8 when it has coordinates). No builder, intermediate arrays or views per feature.
 */
class FeatureWriter {
  private buf = Buffer.alloc(1 << 16);
  private dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private f64 = new Float64Array(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength >> 3);
  /** The buffer as a plain Uint8Array (its views are cheaper to make than a Buffer's). */
  private bytes = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private pos = 0;
  /** Whether f64 values were written (the feature's length is then a multiple of 8). */
  private wide = false;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    const next = Buffer.alloc((Math.max(this.pos + n, 2 * this.buf.byteLength) + 7) & ~7);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.f64 = new Float64Array(next.buffer, next.byteOffset, next.byteLength >> 3);
    this.bytes = new Uint8Array(next.buffer, next.byteOffset, next.byteLength);
  }

  /** Zero padding up to `skew` modulo `to`: the next value starts there. */
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

  /** A vtable, then its table (zeroed, `tableSize` bytes from its soffset); returns the table's position. */
  private table(tableSize: number, slots: readonly number[]): number {
    this.align(2);
    this.ensure(4 + 2 * slots.length + 4 + tableSize);
    const vtable = this.pos;
    this.dv.setUint16(vtable, 4 + 2 * slots.length, true);
    this.dv.setUint16(vtable + 2, tableSize, true);
    for (let i = 0; i < slots.length; i++) this.dv.setUint16(vtable + 4 + 2 * i, slots[i], true);
    this.pos = vtable + 4 + 2 * slots.length;
    this.align(4);
    const table = this.pos;
    this.dv.setInt32(table, table - vtable, true);
    for (let i = table + 4; i < table + tableSize; i++) this.buf[i] = 0;
    this.pos = table + tableSize;
    return table;
  }

  /** Starts a vector of `count` f64 (its elements 8-aligned) and points the uoffset at `field` to it; returns the first element's f64 index. */
  private doubles(field: number, count: number): number {
    this.align(8, 4);
    this.ensure(4 + 8 * count);
    this.patch(field, this.u32(count));
    const first = this.pos >> 3;
    this.pos += 8 * count;
    this.wide = true;
    return first;
  }

  /** Position `o` into the xy and z vectors whose first elements are the f64 indices `xy` and `z`. */
  private put(p: Position, xy: number, z: number, o: number, hasZ: boolean): void {
    const f64 = this.f64;
    f64[xy + 2 * o] = p[0];
    f64[xy + 2 * o + 1] = p[1];
    if (hasZ) f64[z + o] = p.length > 2 ? p[2] : 0;
  }

  /** A Geometry table; returns its position. */
  private geometry(g: Geometry, hasZ: boolean): number {
    const type = TYPE_CODES[g.type];
    if (g.type === "MultiPolygon" || g.type === "GeometryCollection") {
      const table = this.table(12, COLLECTION_SLOTS);
      this.buf[table + 4] = type;
      const count = g.type === "MultiPolygon" ? g.coordinates.length : g.geometries.length;
      this.align(4);
      this.ensure(4 + 4 * count);
      this.patch(table + 8, this.u32(count));
      // The parts' uoffsets, each pointed at its table once that is written after them.
      const parts = this.pos;
      this.pos += 4 * count;
      for (let i = 0; i < count; i++) {
        const part = g.type === "MultiPolygon" ? this.geometry({ type: "Polygon", coordinates: g.coordinates[i] }, hasZ) : this.geometry(g.geometries[i], hasZ);
        this.patch(parts + 4 * i, part);
      }
      return table;
    }
    const rings = g.type === "MultiLineString" || g.type === "Polygon" ? g.coordinates : undefined;
    const layout = SIMPLE_SLOTS[rings && rings.length > 1 ? 1 : 0][hasZ ? 1 : 0];
    const table = this.table(layout.size, layout.slots);
    this.buf[table + layout.type] = type;
    let count = 0;
    if (g.type === "Point") count = g.coordinates.length > 0 ? 1 : 0;
    else if (rings) {
      if (layout.ends) {
        this.align(4);
        this.ensure(4 + 4 * rings.length);
        this.patch(table + layout.ends, this.u32(rings.length));
      }
      for (const ring of rings) {
        count += ring.length;
        if (layout.ends) this.u32(count);
      }
    } else count = g.coordinates.length;
    const xy = this.doubles(table + layout.xy, 2 * count);
    const z = hasZ ? this.doubles(table + layout.z, count) : 0;
    if (g.type === "Point") {
      if (count) this.put(g.coordinates, xy, z, 0, hasZ);
    } else if (rings) {
      let o = 0;
      for (const ring of rings) for (const p of ring) this.put(p, xy, z, o++, hasZ);
    } else {
      const points = g.coordinates as Position[];
      for (let o = 0; o < points.length; o++) this.put(points[o], xy, z, o, hasZ);
    }
    return table;
  }

  /** Property values, per non-null value the u16 column index then the value in its column's type; returns their bytes. */
  private properties(properties: Record<string, PropertyValue>, columns: ColumnIndex): number {
    const start = this.pos;
    for (const name in properties) {
      const value = properties[name];
      if (value === null || value === undefined) continue;
      const col = columns.get(name);
      if (!col) throw new Error(`property ${name} has no column`);
      this.ensure(10);
      const dv = this.dv;
      dv.setUint16(this.pos, col.index, true);
      this.pos += 2;
      switch (col.type) {
        case ColumnType.Bool:
          this.buf[this.pos++] = value ? 1 : 0;
          break;
        case ColumnType.Int:
          dv.setInt32(this.pos, value as number, true);
          this.pos += 4;
          break;
        case ColumnType.Long:
          dv.setBigInt64(this.pos, BigInt(value as number), true);
          this.pos += 8;
          break;
        case ColumnType.Double:
          dv.setFloat64(this.pos, value as number, true);
          this.pos += 8;
          break;
        default: {
          const text = col.type === ColumnType.Json ? JSON.stringify(value) : String(value);
          // UTF-8 takes at most 3 bytes per UTF-16 unit.
          this.ensure(4 + 3 * text.length);
          const start = this.pos + 4;
          const buf = this.buf;
          // Short ASCII text (most values) byte by byte: cheaper than a call into the encoder.
          let i = 0;
          if (text.length <= 64) {
            for (; i < text.length; i++) {
              const c = text.charCodeAt(i);
              if (c >= 0x80) break;
              buf[start + i] = c;
            }
          }
          const written = i === text.length ? i : buf.write(text, start, "utf8");
          this.dv.setUint32(this.pos, written, true);
          this.pos = start + written;
        }
      }
    }
    return this.pos - start;
  }

  feature(geometry: Geometry | null, properties: Record<string, PropertyValue>, columns: ColumnIndex, hasZ: boolean): Uint8Array {
    this.pos = 0;
    this.wide = false;
    this.ensure(64);
    this.pos = 8; // size prefix and root offset, written last
    let withProperties = false;
    for (const name in properties) {
      if (properties[name] !== null && properties[name] !== undefined) {
        withProperties = true;
        break;
      }
    }
    const slots = FEATURE_SLOTS[(withProperties ? 2 : 0) + (geometry ? 1 : 0)];
    const table = this.table(4 + 4 * slots.length, slots);
    this.dv.setUint32(4, table - 4, true);
    if (geometry) this.patch(table + 4, this.geometry(geometry, hasZ));
    if (withProperties) {
      this.align(4);
      this.ensure(4);
      const vector = this.u32(0);
      this.patch(table + slots[1], vector);
      this.dv.setUint32(vector, this.properties(properties, columns), true);
    }
    this.align(this.wide ? 8 : 4);
    this.dv.setUint32(0, this.pos - 4, true);
    return this.bytes.subarray(0, this.pos);
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
export function encodeFeature(f: VectorFeature, columns: ColumnIndex, hasZ: boolean): Uint8Array {
  return featureWriter.feature(f.geometry && hasPositions(f.geometry) ? f.geometry : null, f.properties, columns, hasZ);
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
    if (!hasZ || this.hasZ) {
      // Most features: every property has a column already whose type holds its value.
      let fits = true;
      for (const name in properties) {
        const value = properties[name];
        const col = this.columns.get(name);
        if (!col) fits = false;
        else if (value === null || value === undefined) continue;
        else if ((col.type as number) === -1) fits = false;
        else {
          const type = typeOf(value);
          if (type !== col.type && merge(col.type, type) !== col.type) fits = false;
        }
        if (!fits) break;
      }
      if (fits) return this.closed.length;
    }
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
