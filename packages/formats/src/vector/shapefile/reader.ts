/**
 * ESRI shapefile sets (.shp geometry, .dbf attributes, .prj CRS, .cpg code page) read front to back, record
 * by record. Rings become polygons as GDAL builds them: clockwise rings are outer rings, counter-clockwise
 * ones holes of the smallest outer ring around them; measures (M) are dropped, heights (Z) kept.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import { SequentialReader, type FeatureBatch, type Geometry, type Position, type PropertyValue, type VectorFeature, type VectorReader } from "../feature.js";
import { chooseEncoding, DbfReader, readDbfHeader } from "./dbf.js";

export interface ShapefileSet {
  shp: ByteSource;
  dbf?: ByteSource;
  /** Text of the .prj file (WKT). */
  prj?: string;
  /** Text of the .cpg file. */
  cpg?: string;
  /** Layer name (the file name without extension). */
  layer: string;
}

const SHAPE_NAMES: Record<number, string> = {
  0: "Null",
  1: "Point",
  3: "PolyLine",
  5: "Polygon",
  8: "MultiPoint",
  11: "PointZ",
  13: "PolyLineZ",
  15: "PolygonZ",
  18: "MultiPointZ",
  21: "PointM",
  23: "PolyLineM",
  25: "PolygonM",
  28: "MultiPointM",
  31: "MultiPatch",
};

function signedArea(ring: Position[]): number {
  let a = 0;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) a += (ring[i][0] - ring[j][0]) * (ring[i][1] + ring[j][1]);
  return a / 2;
}

function contains(ring: Position[], p: Position): boolean {
  let inside = false;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Polygon or MultiPolygon from shapefile rings (outer rings clockwise, holes counter-clockwise). */
export function ringsToPolygon(rings: Position[][]): Geometry {
  // signedArea > 0 is clockwise here (the shoelace sum is taken the other way round).
  const areas = rings.map(signedArea);
  let outers = rings.map((_, i) => i).filter((i) => areas[i] > 0);
  if (outers.length === 0) outers = rings.map((_, i) => i);
  const polygons = new Map<number, Position[][]>(outers.map((i) => [i, [rings[i]]]));
  for (let i = 0; i < rings.length; i++) {
    if (polygons.has(i)) continue;
    const probe = rings[i][0];
    let best = -1;
    for (const o of outers) {
      if (probe && contains(rings[o], probe) && (best < 0 || Math.abs(areas[o]) < Math.abs(areas[best]))) best = o;
    }
    if (best >= 0) polygons.get(best)!.push(rings[i]);
    else polygons.set(i, [rings[i]]);
  }
  const list = [...polygons.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  return list.length === 1 ? { type: "Polygon", coordinates: list[0] } : { type: "MultiPolygon", coordinates: list };
}

/** Decodes one record's content (shape type first); `offset` is its place in the file, for errors. */
export function decodeShape(b: Uint8Array, file: string, offset: number): Geometry | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const need = (n: number) => {
    if (n > b.byteLength) throw new FormatError(`a shape record needs ${n} bytes but has ${b.byteLength}`, file, offset);
  };
  need(4);
  const type = dv.getInt32(0, true);
  const hasZ = type === 11 || type === 13 || type === 15 || type === 18;
  switch (type) {
    case 0:
      return null;
    case 1:
    case 11:
    case 21: {
      need(hasZ ? 28 : 20);
      const p = [dv.getFloat64(4, true), dv.getFloat64(12, true)];
      if (hasZ) p.push(dv.getFloat64(20, true));
      return { type: "Point", coordinates: p };
    }
    case 8:
    case 18:
    case 28: {
      need(40);
      const n = dv.getInt32(36, true);
      if (n < 0) throw new FormatError(`negative point count ${n}`, file, offset + 36);
      need(40 + 16 * n + (hasZ ? 16 + 8 * n : 0));
      const zAt = 40 + 16 * n + 16;
      const pts: Position[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const p = [dv.getFloat64(40 + 16 * i, true), dv.getFloat64(48 + 16 * i, true)];
        if (hasZ) p.push(dv.getFloat64(zAt + 8 * i, true));
        pts[i] = p;
      }
      return { type: "MultiPoint", coordinates: pts };
    }
    case 3:
    case 13:
    case 23:
    case 5:
    case 15:
    case 25: {
      need(44);
      const parts = dv.getInt32(36, true);
      const n = dv.getInt32(40, true);
      if (parts < 0 || n < 0) throw new FormatError(`negative part or point count`, file, offset + 36);
      const pointsAt = 44 + 4 * parts;
      need(pointsAt + 16 * n + (hasZ ? 16 + 8 * n : 0));
      const zAt = pointsAt + 16 * n + 16;
      const lines: Position[][] = [];
      for (let k = 0; k < parts; k++) {
        const start = dv.getInt32(44 + 4 * k, true);
        const end = k + 1 < parts ? dv.getInt32(48 + 4 * k, true) : n;
        if (start < 0 || end > n || start > end) throw new FormatError(`part ${k} has a bad start index ${start}`, file, offset + 44 + 4 * k);
        const line: Position[] = new Array(end - start);
        for (let i = start; i < end; i++) {
          const p = [dv.getFloat64(pointsAt + 16 * i, true), dv.getFloat64(pointsAt + 8 + 16 * i, true)];
          if (hasZ) p.push(dv.getFloat64(zAt + 8 * i, true));
          line[i - start] = p;
        }
        lines.push(line);
      }
      if (lines.length === 0) return null;
      if (type === 3 || type === 13 || type === 23) {
        return lines.length === 1 ? { type: "LineString", coordinates: lines[0] } : { type: "MultiLineString", coordinates: lines };
      }
      return ringsToPolygon(lines);
    }
    default:
      throw new FormatError(`shape type ${SHAPE_NAMES[type] ?? type} is not supported`, file, offset);
  }
}

export function openShapefile(set: ShapefileSet, options: { batchSize?: number } = {}): VectorReader {
  const batchSize = options.batchSize ?? 2000;
  const { shp } = set;
  const warnings: string[] = [];
  return {
    name: shp.name,
    size: shp.size,
    warnings,
    async *batches(signal?: AbortSignal): AsyncIterable<FeatureBatch> {
      const head = await shp.read(0, 100);
      if (head.byteLength < 100) throw new FormatError("too short for a shapefile header (100 bytes)", shp.name, 0);
      const hv = new DataView(head.buffer, head.byteOffset, 100);
      if (hv.getInt32(0, false) !== 9994) throw new FormatError("not a shapefile (file code is not 9994)", shp.name, 0);
      const declaredLength = hv.getInt32(24, false) * 2;
      const end = Math.min(shp.size, declaredLength > 100 ? declaredLength : shp.size);
      if (declaredLength > shp.size) warnings.push(`${shp.name}: the header says ${declaredLength} bytes but the file has ${shp.size} (truncated?)`);
      let dbf: DbfReader | undefined;
      if (set.dbf) {
        const header = await readDbfHeader(set.dbf);
        dbf = new DbfReader(set.dbf, header, chooseEncoding(set.cpg, header.languageDriver, warnings, set.dbf.name));
      } else warnings.push(`${shp.name}: no .dbf file; features have no attributes`);
      const reader = new SequentialReader(shp, 100);
      let pending: VectorFeature[] = [];
      let record = 0;
      while (reader.position < end) {
        const at = reader.position;
        const rh = await reader.read(8);
        if (rh.byteLength < 8) throw new FormatError(`record ${record + 1} header is cut short (truncated file?)`, shp.name, at);
        const length = new DataView(rh.buffer, rh.byteOffset, 8).getInt32(4, false) * 2;
        if (length < 4) throw new FormatError(`record ${record + 1} has a bad content length ${length}`, shp.name, at + 4);
        const content = await reader.read(length);
        if (content.byteLength < length) throw new FormatError(`record ${record + 1} is cut short: ${content.byteLength} of ${length} bytes (truncated file?)`, shp.name, at + 8);
        record++;
        const geometry = decodeShape(content, shp.name, at + 8);
        let properties: Record<string, PropertyValue> = {};
        if (dbf) {
          const row = await dbf.next();
          if (!row) throw new FormatError(`the .dbf file has fewer records (${dbf.header.records}) than the .shp file`, set.dbf!.name, set.dbf!.size);
          if (row.deleted) continue;
          properties = row.properties;
        }
        pending.push({ geometry, properties });
        if (pending.length >= batchSize) {
          signal?.throwIfAborted();
          yield { layer: set.layer, crs: set.prj?.trim() || undefined, features: pending, bytesRead: reader.position };
          pending = [];
        }
      }
      if (dbf && dbf.header.records !== record) warnings.push(`${shp.name}: ${record} shapes but ${dbf.header.records} attribute records`);
      if (pending.length > 0) yield { layer: set.layer, crs: set.prj?.trim() || undefined, features: pending, bytesRead: reader.position };
    },
  };
}
