/**
 * Tie point files of ContextCapture (BlocksExchange `<TiePoints><Path>`): `<TiePoint>` elements one after
 * another (with or without a `<TiePoints>` root), each with a `<Position>` x/y/z and an optional `<Color>`
 * Red/Green/Blue in 0..1. Such files hold millions of points, so they are read as a stream (saxes, in
 * fragment mode since there may be many top-level elements) into batches of typed arrays: memory stays a
 * batch whatever the file size, and no per-point object is made.
 */
import { SaxesParser, type SaxesTag } from "saxes";
import { FormatError, type ByteSource } from "../io/byte-source.js";

export interface TiePointBatch {
  count: number;
  /** xyz interleaved. */
  positions: Float64Array;
  /** RGB interleaved, 0..255; points without a colour are 0, 0, 0 (`colored` says which have one). */
  colors: Uint8Array;
  colored: Uint8Array;
}

const READ_BYTES = 1 << 20;
const COLOUR = { Red: 0, Green: 1, Blue: 2, red: 0, green: 1, blue: 2 } as Record<string, number>;
const AXIS = { x: 0, y: 1, z: 2 } as Record<string, number>;

/** Streams a tie point file in batches of at most `batchPoints`. */
export async function* streamTiePoints(source: ByteSource, batchPoints = 65_536, signal?: AbortSignal): AsyncGenerator<TiePointBatch> {
  const parser = new SaxesParser<{ fragment: true; position: true }>({ fragment: true, position: true });
  let error: FormatError | undefined;
  let offset = 0;
  const fail = (message: string) => {
    error ??= new FormatError(message, source.name, offset + parser.position);
  };
  let batch = newBatch(batchPoints);
  const ready: TiePointBatch[] = [];
  // Where the parser is: inside a TiePoint, its Position or Color, and which value's text is being read.
  let inPoint = false;
  let block: "Position" | "Color" | undefined;
  let field: number | undefined;
  let text = "";
  let seen = 0;
  parser.on("error", (e) => fail(`not well-formed XML: ${e.message}`));
  parser.on("opentag", (tag: SaxesTag) => {
    if (tag.name === "TiePoint") {
      inPoint = true;
      seen = 0;
      batch.positions.fill(NaN, batch.count * 3, batch.count * 3 + 3);
    } else if (inPoint && (tag.name === "Position" || tag.name === "Color")) block = tag.name;
    else if (block === "Position" && tag.name in AXIS) field = AXIS[tag.name];
    else if (block === "Color" && tag.name in COLOUR) field = COLOUR[tag.name];
    text = "";
  });
  parser.on("text", (t) => {
    if (field !== undefined) text += t;
  });
  parser.on("closetag", (tag: SaxesTag) => {
    if (field !== undefined && block && (tag.name in AXIS || tag.name in COLOUR)) {
      const v = text.trim() === "" ? NaN : Number(text);
      if (!Number.isFinite(v)) fail(`tie point ${batchIndex + batch.count}: ${block} ${tag.name} is not a number (${JSON.stringify(text.slice(0, 40))})`);
      else if (block === "Position") {
        batch.positions[batch.count * 3 + field] = v;
        seen |= 1 << field;
      } else {
        batch.colors[batch.count * 3 + field] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        batch.colored[batch.count] = 1;
      }
      field = undefined;
    } else if (tag.name === "Position" || tag.name === "Color") block = undefined;
    else if (tag.name === "TiePoint" && inPoint) {
      inPoint = false;
      if (seen !== 7) fail(`tie point ${batchIndex + batch.count} has no complete Position`);
      batch.count++;
      if (batch.count === batchPoints) {
        ready.push(batch);
        batchIndex += batch.count;
        batch = newBatch(batchPoints);
      }
    }
  });
  let batchIndex = 0;
  const decoder = new TextDecoder("utf-8");
  let head = true;
  for (offset = 0; offset < source.size; ) {
    if (signal?.aborted) throw signal.reason;
    const bytes = await source.read(offset, Math.min(READ_BYTES, source.size - offset));
    if (bytes.byteLength === 0) break;
    let chunk = decoder.decode(bytes, { stream: true });
    if (head) {
      // The declaration (and a BOM) come first; fragment mode takes neither.
      chunk = chunk.replace(/^\uFEFF/, "").replace(/^\s*<\?xml[^>]*\?>/, "");
      head = false;
    }
    parser.write(chunk);
    offset += bytes.byteLength;
    if (error) throw error;
    while (ready.length > 0) yield ready.shift()!;
  }
  parser.write(decoder.decode());
  if (inPoint) fail("the file ends inside a TiePoint");
  parser.close();
  if (error) throw error;
  while (ready.length > 0) yield ready.shift()!;
  if (batch.count > 0) yield trimmed(batch);
}

function newBatch(n: number): TiePointBatch {
  return { count: 0, positions: new Float64Array(n * 3), colors: new Uint8Array(n * 3), colored: new Uint8Array(n) };
}

function trimmed(b: TiePointBatch): TiePointBatch {
  return { count: b.count, positions: b.positions.slice(0, b.count * 3), colors: b.colors.slice(0, b.count * 3), colored: b.colored.slice(0, b.count) };
}
