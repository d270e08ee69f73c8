/**
 * Merging several point clouds into one: the union of their columns, and one quantisation (scale and
 * offset) that every file's integers map onto without losing precision when possible.
 */
import type { ColumnName, ExtraAttribute, LasExtraBytesSpec as ExtraBytesSpec, LasReader, PointSchema } from "@realconv/formats";

/** Column order of the merged schema (the LAS record order). */
const ORDER: ColumnName[] = [
  "intensity", "returnNumber", "numberOfReturns", "scanFlags", "classification", "classificationFlags", "scannerChannel",
  "scanAngle", "userData", "pointSourceId", "gpsTime", "red", "green", "blue", "nir", "normalX", "normalY", "normalZ",
];

export interface MergedSchema {
  schema: PointSchema;
  extraBytes: ExtraBytesSpec[];
}

/** What mergeSchemas needs of an input: its columns and how its extra attributes are stored. */
export interface SchemaSource {
  schema: PointSchema;
  extraBytes: readonly ExtraBytesSpec[];
}

/** Union of the inputs' columns and extra attributes; an extra attribute stored differently becomes f64. */
export function mergeSchemas(readers: readonly SchemaSource[]): MergedSchema {
  const cols = new Set<ColumnName>();
  const extra = new Map<string, ExtraAttribute>();
  const specs = new Map<string, ExtraBytesSpec>();
  for (const r of readers) {
    for (const c of r.schema.columns) cols.add(c);
    for (const e of r.extraBytes) {
      const type = e.type ?? r.schema.extra.find((a) => a.name === e.name)?.type ?? "f64";
      const spec: ExtraBytesSpec = { name: e.name, type, scale: e.scale ?? 1, valueOffset: e.valueOffset ?? 0, description: e.description };
      const prev = specs.get(e.name);
      if (!prev) {
        specs.set(e.name, spec);
        extra.set(e.name, e.description ? { name: e.name, type, description: e.description } : { name: e.name, type });
      } else if (prev.type !== spec.type || prev.scale !== spec.scale || prev.valueOffset !== spec.valueOffset) {
        specs.set(e.name, { name: e.name, type: "f64", description: prev.description });
        extra.set(e.name, { ...extra.get(e.name)!, type: "f64" });
      }
    }
  }
  return {
    schema: { columns: ORDER.filter((c) => cols.has(c)), extra: [...extra.values()] },
    extraBytes: [...specs.values()],
  };
}

export interface Quantisation {
  scale: [number, number, number];
  offset: [number, number, number];
  /** Files whose integers do not map exactly onto the common grid (coordinates move by < half a step). */
  inexact: string[];
  /** True when the finest scale could not hold the merged extent and a coarser one was used. */
  coarsened: boolean;
}

const INT_LIMIT = 2 ** 31 - 1;

/** Within a thousandth of a grid step (the division itself carries rounding noise for large ratios). */
function isInteger(x: number): boolean {
  return Math.abs(x - Math.round(x)) < 1e-3;
}

/**
 * Common scale and offset: the finest scale of the inputs (so no input loses precision), and the first
 * input's offset when the merged extent fits the 32-bit integers around it, else the extent's centre
 * rounded to 1e6 grid steps. The scale is made coarser (x10) only when the extent cannot fit at all.
 */
export function commonQuantisation(readers: readonly LasReader[]): Quantisation {
  const scale: [number, number, number] = [Infinity, Infinity, Infinity];
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const r of readers) {
    const h = r.header;
    for (let a = 0; a < 3; a++) {
      scale[a] = Math.min(scale[a], Math.abs(h.scale[a]));
      if (h.pointCount > 0) {
        lo[a] = Math.min(lo[a], h.bounds[a]);
        hi[a] = Math.max(hi[a], h.bounds[a + 3]);
      }
    }
  }
  const first = readers[0].header;
  const offset: [number, number, number] = [first.offset[0], first.offset[1], first.offset[2]];
  let coarsened = false;
  for (let a = 0; a < 3; a++) {
    if (!Number.isFinite(lo[a])) continue;
    // Header bounds can be stale by a little; keep a 1% margin of the integer range.
    const limit = INT_LIMIT * 0.99;
    while ((hi[a] - lo[a]) / scale[a] > 2 * limit) {
      scale[a] *= 10;
      coarsened = true;
    }
    const fits = (o: number) => (hi[a] - o) / scale[a] <= limit && (lo[a] - o) / scale[a] >= -limit;
    if (!fits(offset[a])) {
      // The centre, rounded to a multiple of 1e6 steps: a short decimal that still leaves the extent room.
      const step = scale[a] * 1e6;
      offset[a] = Number((Math.round((lo[a] + hi[a]) / 2 / step) * step).toPrecision(15));
    }
  }
  const inexact: string[] = [];
  for (const r of readers) {
    const h = r.header;
    let exact = true;
    for (let a = 0; a < 3; a++) {
      exact &&= isInteger(h.scale[a] / scale[a]) && isInteger((h.offset[a] - offset[a]) / scale[a]);
    }
    if (!exact) inexact.push(r.source.name);
  }
  return { scale, offset, inexact, coarsened };
}
