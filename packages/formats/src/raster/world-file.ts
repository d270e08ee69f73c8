/**
 * ESRI world files (`.wld`, `.jgw`, `.pgw`, `.tfw`, ...): six numbers, one a line, giving the affine
 * transformation from pixel to map coordinates (x size, y rotation, x rotation, y size, then the centre of
 * the upper-left pixel), and the `.prj` file beside them (the CRS as WKT).
 */
import { FormatError } from "../io/byte-source.js";

/**
 * GDAL's geotransform: x = t[0] + col * t[1] + row * t[2], y = t[3] + col * t[4] + row * t[5], where
 * (col, row) = (0, 0) is the upper-left corner of the upper-left pixel.
 */
export type GeoTransform = readonly [number, number, number, number, number, number];

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$/;

/** Parses a world file; garbage, missing lines or a degenerate transformation throw FormatError. */
export function parseWorldFile(bytes: Uint8Array, file: string): GeoTransform {
  const text = new TextDecoder("latin1").decode(bytes);
  const values: number[] = [];
  let offset = 0;
  for (const line of text.split(/\n/)) {
    const token = line.trim();
    if (token !== "") {
      if (values.length === 6) throw new FormatError(`a world file has six numbers; more text follows: "${token.slice(0, 40)}"`, file, offset);
      if (!NUMBER.test(token)) throw new FormatError(`not a number in a world file: "${token.slice(0, 40)}"`, file, offset);
      values.push(Number(token.replace(/[dD]/, "e")));
    }
    offset += line.length + 1;
  }
  if (values.length < 6) throw new FormatError(`a world file has six numbers; found ${values.length}`, file, bytes.byteLength);
  const [a, d, b, e, c, f] = values;
  if (!values.every(Number.isFinite) || a * e - b * d === 0) throw new FormatError("the world file's transformation is degenerate", file, 0);
  // The file gives the centre of the upper-left pixel; the geotransform its corner.
  return [c - a / 2 - b / 2, a, b, f - d / 2 - e / 2, d, e];
}

/** The CRS text of a `.prj` file (WKT, as ESRI writes it), or a FormatError when it is empty or binary. */
export function readPrj(bytes: Uint8Array, file: string): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes).replace(/^\uFEFF/, "").trim();
  if (text === "") throw new FormatError("the .prj file is empty", file, 0);
  const bad = text.search(/[\u0000-\u0008\u000e-\u001f\uFFFD]/);
  if (bad >= 0) throw new FormatError("the .prj file is not text", file, bad);
  return text;
}

/** Names a world file of `image` may have, best first: `a.jgw`, `a.jpgw`, `a.wld` for `a.jpg`. */
export function worldFileNames(image: string): string[] {
  const dot = image.lastIndexOf(".");
  if (dot <= 0) return [`${image}.wld`];
  const base = image.slice(0, dot);
  const ext = image.slice(dot + 1);
  const names = [`${base}.${ext}w`, `${base}.wld`];
  if (ext.length >= 2) names.unshift(`${base}.${ext[0]}${ext[ext.length - 1]}w`);
  return names;
}

/** The inverse of a geotransform: map coordinates to (col, row). */
export function invertGeoTransform(t: GeoTransform): GeoTransform {
  const det = t[1] * t[5] - t[2] * t[4];
  if (det === 0) throw new RangeError("degenerate geotransform");
  const i1 = t[5] / det;
  const i2 = -t[2] / det;
  const i4 = -t[4] / det;
  const i5 = t[1] / det;
  return [-t[0] * i1 - t[3] * i2, i1, i2, -t[0] * i4 - t[3] * i5, i4, i5];
}
