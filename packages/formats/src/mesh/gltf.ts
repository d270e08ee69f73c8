/**
 * glTF 2.0 (.gltf JSON with embedded or external buffers, .glb), read with @gltf-transform/core and every
 * extension it knows (Draco through draco3dgltf, meshopt through meshoptimizer, quantisation, texture
 * transforms). The default scene is walked with its node transforms; TRIANGLES, TRIANGLE_STRIP and
 * TRIANGLE_FAN primitives are kept (points and lines have no surface). glTF is Y-up in metres: positions are
 * turned Z-up (x, -z, y), as 3D Tiles does, so that point-cloud viewers see the model upright.
 * Colours: base colour texture (sRGB) times the base colour factor and COLOR_0 (linear, turned sRGB).
 */
import { Document, WebIO, type Accessor, type Material, type Node, type Primitive } from "@gltf-transform/core";
import { ALL_EXTENSIONS } from "@gltf-transform/extensions";
import { FormatError } from "../io/byte-source.js";
import { emptyBounds, extendBounds, type MeshMaterial, type MeshReader, type MeshTexture, type RelatedFileResolver, type TriangleBatch } from "./model.js";

const utf8 = new TextDecoder("utf-8");

let dracoDecoder: Promise<unknown> | undefined;
let meshoptReady: Promise<unknown> | undefined;

/** Decoder modules are loaded (WebAssembly) only for files that use them. */
async function ioFor(extensionsUsed: readonly string[]): Promise<WebIO> {
  const io = new WebIO().registerExtensions(ALL_EXTENSIONS);
  const deps: Record<string, unknown> = {};
  if (extensionsUsed.includes("KHR_draco_mesh_compression")) {
    dracoDecoder ??= import("draco3dgltf").then((m) => m.default.createDecoderModule());
    deps["draco3d.decoder"] = await dracoDecoder;
  }
  if (extensionsUsed.includes("EXT_meshopt_compression") || extensionsUsed.includes("KHR_meshopt_compression")) {
    meshoptReady ??= import("meshoptimizer").then(async (m) => {
      await m.MeshoptDecoder.ready;
      return m.MeshoptDecoder;
    });
    deps["meshopt.decoder"] = await meshoptReady;
  }
  return io.registerDependencies(deps);
}

function isGlb(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && bytes[0] === 0x67 && bytes[1] === 0x6c && bytes[2] === 0x54 && bytes[3] === 0x46;
}

/** The JSON chunk of a GLB (for its extensionsUsed) without decoding the rest. */
function glbJson(bytes: Uint8Array, name: string): { extensionsUsed?: string[]; buffers?: { uri?: string }[]; images?: { uri?: string }[] } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(4, true) !== 2) throw new FormatError(`GLB version ${dv.getUint32(4, true)} (only 2 is read)`, name, 4);
  const length = dv.getUint32(12, true);
  if (20 + length > bytes.length || dv.getUint32(16, true) !== 0x4e4f534a) throw new FormatError("GLB without a JSON chunk", name, 12);
  try {
    return JSON.parse(utf8.decode(bytes.subarray(20, 20 + length)));
  } catch (e) {
    throw new FormatError(`GLB JSON chunk: ${(e as Error).message}`, name, 20);
  }
}

/** Reads a glTF document (GLB or JSON); external buffers and images come from `related`. */
export async function readGltfDocument(bytes: Uint8Array, name: string, related: RelatedFileResolver): Promise<Document> {
  try {
    if (isGlb(bytes)) {
      const json = glbJson(bytes, name);
      const io = await ioFor(json.extensionsUsed ?? []);
      const external = [...(json.buffers ?? []), ...(json.images ?? [])].some((r) => r.uri !== undefined && !r.uri.startsWith("data:"));
      if (!external) return await io.readBinary(bytes as Uint8Array<ArrayBuffer>);
      const doc = await io.binaryToJSON(bytes as Uint8Array<ArrayBuffer>).catch(async () => undefined);
      if (doc) return await io.readJSON(doc);
      throw new FormatError("GLB with external resources is not read", name, 0);
    }
    let json: { extensionsUsed?: string[]; buffers?: { uri?: string }[]; images?: { uri?: string }[]; asset?: { version?: string } };
    try {
      json = JSON.parse(utf8.decode(bytes));
    } catch (e) {
      throw new FormatError(`not glTF JSON: ${(e as Error).message}`, name, 0);
    }
    if (typeof json !== "object" || json === null || !json.asset) throw new FormatError("not a glTF document (no asset)", name, 0);
    const io = await ioFor(json.extensionsUsed ?? []);
    const resources: Record<string, Uint8Array> = {};
    for (const r of [...(json.buffers ?? []), ...(json.images ?? [])]) {
      if (r.uri === undefined || r.uri.startsWith("data:") || r.uri in resources) continue;
      const data = await related(decodeURIComponent(r.uri));
      if (!data) throw new FormatError(`the file ${r.uri} it refers to is missing`, name, 0);
      resources[r.uri] = data;
    }
    return await io.readJSON({ json: json as never, resources: resources as never });
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`glTF: ${(e as Error).message}`, name, 0);
  }
}

const MODE_TRIANGLES = 4;
const MODE_STRIP = 5;
const MODE_FAN = 6;

/** Values of an accessor as numbers, normalised integers mapped to 0..1 / -1..1. */
function valuesOf(a: Accessor): ArrayLike<number> {
  const array = a.getArray();
  if (!array) return new Float32Array(0);
  if (!a.getNormalized() || array instanceof Float32Array) return array;
  const out = new Float32Array(array.length);
  const max = array instanceof Uint8Array ? 255 : array instanceof Uint16Array ? 65535 : array instanceof Int8Array ? 127 : array instanceof Int16Array ? 32767 : 1;
  for (let i = 0; i < array.length; i++) out[i] = Math.max(-1, array[i] / max);
  return out;
}

/** Triangle corner indices of a primitive (strips and fans unrolled). */
function triangleIndices(p: Primitive, vertexCount: number): Uint32Array | undefined {
  const mode = p.getMode();
  const idxAccessor = p.getIndices();
  const idx: ArrayLike<number> = idxAccessor ? (idxAccessor.getArray() ?? []) : { length: vertexCount } as ArrayLike<number>;
  const at = idxAccessor ? (k: number) => idx[k] : (k: number) => k;
  const n = idxAccessor ? idx.length : vertexCount;
  if (mode === MODE_TRIANGLES) {
    const t = Math.floor(n / 3) * 3;
    const out = new Uint32Array(t);
    for (let k = 0; k < t; k++) out[k] = at(k);
    return out;
  }
  if (mode === MODE_STRIP || mode === MODE_FAN) {
    const t = Math.max(0, n - 2);
    const out = new Uint32Array(t * 3);
    for (let k = 0; k < t; k++) {
      if (mode === MODE_FAN) {
        out[k * 3] = at(0);
        out[k * 3 + 1] = at(k + 1);
        out[k * 3 + 2] = at(k + 2);
      } else {
        // Every other strip triangle is flipped to keep the winding.
        const even = k % 2 === 0;
        out[k * 3] = at(k);
        out[k * 3 + 1] = at(even ? k + 1 : k + 2);
        out[k * 3 + 2] = at(even ? k + 2 : k + 1);
      }
    }
    return out;
  }
  return undefined;
}

function linearToSrgb(c: number): number {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055;
  return v <= 0 ? 0 : v >= 1 ? 1 : v;
}

/** Multiplies two column-major 4x4 matrices: a * b. */
export function multiplyMat4(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(16);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
    out[c * 4 + r] = s;
  }
  return out;
}

/** glTF Y-up to Z-up: (x, y, z) -> (x, -z, y), column-major. */
export const Y_UP_TO_Z_UP = new Float64Array([1, 0, 0, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, 1]);

/** Inverse-transpose of the upper 3x3 (normals under non-uniform scale), row-major 3x3. */
function normalMatrix(m: Float64Array): Float64Array {
  const a = m[0], b = m[4], c = m[8], d = m[1], e = m[5], f = m[9], g = m[2], h = m[6], i = m[10];
  // Cofactors: inverse-transpose = cofactor matrix / det; the scale does not matter (normals are renormalised).
  return new Float64Array([e * i - f * h, f * g - d * i, d * h - e * g, c * h - b * i, a * i - c * g, b * g - a * h, b * f - c * e, c * d - a * f, a * e - b * d]);
}

interface PrimitiveRef {
  primitive: Primitive;
  matrix: Float64Array;
  material: number;
  texCoord: number;
}

/**
 * The triangles of a document as a mesh source: `transform` (column-major, applied after the Y-up to Z-up
 * turn) places it (3D Tiles tile transforms, RTC centres). Materials and textures are appended to the
 * given lists, so several documents can share one mesh's tables.
 */
export function documentMesh(doc: Document, name: string, transform: Float64Array | undefined, materials: MeshMaterial[], textures: MeshTexture[], warnings: string[]) {
  const root = doc.getRoot();
  const scene = root.getDefaultScene() ?? root.listScenes()[0];
  const base = transform ? multiplyMat4(transform, Y_UP_TO_Z_UP) : Y_UP_TO_Z_UP;
  const refs: PrimitiveRef[] = [];
  const materialIndex = new Map<Material, { index: number; texCoord: number }>();
  const textureIndex = new Map<object, number>();
  let skipped = 0;
  const materialOf = (m: Material | null): { index: number; texCoord: number } => {
    if (!m) return { index: -1, texCoord: 0 };
    const known = materialIndex.get(m);
    if (known) return known;
    const f = m.getBaseColorFactor();
    const tex = m.getBaseColorTexture();
    const info = m.getBaseColorTextureInfo();
    let texture = -1;
    if (tex) {
      const image = tex.getImage();
      const t = textureIndex.get(tex);
      if (t !== undefined) texture = t;
      else if (image) {
        texture = textures.length;
        textures.push({ name: `${name}: ${tex.getURI() || tex.getName() || `texture ${textureIndex.size}`}`, bytes: image, repeat: (info?.getWrapS() ?? 10497) === 10497 });
        textureIndex.set(tex, texture);
      }
    }
    const entry = { index: materials.length, texCoord: info?.getTexCoord() ?? 0 };
    materials.push({ name: m.getName(), colour: [linearToSrgb(f[0]), linearToSrgb(f[1]), linearToSrgb(f[2])], texture });
    materialIndex.set(m, entry);
    return entry;
  };
  const visit = (node: Node) => {
    const mesh = node.getMesh();
    if (!mesh) return;
    const world = multiplyMat4(base, node.getWorldMatrix());
    for (const p of mesh.listPrimitives()) {
      const mode = p.getMode();
      if (mode !== MODE_TRIANGLES && mode !== MODE_STRIP && mode !== MODE_FAN) {
        skipped++;
        continue;
      }
      if (!p.getAttribute("POSITION")) continue;
      const m = materialOf(p.getMaterial());
      refs.push({ primitive: p, matrix: world, material: m.index, texCoord: m.texCoord });
    }
  };
  if (scene) scene.traverse(visit);
  else for (const n of root.listNodes()) if (!n.getParentNode()) n.traverse(visit);
  if (skipped > 0) warnings.push(`${name}: ${skipped} point or line primitive(s) have no surface and were not sampled`);
  let triangleCount = 0;
  const bounds = emptyBounds();
  for (const r of refs) {
    const pos = r.primitive.getAttribute("POSITION")!;
    const idx = triangleIndices(r.primitive, pos.getCount());
    triangleCount += idx ? idx.length / 3 : 0;
    const v = valuesOf(pos);
    const m = r.matrix;
    for (let k = 0; k + 2 < v.length; k += 3) {
      const x = v[k], y = v[k + 1], z = v[k + 2];
      extendBounds(bounds, m[0] * x + m[4] * y + m[8] * z + m[12], m[1] * x + m[5] * y + m[9] * z + m[13], m[2] * x + m[6] * y + m[10] * z + m[14]);
    }
  }
  return {
    triangleCount,
    bounds,
    batches: async function* (signal?: AbortSignal): AsyncGenerator<TriangleBatch> {
      for (const r of refs) {
        if (signal?.aborted) throw signal.reason ?? new Error("aborted");
        yield primitiveBatch(r, name);
      }
    },
  };
}

function primitiveBatch(r: PrimitiveRef, name: string): TriangleBatch {
  const p = r.primitive;
  const posA = p.getAttribute("POSITION")!;
  const pos = valuesOf(posA);
  const nv = posA.getCount();
  const idx = triangleIndices(p, nv) ?? new Uint32Array(0);
  const nrmA = p.getAttribute("NORMAL");
  const uvA = r.material >= 0 ? p.getAttribute(`TEXCOORD_${r.texCoord}`) : null;
  const colA = p.getAttribute("COLOR_0");
  const nrm = nrmA ? valuesOf(nrmA) : undefined;
  const uv = uvA ? valuesOf(uvA) : undefined;
  const col = colA ? valuesOf(colA) : undefined;
  const colSize = colA?.getElementSize() ?? 0;
  const n = idx.length / 3;
  const positions = new Float64Array(n * 9);
  const normals = nrm ? new Float32Array(n * 9) : undefined;
  const uvs = uv ? new Float32Array(n * 6) : undefined;
  const colours = col ? new Uint8Array(n * 12) : undefined;
  const m = r.matrix;
  const nm = normalMatrix(m);
  for (let c = 0; c < idx.length; c++) {
    const v = idx[c];
    if (v >= nv) throw new FormatError(`a primitive refers to vertex ${v} of ${nv}`, name, 0);
    const x = pos[v * 3], y = pos[v * 3 + 1], z = pos[v * 3 + 2];
    positions[c * 3] = m[0] * x + m[4] * y + m[8] * z + m[12];
    positions[c * 3 + 1] = m[1] * x + m[5] * y + m[9] * z + m[13];
    positions[c * 3 + 2] = m[2] * x + m[6] * y + m[10] * z + m[14];
    if (normals && nrm) {
      const a = nrm[v * 3], b = nrm[v * 3 + 1], d = nrm[v * 3 + 2];
      const nx = nm[0] * a + nm[1] * b + nm[2] * d;
      const ny = nm[3] * a + nm[4] * b + nm[5] * d;
      const nz = nm[6] * a + nm[7] * b + nm[8] * d;
      const l = Math.hypot(nx, ny, nz) || 1;
      normals[c * 3] = nx / l;
      normals[c * 3 + 1] = ny / l;
      normals[c * 3 + 2] = nz / l;
    }
    if (uvs && uv) {
      // glTF's v runs down the image; the batch convention is v up.
      uvs[c * 2] = uv[v * 2];
      uvs[c * 2 + 1] = 1 - uv[v * 2 + 1];
    }
    if (colours && col) {
      for (let k = 0; k < 3; k++) colours[c * 4 + k] = Math.round(linearToSrgb(col[v * colSize + k]) * 255);
      colours[c * 4 + 3] = colSize === 4 ? Math.round(Math.min(1, Math.max(0, col[v * colSize + 3])) * 255) : 255;
    }
  }
  return { count: n, positions, normals, uvs, colours, materials: new Int32Array(n).fill(r.material) };
}

/** Reads a .glb or .gltf file; external buffers and images come from `related`. */
export async function openGltf(bytes: Uint8Array, name: string, related: RelatedFileResolver): Promise<MeshReader> {
  const doc = await readGltfDocument(bytes, name, related);
  const materials: MeshMaterial[] = [];
  const textures: MeshTexture[] = [];
  const warnings: string[] = [];
  const mesh = documentMesh(doc, name, undefined, materials, textures, warnings);
  if (mesh.triangleCount === 0) throw new FormatError("no triangles in the scene", name, 0);
  return { name, format: "glTF", triangleCount: mesh.triangleCount, bounds: mesh.bounds, materials, textures, crs: undefined, metresPerUnit: 1, warnings, batches: mesh.batches };
}

export { isGlb };
