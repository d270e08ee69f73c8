/**
 * The one in-memory shape of points: a chunk is columns in typed arrays, never per-point objects.
 * Readers yield chunks, writers take chunks; a chunk holds at most a few hundred thousand points.
 */

/** Positions either as doubles, or as scaled integers exactly as LAS/LAZ store them (x = xi * scale + offset). */
export type Positions =
  | { kind: "f64"; x: Float64Array; y: Float64Array; z: Float64Array }
  | {
      kind: "i32";
      x: Int32Array;
      y: Int32Array;
      z: Int32Array;
      scale: readonly [number, number, number];
      offset: readonly [number, number, number];
    };

/** Optional columns. A column present in the schema is present (with `count` entries) in every chunk. */
export interface PointColumns {
  intensity?: Uint16Array;
  red?: Uint16Array;
  green?: Uint16Array;
  blue?: Uint16Array;
  nir?: Uint16Array;
  classification?: Uint8Array;
  /** LAS classification flags (synthetic, key-point, withheld, overlap) as bits 0..3. */
  classificationFlags?: Uint8Array;
  returnNumber?: Uint8Array;
  numberOfReturns?: Uint8Array;
  /** LAS scan direction flag (bit 0) and edge of flight line (bit 1). */
  scanFlags?: Uint8Array;
  scannerChannel?: Uint8Array;
  /** Scan angle in degrees (LAS 1.4 formats store 0.006° steps; earlier formats whole degrees). */
  scanAngle?: Float32Array;
  userData?: Uint8Array;
  pointSourceId?: Uint16Array;
  gpsTime?: Float64Array;
  normalX?: Float32Array;
  normalY?: Float32Array;
  normalZ?: Float32Array;
}

export type ColumnName = keyof PointColumns;

/** An extra per-point attribute (LAS extra bytes, E57 or PLY fields we do not map to a named column). */
export interface ExtraAttribute {
  name: string;
  description?: string;
  /** Storage type in the source, so writers can keep it. */
  type: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64" | "f32" | "f64";
}

export interface PointSchema {
  /** Which optional columns every chunk carries. */
  columns: ColumnName[];
  extra: ExtraAttribute[];
}

export interface PointChunk extends PointColumns {
  count: number;
  positions: Positions;
  /** Values of the schema's extra attributes, by name, as doubles. */
  extra?: Record<string, Float64Array>;
}

/** Number of points a reader yields per chunk unless told otherwise: bounded memory, fewer calls. */
export const DEFAULT_CHUNK_POINTS = 65_536;

/** Reads position i as doubles, whatever the representation. */
export function positionAt(p: Positions, i: number, out: Float64Array): void {
  if (p.kind === "f64") {
    out[0] = p.x[i];
    out[1] = p.y[i];
    out[2] = p.z[i];
  } else {
    out[0] = p.x[i] * p.scale[0] + p.offset[0];
    out[1] = p.y[i] * p.scale[1] + p.offset[1];
    out[2] = p.z[i] * p.scale[2] + p.offset[2];
  }
}

/** Axis-aligned bounds of a chunk's positions, as [minX, minY, minZ, maxX, maxY, maxZ]. */
export function chunkBounds(chunk: PointChunk, into?: Float64Array): Float64Array {
  const b = into ?? new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
  const n = chunk.count;
  if (n === 0) return b;
  const p = chunk.positions;
  const cols = [p.x, p.y, p.z];
  for (let a = 0; a < 3; a++) {
    const c = cols[a];
    let lo = c[0];
    let hi = c[0];
    for (let i = 1; i < n; i++) {
      const v = c[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (p.kind === "i32") {
      // x * scale + offset is monotone in x (rounding included), so the extremes of the integers give the
      // extremes of the positions exactly, as converting every point would.
      const s = p.scale[a];
      const o = p.offset[a];
      const l = (s >= 0 ? lo : hi) * s + o;
      const h = (s >= 0 ? hi : lo) * s + o;
      lo = l;
      hi = h;
    } else if (lo !== lo || hi !== hi) {
      // A NaN among doubles: compare point by point, as NaN never wins a comparison.
      lo = Infinity;
      hi = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = c[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (lo < b[a]) b[a] = lo;
    if (hi > b[a + 3]) b[a + 3] = hi;
  }
  return b;
}

/** A point cloud being read: schema and metadata first, then chunks. */
export interface PointCloudReader {
  readonly schema: PointSchema;
  /** Point count announced by the file (header), or undefined when unknown before reading. */
  readonly pointCount: number | undefined;
  /** CRS as WKT or "EPSG:n" when the file says, else undefined. */
  readonly crs: string | undefined;
  /** Problems found in the file that did not stop reading (conflicting CRS records, ...). */
  readonly warnings: string[];
  chunks(signal?: AbortSignal): AsyncIterable<PointChunk>;
}

/** Views of `a` and of every typed-array member of `o`, for [start, end) of the points. */
function sliceColumns<T extends object>(o: T, start: number, end: number): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = ArrayBuffer.isView(v) ? (v as Uint8Array).subarray(start, end) : v;
  return out as T;
}

/** Points [start, end) of `chunk` as views over its arrays (no copy). */
export function sliceChunk(chunk: PointChunk, start: number, end: number): PointChunk {
  const out = sliceColumns(chunk, start, end);
  out.count = end - start;
  out.positions = sliceColumns(chunk.positions, start, end);
  if (chunk.extra) out.extra = sliceColumns(chunk.extra, start, end);
  return out;
}

type AnyTypedArray = Uint8Array | Uint16Array | Int32Array | Float32Array | Float64Array;

/** The columns of `parts` (same members) one after another in new arrays. */
function concatColumns<T extends object>(parts: readonly T[], total: number): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parts[0])) {
    if (!ArrayBuffer.isView(v)) {
      out[k] = v;
      continue;
    }
    const dst = new (v.constructor as new (n: number) => AnyTypedArray)(total);
    let at = 0;
    for (const p of parts) {
      const src = (p as Record<string, AnyTypedArray>)[k];
      dst.set(src as never, at);
      at += src.length;
    }
    out[k] = dst;
  }
  return out as T;
}

/**
 * The points of `chunks` one after another, in new arrays. The chunks have the same columns (one schema)
 * and, for scaled-integer positions, the same scale and offset (one file).
 */
export function concatChunks(chunks: readonly PointChunk[]): PointChunk {
  if (chunks.length === 1) return chunks[0];
  const total = chunks.reduce((n, c) => n + c.count, 0);
  const out = concatColumns(chunks, total);
  out.count = total;
  out.positions = concatColumns(
    chunks.map((c) => c.positions),
    total,
  );
  if (chunks[0].extra) {
    out.extra = concatColumns(
      chunks.map((c) => c.extra!),
      total,
    );
  }
  return out;
}
