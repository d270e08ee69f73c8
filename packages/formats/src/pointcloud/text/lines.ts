/**
 * Line-oriented reading of text point clouds through a ByteSource, in bounded blocks.
 * A block always ends on a line boundary: the partial last line of one read is carried into the next,
 * so parsers never see a line cut in two and never hold more than one block (plus one line) in memory.
 */
import type { ByteSource } from "../../io/byte-source.js";
import { FormatError } from "../../io/byte-source.js";
import { parseNumber, isNumberToken } from "./number.js";

/** Bytes read per call to the source. */
export const TEXT_BLOCK_BYTES = 1 << 20;
/** A single line longer than this is not a point record: stop instead of buffering without bound. */
export const MAX_LINE_BYTES = 1 << 20;

export interface LineBlock {
  bytes: Uint8Array;
  /** Absolute file offset of bytes[0]. */
  offset: number;
}

/** Yields blocks of whole lines starting at `from`; the last block may end without a newline (end of file). */
export async function* lineBlocks(
  src: ByteSource,
  from = 0,
  blockBytes = TEXT_BLOCK_BYTES,
  signal?: AbortSignal,
): AsyncGenerator<LineBlock> {
  let pos = from;
  let carry: Uint8Array | undefined;
  let carryOffset = from;
  while (pos < src.size) {
    signal?.throwIfAborted();
    const read = await src.read(pos, Math.min(blockBytes, src.size - pos));
    if (read.byteLength === 0) throw new FormatError("unexpected end of data", src.name, pos);
    pos += read.byteLength;
    let bytes: Uint8Array;
    if (carry) {
      bytes = new Uint8Array(carry.byteLength + read.byteLength);
      bytes.set(carry, 0);
      bytes.set(read, carry.byteLength);
    } else {
      bytes = read;
      carryOffset = pos - read.byteLength;
    }
    const blockOffset = carryOffset;
    const lastNl = bytes.lastIndexOf(10);
    if (pos >= src.size) {
      carry = undefined;
      yield { bytes, offset: blockOffset };
      return;
    }
    if (lastNl < 0) {
      if (bytes.byteLength > MAX_LINE_BYTES) {
        throw new FormatError(`line longer than ${MAX_LINE_BYTES} bytes`, src.name, blockOffset);
      }
      // Copy: a source may reuse its read buffer, and the carry must survive the next read.
      carry = bytes.slice();
      carryOffset = blockOffset;
      continue;
    }
    carry = lastNl + 1 < bytes.byteLength ? bytes.slice(lastNl + 1) : undefined;
    carryOffset = blockOffset + lastNl + 1;
    yield { bytes: bytes.subarray(0, lastNl + 1), offset: blockOffset };
  }
  if (carry) yield { bytes: carry, offset: carryOffset };
}

/** Which bytes separate tokens; runs of separators count as one. */
export interface Separators {
  comma: boolean;
  semicolon: boolean;
}

/**
 * Splits bytes[start, end) (one line, without its newline) into tokens, recording [start, end) pairs into `bounds`
 * (grown as needed). Returns the token count. Space, tab and CR always separate.
 */
export function tokenize(
  bytes: Uint8Array,
  start: number,
  end: number,
  seps: Separators,
  bounds: { starts: Int32Array; ends: Int32Array },
): number {
  let n = 0;
  let i = start;
  const comma = seps.comma;
  const semi = seps.semicolon;
  while (i < end) {
    let c = bytes[i];
    if (c === 32 || c === 9 || c === 13 || (comma && c === 44) || (semi && c === 59)) {
      i++;
      continue;
    }
    const s = i;
    while (i < end) {
      c = bytes[i];
      if (c === 32 || c === 9 || c === 13 || (comma && c === 44) || (semi && c === 59)) break;
      i++;
    }
    if (n === bounds.starts.length) {
      const ns = new Int32Array(n * 2);
      ns.set(bounds.starts);
      const ne = new Int32Array(n * 2);
      ne.set(bounds.ends);
      bounds.starts = ns;
      bounds.ends = ne;
    }
    bounds.starts[n] = s;
    bounds.ends[n] = i;
    n++;
  }
  return n;
}

/** Index just past the end of the line starting at `i` (at the newline), and the line end without a trailing CR. */
export function lineEnd(bytes: Uint8Array, i: number): number {
  const nl = bytes.indexOf(10, i);
  return nl < 0 ? bytes.byteLength : nl;
}

/** True for an empty line or one with only whitespace. */
export function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** First non-whitespace index in [start, end), or end. */
export function skipSpace(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && (bytes[i] === 32 || bytes[i] === 9 || bytes[i] === 13)) i++;
  return i;
}

/**
 * Parses every token as a number into `out`; returns -1 when all parsed, or the index of the first token that is
 * not a number (so the caller can report its byte offset).
 */
export function parseTokens(
  bytes: Uint8Array,
  bounds: { starts: Int32Array; ends: Int32Array },
  count: number,
  out: Float64Array,
): number {
  for (let t = 0; t < count; t++) {
    const v = parseNumber(bytes, bounds.starts[t], bounds.ends[t]);
    if (v !== v && !isNumberToken(bytes, bounds.starts[t], bounds.ends[t])) return t;
    out[t] = v;
  }
  return -1;
}
