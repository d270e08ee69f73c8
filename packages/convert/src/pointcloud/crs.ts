/**
 * CRS options of point-cloud jobs. Reprojection does not exist yet, so `inputCrs`/`outputCrs` are only
 * accepted when they name the CRS the data already has; anything else is refused, never silently ignored.
 */
import { epsgFromLasWkt as epsgFromWkt } from "@realconv/formats";
import { ConversionError } from "../runner.js";

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

function short(crs: string): string {
  const key = crsKey(crs);
  if (key.startsWith("EPSG:")) return key;
  const name = /^[A-Z_0-9]+\[\s*"([^"]*)"/i.exec(crs.trim());
  return name ? `"${name[1]}"` : crs.slice(0, 60);
}

/**
 * The CRS the output carries, given the file's CRS and the job options. Throws UnsupportedOption when an
 * option would need a reprojection.
 */
export function effectiveCrs(fileCrs: string | undefined, options: Readonly<Record<string, unknown>>, fileName: string): string | undefined {
  const inputCrs = typeof options.inputCrs === "string" && options.inputCrs.trim() ? options.inputCrs.trim() : undefined;
  const outputCrs = typeof options.outputCrs === "string" && options.outputCrs.trim() ? options.outputCrs.trim() : undefined;
  if (inputCrs && fileCrs && !sameCrs(inputCrs, fileCrs)) {
    throw new ConversionError(
      "UnsupportedOption",
      "Unsupported option",
      "inputCrs %1 differs from the CRS %2 of the file %3; reinterpreting or reprojecting coordinates is not available yet.",
      [inputCrs, short(fileCrs), fileName],
    );
  }
  const crs = fileCrs ?? inputCrs;
  if (outputCrs && (!crs || !sameCrs(outputCrs, crs))) {
    throw new ConversionError(
      "UnsupportedOption",
      "Unsupported option",
      crs
        ? "outputCrs %1 differs from the CRS %2 of the file %3; reprojection is not available yet."
        : "outputCrs %1 was requested but the CRS of the file %3 is unknown (%2); reprojection is not available yet.",
      [outputCrs, crs ? short(crs) : "no CRS in the file and no inputCrs", fileName],
    );
  }
  return crs;
}
