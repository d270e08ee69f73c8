/**
 * PLY header: format, elements and their properties, comments. Read through a ByteSource in small ranges until
 * `end_header`, so opening a large PLY costs one or two small reads.
 */
import type { ByteSource } from "../../io/byte-source.js";
import { FormatError } from "../../io/byte-source.js";

export type PlyFormat = "ascii" | "binary_little_endian" | "binary_big_endian";
export type PlyScalarType = "i8" | "u8" | "i16" | "u16" | "i32" | "u32" | "f32" | "f64";

export interface PlyScalarProperty {
  kind: "scalar";
  name: string;
  type: PlyScalarType;
}
export interface PlyListProperty {
  kind: "list";
  name: string;
  countType: PlyScalarType;
  itemType: PlyScalarType;
}
export type PlyProperty = PlyScalarProperty | PlyListProperty;

export interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
}

export interface PlyHeader {
  format: PlyFormat;
  version: string;
  elements: PlyElement[];
  comments: string[];
  objInfo: string[];
  /** Offset of the first data byte (just after the `end_header` line). */
  dataOffset: number;
}

const TYPES: Record<string, PlyScalarType> = {
  char: "i8",
  int8: "i8",
  uchar: "u8",
  uint8: "u8",
  short: "i16",
  int16: "i16",
  ushort: "u16",
  uint16: "u16",
  int: "i32",
  int32: "i32",
  uint: "u32",
  uint32: "u32",
  float: "f32",
  float32: "f32",
  double: "f64",
  float64: "f64",
};

export const TYPE_SIZE: Record<PlyScalarType, number> = { i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, f32: 4, f64: 8 };

/** Headers are a few kilobytes; a "header" past this size is not a PLY header. */
const MAX_HEADER_BYTES = 1 << 20;

/** Reads and parses the header of a PLY file. */
export async function readPlyHeader(src: ByteSource): Promise<PlyHeader> {
  const decoder = new TextDecoder("latin1");
  let text = "";
  let pos = 0;
  let end = -1;
  let dataOffset = 0;
  while (end < 0) {
    if (pos >= src.size || pos >= MAX_HEADER_BYTES) {
      throw new FormatError(pos >= src.size ? "no end_header line" : "header too long (no end_header)", src.name, pos);
    }
    const bytes = await src.read(pos, Math.min(16384, src.size - pos));
    if (bytes.byteLength === 0) throw new FormatError("unexpected end of data in header", src.name, pos);
    text += decoder.decode(bytes);
    pos += bytes.byteLength;
    // end_header must be a whole line: search for it at a line start, followed by LF or CRLF.
    const m = /(^|\n)end_header[ \t]*(\r?\n)/.exec(text);
    if (m) {
      end = m.index + m[1].length;
      dataOffset = m.index + m[0].length;
    } else if (pos >= src.size && /(^|\n)end_header[ \t\r]*$/.test(text)) {
      // A header-only file (no data, no final newline).
      end = text.lastIndexOf("end_header");
      dataOffset = src.size;
    }
  }
  return parsePlyHeaderText(text.slice(0, end), dataOffset, src.name);
}

/** Parses header lines (everything before `end_header`). Exposed for tests and mesh readers. */
export function parsePlyHeaderText(text: string, dataOffset: number, file: string): PlyHeader {
  const lines = text.split("\n");
  let offset = 0;
  const fail = (msg: string): never => {
    throw new FormatError(msg, file, offset);
  };
  if (lines[0]?.replace(/\r$/, "").trim() !== "ply") fail("not a PLY file (no 'ply' magic line)");
  let format: PlyFormat | undefined;
  let version = "";
  const elements: PlyElement[] = [];
  const comments: string[] = [];
  const objInfo: string[] = [];
  const names = new Set<string>();
  offset = lines[0].length + 1;
  for (let li = 1; li < lines.length; li++) {
    const raw = lines[li];
    const line = raw.replace(/\r$/, "");
    const words = line.trim().split(/\s+/);
    switch (words[0]) {
      case "":
        break;
      case "format":
        if (words.length !== 3) fail(`bad format line "${line}"`);
        if (words[1] !== "ascii" && words[1] !== "binary_little_endian" && words[1] !== "binary_big_endian") {
          fail(`unknown PLY format "${words[1]}"`);
        }
        format = words[1] as PlyFormat;
        version = words[2];
        if (version !== "1.0") fail(`unsupported PLY version ${version}`);
        break;
      case "comment":
        comments.push(line.replace(/^\s*comment\s?/, ""));
        break;
      case "obj_info":
        objInfo.push(line.replace(/^\s*obj_info\s?/, ""));
        break;
      case "element": {
        if (words.length !== 3 || !/^\d+$/.test(words[2])) fail(`bad element line "${line}"`);
        if (names.has(words[1])) fail(`element "${words[1]}" declared twice`);
        names.add(words[1]);
        elements.push({ name: words[1], count: Number(words[2]), properties: [] });
        break;
      }
      case "property": {
        const el = elements[elements.length - 1];
        if (!el) fail("property before any element");
        if (words[1] === "list") {
          if (words.length !== 5) fail(`bad list property line "${line}"`);
          const countType = TYPES[words[2]];
          const itemType = TYPES[words[3]];
          if (!countType || !itemType) fail(`unknown property type in "${line}"`);
          if (countType === "f32" || countType === "f64") fail(`list count type must be an integer in "${line}"`);
          el.properties.push({ kind: "list", name: words[4], countType, itemType });
        } else {
          if (words.length !== 3) fail(`bad property line "${line}"`);
          const type = TYPES[words[1]];
          if (!type) fail(`unknown property type "${words[1]}"`);
          el.properties.push({ kind: "scalar", name: words[2], type });
        }
        break;
      }
      default:
        fail(`unknown header line "${line}"`);
    }
    offset += raw.length + 1;
  }
  if (!format) throw new FormatError("no format line", file, 0);
  return { format, version, elements, comments, objInfo, dataOffset };
}
