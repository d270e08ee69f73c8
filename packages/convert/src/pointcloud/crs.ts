/**
 * CRS handling of point-cloud jobs: which CRS each input is in (`inputCrs` overrides the file's), which
 * CRS the output is in (`outputCrs`, else the input's), the transformation between them, a quantisation
 * suited to the output CRS's units, and the WGS 84 extent of the output.
 */
import {
  CrsError,
  createTransform,
  epsgFromLasWkt as epsgFromWkt,
  parseCrs,
  type CrsRef,
  type PointTransform,
} from "@realconv/formats";
import { epsgDefinitions } from "@realconv/formats/crs";
import { ConversionError, type Extent, type JobMessage } from "../contract/runner.js";

/** A comparable key: "EPSG:n[+m]" for codes and for WKT with a top-level EPSG id, else the WKT without blanks. */
export function crsKey(crs: string): string {
  const t = crs.trim();
  const code = /^EPSG:\s*(\d+)(\s*\+\s*(\d+))?$/i.exec(t);
  if (code) return code[3] ? `EPSG:${code[1]}+${code[3]}` : `EPSG:${code[1]}`;
  return epsgFromWkt(t) ?? t.replace(/\s+/g, "");
}

export function sameCrs(a: string, b: string): boolean {
  return crsKey(a) === crsKey(b);
}

/** A short name for messages: the EPSG code, or the WKT's name. */
export function shortCrs(crs: string): string {
  const key = crsKey(crs);
  if (key.startsWith("EPSG:")) return key;
  const name = /^[A-Z_0-9]+\[\s*"([^"]*)"/i.exec(crs.trim());
  return name ? `"${name[1]}"` : crs.slice(0, 60);
}

/** A CRS option; EPSG codes in the canonical spelling ("epsg:4326 " -> "EPSG:4326"). */
export function optionCrs(options: Readonly<Record<string, unknown>>, key: "inputCrs" | "outputCrs"): string | undefined {
  const v = options[key];
  if (typeof v !== "string" || !v.trim()) return undefined;
  return /^EPSG:\s*\d+(\s*\+\s*\d+)?$/i.test(v.trim()) ? crsKey(v) : v.trim();
}

const cache = new Map<string, CrsRef>();

/** Parses a CRS (EPSG code, WKT, PROJ string); a CRS we cannot use is an UnsupportedCrs ConversionError. */
export function parseJobCrs(text: string, where: string): CrsRef {
  const hit = cache.get(text);
  if (hit) return hit;
  try {
    const ref = parseCrs(text, epsgDefinitions);
    cache.set(text, ref);
    return ref;
  } catch (e) {
    if (e instanceof CrsError) {
      throw new ConversionError("UnsupportedCrs", "Unsupported CRS", "The CRS %1 of %2 cannot be used: %3", [shortCrs(text), where, e.message]);
    }
    throw e;
  }
}

/**
 * The CRS the coordinates of a file are in: `inputCrs` when given (it overrides the file's, with a warning
 * when they differ), else the file's; undefined when neither says.
 */
export function sourceCrs(fileCrs: string | undefined, options: Readonly<Record<string, unknown>>, label: string, warn: (m: JobMessage) => void): string | undefined {
  const inputCrs = optionCrs(options, "inputCrs");
  if (inputCrs && fileCrs && !sameCrs(inputCrs, fileCrs)) {
    warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "inputCrs %1 differs from the CRS %2 stated by the file %3; the coordinates were taken as %1.",
      params: [inputCrs, shortCrs(fileCrs), label],
    });
  }
  // The same CRS keeps the file's own spelling (its VLRs are then written back unchanged).
  return inputCrs && !(fileCrs && sameCrs(inputCrs, fileCrs)) ? inputCrs : fileCrs;
}

/**
 * The transformation from `from` to `to`, or undefined when the coordinates do not change. A change of
 * vertical datum (no geoid grid) and unknown CRSs fail with an UnsupportedCrs ConversionError.
 */
export function transformBetween(from: string, to: string, label: string, warn: (m: JobMessage) => void): PointTransform | undefined {
  if (sameCrs(from, to)) return undefined;
  const a = parseJobCrs(from, label);
  const b = parseJobCrs(to, "outputCrs");
  let t: PointTransform;
  try {
    t = createTransform(a, b);
  } catch (e) {
    if (e instanceof CrsError) {
      const title = e.code === "VerticalDatumUnsupported" ? "Unsupported vertical datum change" : "Unsupported CRS";
      throw new ConversionError("UnsupportedCrs", title, "Cannot reproject %1 from %2 to %3: %4.", [label, shortCrs(from), shortCrs(to), e.message]);
    }
    throw e;
  }
  for (const w of t.warnings) warn({ code: "InputData_Warning", title: "Input data warning", message: "%1: %2", params: [label, w] });
  return t.identity ? undefined : t;
}

function pow10Below(x: number): number {
  return Number((10 ** Math.floor(Math.log10(x) + 1e-9)).toPrecision(1));
}

/**
 * Quantisation step of reprojected coordinates: 1e-7 degree (about 1 cm) for geographic CRSs, else the
 * power of ten at or below 1 mm in the CRS's unit; heights 1 mm in their unit.
 */
export function scaleForCrs(crs: string): [number, number, number] {
  const ref = parseJobCrs(crs, "outputCrs");
  const h = ref.horizontal;
  const z = pow10Below(0.001 / ref.zUnitToMeter);
  if (!h || h.kind === "geographic") return [1e-7, 1e-7, z];
  const xy = pow10Below(0.001 / h.unitToMeter);
  return [xy, xy, h.kind === "geocentric" ? xy : z];
}

const WGS84 = "EPSG:4326";

/**
 * WGS 84 extent of bounds given in `crs`: a 3 x 3 grid over the box at both heights, transformed (heights
 * do not matter for the extent, so a vertical datum change is ignored). Undefined when it cannot be done.
 */
export function wgs84Extent(bounds: ArrayLike<number>, crs: string): Extent | undefined {
  if (!(bounds[0] <= bounds[3] && bounds[1] <= bounds[4])) return undefined;
  let t: PointTransform;
  try {
    t = createTransform(parseCrs(crs, epsgDefinitions), parseCrs(WGS84, epsgDefinitions), { ignoreVerticalDatum: true });
  } catch {
    return undefined;
  }
  const x = new Float64Array(18);
  const y = new Float64Array(18);
  const z = new Float64Array(18);
  let n = 0;
  for (const fz of [0, 1]) {
    for (const fx of [0, 0.5, 1]) {
      for (const fy of [0, 0.5, 1]) {
        x[n] = bounds[0] + fx * (bounds[3] - bounds[0]);
        y[n] = bounds[1] + fy * (bounds[4] - bounds[1]);
        z[n] = bounds[2] + fz * (bounds[5] - bounds[2]);
        n++;
      }
    }
  }
  try {
    t.transform(x, y, z);
  } catch {
    return undefined;
  }
  let s = Infinity, w = Infinity, no = -Infinity, e = -Infinity;
  for (let i = 0; i < n; i++) {
    w = Math.min(w, x[i]);
    e = Math.max(e, x[i]);
    s = Math.min(s, y[i]);
    no = Math.max(no, y[i]);
  }
  if (![s, w, no, e].every(Number.isFinite)) return undefined;
  return { southWest: { latitude: s, longitude: w }, northEast: { latitude: no, longitude: e } };
}

/** WKT for formats that store only WKT (E57): EPSG codes are expanded, other texts kept. */
export function crsAsWkt(crs: string): string {
  try {
    return parseCrs(crs, epsgDefinitions).wkt ?? crs;
  } catch {
    return crs;
  }
}
