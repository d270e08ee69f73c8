/**
 * PLY meshes (ascii and binary): `vertex` elements with x/y/z and optional colours (red/green/blue[/alpha],
 * bytes, shorts or 0..1 floats), normals (nx/ny/nz) and texture coordinates (u/v, s/t, texture_u/texture_v);
 * `face` elements with a vertex index list (polygons fanned into triangles) and optional per-corner
 * `texcoord` lists. The texture is the one a `comment TextureFile <name>` names (MeshLab, VCG), fetched through
 * the resolver. PLY has no unit: coordinates are taken as metres unless the caller says otherwise.
 * The header is read with the point-cloud PLY header parser; the body is read in blocks.
 */
import { FormatError, type ByteSource } from "../io/byte-source.js";
import { readPlyHeader, TYPE_SIZE, type PlyElement, type PlyHeader, type PlyProperty, type PlyScalarType } from "../pointcloud/ply/header.js";
import { parseNumber } from "../pointcloud/text/number.js";
import { boundsOfVertices, GrowableF32, GrowableI32, indexedBatches, type IndexedMesh, type MeshReader, type MeshTexture, type RelatedFileResolver, type TriangleBatch } from "./model.js";

const BLOCK = 4 << 20;

/** Sequential reads over a ByteSource, a block at a time. */
class Cursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private start = 0; // file offset of buf[0]
  pos: number; // file offset of the next byte
  constructor(
    private readonly src: ByteSource,
    offset: number,
  ) {
    this.pos = offset;
    this.start = offset;
  }
  /** Makes `n` bytes at the cursor available; returns the DataView and the index of pos in it. */
  async ensure(n: number): Promise<number> {
    let at = this.pos - this.start;
    if (at + n <= this.buf.length) return at;
    const keep = this.buf.subarray(at);
    const want = Math.max(n, BLOCK);
    const more = this.pos + keep.length < this.src.size ? await this.src.read(this.pos + keep.length, Math.min(want, this.src.size - this.pos - keep.length)) : new Uint8Array(0);
    const next = new Uint8Array(keep.length + more.length);
    next.set(keep);
    next.set(more, keep.length);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.start = this.pos;
    at = 0;
    if (n > next.length) throw new FormatError("unexpected end of data", this.src.name, this.src.size);
    return at;
  }
  get dv(): DataView {
    return this.view;
  }
  get bytes(): Uint8Array {
    return this.buf;
  }
  /** Bytes available at the cursor without another read (at least `min` unless at the end). */
  async available(min: number): Promise<number> {
    const at = this.pos - this.start;
    if (this.buf.length - at >= min) return at;
    const rest = this.src.size - this.pos;
    return this.ensure(Math.min(min, rest));
  }
  get bufferStart(): number {
    return this.start;
  }
  get remainingInBuffer(): number {
    return this.buf.length - (this.pos - this.start);
  }
}

function readScalar(dv: DataView, at: number, type: PlyScalarType, le: boolean): number {
  switch (type) {
    case "i8":
      return dv.getInt8(at);
    case "u8":
      return dv.getUint8(at);
    case "i16":
      return dv.getInt16(at, le);
    case "u16":
      return dv.getUint16(at, le);
    case "i32":
      return dv.getInt32(at, le);
    case "u32":
      return dv.getUint32(at, le);
    case "f32":
      return dv.getFloat32(at, le);
    case "f64":
      return dv.getFloat64(at, le);
  }
}

/** Role of each vertex property (index into the per-vertex values), by its name. */
const VERTEX_ROLES: Record<string, string> = {
  x: "x",
  y: "y",
  z: "z",
  nx: "nx",
  ny: "ny",
  nz: "nz",
  normal_x: "nx",
  normal_y: "ny",
  normal_z: "nz",
  red: "r",
  green: "g",
  blue: "b",
  alpha: "a",
  r: "r",
  g: "g",
  b: "b",
  diffuse_red: "r",
  diffuse_green: "g",
  diffuse_blue: "b",
  u: "u",
  v: "v",
  s: "u",
  t: "v",
  texture_u: "u",
  texture_v: "v",
  texture_s: "u",
  texture_t: "v",
};

function colourScale(type: PlyScalarType): number {
  if (type === "f32" || type === "f64") return 255;
  if (type === "u16" || type === "i16") return 1 / 257;
  return 1;
}

/** Reads rows of one element (ascii or binary), handing each row's scalar values (NaN for lists) and lists to `onRow`. */
async function readRows(cursor: Cursor, header: PlyHeader, el: PlyElement, file: string, onRow: (values: Float64Array, lists: number[][], row: number) => void): Promise<void> {
  const values = new Float64Array(el.properties.length);
  const lists = el.properties.filter((p) => p.kind === "list").map(() => [] as number[]);
  const size = cursorSize(cursor);
  const SLACK = 1 << 16;
  if (header.format === "ascii") {
    for (let row = 0; row < el.count; row++) {
      let at = await cursor.available(SLACK);
      let bytes = cursor.bytes;
      let end = bytes.indexOf(10, at);
      while (end < 0 && cursor.pos + cursor.remainingInBuffer < size) {
        at = await cursor.ensure(cursor.remainingInBuffer + SLACK);
        bytes = cursor.bytes;
        end = bytes.indexOf(10, at);
      }
      if (end < 0) end = bytes.length;
      if (at >= bytes.length) throw new FormatError(`${el.name} ${row}: unexpected end of data`, file, cursor.pos);
      let i = at;
      const token = (): number => {
        while (i < end && (bytes[i] === 32 || bytes[i] === 9 || bytes[i] === 13)) i++;
        const s = i;
        while (i < end && bytes[i] !== 32 && bytes[i] !== 9 && bytes[i] !== 13) i++;
        const v = s < i ? parseNumber(bytes, s, i) : NaN;
        if (Number.isNaN(v)) throw new FormatError(`${el.name} ${row}: missing or bad value`, file, cursor.pos + (s - at));
        return v;
      };
      let li = 0;
      for (let k = 0; k < el.properties.length; k++) {
        const p = el.properties[k];
        if (p.kind === "scalar") {
          values[k] = token();
        } else {
          const n = token();
          const list = lists[li++];
          list.length = 0;
          for (let j = 0; j < n; j++) list.push(token());
          values[k] = NaN;
        }
      }
      cursor.pos += end + 1 - at;
      onRow(values, lists, row);
    }
    return;
  }
  const le = header.format === "binary_little_endian";
  for (let row = 0; row < el.count; row++) {
    // Awaits only when the buffer runs low: rows are then read synchronously.
    if (cursor.remainingInBuffer < SLACK && cursor.pos + cursor.remainingInBuffer < size) await cursor.ensure(Math.min(SLACK, size - cursor.pos));
    let li = 0;
    for (let k = 0; k < el.properties.length; k++) {
      const p = el.properties[k];
      if (p.kind === "scalar") {
        const n = TYPE_SIZE[p.type];
        const at = cursor.remainingInBuffer >= n ? cursor.pos - cursorStart(cursor) : await cursor.ensure(n);
        values[k] = readScalar(cursor.dv, at, p.type, le);
        cursor.pos += n;
      } else {
        const cn = TYPE_SIZE[p.countType];
        let at = cursor.remainingInBuffer >= cn ? cursor.pos - cursorStart(cursor) : await cursor.ensure(cn);
        const n = readScalar(cursor.dv, at, p.countType, le);
        cursor.pos += cn;
        if (n < 0 || n > 1 << 20) throw new FormatError(`${el.name} ${row}: list of ${n} items`, file, cursor.pos);
        const isz = TYPE_SIZE[p.itemType];
        at = cursor.remainingInBuffer >= n * isz ? cursor.pos - cursorStart(cursor) : await cursor.ensure(n * isz);
        const list = lists[li++];
        list.length = 0;
        for (let j = 0; j < n; j++) list.push(readScalar(cursor.dv, at + j * isz, p.itemType, le));
        cursor.pos += n * isz;
        values[k] = NaN;
      }
    }
    onRow(values, lists, row);
  }
}

const sizes = new WeakMap<Cursor, number>();
function cursorSize(c: Cursor): number {
  return sizes.get(c) ?? Infinity;
}

function listProps(el: PlyElement): PlyProperty[] {
  return el.properties.filter((p) => p.kind === "list");
}

function cursorStart(c: Cursor): number {
  return c.bufferStart;
}

/** Reads a PLY mesh (it must have faces: a PLY of vertices only is a point cloud). */
export async function openPlyMesh(src: ByteSource, related: RelatedFileResolver): Promise<MeshReader> {
  const name = src.name;
  const header = await readPlyHeader(src);
  const vertexEl = header.elements.find((e) => e.name === "vertex");
  const faceEl = header.elements.find((e) => e.name === "face");
  if (!vertexEl || vertexEl.count === 0) throw new FormatError("no vertex element", name, 0);
  if (!faceEl || faceEl.count === 0) throw new FormatError("no face element: a PLY without faces is not a mesh", name, 0);
  const cursor = new Cursor(src, header.dataOffset);
  sizes.set(cursor, src.size);
  const nv = vertexEl.count;
  const roles = vertexEl.properties.map((p) => (p.kind === "scalar" ? VERTEX_ROLES[p.name.toLowerCase()] : undefined));
  const has = (r: string) => roles.includes(r);
  if (!has("x") || !has("y") || !has("z")) throw new FormatError("vertex element without x, y and z", name, 0);
  const positions = new Float64Array(nv * 3);
  const normals = has("nx") && has("ny") && has("nz") ? new Float32Array(nv * 3) : undefined;
  const colours = has("r") && has("g") && has("b") ? new Uint8Array(nv * 4).fill(255) : undefined;
  const uvs = has("u") && has("v") ? new Float32Array(nv * 2) : undefined;
  const corners = new GrowableI32(faceEl.count * 3 + 16);
  let cornerUvs: GrowableF32 | undefined;
  const warnings: string[] = [];
  for (const el of header.elements) {
    if (el === vertexEl && header.format !== "ascii" && el.properties.every((p) => p.kind === "scalar")) {
      await readFixedVertices(cursor, header, el, roles, { positions, normals, colours, uvs });
    } else if (el === vertexEl) {
      const slot = (r: string) => roles.indexOf(r);
      const [ix, iy, iz, inx, iny, inz, ir, ig, ib, ia, iu, iv] = ["x", "y", "z", "nx", "ny", "nz", "r", "g", "b", "a", "u", "v"].map(slot);
      const cs = ir >= 0 ? colourScale((vertexEl.properties[ir] as { type: PlyScalarType }).type) : 1;
      await readRows(cursor, header, el, name, (values, _lists, v) => {
        positions[v * 3] = values[ix];
        positions[v * 3 + 1] = values[iy];
        positions[v * 3 + 2] = values[iz];
        if (normals) {
          normals[v * 3] = values[inx];
          normals[v * 3 + 1] = values[iny];
          normals[v * 3 + 2] = values[inz];
        }
        if (colours) {
          colours[v * 4] = clampByte(values[ir] * cs);
          colours[v * 4 + 1] = clampByte(values[ig] * cs);
          colours[v * 4 + 2] = clampByte(values[ib] * cs);
          if (ia >= 0) colours[v * 4 + 3] = clampByte(values[ia] * cs);
        }
        if (uvs) {
          uvs[v * 2] = values[iu];
          uvs[v * 2 + 1] = values[iv];
        }
      });
    } else if (el === faceEl && header.format !== "ascii" && isPlainFaceList(el)) {
      await readPlainFaces(cursor, header, el, nv, corners, name);
    } else if (el === faceEl) {
      const lp = listProps(el);
      const vi = lp.findIndex((p) => p.name === "vertex_indices" || p.name === "vertex_index");
      if (vi < 0) throw new FormatError("face element without a vertex_indices list", name, cursor.pos);
      const ti = lp.findIndex((p) => p.name === "texcoord");
      if (ti >= 0) cornerUvs = new GrowableF32(faceEl.count * 6 + 16);
      await readRows(cursor, header, el, name, (_values, lists, f) => {
        const poly = lists[vi];
        const tc = ti >= 0 ? lists[ti] : undefined;
        for (const v of poly) if (!(v >= 0 && v < nv && Number.isInteger(v))) throw new FormatError(`face ${f} refers to vertex ${v} of ${nv}`, name, cursor.pos);
        for (let k = 1; k + 1 < poly.length; k++) {
          for (const c of [0, k, k + 1]) {
            corners.push(poly[c]);
            if (cornerUvs) {
              cornerUvs.push(tc && tc.length >= 2 * poly.length ? tc[2 * c] : 0);
              cornerUvs.push(tc && tc.length >= 2 * poly.length ? tc[2 * c + 1] : 0);
            }
          }
        }
      });
    } else {
      await readRows(cursor, header, el, name, () => {});
    }
  }
  if (corners.length === 0) throw new FormatError("no triangles in the faces", name, header.dataOffset);
  const textures: MeshTexture[] = [];
  const textureName = header.comments.map((c) => /^\s*TextureFile\s+(.+?)\s*$/i.exec(c)?.[1]).find((c) => c !== undefined);
  const textured = (uvs || cornerUvs) && textureName !== undefined;
  if (textured) {
    const bytes = await related(textureName);
    if (bytes) textures.push({ name: textureName, bytes, repeat: true });
    else warnings.push(`${name}: texture ${textureName} not found; vertex colours are used instead`);
  }
  const mesh: IndexedMesh = {
    positions,
    corners: corners.view(),
    vertexNormals: normals,
    vertexUvs: uvs,
    cornerUvs: cornerUvs?.view(),
    vertexColours: colours,
    materials: textures.length > 0 ? new Int32Array(corners.length / 3) : undefined,
  };
  return {
    name,
    format: "PLY",
    triangleCount: mesh.corners.length / 3,
    bounds: boundsOfVertices(positions, mesh.corners),
    materials: textures.length > 0 ? [{ name: "texture", colour: [1, 1, 1], texture: 0 }] : [],
    textures,
    crs: undefined,
    metresPerUnit: undefined,
    warnings,
    batches: (signal?: AbortSignal): AsyncIterable<TriangleBatch> => indexedBatches(mesh, name, signal),
  };
}

interface VertexArrays {
  positions: Float64Array;
  normals?: Float32Array;
  colours?: Uint8Array;
  uvs?: Float32Array;
}

/** Binary vertices whose properties are all scalars: fixed-size rows read straight from the buffer. */
async function readFixedVertices(cursor: Cursor, header: PlyHeader, el: PlyElement, roles: (string | undefined)[], out: VertexArrays): Promise<void> {
  const le = header.format === "binary_little_endian";
  const props = el.properties as { name: string; type: PlyScalarType }[];
  const offsets: number[] = [];
  let rowSize = 0;
  for (const p of props) {
    offsets.push(rowSize);
    rowSize += TYPE_SIZE[p.type];
  }
  const at = (role: string) => roles.indexOf(role);
  const slots = ["x", "y", "z", "nx", "ny", "nz", "r", "g", "b", "a", "u", "v"].map(at);
  const cs = slots[6] >= 0 ? colourScale(props[slots[6]].type) : 1;
  const size = cursorSize(cursor);
  const rowsPerRead = Math.max(1, Math.floor((1 << 20) / rowSize));
  const value = (dv: DataView, base: number, k: number) => readScalar(dv, base + offsets[k], props[k].type, le);
  for (let v = 0; v < el.count; ) {
    const rows = Math.min(rowsPerRead, el.count - v);
    const need = rows * rowSize;
    const start = cursor.remainingInBuffer >= need ? cursor.pos - cursorStart(cursor) : await cursor.ensure(need);
    const dv = cursor.dv;
    for (let r = 0; r < rows; r++, v++) {
      const base = start + r * rowSize;
      out.positions[v * 3] = value(dv, base, slots[0]);
      out.positions[v * 3 + 1] = value(dv, base, slots[1]);
      out.positions[v * 3 + 2] = value(dv, base, slots[2]);
      if (out.normals) {
        out.normals[v * 3] = value(dv, base, slots[3]);
        out.normals[v * 3 + 1] = value(dv, base, slots[4]);
        out.normals[v * 3 + 2] = value(dv, base, slots[5]);
      }
      if (out.colours) {
        out.colours[v * 4] = clampByte(value(dv, base, slots[6]) * cs);
        out.colours[v * 4 + 1] = clampByte(value(dv, base, slots[7]) * cs);
        out.colours[v * 4 + 2] = clampByte(value(dv, base, slots[8]) * cs);
        if (slots[9] >= 0) out.colours[v * 4 + 3] = clampByte(value(dv, base, slots[9]) * cs);
      }
      if (out.uvs) {
        out.uvs[v * 2] = value(dv, base, slots[10]);
        out.uvs[v * 2 + 1] = value(dv, base, slots[11]);
      }
    }
    cursor.pos += need;
  }
}

/** Faces that are only a vertex index list with a byte count and 32-bit indices (most binary meshes). */
function isPlainFaceList(el: PlyElement): boolean {
  if (el.properties.length !== 1) return false;
  const p = el.properties[0];
  return p.kind === "list" && (p.name === "vertex_indices" || p.name === "vertex_index") && p.countType === "u8" && (p.itemType === "i32" || p.itemType === "u32");
}

/** The common binary face layout read straight from the buffer (no per-row callback). */
async function readPlainFaces(cursor: Cursor, header: PlyHeader, el: PlyElement, nv: number, corners: GrowableI32, name: string): Promise<void> {
  const le = header.format === "binary_little_endian";
  const size = cursorSize(cursor);
  const poly: number[] = [];
  for (let f = 0; f < el.count; f++) {
    if (cursor.remainingInBuffer < 1024 && cursor.pos + cursor.remainingInBuffer < size) await cursor.ensure(Math.min(1 << 16, size - cursor.pos));
    let at = cursor.remainingInBuffer >= 1 ? cursor.pos - cursorStart(cursor) : await cursor.ensure(1);
    const n = cursor.bytes[at];
    if (cursor.remainingInBuffer < 1 + 4 * n) at = await cursor.ensure(1 + 4 * n);
    const dv = cursor.dv;
    poly.length = 0;
    for (let k = 0; k < n; k++) {
      const v = dv.getInt32(at + 1 + 4 * k, le);
      if (!(v >= 0 && v < nv)) throw new FormatError(`face ${f} refers to vertex ${v} of ${nv}`, name, cursor.pos);
      poly.push(v);
    }
    cursor.pos += 1 + 4 * n;
    for (let k = 1; k + 1 < n; k++) {
      corners.push(poly[0]);
      corners.push(poly[k]);
      corners.push(poly[k + 1]);
    }
  }
}

/** A PLY file with a non-empty face element (a mesh, not a point cloud). */
export async function plyHasFaces(src: ByteSource): Promise<boolean> {
  try {
    const h = await readPlyHeader(src);
    return h.elements.some((e) => e.name === "face" && e.count > 0);
  } catch {
    return false;
  }
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
