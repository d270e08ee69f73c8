/**
 * The vector model every reader yields and every writer takes: GeoJSON geometries (positions as
 * `[x, y]` or `[x, y, z]`, x = easting/longitude) and JSON properties, grouped in batches that belong to
 * one layer. Readers stream: they yield batches as they read and never hold a whole file.
 */
import type { ByteSource } from "../io/byte-source.js";

export type Position = number[];

export type Geometry =
  | { type: "Point"; coordinates: Position }
  | { type: "MultiPoint"; coordinates: Position[] }
  | { type: "LineString"; coordinates: Position[] }
  | { type: "MultiLineString"; coordinates: Position[][] }
  | { type: "Polygon"; coordinates: Position[][] }
  | { type: "MultiPolygon"; coordinates: Position[][][] }
  | { type: "GeometryCollection"; geometries: Geometry[] };

export type GeometryType = Geometry["type"];

export type PropertyValue = string | number | boolean | null | PropertyValue[] | { [key: string]: PropertyValue };

export interface VectorFeature {
  geometry: Geometry | null;
  properties: Record<string, PropertyValue>;
}

/** Features of one layer, in file order. */
export interface FeatureBatch {
  /** Name of the source layer (GeoJSON `name`, file name, GeoPackage table, KML folder). */
  readonly layer: string;
  /**
   * CRS the coordinates are in, as the file states it (EPSG:n, WKT); undefined when the file does not say
   * (a shapefile without .prj).
   */
  readonly crs: string | undefined;
  readonly features: VectorFeature[];
  /** Bytes of the file read so far, for progress. */
  readonly bytesRead: number;
}

export interface VectorReader {
  /** The file, for messages. */
  readonly name: string;
  /** Bytes the reader goes through (progress is `bytesRead / size`). */
  readonly size: number;
  /** Problems that did not stop reading (unknown code page, skipped records). */
  readonly warnings: string[];
  batches(signal?: AbortSignal): AsyncIterable<FeatureBatch>;
}

export const GEOMETRY_TYPES: readonly GeometryType[] = [
  "Point",
  "MultiPoint",
  "LineString",
  "MultiLineString",
  "Polygon",
  "MultiPolygon",
  "GeometryCollection",
];

/** Nesting depth of positions in `coordinates` for each type (Point 0: the array is a position). */
const DEPTH: Record<Exclude<GeometryType, "GeometryCollection">, number> = {
  Point: 0,
  MultiPoint: 1,
  LineString: 1,
  MultiLineString: 2,
  Polygon: 2,
  MultiPolygon: 3,
};

function isPosition(p: unknown): p is Position {
  if (!Array.isArray(p) || p.length < 2) return false;
  for (const v of p) if (typeof v !== "number") return false;
  return true;
}

function checkCoordinates(c: unknown, depth: number): boolean {
  if (depth === 0) return isPosition(c) || (Array.isArray(c) && c.length === 0);
  if (!Array.isArray(c)) return false;
  for (const x of c) if (!checkCoordinates(x, depth - 1)) return false;
  return true;
}

/** Why a parsed JSON value is not a GeoJSON geometry, or undefined when it is one. */
export function geometryProblem(g: unknown): string | undefined {
  if (g === null || typeof g !== "object" || Array.isArray(g)) return "a geometry must be an object";
  const { type } = g as { type?: unknown };
  if (type === "GeometryCollection") {
    const parts = (g as { geometries?: unknown }).geometries;
    if (!Array.isArray(parts)) return "a GeometryCollection needs a geometries array";
    for (const p of parts) {
      const problem = geometryProblem(p);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof type !== "string" || !(type in DEPTH)) return `unknown geometry type ${JSON.stringify(type)}`;
  if (!checkCoordinates((g as { coordinates?: unknown }).coordinates, DEPTH[type as keyof typeof DEPTH])) {
    return `the coordinates of a ${type} are not nested arrays of numbers`;
  }
  return undefined;
}

/** Calls `f` on every position of a geometry. */
export function forEachPosition(g: Geometry, f: (p: Position) => void): void {
  switch (g.type) {
    case "Point":
      if (g.coordinates.length > 0) f(g.coordinates);
      return;
    case "MultiPoint":
    case "LineString":
      for (const p of g.coordinates) f(p);
      return;
    case "MultiLineString":
    case "Polygon":
      for (const line of g.coordinates) for (const p of line) f(p);
      return;
    case "MultiPolygon":
      for (const poly of g.coordinates) for (const ring of poly) for (const p of ring) f(p);
      return;
    case "GeometryCollection":
      for (const part of g.geometries) forEachPosition(part, f);
  }
}

/** True when some position of the geometry has a height. */
export function hasHeights(g: Geometry): boolean {
  switch (g.type) {
    case "Point":
      return g.coordinates.length > 2;
    case "MultiPoint":
    case "LineString":
      return g.coordinates.some((p) => p.length > 2);
    case "MultiLineString":
    case "Polygon":
      return g.coordinates.some((l) => l.some((p) => p.length > 2));
    case "MultiPolygon":
      return g.coordinates.some((poly) => poly.some((l) => l.some((p) => p.length > 2)));
    case "GeometryCollection":
      return g.geometries.some(hasHeights);
  }
}

/** [minX, minY, maxX, maxY] of a geometry; undefined when it has no position. */
export function geometryBounds(g: Geometry | null): [number, number, number, number] | undefined {
  if (!g) return undefined;
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  forEachPosition(g, (p) => {
    if (p[0] < b[0]) b[0] = p[0];
    if (p[1] < b[1]) b[1] = p[1];
    if (p[0] > b[2]) b[2] = p[0];
    if (p[1] > b[3]) b[3] = p[1];
  });
  return b[0] <= b[2] ? b : undefined;
}

function pointInto(p: Position, box: Float64Array, at: number): void {
  const x = p[0];
  const y = p[1];
  if (x < box[at]) box[at] = x;
  if (y < box[at + 1]) box[at + 1] = y;
  if (x > box[at + 2]) box[at + 2] = x;
  if (y > box[at + 3]) box[at + 3] = y;
}

function linesInto(lines: readonly Position[][], box: Float64Array, at: number): void {
  for (const line of lines) for (const p of line) pointInto(p, box, at);
}

function boundsOf(g: Geometry, box: Float64Array, at: number): void {
  switch (g.type) {
    case "Point":
      if (g.coordinates.length > 0) pointInto(g.coordinates, box, at);
      return;
    case "MultiPoint":
    case "LineString":
      for (const p of g.coordinates) pointInto(p, box, at);
      return;
    case "MultiLineString":
    case "Polygon":
      linesInto(g.coordinates, box, at);
      return;
    case "MultiPolygon":
      for (const poly of g.coordinates) linesInto(poly, box, at);
      return;
    case "GeometryCollection":
      for (const part of g.geometries) boundsOf(part, box, at);
  }
}

/**
 * geometryBounds into `box[at, at + 4)` (minX, minY, maxX, maxY), without allocating per position;
 * a geometry without positions (or none) gets an inverted box (Infinity, Infinity, -Infinity, -Infinity).
 * Returns whether it has positions.
 */
export function boundsInto(g: Geometry | null, box: Float64Array, at: number): boolean {
  box[at] = Infinity;
  box[at + 1] = Infinity;
  box[at + 2] = -Infinity;
  box[at + 3] = -Infinity;
  if (g) boundsOf(g, box, at);
  return box[at] <= box[at + 2];
}

/** Sequential reads of a ByteSource in blocks, for readers that go front to back. */
export class BlockReader {
  private pos: number;
  constructor(
    readonly source: ByteSource,
    readonly blockSize = 1 << 20,
    start = 0,
  ) {
    this.pos = start;
  }
  get position(): number {
    return this.pos;
  }
  /** The next block, or undefined at the end. */
  async next(): Promise<Uint8Array | undefined> {
    if (this.pos >= this.source.size) return undefined;
    const block = await this.source.read(this.pos, Math.min(this.blockSize, this.source.size - this.pos));
    if (block.byteLength === 0) return undefined;
    this.pos += block.byteLength;
    return block;
  }
}

/**
 * Exact-length reads from a ByteSource front to back, buffered in large blocks (record-oriented formats:
 * shapefile, DBF). Returns fewer bytes only at the end of the source.
 */
export class SequentialReader {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  private offset: number;
  constructor(
    readonly source: ByteSource,
    start = 0,
    private readonly blockSize = 1 << 20,
  ) {
    this.offset = start;
  }
  /** Position of the next byte read. */
  get position(): number {
    return this.offset;
  }
  async read(length: number): Promise<Uint8Array> {
    const end = this.bufStart + this.buf.byteLength;
    if (this.offset >= this.bufStart && this.offset + length <= end) {
      const out = this.buf.subarray(this.offset - this.bufStart, this.offset - this.bufStart + length);
      this.offset += length;
      return out;
    }
    const want = Math.max(length, this.blockSize);
    const block = await this.source.read(this.offset, Math.min(want, Math.max(0, this.source.size - this.offset)));
    this.buf = block;
    this.bufStart = this.offset;
    const out = block.subarray(0, Math.min(length, block.byteLength));
    this.offset += out.byteLength;
    return out;
  }
}
