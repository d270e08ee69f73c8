/**
 * XYZ / TXT / CSV point clouds: one point per line, values separated by spaces, tabs, commas or semicolons.
 * Lines starting with `#` or `//` are comments. One header line of column names may precede the data.
 *
 * With a header, columns are mapped by name (case-insensitive): x y z; r|red g|green b|blue;
 * i|intensity|scalar_intensity; nx|normal_x ny|normal_y nz|normal_z; anything else becomes an extra attribute.
 * Without a header, by column count:
 * - 3: x y z
 * - 4: x y z intensity
 * - 6: x y z r g b
 * - 7: x y z r g b intensity   (CloudCompare's order with one scalar field; PTS puts intensity 4th, see pts.ts)
 * - 9: x y z r g b nx ny nz    (CloudCompare's colour + normals export)
 * - other counts: x y z then extra attributes `column4`, `column5`, ...
 * Colours are taken as 0..255 and scaled x257 to 0..65535 (clamped); intensity as an integer 0..65535 (clamped).
 * XYZ files state no point count, so `pointCount` is undefined.
 */
import type { ByteSource } from "../../io/byte-source.js";
import { FormatError } from "../../io/byte-source.js";
import type { ColumnTarget, TextReaderOptions } from "./engine.js";
import { TextPointReader, isCommentLine, scanLines } from "./engine.js";
import { bytesText, isNumberToken } from "./number.js";
import { isBlank, tokenize } from "./lines.js";

const SEPARATORS = { comma: true, semicolon: true };

export function xyzTargetsByCount(columns: number): ColumnTarget[] {
  const t: ColumnTarget[] = [{ kind: "x" }, { kind: "y" }, { kind: "z" }];
  const rgb: ColumnTarget[] = [
    { kind: "color8", column: "red" },
    { kind: "color8", column: "green" },
    { kind: "color8", column: "blue" },
  ];
  if (columns === 4) t.push({ kind: "u16", column: "intensity" });
  else if (columns === 6) t.push(...rgb);
  else if (columns === 7) t.push(...rgb, { kind: "u16", column: "intensity" });
  else if (columns === 9)
    t.push(
      ...rgb,
      { kind: "normal", column: "normalX" },
      { kind: "normal", column: "normalY" },
      { kind: "normal", column: "normalZ" },
    );
  for (let c = t.length; c < columns; c++) t.push({ kind: "extra", name: `column${c + 1}` });
  return t;
}

const BY_NAME: Record<string, ColumnTarget> = {
  x: { kind: "x" },
  y: { kind: "y" },
  z: { kind: "z" },
  r: { kind: "color8", column: "red" },
  red: { kind: "color8", column: "red" },
  g: { kind: "color8", column: "green" },
  green: { kind: "color8", column: "green" },
  b: { kind: "color8", column: "blue" },
  blue: { kind: "color8", column: "blue" },
  i: { kind: "u16", column: "intensity" },
  intensity: { kind: "u16", column: "intensity" },
  scalar_intensity: { kind: "u16", column: "intensity" },
  nx: { kind: "normal", column: "normalX" },
  normal_x: { kind: "normal", column: "normalX" },
  ny: { kind: "normal", column: "normalY" },
  normal_y: { kind: "normal", column: "normalY" },
  nz: { kind: "normal", column: "normalZ" },
  normal_z: { kind: "normal", column: "normalZ" },
};

/** Maps header names to targets; duplicates and missing x/y/z are errors. */
export function xyzTargetsByNames(names: string[], file: string, offset: number): ColumnTarget[] {
  const seen = new Set<string>();
  const targets = names.map((raw): ColumnTarget => {
    const key = raw.replace(/^["']|["']$/g, "").trim();
    const t = BY_NAME[key.toLowerCase()];
    const id = t ? (t.kind === "x" || t.kind === "y" || t.kind === "z" ? t.kind : "column" in t ? t.column : key) : key;
    if (seen.has(id)) throw new FormatError(`header names column "${key}" twice`, file, offset);
    seen.add(id);
    return t ?? { kind: "extra", name: key };
  });
  for (const k of ["x", "y", "z"]) if (!seen.has(k)) throw new FormatError(`header has no "${k}" column`, file, offset);
  return targets;
}

/** Opens an XYZ/TXT file: reads just enough lines to find the optional header and the column layout. */
export async function openXyz(src: ByteSource, options?: TextReaderOptions): Promise<TextPointReader> {
  let header: { names: string[]; offset: number } | undefined;
  let dataOffset = -1;
  let columns = 0;
  const bounds = { starts: new Int32Array(32), ends: new Int32Array(32) };
  await scanLines(src, (b, s, e, offset) => {
    if (isBlank(b, s, e) || isCommentLine(b, s, e)) return true;
    const n = tokenize(b, s, e, SEPARATORS, bounds);
    if (!isNumberToken(b, bounds.starts[0], bounds.ends[0])) {
      if (header) throw new FormatError(`not a number: "${bytesText(b, bounds.starts[0], bounds.ends[0])}"`, src.name, offset);
      const names: string[] = [];
      for (let t = 0; t < n; t++) names.push(bytesText(b, bounds.starts[t], bounds.ends[t]));
      header = { names, offset };
      return true;
    }
    columns = n;
    dataOffset = offset;
    return false;
  });
  let targets: ColumnTarget[];
  if (header) {
    targets = xyzTargetsByNames(header.names, src.name, header.offset);
    if (dataOffset >= 0 && columns !== targets.length) {
      throw new FormatError(`header names ${targets.length} columns but the first point has ${columns}`, src.name, dataOffset);
    }
  } else if (dataOffset >= 0) {
    if (columns < 3) throw new FormatError(`a point needs at least 3 columns, found ${columns}`, src.name, dataOffset);
    targets = xyzTargetsByCount(columns);
  } else {
    targets = xyzTargetsByCount(3);
  }
  return new TextPointReader(
    src,
    { targets, dataOffset: dataOffset < 0 ? src.size : dataOffset, statedCount: undefined, countLines: false, separators: SEPARATORS, comments: true },
    options,
  );
}
