/**
 * 3MX (Bentley ContextCapture) mesh pyramids: the .3mx JSON names a layer's SRS, SRS origin and root .3mxb;
 * each 3MXB is "3MXBO", a u32 header length, a JSON header {nodes, resources} and the resources' bytes in
 * order (textureBuffer: JPEG/PNG; geometryBuffer: OpenCTM). Nodes without children are the finest level and
 * the only ones sampled; children live in other 3MXB files, followed from the root.
 * OpenCTM geometry is decoded in its RAW form; MG1 and MG2 (LZMA-packed) are refused with an
 * UnsupportedMeshEncoding error naming the file. Coordinates are the vertices plus the SRS origin, in the
 * SRS's unit.
 */
import { FormatError } from "../io/byte-source.js";
import { emptyBounds, extendBounds, UnsupportedMeshEncoding, type MeshMaterial, type MeshReader, type MeshTexture, type RelatedFileResolver, type TriangleBatch } from "./model.js";
import { dirname, joinPath } from "./paths.js";

const utf8 = new TextDecoder("utf-8");

interface Node3mx {
  id: string;
  children?: string[];
  resources?: string[];
}
interface Resource3mx {
  type: string;
  format?: string;
  id: string;
  size: number;
  texture?: string;
}

/** Parses a 3MXB file: its header and each resource's bytes. */
export function parse3mxb(bytes: Uint8Array, name: string): { nodes: Node3mx[]; resources: (Resource3mx & { bytes: Uint8Array })[] } {
  if (bytes.length < 9 || utf8.decode(bytes.subarray(0, 5)) !== "3MXBO") throw new FormatError("not a 3MXB file (no 3MXBO magic)", name, 0);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(5, true);
  if (9 + headerLength > bytes.length) throw new FormatError("3MXB header truncated", name, 5);
  let header: { nodes?: Node3mx[]; resources?: Resource3mx[] };
  try {
    header = JSON.parse(utf8.decode(bytes.subarray(9, 9 + headerLength)));
  } catch (e) {
    throw new FormatError(`3MXB header: ${(e as Error).message}`, name, 9);
  }
  let at = 9 + headerLength;
  const resources = (header.resources ?? []).map((r) => {
    const size = r.type === "textureBuffer" || r.type === "geometryBuffer" ? r.size : 0;
    if (!(size >= 0) || at + size > bytes.length) throw new FormatError(`resource ${r.id} runs past the end of the file`, name, at);
    const out = { ...r, bytes: bytes.subarray(at, at + size) };
    at += size;
    return out;
  });
  return { nodes: header.nodes ?? [], resources };
}

/** A decoded OpenCTM mesh. */
export interface CtmMesh {
  indices: Uint32Array;
  vertices: Float32Array;
  normals?: Float32Array;
  uvs?: Float32Array;
}

/** Decodes an OpenCTM file in its RAW method; MG1/MG2 are refused (UnsupportedMeshEncoding). */
export function decodeOpenCtm(bytes: Uint8Array, name: string): CtmMesh {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const need = (n: number) => {
    if (p + n > bytes.length) throw new FormatError("OpenCTM data truncated", name, p);
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(p, true);
    p += 4;
    return v;
  };
  const tag = () => {
    need(4);
    const t = utf8.decode(bytes.subarray(p, p + 4));
    p += 4;
    return t;
  };
  const str = () => {
    const n = u32();
    need(n);
    p += n;
  };
  if (tag() !== "OCTM") throw new FormatError("not an OpenCTM geometry (no OCTM magic)", name, 0);
  const version = u32();
  if (version !== 5) throw new FormatError(`OpenCTM version ${version} (5 is read)`, name, 4);
  const method = tag().replace(/\0+$/, "");
  if (method === "MG1" || method === "MG2") throw new UnsupportedMeshEncoding(`OpenCTM ${method} (LZMA-compressed) geometry is not decoded; only RAW is`, name, 8);
  if (method !== "RAW") throw new FormatError(`unknown OpenCTM method ${method}`, name, 8);
  const vertexCount = u32();
  const triangleCount = u32();
  const uvMaps = u32();
  const attrMaps = u32();
  const flags = u32();
  str();
  const floats = (n: number) => {
    need(n * 4);
    const out = new Float32Array(n);
    for (let k = 0; k < n; k++) out[k] = dv.getFloat32(p + k * 4, true);
    p += n * 4;
    return out;
  };
  if (tag() !== "INDX") throw new FormatError("OpenCTM RAW without INDX", name, p - 4);
  need(triangleCount * 12);
  const indices = new Uint32Array(triangleCount * 3);
  for (let k = 0; k < indices.length; k++) indices[k] = dv.getUint32(p + k * 4, true);
  p += indices.length * 4;
  if (tag() !== "VERT") throw new FormatError("OpenCTM RAW without VERT", name, p - 4);
  const vertices = floats(vertexCount * 3);
  let normals: Float32Array | undefined;
  if (flags & 1) {
    if (tag() !== "NORM") throw new FormatError("OpenCTM RAW without NORM", name, p - 4);
    normals = floats(vertexCount * 3);
  }
  let uvs: Float32Array | undefined;
  for (let m = 0; m < uvMaps; m++) {
    if (tag() !== "TEXC") throw new FormatError("OpenCTM RAW without TEXC", name, p - 4);
    str();
    str();
    const values = floats(vertexCount * 2);
    uvs ??= values;
  }
  void attrMaps;
  for (const i of indices) if (i >= vertexCount) throw new FormatError(`a triangle refers to vertex ${i} of ${vertexCount}`, name, 0);
  return { indices, vertices, normals, uvs };
}

interface Leaf {
  file: string;
  geometry: string;
  texture: number;
}

/** Reads a .3mx file; its 3MXB files come from `related` (paths relative to the .3mx). */
export async function open3mx(bytes: Uint8Array, name: string, related: RelatedFileResolver): Promise<MeshReader> {
  let json: { "3mxVersion"?: unknown; layers?: { type?: string; SRS?: string; SRSOrigin?: number[]; root?: string }[] };
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw new FormatError(`not 3MX JSON: ${(e as Error).message}`, name, 0);
  }
  const layer = json.layers?.find((l) => l.type === "meshPyramid" && typeof l.root === "string");
  if (!layer || json["3mxVersion"] === undefined) throw new FormatError("no meshPyramid layer with a root", name, 0);
  const origin = Array.isArray(layer.SRSOrigin) && layer.SRSOrigin.length === 3 ? layer.SRSOrigin : [0, 0, 0];
  const textures: MeshTexture[] = [];
  const materials: MeshMaterial[] = [];
  const leaves: Leaf[] = [];
  const visited = new Set<string>();
  const readFile = async (path: string) => {
    const data = await related(path);
    if (!data) throw new FormatError(`the node file ${path} is missing`, name, 0);
    return parse3mxb(data, path);
  };
  const queue = [layer.root!];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (visited.has(path)) continue;
    visited.add(path);
    const { nodes, resources } = await readFile(path);
    const byId = new Map(resources.map((r) => [r.id, r]));
    const textureOf = new Map<string, number>();
    for (const node of nodes) {
      const children = node.children ?? [];
      if (children.length > 0) {
        for (const c of children) queue.push(joinPath(dirname(path), c));
        continue;
      }
      for (const id of node.resources ?? []) {
        const r = byId.get(id);
        if (!r || r.type !== "geometryBuffer") continue;
        if (r.format !== "ctm") throw new UnsupportedMeshEncoding(`geometry ${id} in format ${r.format ?? "?"} is not read (OpenCTM only)`, path, 0);
        let material = -1;
        const tex = r.texture ? byId.get(r.texture) : undefined;
        if (tex && tex.type === "textureBuffer") {
          let t = textureOf.get(tex.id);
          if (t === undefined) {
            t = materials.length;
            textures.push({ name: `${path}: ${tex.id}`, bytes: tex.bytes, repeat: false });
            materials.push({ name: tex.id, colour: [1, 1, 1], texture: textures.length - 1 });
            textureOf.set(tex.id, t);
          }
          material = t;
        }
        leaves.push({ file: path, geometry: id, texture: material });
      }
    }
  }
  // Bounds and counts from the decoded leaves (their geometry is read again for the batches).
  let triangleCount = 0;
  const bounds = emptyBounds();
  const decodeLeaf = async (leaf: Leaf) => {
    const { resources } = await readFile(leaf.file);
    const r = resources.find((x) => x.id === leaf.geometry)!;
    return decodeOpenCtm(r.bytes, `${leaf.file} (${leaf.geometry})`);
  };
  for (const leaf of leaves) {
    const ctm = await decodeLeaf(leaf);
    triangleCount += ctm.indices.length / 3;
    for (let k = 0; k < ctm.vertices.length; k += 3) extendBounds(bounds, ctm.vertices[k] + origin[0], ctm.vertices[k + 1] + origin[1], ctm.vertices[k + 2] + origin[2]);
  }
  if (triangleCount === 0) throw new FormatError("no triangles in the finest level", name, 0);
  return {
    name,
    format: "3MX",
    triangleCount,
    bounds,
    materials,
    textures,
    crs: layer.SRS && /^(EPSG:\d+|[A-Z_]+\[)/i.test(layer.SRS) ? layer.SRS : undefined,
    metresPerUnit: undefined,
    warnings: layer.SRS && !/^(EPSG:\d+|[A-Z_]+\[)/i.test(layer.SRS) ? [`${name}: SRS ${layer.SRS} is not a CRS realconv reads; coordinates are kept as they are`] : [],
    batches: async function* (signal?: AbortSignal): AsyncGenerator<TriangleBatch> {
      for (const leaf of leaves) {
        if (signal?.aborted) throw signal.reason ?? new Error("aborted");
        const ctm = await decodeLeaf(leaf);
        const n = ctm.indices.length / 3;
        const positions = new Float64Array(n * 9);
        const normals = ctm.normals ? new Float32Array(n * 9) : undefined;
        const uvs = ctm.uvs ? new Float32Array(n * 6) : undefined;
        for (let c = 0; c < n * 3; c++) {
          const v = ctm.indices[c];
          for (let a = 0; a < 3; a++) {
            positions[c * 3 + a] = ctm.vertices[v * 3 + a] + origin[a];
            if (normals) normals[c * 3 + a] = ctm.normals![v * 3 + a];
          }
          if (uvs) {
            uvs[c * 2] = ctm.uvs![v * 2];
            uvs[c * 2 + 1] = ctm.uvs![v * 2 + 1];
          }
        }
        yield { count: n, positions, normals, uvs, materials: new Int32Array(n).fill(leaf.texture) };
      }
    },
  };
}
