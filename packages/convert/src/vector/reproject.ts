/**
 * Coordinates of a batch of features reprojected in place: the batch's positions gathered into columns,
 * transformed in one call, written back (heights only where positions have them).
 */
import { CrsError, forEachPosition, type PointTransform, type Position, type VectorFeature } from "@realconv/formats";
import { ConversionError } from "../contract/runner.js";

export function positionsOf(features: readonly VectorFeature[]): Position[] {
  const out: Position[] = [];
  for (const f of features) if (f.geometry) forEachPosition(f.geometry, (p) => out.push(p));
  return out;
}

/**
 * Fails when a layer said to be in degrees has coordinates that cannot be degrees (a GeoJSON file without
 * `crs` whose coordinates are metres): converting it would give a wrong file.
 */
export function checkDegrees(positions: readonly Position[], label: string, crs: string): void {
  for (const p of positions) {
    if (Math.abs(p[0]) > 360 || Math.abs(p[1]) > 90) {
      throw new ConversionError(
        "InputData_Invalid",
        "Invalid input data",
        "The file %1 is read as %2 (longitude, latitude in degrees), but it has the position (%3, %4); give its CRS with inputCrs.",
        [label, crs, String(p[0]), String(p[1])],
      );
    }
  }
}

export function reproject(positions: readonly Position[], t: PointTransform, label: string): void {
  const n = positions.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = positions[i];
    x[i] = p[0];
    y[i] = p[1];
    z[i] = p.length > 2 ? p[2] : 0;
  }
  try {
    t.transform(x, y, z, n);
  } catch (e) {
    if (e instanceof CrsError) throw new ConversionError("UnsupportedCrs", "Unsupported CRS", "Cannot reproject %1: %2.", [label, e.message]);
    throw e;
  }
  for (let i = 0; i < n; i++) {
    const p = positions[i];
    p[0] = x[i];
    p[1] = y[i];
    if (p.length > 2) p[2] = z[i];
  }
}
