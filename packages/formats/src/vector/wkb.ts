/**
 * Well-known binary geometries (ISO and EWKB flags for Z/M), and the GeoPackage geometry blob that wraps
 * them (`GP` header, SRS id, optional envelope). Measures are dropped, heights kept.
 */
import { FormatError } from "../io/byte-source.js";
import type { Geometry, Position } from "./feature.js";

class WkbCursor {
  private dv: DataView;
  pos: number;
  little = true;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly file: string,
    readonly base: number,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.byteLength) throw new FormatError(`a WKB geometry is cut short (${n} more bytes needed)`, this.file, this.base + this.pos);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, this.little);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.dv.getFloat64(this.pos, this.little);
    this.pos += 8;
    return v;
  }
}

const TYPE_NAMES = ["Geometry", "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection"];

function readGeometry(c: WkbCursor): Geometry {
  const order = c.u8();
  if (order > 1) throw new FormatError(`bad WKB byte order ${order}`, c.file, c.base + c.pos - 1);
  c.little = order === 1;
  let code = c.u32();
  let hasZ = false;
  let hasM = false;
  // EWKB flags, then ISO's thousands.
  if (code & 0x80000000) hasZ = true;
  if (code & 0x40000000) hasM = true;
  if (code & 0x20000000) {
    c.u32();
  }
  code &= 0x0fffffff;
  const iso = Math.floor(code / 1000);
  if (iso === 1 || iso === 3) hasZ = true;
  if (iso === 2 || iso === 3) hasM = true;
  const type = code % 1000;
  const dims = 2 + (hasZ ? 1 : 0) + (hasM ? 1 : 0);
  const little = c.little;
  const point = (): Position => {
    c.need(8 * dims);
    const x = c.f64();
    const y = c.f64();
    if (!hasZ) {
      if (hasM) c.f64();
      return [x, y];
    }
    const z = c.f64();
    if (hasM) c.f64();
    return [x, y, z];
  };
  const points = (): Position[] => {
    const n = c.u32();
    c.need(n * 8 * dims);
    const out: Position[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = point();
    return out;
  };
  const rings = (): Position[][] => {
    const n = c.u32();
    const out: Position[][] = [];
    for (let i = 0; i < n; i++) out.push(points());
    return out;
  };
  const parts = (want: number): Geometry[] => {
    const n = c.u32();
    const out: Geometry[] = [];
    for (let i = 0; i < n; i++) {
      const g = readGeometry(c);
      c.little = little;
      if (want && TYPE_NAMES.indexOf(g.type) !== want) throw new FormatError(`a ${TYPE_NAMES[want + 3]} holds a ${g.type}`, c.file, c.base + c.pos);
      out.push(g);
    }
    return out;
  };
  switch (type) {
    case 1: {
      const p = point();
      // An empty point is written with NaN coordinates.
      return { type: "Point", coordinates: Number.isNaN(p[0]) && Number.isNaN(p[1]) ? [] : p };
    }
    case 2:
      return { type: "LineString", coordinates: points() };
    case 3:
      return { type: "Polygon", coordinates: rings() };
    case 4:
      return { type: "MultiPoint", coordinates: parts(1).map((g) => (g as { coordinates: Position }).coordinates) };
    case 5:
      return { type: "MultiLineString", coordinates: parts(2).map((g) => (g as { coordinates: Position[] }).coordinates) };
    case 6:
      return { type: "MultiPolygon", coordinates: parts(3).map((g) => (g as { coordinates: Position[][] }).coordinates) };
    case 7:
      return { type: "GeometryCollection", geometries: parts(0) };
    default:
      throw new FormatError(`WKB geometry type ${code} (curves, surfaces, TINs) is not supported`, c.file, c.base + c.pos - 4);
  }
}

/** A WKB geometry at `start` of `bytes`; `base` places the bytes in their file for messages. */
export function decodeWkb(bytes: Uint8Array, file: string, base = 0, start = 0): Geometry {
  return readGeometry(new WkbCursor(bytes, start, file, base));
}

const ENVELOPE_BYTES = [0, 32, 48, 48, 64];

/** A GeoPackage geometry blob: its SRS id and geometry (null when the blob says it is empty). */
export function decodeGpkgGeometry(blob: Uint8Array, file: string, base = 0): { srsId: number; geometry: Geometry | null } {
  if (blob.byteLength < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) throw new FormatError("a geometry blob does not start with 'GP'", file, base);
  const flags = blob[3];
  const envelope = (flags >> 1) & 7;
  if (envelope > 4) throw new FormatError(`bad envelope code ${envelope} in a geometry blob`, file, base + 3);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const srsId = dv.getInt32(4, (flags & 1) === 1);
  if (flags & 0x20) throw new FormatError("extended GeoPackage geometry types are not supported", file, base + 3);
  const geometry = decodeWkb(blob, file, base, 8 + ENVELOPE_BYTES[envelope]);
  if (flags & 0x10 && geometry.type === "Point" && geometry.coordinates.length === 0) return { srsId, geometry: null };
  return { srsId, geometry };
}
