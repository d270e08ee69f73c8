/**
 * Shared engine of the PTS and XYZ readers: every data line is one point whose columns are mapped, by position,
 * to targets decided once when the file is opened (from the column count or a header line).
 */
import type { ByteSource } from "../../io/byte-source.js";
import { FormatError } from "../../io/byte-source.js";
import type { ColumnName, ExtraAttribute, PointChunk, PointCloudReader, PointSchema } from "../chunk.js";
import { DEFAULT_CHUNK_POINTS } from "../chunk.js";
import { ColumnBuilder, clampU16, u8ToU16 } from "./column-builder.js";
import { bytesText, parseNumber } from "./number.js";
import type { LineBlock, Separators } from "./lines.js";
import { TEXT_BLOCK_BYTES, isBlank, lineBlocks, parseTokens, skipSpace, tokenize } from "./lines.js";

/** How a value in a column becomes part of a point. */
export type ColumnTarget =
  | { kind: "x" | "y" | "z" | "skip" }
  | { kind: "color8"; column: "red" | "green" | "blue" }
  | { kind: "u16"; column: "intensity" }
  | { kind: "ptsIntensity" }
  | { kind: "normal"; column: "normalX" | "normalY" | "normalZ" }
  | { kind: "extra"; name: string };

export interface TextReaderOptions {
  /** Points per chunk (at most DEFAULT_CHUNK_POINTS unless raised on purpose). */
  chunkPoints?: number;
  /** Bytes per read from the source. */
  blockBytes?: number;
}

export interface TextLayout {
  targets: ColumnTarget[];
  /** Offset where point lines start (after any header or count line). */
  dataOffset: number;
  /** Point count stated by the file, if it does. */
  statedCount: number | undefined;
  /** PTS: a line with a single integer starts another scan block. */
  countLines: boolean;
  separators: Separators;
  /** Skip `#` and `//` comment lines. */
  comments: boolean;
}

/** PTS intensity (Leica convention, -2048..2047) mapped linearly onto 0..65535, clamped. */
export function ptsIntensityToU16(v: number): number {
  const u = ((v + 2048) * 65535) / 4095;
  if (!(u > 0)) return 0;
  return u >= 65535 ? 65535 : Math.round(u);
}

export function schemaOf(targets: ColumnTarget[]): PointSchema {
  const columns: ColumnName[] = [];
  const extra: ExtraAttribute[] = [];
  for (const t of targets) {
    if (t.kind === "color8" || t.kind === "u16" || t.kind === "normal") columns.push(t.column);
    else if (t.kind === "ptsIntensity") columns.push("intensity");
    else if (t.kind === "extra") extra.push({ name: t.name, type: "f64" });
  }
  return { columns, extra };
}

/** True when a line (trimmed) starts with `#` or `//`. */
export function isCommentLine(bytes: Uint8Array, start: number, end: number): boolean {
  const i = skipSpace(bytes, start, end);
  if (i >= end) return false;
  return bytes[i] === 35 || (bytes[i] === 47 && i + 1 < end && bytes[i + 1] === 47);
}

/** A token that is a plain non-negative integer (a PTS count line). */
export function integerToken(bytes: Uint8Array, start: number, end: number): number | undefined {
  if (end <= start || end - start > 15) return undefined;
  for (let i = start; i < end; i++) if (bytes[i] < 48 || bytes[i] > 57) return undefined;
  return parseNumber(bytes, start, end);
}

/** Visits the lines of the file one by one until `visit` returns false; for the opening look at a file. */
export async function scanLines(
  src: ByteSource,
  visit: (bytes: Uint8Array, start: number, end: number, offset: number) => boolean,
): Promise<void> {
  for await (const block of lineBlocks(src, 0, 64 * 1024)) {
    const b = block.bytes;
    let i = 0;
    while (i < b.byteLength) {
      let e = b.indexOf(10, i);
      if (e < 0) e = b.byteLength;
      if (!visit(b, i, e, block.offset + i)) return;
      i = e + 1;
    }
  }
}

export class TextPointReader implements PointCloudReader {
  readonly schema: PointSchema;
  readonly crs: string | undefined = undefined;
  readonly warnings: string[] = [];
  private announced: number | undefined;

  constructor(
    readonly src: ByteSource,
    readonly layout: TextLayout,
    readonly options: TextReaderOptions = {},
  ) {
    this.schema = schemaOf(layout.targets);
    this.announced = layout.statedCount;
  }

  /** The count the file states (PTS count lines, summed over scan blocks seen so far); undefined if none. */
  get pointCount(): number | undefined {
    return this.announced;
  }

  async *chunks(signal?: AbortSignal): AsyncIterable<PointChunk> {
    const { targets, separators, comments, countLines } = this.layout;
    const name = this.src.name;
    const ncols = targets.length;
    const capacity = Math.max(1, this.options.chunkPoints ?? DEFAULT_CHUNK_POINTS);
    const builder = new ColumnBuilder(this.schema, capacity);
    const bounds = { starts: new Int32Array(32), ends: new Int32Array(32) };
    const values = new Float64Array(Math.max(32, ncols));
    // Resolve each target to its destination array once per chunk (the builder hands out new arrays per chunk).
    const codes = new Int32Array(ncols);
    for (let c = 0; c < ncols; c++) codes[c] = codeOf(targets[c]);
    let dests: (Float64Array | Float32Array | Uint16Array | undefined)[] = [];
    const bind = () => {
      dests = targets.map((t) => {
        switch (t.kind) {
          case "x":
            return builder.x;
          case "y":
            return builder.y;
          case "z":
            return builder.z;
          case "color8":
          case "u16":
          case "normal":
            return builder.columns[t.column] as Uint16Array | Float32Array;
          case "ptsIntensity":
            return builder.columns.intensity as Uint16Array;
          case "extra":
            return builder.extra[t.name];
          default:
            return undefined;
        }
      });
    };
    bind();
    let expected = this.layout.statedCount;
    let total = 0;
    let lastOffset = this.layout.dataOffset;
    for await (const block of lineBlocks(this.src, this.layout.dataOffset, this.options.blockBytes ?? TEXT_BLOCK_BYTES, signal)) {
      const b: Uint8Array = block.bytes;
      const len = b.byteLength;
      let i = 0;
      while (i < len) {
        let e = b.indexOf(10, i);
        if (e < 0) e = len;
        const lineStart = i;
        i = e + 1;
        if (isBlank(b, lineStart, e)) continue;
        if (comments && isCommentLine(b, lineStart, e)) continue;
        const n = tokenize(b, lineStart, e, separators, bounds);
        if (n !== ncols) {
          const count = n === 1 && countLines ? integerToken(b, bounds.starts[0], bounds.ends[0]) : undefined;
          if (count !== undefined) {
            // Leica PTS may hold several scans, each introduced by its own count line.
            if (expected !== undefined && total !== expected) {
              throw countError(name, block, lineStart, expected, total);
            }
            expected = (expected ?? 0) + count;
            this.announced = expected;
            continue;
          }
          throw new FormatError(
            `expected ${ncols} columns but found ${n} in "${clip(bytesText(b, lineStart, e))}"`,
            name,
            block.offset + lineStart,
          );
        }
        const bad = parseTokens(b, bounds, n, values);
        if (bad >= 0) {
          throw new FormatError(
            `not a number: "${clip(bytesText(b, bounds.starts[bad], bounds.ends[bad]))}"`,
            name,
            block.offset + bounds.starts[bad],
          );
        }
        const k = builder.count;
        for (let c = 0; c < ncols; c++) {
          const v = values[c];
          switch (codes[c]) {
            case CODE_DIRECT:
              (dests[c] as Float64Array | Float32Array)[k] = v;
              break;
            case CODE_COLOR8:
              (dests[c] as Uint16Array)[k] = u8ToU16(v);
              break;
            case CODE_U16:
              (dests[c] as Uint16Array)[k] = clampU16(v);
              break;
            case CODE_PTS_INTENSITY:
              (dests[c] as Uint16Array)[k] = ptsIntensityToU16(v);
              break;
            default:
              break;
          }
        }
        builder.count = k + 1;
        total++;
        if (builder.full) {
          yield builder.take();
          bind();
          signal?.throwIfAborted();
        }
      }
      lastOffset = block.offset + len;
    }
    if (expected !== undefined && total !== expected) {
      throw new FormatError(`the file states ${expected} points but holds ${total}`, name, lastOffset);
    }
    if (builder.count > 0) yield builder.take();
  }
}

const CODE_SKIP = 0;
const CODE_DIRECT = 1;
const CODE_COLOR8 = 2;
const CODE_U16 = 3;
const CODE_PTS_INTENSITY = 4;

function codeOf(t: ColumnTarget): number {
  switch (t.kind) {
    case "x":
    case "y":
    case "z":
    case "normal":
    case "extra":
      return CODE_DIRECT;
    case "color8":
      return CODE_COLOR8;
    case "u16":
      return CODE_U16;
    case "ptsIntensity":
      return CODE_PTS_INTENSITY;
    default:
      return CODE_SKIP;
  }
}

function countError(name: string, block: LineBlock, at: number, expected: number, total: number): FormatError {
  return new FormatError(`a scan block states ${expected} points in total but ${total} precede the next count line`, name, block.offset + at);
}

export function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
