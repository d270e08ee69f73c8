/**
 * The in-memory shape of meshes being read: triangles in batches of typed arrays (never per-triangle
 * objects), with the materials and textures they refer to. Readers are pure: related files (MTL, textures,
 * external buffers, child tiles) come through a resolver the caller provides.
 */
import { FormatError } from "../io/byte-source.js";

/** A mesh encoded in a way realconv does not decode (e.g. OpenCTM MG1/MG2): the file is valid but not read. */
export class UnsupportedMeshEncoding extends FormatError {
  constructor(message: string, file: string, offset: number) {
    super(message, file, offset);
    this.name = "UnsupportedMeshEncoding";
  }
}

/** Bytes of a file named relative to the file that refers to it, or undefined when there is no such file. */
export type RelatedFileResolver = (relativePath: string) => Promise<Uint8Array | undefined>;

/** An image a material uses, still encoded (JPEG, PNG, ...): decoding belongs to the caller. */
export interface MeshTexture {
  /** For messages: the path or name it was found under. */
  name: string;
  bytes: Uint8Array;
  /** Texture coordinates wrap around (repeat) rather than clamp. */
  repeat: boolean;
}

export interface MeshMaterial {
  name: string;
  /** Base colour, linear 0..1 RGB (OBJ Kd, glTF baseColorFactor); multiplies the texture. */
  colour: readonly [number, number, number];
  /** Index into the mesh's textures, or -1. */
  texture: number;
}

/**
 * Triangles of one batch, de-indexed: triangle t has corners 3t, 3t+1, 3t+2. Optional arrays are present for
 * the whole batch or absent.
 */
export interface TriangleBatch {
  count: number;
  /** 9 doubles per triangle: x, y, z of each corner, in the mesh's coordinates (node transforms applied). */
  positions: Float64Array;
  /** 9 floats per triangle: corner normals (unit length), when the mesh has them. */
  normals?: Float32Array;
  /** 6 floats per triangle: corner texture coordinates (u right, v up, image origin bottom-left). */
  uvs?: Float32Array;
  /** 12 bytes per triangle: corner colours RGBA 0..255. */
  colours?: Uint8Array;
  /** Per triangle: material index (into the mesh's materials), or -1 for none. */
  materials?: Int32Array;
}

/** Triangles per batch unless a reader says otherwise: a few MB of arrays, few calls. */
export const DEFAULT_BATCH_TRIANGLES = 32_768;

export interface MeshReader {
  /** The file read, for messages. */
  readonly name: string;
  readonly format: "OBJ" | "PLY" | "glTF" | "3DTiles" | "3MX";
  readonly triangleCount: number;
  /** Bounds of the vertices of the triangles, [minX, minY, minZ, maxX, maxY, maxZ]. */
  readonly bounds: Float64Array;
  readonly materials: readonly MeshMaterial[];
  readonly textures: readonly MeshTexture[];
  /** CRS the coordinates are in when the file says (3D Tiles: EPSG:4978; 3MX: its SRS). */
  readonly crs: string | undefined;
  /** Metres per coordinate unit when the format fixes it (glTF, 3D Tiles: 1); undefined when it does not say (OBJ, PLY). */
  readonly metresPerUnit: number | undefined;
  /** Problems that did not stop reading (skipped primitives, missing textures). */
  readonly warnings: string[];
  /** The triangles, batch by batch; may be called again (same triangles each time). */
  batches(signal?: AbortSignal): AsyncIterable<TriangleBatch>;
}

/** Growable typed arrays for readers that do not know their sizes in advance. */
export class GrowableF64 {
  data: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = v;
  }
  private grow(): void {
    const next = new Float64Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export class GrowableF32 {
  data: Float32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float32Array {
    return this.data.subarray(0, this.length);
  }
}

export class GrowableI32 {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

export class GrowableU8 {
  data: Uint8Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Uint8Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint8Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }
}

export function emptyBounds(): Float64Array {
  return new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
}

export function extendBounds(b: Float64Array, x: number, y: number, z: number): void {
  if (x < b[0]) b[0] = x;
  if (y < b[1]) b[1] = y;
  if (z < b[2]) b[2] = z;
  if (x > b[3]) b[3] = x;
  if (y > b[4]) b[4] = y;
  if (z > b[5]) b[5] = z;
}

/**
 * An indexed mesh held as typed arrays (vertices, and per-corner indices into them), served as de-indexed
 * batches. Memory is that of the mesh itself; the batches are bounded.
 */
export interface IndexedMesh {
  /** xyz per vertex. */
  positions: Float64Array;
  /** Per corner (3 per triangle): vertex index. */
  corners: Int32Array;
  /** Optional per-vertex attributes, indexed by `corners`. */
  vertexNormals?: Float32Array;
  vertexUvs?: Float32Array;
  vertexColours?: Uint8Array;
  /** Attributes with their own indices (OBJ vt/vn): per corner index into the array, -1 for none. */
  uvs?: { values: Float32Array; corners: Int32Array };
  normals?: { values: Float32Array; corners: Int32Array };
  /** Per-corner texture coordinates (PLY face texcoord lists): 2 per corner. */
  cornerUvs?: Float32Array;
  /** Per triangle material, or undefined for none. */
  materials?: Int32Array;
}

/** De-indexed batches of an indexed mesh; corners out of range fail naming the file. */
export async function* indexedBatches(mesh: IndexedMesh, file: string, signal?: AbortSignal, batchTriangles = DEFAULT_BATCH_TRIANGLES): AsyncGenerator<TriangleBatch> {
  const triangles = mesh.corners.length / 3;
  const vertexCount = mesh.positions.length / 3;
  const hasNormals = mesh.vertexNormals !== undefined || mesh.normals !== undefined;
  const hasUvs = mesh.vertexUvs !== undefined || mesh.uvs !== undefined || mesh.cornerUvs !== undefined;
  for (let first = 0; first < triangles; first += batchTriangles) {
    if (signal?.aborted) throw signal.reason ?? new Error("aborted");
    const n = Math.min(batchTriangles, triangles - first);
    const positions = new Float64Array(n * 9);
    const normals = hasNormals ? new Float32Array(n * 9) : undefined;
    const uvs = hasUvs ? new Float32Array(n * 6) : undefined;
    const colours = mesh.vertexColours ? new Uint8Array(n * 12) : undefined;
    for (let c = 0; c < n * 3; c++) {
      const corner = first * 3 + c;
      const v = mesh.corners[corner];
      if (!(v >= 0 && v < vertexCount)) throw new FormatError(`triangle ${first + Math.floor(c / 3)} refers to vertex ${v} of ${vertexCount}`, file, 0);
      positions[c * 3] = mesh.positions[v * 3];
      positions[c * 3 + 1] = mesh.positions[v * 3 + 1];
      positions[c * 3 + 2] = mesh.positions[v * 3 + 2];
      if (normals) {
        let src: Float32Array | undefined;
        let k = -1;
        if (mesh.normals) {
          k = mesh.normals.corners[corner];
          src = mesh.normals.values;
        } else if (mesh.vertexNormals) {
          k = v;
          src = mesh.vertexNormals;
        }
        if (src && k >= 0 && k * 3 + 2 < src.length) {
          normals[c * 3] = src[k * 3];
          normals[c * 3 + 1] = src[k * 3 + 1];
          normals[c * 3 + 2] = src[k * 3 + 2];
        }
      }
      if (uvs) {
        if (mesh.cornerUvs) {
          uvs[c * 2] = mesh.cornerUvs[corner * 2];
          uvs[c * 2 + 1] = mesh.cornerUvs[corner * 2 + 1];
        } else {
          const k = mesh.uvs ? mesh.uvs.corners[corner] : v;
          const src = mesh.uvs ? mesh.uvs.values : mesh.vertexUvs!;
          if (k >= 0 && k * 2 + 1 < src.length) {
            uvs[c * 2] = src[k * 2];
            uvs[c * 2 + 1] = src[k * 2 + 1];
          }
        }
      }
      if (colours) {
        const vc = mesh.vertexColours!;
        colours[c * 4] = vc[v * 4];
        colours[c * 4 + 1] = vc[v * 4 + 1];
        colours[c * 4 + 2] = vc[v * 4 + 2];
        colours[c * 4 + 3] = vc[v * 4 + 3];
      }
    }
    yield { count: n, positions, normals, uvs, colours, materials: mesh.materials?.subarray(first, first + n) };
  }
}

export function boundsOfVertices(positions: Float64Array, corners?: Int32Array): Float64Array {
  const b = emptyBounds();
  if (corners) {
    for (let c = 0; c < corners.length; c++) {
      const v = corners[c] * 3;
      if (v >= 0 && v + 2 < positions.length) extendBounds(b, positions[v], positions[v + 1], positions[v + 2]);
    }
  } else {
    for (let v = 0; v < positions.length; v += 3) extendBounds(b, positions[v], positions[v + 1], positions[v + 2]);
  }
  return b;
}
