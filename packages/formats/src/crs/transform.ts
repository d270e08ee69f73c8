/**
 * Point transformations between CRSs, in place on typed-array columns (batch; no per-point objects of ours).
 * Horizontal (and ellipsoidal/geocentric) maths is proj4's; heights are handled here because proj4 has no vertical
 * datums: identical vertical datums (or none stated) keep heights, converting units; a change of vertical datum
 * would need a geoid grid we do not ship, so it fails with `VerticalDatumUnsupported` instead of giving wrong heights.
 *
 * Axis order is always x = easting/longitude, y = northing/latitude, whatever the CRS's official axis order.
 */
import proj4 from "proj4";
import type { Positions } from "../pointcloud/chunk.js";
import type { CrsRef, HorizontalCrs, VerticalCrs } from "./crs.js";
import { CrsError, normalise } from "./crs.js";

export interface TransformOptions {
  /**
   * When the vertical datums differ, keep the height values (converted between units) and add a warning instead of
   * throwing `VerticalDatumUnsupported`. For callers that accept heights off by the geoid separation.
   */
  ignoreVerticalDatum?: boolean;
}

export interface PointTransform {
  readonly from: CrsRef;
  readonly to: CrsRef;
  /** True when nothing changes (same CRS, same units). */
  readonly identity: boolean;
  readonly warnings: string[];
  /**
   * Transforms the first `count` (default: all) points of x/y/z in place. Without z, heights are taken as 0
   * where the maths needs one (e.g. geocentric output) and not written.
   */
  transform(x: Float64Array, y: Float64Array, z?: Float64Array, count?: number): void;
}

function describe(v: VerticalCrs): string {
  return v.kind === "ellipsoidal" ? "ellipsoidal heights" : `${v.name} (datum ${v.datumName}${v.datumAuthority ? `, ${v.datumAuthority}` : ""})`;
}

/** True when heights in `a` and `b` are comparable without a geoid model. */
function sameVertical(a: VerticalCrs | undefined, b: VerticalCrs | undefined): boolean {
  if (!a || !b) return true;
  if (a.kind === "ellipsoidal" && b.kind === "ellipsoidal") return true;
  if (a.kind !== b.kind) return false;
  // Authority codes decide when both sides have one; otherwise the datum names (ESRI and EPSG spell them alike once
  // normalised).
  if (a.datumAuthority && b.datumAuthority) return a.datumAuthority === b.datumAuthority;
  return normalise(a.datumName) === normalise(b.datumName);
}

function needHorizontal(ref: CrsRef, role: string): HorizontalCrs {
  if (!ref.horizontal) throw new CrsError("InvalidCrs", `the ${role} CRS "${ref.name ?? ref.text}" has no horizontal part`);
  return ref.horizontal;
}

/** Builds the transformation from one CRS to another; throws CrsError when it cannot be done correctly. */
export function createTransform(from: CrsRef, to: CrsRef, options: TransformOptions = {}): PointTransform {
  const hf = needHorizontal(from, "source");
  const ht = needHorizontal(to, "target");
  const warnings: string[] = [...from.warnings, ...to.warnings];
  if (!sameVertical(from.vertical, to.vertical)) {
    const msg =
      `changing heights from ${describe(from.vertical!)} to ${describe(to.vertical!)} needs a geoid model grid, ` +
      `which is not available; heights would be wrong by the geoid separation`;
    if (!options.ignoreVerticalDatum) throw new CrsError("VerticalDatumUnsupported", msg);
    warnings.push(`${msg}; heights kept as they are`);
  }
  const zIn = from.zUnitToMeter;
  const zOut = to.zUnitToMeter;
  // proj4's height is right when either side is geocentric (z is a coordinate there) or both are ellipsoidal.
  const useProjZ =
    hf.kind === "geocentric" ||
    ht.kind === "geocentric" ||
    (from.vertical?.kind === "ellipsoidal" && to.vertical?.kind === "ellipsoidal");
  const sameHorizontal = hf.definition === ht.definition;
  const identity = sameHorizontal && zIn === zOut;
  const converter = sameHorizontal ? undefined : proj4(hf.definition, ht.definition);
  const p = [0, 0, 0];
  // proj4 does not reject latitudes beyond the poles; they would come out as plausible-looking garbage.
  const checkLat = hf.kind === "geographic";
  return {
    from,
    to,
    identity,
    warnings,
    transform(x, y, z, count = x.length) {
      if (count > x.length || count > y.length || (z && count > z.length)) throw new RangeError("count exceeds the columns");
      if (identity) return;
      if (!converter) {
        if (z) for (let i = 0; i < count; i++) z[i] = (z[i] * zIn) / zOut;
        return;
      }
      for (let i = 0; i < count; i++) {
        const zm = z ? z[i] * zIn : 0;
        if (checkLat && Math.abs(y[i]) > 90 + 1e-9) {
          throw new CrsError("TransformFailed", `point ${i}: latitude ${y[i]} is beyond the poles`);
        }
        p[0] = x[i];
        p[1] = y[i];
        p[2] = zm;
        let r: number[] | undefined;
        try {
          r = converter.forward(p) as number[] | undefined;
        } catch (e) {
          throw new CrsError("TransformFailed", `point ${i} (${x[i]}, ${y[i]}, ${z ? z[i] : 0}): ${(e as Error).message}`);
        }
        if (!r || !Number.isFinite(r[0]) || !Number.isFinite(r[1])) {
          if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
            throw new CrsError("TransformFailed", `point ${i} (${x[i]}, ${y[i]}) cannot be transformed from ${from.name ?? from.text} to ${to.name ?? to.text}`);
          }
          continue;
        }
        x[i] = r[0];
        y[i] = r[1];
        if (z) z[i] = (useProjZ ? (r[2] ?? 0) : zm) / zOut;
      }
    },
  };
}

/**
 * Transforms chunk positions. f64 positions are changed in place and returned; scaled-integer (i32) positions are
 * decoded into new f64 columns first (a reprojection rarely stays on the same integer grid).
 */
export function transformPositions(positions: Positions, count: number, t: PointTransform): Positions & { kind: "f64" } {
  let p: Positions & { kind: "f64" };
  if (positions.kind === "f64") p = positions;
  else {
    const { scale, offset } = positions;
    const x = new Float64Array(count);
    const y = new Float64Array(count);
    const z = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      x[i] = positions.x[i] * scale[0] + offset[0];
      y[i] = positions.y[i] * scale[1] + offset[1];
      z[i] = positions.z[i] * scale[2] + offset[2];
    }
    p = { kind: "f64", x, y, z };
  }
  t.transform(p.x, p.y, p.z, count);
  return p;
}

/**
 * A 2D converter between the horizontal parts of two CRSs for dense grids (raster warping): points that
 * cannot be converted become NaN instead of failing the whole call. Undefined when nothing changes.
 */
export function planarConverter(from: CrsRef, to: CrsRef): ((x: Float64Array, y: Float64Array, count?: number) => void) | undefined {
  const hf = needHorizontal(from, "source");
  const ht = needHorizontal(to, "target");
  if (hf.definition === ht.definition) return undefined;
  const converter = proj4(hf.definition, ht.definition);
  const p = [0, 0];
  return (x, y, count = x.length) => {
    for (let i = 0; i < count; i++) {
      p[0] = x[i];
      p[1] = y[i];
      let r: number[] | undefined;
      try {
        r = Number.isFinite(p[0]) && Number.isFinite(p[1]) ? (converter.forward(p) as number[]) : undefined;
      } catch {
        r = undefined;
      }
      const ok = r !== undefined && Number.isFinite(r[0]) && Number.isFinite(r[1]);
      x[i] = ok ? r![0] : NaN;
      y[i] = ok ? r![1] : NaN;
    }
  };
}
