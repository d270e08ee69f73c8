/**
 * PLY point clouds (ASCII, binary little and big endian). Only the `vertex` element is read: its vertices are the
 * points; other elements (faces, edges, ...) before it are skipped, elements after it are never read.
 *
 * Vertex properties map to columns:
 * - x y z -> positions (f64);
 * - red/green/blue (also r/g/b, diffuse_red/...): uchar/char x257 -> 0..65535, ushort/short as is, float/double taken
 *   as 0..1 and scaled to 0..65535, other integers clamped to 0..65535; alpha is ignored;
 * - intensity / scalar_intensity: same rules as colours (float intensity, e.g. zipper's bunny, is 0..1);
 * - nx ny nz (also normal_x/normal_y/normal_z) -> normals (f32);
 * - every other scalar property -> an extra attribute keeping its PLY storage type; list properties are skipped.
 */
import type { ByteSource } from "../../io/byte-source.js";
import { FormatError } from "../../io/byte-source.js";
import type { ColumnName, ExtraAttribute, PointChunk, PointCloudReader, PointSchema } from "../chunk.js";
import { DEFAULT_CHUNK_POINTS } from "../chunk.js";
import { ColumnBuilder, clampU16, u8ToU16, unitToU16 } from "../text/column-builder.js";
import { bytesText } from "../text/number.js";
import { TEXT_BLOCK_BYTES, isBlank, lineBlocks, parseTokens, tokenize } from "../text/lines.js";
import type { PlyElement, PlyHeader, PlyProperty, PlyScalarType } from "./header.js";
import { TYPE_SIZE, readPlyHeader } from "./header.js";

export interface PlyReaderOptions {
  /** Points per chunk (default DEFAULT_CHUNK_POINTS). */
  chunkPoints?: number;
  /** Upper bound on bytes per read from the source. */
  blockBytes?: number;
}

/** How a vertex property's value is stored in the chunk. */
const enum Conv {
  Direct = 0,
  U8 = 1,
  Clamp16 = 2,
  Unit16 = 3,
}

interface FieldMap {
  /** Index in the vertex element's property list. */
  prop: number;
  type: PlyScalarType;
  conv: Conv;
  /** Where the value goes: a position, a named column or an extra attribute. */
  dest: { kind: "x" | "y" | "z" } | { kind: "column"; column: ColumnName } | { kind: "extra"; name: string };
}

const COLOR_NAMES: Record<string, "red" | "green" | "blue"> = {
  red: "red",
  r: "red",
  diffuse_red: "red",
  green: "green",
  g: "green",
  diffuse_green: "green",
  blue: "blue",
  b: "blue",
  diffuse_blue: "blue",
};
const NORMAL_NAMES: Record<string, "normalX" | "normalY" | "normalZ"> = {
  nx: "normalX",
  normal_x: "normalX",
  ny: "normalY",
  normal_y: "normalY",
  nz: "normalZ",
  normal_z: "normalZ",
};
const IGNORED = new Set(["alpha", "diffuse_alpha"]);

function colorConv(t: PlyScalarType): Conv {
  if (t === "u8" || t === "i8") return Conv.U8;
  if (t === "f32" || t === "f64") return Conv.Unit16;
  return Conv.Clamp16;
}

const EXTRA_TYPE: Record<PlyScalarType, ExtraAttribute["type"]> = {
  i8: "i8",
  u8: "u8",
  i16: "i16",
  u16: "u16",
  i32: "i32",
  u32: "u32",
  f32: "f32",
  f64: "f64",
};

/** Decides, from the vertex element's properties, the schema and where each property goes. */
export function mapVertexProperties(vertex: PlyElement, file: string): { schema: PointSchema; fields: FieldMap[] } {
  const fields: FieldMap[] = [];
  const columns: ColumnName[] = [];
  const extra: ExtraAttribute[] = [];
  const props = vertex.properties;
  const find = (names: Record<string, string>, target: string) =>
    props.findIndex((p) => p.kind === "scalar" && names[p.name.toLowerCase()] === target);
  const used = new Set<number>();
  for (const axis of ["x", "y", "z"] as const) {
    const i = props.findIndex((p) => p.kind === "scalar" && p.name === axis);
    if (i < 0) throw new FormatError(`vertex element has no scalar "${axis}" property`, file, 0);
    used.add(i);
    fields.push({ prop: i, type: (props[i] as { type: PlyScalarType }).type, conv: Conv.Direct, dest: { kind: axis } });
  }
  const rgb = (["red", "green", "blue"] as const).map((c) => find(COLOR_NAMES, c));
  if (rgb.every((i) => i >= 0)) {
    rgb.forEach((i, k) => {
      const column = (["red", "green", "blue"] as const)[k];
      const type = (props[i] as { type: PlyScalarType }).type;
      used.add(i);
      columns.push(column);
      fields.push({ prop: i, type, conv: colorConv(type), dest: { kind: "column", column } });
    });
    props.forEach((p, i) => {
      if (p.kind === "scalar" && IGNORED.has(p.name.toLowerCase())) used.add(i);
    });
  }
  const inten = props.findIndex((p, i) => !used.has(i) && p.kind === "scalar" && /^(scalar_)?intensity$/i.test(p.name));
  if (inten >= 0) {
    const type = (props[inten] as { type: PlyScalarType }).type;
    used.add(inten);
    columns.push("intensity");
    fields.push({ prop: inten, type, conv: colorConv(type), dest: { kind: "column", column: "intensity" } });
  }
  const normals = (["normalX", "normalY", "normalZ"] as const).map((c) => find(NORMAL_NAMES, c));
  if (normals.every((i) => i >= 0 && !used.has(i))) {
    normals.forEach((i, k) => {
      const column = (["normalX", "normalY", "normalZ"] as const)[k];
      used.add(i);
      columns.push(column);
      fields.push({ prop: i, type: (props[i] as { type: PlyScalarType }).type, conv: Conv.Direct, dest: { kind: "column", column } });
    });
  }
  const extraNames = new Set<string>();
  props.forEach((p, i) => {
    if (used.has(i) || p.kind !== "scalar") return;
    if (extraNames.has(p.name)) throw new FormatError(`vertex property "${p.name}" declared twice`, file, 0);
    extraNames.add(p.name);
    extra.push({ name: p.name, type: EXTRA_TYPE[p.type] });
    fields.push({ prop: i, type: p.type, conv: Conv.Direct, dest: { kind: "extra", name: p.name } });
  });
  return { schema: { columns, extra }, fields };
}

function recordSize(el: PlyElement): number | undefined {
  let s = 0;
  for (const p of el.properties) {
    if (p.kind === "list") return undefined;
    s += TYPE_SIZE[p.type];
  }
  return s;
}

function getScalar(dv: DataView, off: number, t: PlyScalarType, le: boolean): number {
  switch (t) {
    case "i8":
      return dv.getInt8(off);
    case "u8":
      return dv.getUint8(off);
    case "i16":
      return dv.getInt16(off, le);
    case "u16":
      return dv.getUint16(off, le);
    case "i32":
      return dv.getInt32(off, le);
    case "u32":
      return dv.getUint32(off, le);
    case "f32":
      return dv.getFloat32(off, le);
    case "f64":
      return dv.getFloat64(off, le);
  }
}

/**
 * Size in bytes of the element instance starting at `rel` in `dv`, or -1 if the bytes available (`avail`) do not
 * reach its end. When `starts` is given, the offset of each property (relative to `rel`) is stored in it.
 */
function instanceSize(dv: DataView, rel: number, avail: number, props: PlyProperty[], le: boolean, starts?: Int32Array): number {
  let p = rel;
  for (let k = 0; k < props.length; k++) {
    const prop = props[k];
    if (starts) starts[k] = p - rel;
    if (prop.kind === "scalar") {
      p += TYPE_SIZE[prop.type];
      if (p > avail) return -1;
    } else {
      const cs = TYPE_SIZE[prop.countType];
      if (p + cs > avail) return -1;
      const n = getScalar(dv, p, prop.countType, le);
      if (n < 0) return -2;
      p += cs + n * TYPE_SIZE[prop.itemType];
      if (p > avail) return -1;
    }
  }
  return p - rel;
}

export class PlyReader implements PointCloudReader {
  readonly schema: PointSchema;
  readonly pointCount: number;
  readonly crs: string | undefined = undefined;
  readonly warnings: string[] = [];
  private readonly fields: FieldMap[];
  private readonly vertexIndex: number;

  constructor(
    readonly src: ByteSource,
    readonly header: PlyHeader,
    readonly options: PlyReaderOptions = {},
  ) {
    this.vertexIndex = header.elements.findIndex((e) => e.name === "vertex");
    if (this.vertexIndex < 0) throw new FormatError("no vertex element", src.name, 0);
    const vertex = header.elements[this.vertexIndex];
    const mapped = mapVertexProperties(vertex, src.name);
    this.schema = mapped.schema;
    this.fields = mapped.fields;
    this.pointCount = this.storedVertexCount();
  }

  /**
   * The vertex count, or in a binary file whose last element is the fixed-size vertices, every whole
   * vertex its data holds: as for LAS (lasStoredPointCount), a header stating fewer is trusted less than
   * the data, and the extra vertices are read with a warning.
   */
  private storedVertexCount(): number {
    const { header, src } = this;
    const vertex = this.vertexElement;
    const stride = recordSize(vertex);
    if (header.format === "ascii" || this.vertexIndex !== header.elements.length - 1 || !stride) return vertex.count;
    let start = header.dataOffset;
    for (const el of header.elements.slice(0, this.vertexIndex)) {
      const size = recordSize(el);
      if (size === undefined) return vertex.count;
      start += size * el.count;
    }
    const stored = Math.floor(Math.max(0, src.size - start) / stride);
    if (stored <= vertex.count) return vertex.count;
    this.warnings.push(`${src.name}: the header states ${vertex.count} vertices but the data holds ${stored} of ${stride} bytes; all ${stored} were read`);
    return stored;
  }

  get vertexElement(): PlyElement {
    return this.header.elements[this.vertexIndex];
  }

  chunks(signal?: AbortSignal): AsyncIterable<PointChunk> {
    return this.header.format === "ascii" ? this.asciiChunks(signal) : this.binaryChunks(signal);
  }

  private capacity(): number {
    return Math.max(1, this.options.chunkPoints ?? DEFAULT_CHUNK_POINTS);
  }

  /** The destination array of each field in the builder's current chunk. */
  private bind(builder: ColumnBuilder): (Float64Array | Float32Array | Uint16Array | Uint8Array)[] {
    return this.fields.map((f) => {
      const d = f.dest;
      if (d.kind === "x") return builder.x;
      if (d.kind === "y") return builder.y;
      if (d.kind === "z") return builder.z;
      if (d.kind === "column") return builder.columns[d.column]!;
      return builder.extra[(d as { name: string }).name];
    });
  }

  private async *binaryChunks(signal?: AbortSignal): AsyncGenerator<PointChunk> {
    const src = this.src;
    const le = this.header.format === "binary_little_endian";
    let pos = this.header.dataOffset;
    // Skip the elements declared before the vertices.
    for (let e = 0; e < this.vertexIndex; e++) {
      const el = this.header.elements[e];
      const size = recordSize(el);
      if (size !== undefined) {
        pos += size * el.count;
        if (pos > src.size) throw new FormatError(`file ends inside element "${el.name}"`, src.name, src.size);
      } else {
        pos = await this.skipVariable(el, pos, le, signal);
      }
    }
    const vertex = this.vertexElement;
    const stride = recordSize(vertex);
    const capacity = this.capacity();
    const builder = new ColumnBuilder(this.schema, capacity);
    const nf = this.fields.length;
    const scratch = new Float64Array(capacity);
    const blockBytes = this.options.blockBytes ?? 8 << 20;
    let done = 0;
    const total = this.pointCount;
    if (stride !== undefined) {
      // Fixed-size records: decode column by column from one read per batch.
      const propOffset = new Int32Array(vertex.properties.length);
      let o = 0;
      vertex.properties.forEach((p, k) => {
        propOffset[k] = o;
        o += TYPE_SIZE[(p as { type: PlyScalarType }).type];
      });
      const perRead = Math.max(1, Math.min(capacity, Math.floor(blockBytes / Math.max(1, stride))));
      while (done < total) {
        signal?.throwIfAborted();
        const n = Math.min(perRead, total - done, capacity - builder.count);
        const want = n * stride;
        const bytes = stride === 0 ? new Uint8Array(0) : await src.read(pos, want);
        if (bytes.byteLength < want) {
          const whole = Math.floor(bytes.byteLength / stride);
          throw new FormatError(`file ends inside vertex ${done + whole} of ${total}`, src.name, pos + bytes.byteLength);
        }
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const dests = this.bind(builder);
        for (let f = 0; f < nf; f++) {
          const field = this.fields[f];
          const off = propOffset[field.prop];
          readColumn(dv, off, stride, n, field.type, le, scratch);
          convert(scratch, n, field.conv, dests[f], builder.count);
        }
        builder.count += n;
        done += n;
        pos += want;
        if (builder.full) yield builder.take();
      }
    } else {
      // Records with list properties: walk them one by one through a refilled window.
      const props = vertex.properties;
      const starts = new Int32Array(props.length);
      let window: Uint8Array = new Uint8Array(0);
      let winStart = pos;
      let dv = new DataView(window.buffer);
      let want = Math.min(blockBytes, 1 << 20);
      while (done < total) {
        signal?.throwIfAborted();
        const dests = this.bind(builder);
        let n = 0;
        const room = capacity - builder.count;
        while (n < room && done + n < total) {
          const rel = pos - winStart;
          const size = instanceSize(dv, rel, window.byteLength, props, le, starts);
          if (size === -2) throw new FormatError("negative list count", src.name, pos);
          if (size < 0) {
            if (winStart + window.byteLength >= src.size) {
              throw new FormatError(`file ends inside vertex ${done + n} of ${total}`, src.name, src.size);
            }
            if (rel === 0) want *= 2; // one record larger than the window
            winStart = pos;
            window = await src.read(pos, Math.min(want, src.size - pos));
            dv = new DataView(window.buffer, window.byteOffset, window.byteLength);
            continue;
          }
          const k = builder.count + n;
          for (let f = 0; f < nf; f++) {
            const field = this.fields[f];
            const v = getScalar(dv, rel + starts[field.prop], field.type, le);
            dests[f][k] = convOne(v, field.conv);
          }
          pos += size;
          n++;
        }
        builder.count += n;
        done += n;
        if (builder.full) yield builder.take();
      }
    }
    if (builder.count > 0) yield builder.take();
    if (this.vertexIndex === this.header.elements.length - 1 && pos < src.size) {
      const trailing = `${src.name}: ${src.size - pos} bytes after the last vertex (the header states ${total} vertices)`;
      // Every pass over the points ends here: the warning is given once.
      if (!this.warnings.includes(trailing)) this.warnings.push(trailing);
    }
  }

  /** Walks an element with list properties (binary) and returns the offset just after it. */
  private async skipVariable(el: PlyElement, start: number, le: boolean, signal?: AbortSignal): Promise<number> {
    const src = this.src;
    let pos = start;
    let want = 1 << 20;
    let window: Uint8Array = new Uint8Array(0);
    let winStart = pos;
    let dv = new DataView(window.buffer);
    for (let i = 0; i < el.count; ) {
      const rel = pos - winStart;
      const size = instanceSize(dv, rel, window.byteLength, el.properties, le);
      if (size === -2) throw new FormatError(`negative list count in element "${el.name}"`, src.name, pos);
      if (size < 0) {
        if (winStart + window.byteLength >= src.size) {
          throw new FormatError(`file ends inside ${el.name} ${i} of ${el.count}`, src.name, src.size);
        }
        signal?.throwIfAborted();
        if (rel === 0) want *= 2;
        winStart = pos;
        window = await src.read(pos, Math.min(want, src.size - pos));
        dv = new DataView(window.buffer, window.byteOffset, window.byteLength);
        continue;
      }
      pos += size;
      i++;
    }
    return pos;
  }

  private async *asciiChunks(signal?: AbortSignal): AsyncGenerator<PointChunk> {
    const src = this.src;
    const capacity = this.capacity();
    const builder = new ColumnBuilder(this.schema, capacity);
    let dests = this.bind(builder);
    const vertex = this.vertexElement;
    const props = vertex.properties;
    const nf = this.fields.length;
    const bounds = { starts: new Int32Array(64), ends: new Int32Array(64) };
    let values = new Float64Array(64);
    // Token index of each property in the current line (lists make it vary from line to line).
    const tokenOf = new Int32Array(props.length);
    const hasList = props.some((p) => p.kind === "list");
    if (!hasList) props.forEach((_, k) => (tokenOf[k] = k));
    const seps = { comma: false, semicolon: false };
    let skipLeft = 0;
    for (let e = 0; e < this.vertexIndex; e++) skipLeft += this.header.elements[e].count;
    const total = vertex.count;
    const vertexLast = this.vertexIndex === this.header.elements.length - 1;
    let done = 0;
    if (total === 0 && !vertexLast) return;
    for await (const block of lineBlocks(src, this.header.dataOffset, this.options.blockBytes ?? TEXT_BLOCK_BYTES, signal)) {
      const b = block.bytes;
      const len = b.byteLength;
      let i = 0;
      while (i < len) {
        let e = b.indexOf(10, i);
        if (e < 0) e = len;
        const s = i;
        i = e + 1;
        if (isBlank(b, s, e)) continue;
        if (done === total && skipLeft === 0) {
          // Vertices are the last element: anything more means the header's count is wrong.
          throw new FormatError(`more data than the ${total} vertices the header states`, src.name, block.offset + s);
        }
        if (skipLeft > 0) {
          // Elements before the vertices: one instance per line.
          skipLeft--;
          continue;
        }
        const n = tokenize(b, s, e, seps, bounds);
        if (n > values.length) values = new Float64Array(n * 2);
        const bad = parseTokens(b, bounds, n, values);
        if (bad >= 0) {
          throw new FormatError(
            `not a number: "${bytesText(b, bounds.starts[bad], Math.min(bounds.ends[bad], bounds.starts[bad] + 40))}"`,
            src.name,
            block.offset + bounds.starts[bad],
          );
        }
        let expect = props.length;
        if (hasList) {
          let t = 0;
          for (let k = 0; k < props.length; k++) {
            tokenOf[k] = t;
            const p = props[k];
            if (p.kind === "list") {
              const c = t < n ? values[t] : 0;
              if (!(c >= 0) || c !== Math.floor(c)) {
                throw new FormatError(`bad list count in vertex ${done}`, src.name, block.offset + (t < n ? bounds.starts[t] : s));
              }
              t += 1 + c;
            } else t++;
          }
          expect = t;
        }
        if (n !== expect) {
          throw new FormatError(`vertex ${done} has ${n} values, expected ${expect}`, src.name, block.offset + s);
        }
        const k = builder.count;
        for (let f = 0; f < nf; f++) {
          const field = this.fields[f];
          dests[f][k] = convOne(values[tokenOf[field.prop]], field.conv);
        }
        builder.count = k + 1;
        done++;
        if (builder.full) {
          yield builder.take();
          dests = this.bind(builder);
        }
        if (done === total) {
          if (builder.count > 0) yield builder.take();
          if (!vertexLast) return;
        }
      }
    }
    if (done === total) return;
    throw new FormatError(
      skipLeft > 0 ? `file ends before the vertex element` : `file ends after ${done} of ${total} vertices`,
      src.name,
      src.size,
    );
  }
}

function convOne(v: number, conv: Conv): number {
  switch (conv) {
    case Conv.U8:
      return u8ToU16(v);
    case Conv.Clamp16:
      return clampU16(v);
    case Conv.Unit16:
      return unitToU16(v);
    default:
      return v;
  }
}

/** Reads one property of `n` fixed-size records into `out` (type switch hoisted out of the loop). */
function readColumn(dv: DataView, off: number, stride: number, n: number, t: PlyScalarType, le: boolean, out: Float64Array): void {
  let p = off;
  switch (t) {
    case "i8":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getInt8(p);
      break;
    case "u8":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getUint8(p);
      break;
    case "i16":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getInt16(p, le);
      break;
    case "u16":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getUint16(p, le);
      break;
    case "i32":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getInt32(p, le);
      break;
    case "u32":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getUint32(p, le);
      break;
    case "f32":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getFloat32(p, le);
      break;
    case "f64":
      for (let i = 0; i < n; i++, p += stride) out[i] = dv.getFloat64(p, le);
      break;
  }
}

function convert(src: Float64Array, n: number, conv: Conv, dest: Float64Array | Float32Array | Uint16Array | Uint8Array, at: number): void {
  switch (conv) {
    case Conv.Direct:
      for (let i = 0; i < n; i++) dest[at + i] = src[i];
      break;
    case Conv.U8:
      for (let i = 0; i < n; i++) dest[at + i] = u8ToU16(src[i]);
      break;
    case Conv.Clamp16:
      for (let i = 0; i < n; i++) dest[at + i] = clampU16(src[i]);
      break;
    case Conv.Unit16:
      for (let i = 0; i < n; i++) dest[at + i] = unitToU16(src[i]);
      break;
  }
}

/** Opens a PLY file: reads its header (a few small reads) and maps the vertex properties. */
export async function openPly(src: ByteSource, options?: PlyReaderOptions): Promise<PlyReader> {
  const header = await readPlyHeader(src);
  return new PlyReader(src, header, options);
}
