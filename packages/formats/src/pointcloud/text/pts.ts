/**
 * PTS point clouds (Leica style text): an optional first line holding the point count, then one point per line.
 *
 * Columns are decided by the first data line:
 * - 3: x y z
 * - 4: x y z intensity
 * - 6: x y z r g b
 * - 7: x y z intensity r g b
 * - 5, or more than 7: the 4- or 7-column layout followed by extra attributes `column5`, `column8`, ...
 * Intensity: PTS stores it signed, -2048..2047; it is mapped linearly onto 0..65535 (-2048 -> 0, 2047 -> 65535),
 * values outside clamped. Colours are 0..255, scaled x257 to 0..65535. Space, tab or comma separated.
 * A later line holding a single integer starts another scan block (multi-scan PTS): counts are summed and checked.
 */
import type { ByteSource } from "../../io/byte-source.js";
import { FormatError } from "../../io/byte-source.js";
import type { ColumnTarget, TextReaderOptions } from "./engine.js";
import { TextPointReader, integerToken, isCommentLine, scanLines } from "./engine.js";
import { isBlank, tokenize } from "./lines.js";

export { ptsIntensityToU16 } from "./engine.js";

const SEPARATORS = { comma: true, semicolon: false };

export function ptsTargets(columns: number): ColumnTarget[] {
  const t: ColumnTarget[] = [{ kind: "x" }, { kind: "y" }, { kind: "z" }];
  if (columns === 3) return t;
  t.push({ kind: "ptsIntensity" });
  if (columns >= 7) t.push({ kind: "color8", column: "red" }, { kind: "color8", column: "green" }, { kind: "color8", column: "blue" });
  if (columns === 6) {
    t.pop();
    t.push({ kind: "color8", column: "red" }, { kind: "color8", column: "green" }, { kind: "color8", column: "blue" });
  }
  for (let c = t.length; c < columns; c++) t.push({ kind: "extra", name: `column${c + 1}` });
  return t;
}

/** Opens a PTS file: reads just enough lines to find the count line and the column layout. */
export async function openPts(src: ByteSource, options?: TextReaderOptions): Promise<TextPointReader> {
  let statedCount: number | undefined;
  let dataOffset = -1;
  let columns = 0;
  let sawFirst = false;
  const bounds = { starts: new Int32Array(32), ends: new Int32Array(32) };
  await scanLines(src, (b, s, e, offset) => {
    if (isBlank(b, s, e) || isCommentLine(b, s, e)) return true;
    const n = tokenize(b, s, e, SEPARATORS, bounds);
    if (!sawFirst) {
      sawFirst = true;
      if (n === 1) {
        const count = integerToken(b, bounds.starts[0], bounds.ends[0]);
        if (count === undefined) throw new FormatError("first line is neither a point count nor a point", src.name, offset);
        statedCount = count;
        return true;
      }
    }
    if (n < 3) throw new FormatError(`a PTS point needs at least 3 columns, found ${n}`, src.name, offset);
    columns = n;
    dataOffset = offset;
    return false;
  });
  if (dataOffset < 0) {
    // No point line at all: a count of 0 (or an empty file) is a valid empty cloud.
    if ((statedCount ?? 0) !== 0) throw new FormatError(`the file states ${statedCount} points but holds none`, src.name, src.size);
    return new TextPointReader(src, { targets: ptsTargets(3), dataOffset: src.size, statedCount, countLines: true, separators: SEPARATORS, comments: true }, options);
  }
  return new TextPointReader(
    src,
    { targets: ptsTargets(columns), dataOffset, statedCount, countLines: true, separators: SEPARATORS, comments: true },
    options,
  );
}
