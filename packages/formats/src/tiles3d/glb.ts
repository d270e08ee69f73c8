/**
 * 3D Tiles 1.1 point content as glTF 2.0 binary (GLB): one primitive of mode POINTS, compressed with
 * EXT_meshopt_compression, built and read with @gltf-transform and meshoptimizer.
 *
 * What the GLB holds (chosen for what CesiumJS and 3d-tiles-renderer read):
 * - glTF is y-up and 3D Tiles rotates glTF content y-up -> z-up, so the tile's z-up coordinates (x, y, z)
 *   are stored as glTF (x, z, -y); readers get the tile frame back after that rotation.
 * - The RTC centre is the node translation (float64 in JSON; CESIUM_RTC is deprecated in 1.1). Positions
 *   are `POSITION` u16 (KHR_mesh_quantization, the node scale is the quantisation step) when the tile's
 *   extent / 65535 <= `precision`, float32 otherwise.
 * - `COLOR_0`: linear RGB, u16 normalised (8-bit sRGB -> linear would lose the darks in 8 bits).
 * - `_INTENSITY` (u16) and `_CLASSIFICATION` (u8), described by EXT_structural_metadata as property
 *   attributes of class `point` (properties `intensity`, `classification`).
 * - Material: unlit (KHR_materials_unlit), white, so the point colours show as stored.
 * - Points are reordered spatially (meshopt spatial sort) before compression: the GLB's point order is
 *   not the input's.
 * - Buffer views are meshopt-compressed (mode ATTRIBUTES, no lossy filter), with the uncompressed fallback
 *   buffer declared without data, so EXT_meshopt_compression is required.
 */
import { Accessor, Document, Extension, Logger, Primitive, WebIO, type ReaderContext, type WriterContext } from "@gltf-transform/core";
import { EXTMeshoptCompression, KHRMaterialsUnlit, KHRMeshQuantization } from "@gltf-transform/extensions";
import { MeshoptDecoder } from "meshoptimizer/decoder";
import { MeshoptEncoder } from "meshoptimizer/encoder";
import { FormatError } from "../io/byte-source.js";
import { checkContent, linearToSrgb8, positionBounds, quantisationFits, srgbToLinear, type PointTileContent } from "./content.js";

export const GLB_INTENSITY_ATTRIBUTE = "_INTENSITY";
export const GLB_CLASSIFICATION_ATTRIBUTE = "_CLASSIFICATION";
const STRUCTURAL_METADATA = "EXT_structural_metadata";

interface PropertyAttributeJson {
  class: string;
  properties: Record<string, { attribute: string }>;
}
export interface StructuralMetadataJson {
  schema: { id: string; classes: Record<string, { properties: Record<string, { type: string; componentType: string; description?: string }> }> };
  propertyAttributes: PropertyAttributeJson[];
}

/**
 * EXT_structural_metadata limited to property attributes on point primitives: gltf-transform has no
 * implementation of it, so this one writes the root schema and tags every primitive carrying a described
 * attribute, and on read keeps the root JSON for the decoder.
 */
export class PointMetadataExtension extends Extension {
  static override readonly EXTENSION_NAME = STRUCTURAL_METADATA;
  override readonly extensionName = STRUCTURAL_METADATA;
  metadata: StructuralMetadataJson | undefined;

  override read(context: ReaderContext): this {
    const root = context.jsonDoc.json.extensions?.[STRUCTURAL_METADATA] as StructuralMetadataJson | undefined;
    this.metadata = root;
    return this;
  }

  override write(context: WriterContext): this {
    if (!this.metadata) return this;
    const json = context.jsonDoc.json;
    json.extensions = { ...json.extensions, [STRUCTURAL_METADATA]: this.metadata };
    const described = new Set(this.metadata.propertyAttributes.flatMap((p) => Object.values(p.properties).map((v) => v.attribute)));
    for (const mesh of json.meshes ?? []) {
      for (const primitive of mesh.primitives) {
        if (Object.keys(primitive.attributes).some((a) => described.has(a))) {
          primitive.extensions = { ...primitive.extensions, [STRUCTURAL_METADATA]: { propertyAttributes: [0] } };
        }
      }
    }
    return this;
  }
}

export const SRGB_TO_LINEAR_U16 = Uint16Array.from({ length: 256 }, (_, v) => Math.round(srgbToLinear(v) * 65535));

let codecReady: Promise<void> | undefined;
export function meshoptReady(): Promise<void> {
  codecReady ??= Promise.all([MeshoptEncoder.ready, MeshoptDecoder.ready]).then(() => undefined);
  return codecReady;
}

/** The glTF-Transform IO of point tiles (the decoder's, and the test encoder's in `testing/glb-document.ts`). */
export function io(): WebIO {
  return new WebIO()
    .setLogger(new Logger(Logger.Verbosity.WARN))
    .registerExtensions([EXTMeshoptCompression, KHRMeshQuantization, KHRMaterialsUnlit, PointMetadataExtension])
    .registerDependencies({ "meshopt.encoder": MeshoptEncoder, "meshopt.decoder": MeshoptDecoder });
}

/**
 * The GLB bytes of a point tile. Written directly rather than through a glTF-Transform Document (whose
 * building, validation and copies cost as much as the compression itself): the same JSON, key for key,
 * and the same chunks as `io().writeBinary` of the document described above, which reads it back.
 */
export async function encodePointGlb(c: PointTileContent): Promise<Uint8Array> {
  checkContent(c);
  if (c.count === 0) throw new RangeError("a GLB point tile needs at least one point");
  await meshoptReady();
  const n = c.count;
  const { min, max } = positionBounds(c.positions, n);
  const quantised = quantisationFits(c, min, max);

  // Spatial order: neighbouring points have close values, which meshopt's delta coding compresses well.
  const remap = MeshoptEncoder.reorderPoints(c.positions.subarray(0, 3 * n), 3);
  const order = new Uint32Array(n); // order[new] = old
  for (let i = 0; i < n; i++) order[remap[i]] = i;

  const views: GlbView[] = [];
  const r = c.rtcCenter;
  const node: { name: string; translation?: number[]; scale?: number[]; mesh?: number } = { name: "points" };
  let translation: number[];
  let scale = [1, 1, 1];
  const pos = c.positions;
  if (quantised) {
    const step = [0, 1, 2].map((a) => (max[a] > min[a] ? (max[a] - min[a]) / 65535 : 1));
    // u16 VEC3 padded to 4 components: meshopt's attribute mode needs strides of 4 bytes.
    const q = new Uint16Array(4 * n);
    for (let i = 0; i < n; i++) {
      const o = 3 * order[i];
      q[4 * i] = Math.round((pos[o] - min[0]) / step[0]);
      q[4 * i + 1] = Math.round((pos[o + 2] - min[2]) / step[2]);
      q[4 * i + 2] = Math.round((max[1] - pos[o + 1]) / step[1]);
    }
    views.push({ attribute: "POSITION", type: "VEC3", componentType: 5123, normalized: false, data: q, stride: 8, bounds: componentBounds(q, n, 4, 3) });
    translation = [r[0] + min[0], r[2] + min[2], -(r[1] + max[1])];
    scale = [step[0], step[2], step[1]];
  } else {
    const p = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const o = 3 * order[i];
      p[3 * i] = pos[o];
      p[3 * i + 1] = pos[o + 2];
      p[3 * i + 2] = -pos[o + 1];
    }
    views.push({ attribute: "POSITION", type: "VEC3", componentType: 5126, normalized: false, data: p, stride: 12, bounds: componentBounds(p, n, 3, 3) });
    translation = [r[0], r[2], -r[1]];
  }
  // glTF-Transform leaves out a translation or scale within 1e-5 of its default.
  if (!nearly(translation, [0, 0, 0])) node.translation = translation;
  if (!nearly(scale, [1, 1, 1])) node.scale = scale;
  node.mesh = 0;
  if (c.rgb) {
    const rgb = c.rgb;
    const colours = new Uint16Array(4 * n);
    for (let i = 0; i < n; i++) {
      const o = 3 * order[i];
      colours[4 * i] = SRGB_TO_LINEAR_U16[rgb[o]];
      colours[4 * i + 1] = SRGB_TO_LINEAR_U16[rgb[o + 1]];
      colours[4 * i + 2] = SRGB_TO_LINEAR_U16[rgb[o + 2]];
    }
    views.push({ attribute: "COLOR_0", type: "VEC3", componentType: 5123, normalized: true, data: colours, stride: 8 });
  }
  const metadata: StructuralMetadataJson = { schema: { id: "realconv_points", classes: { point: { properties: {} } } }, propertyAttributes: [{ class: "point", properties: {} }] };
  const properties = metadata.schema.classes.point.properties;
  const attributes = metadata.propertyAttributes[0].properties;
  if (c.intensity) {
    const src = c.intensity;
    const values = new Uint16Array(2 * n);
    for (let i = 0; i < n; i++) values[2 * i] = src[order[i]];
    views.push({ attribute: GLB_INTENSITY_ATTRIBUTE, type: "SCALAR", componentType: 5123, normalized: false, data: values, stride: 4 });
    properties.intensity = { type: "SCALAR", componentType: "UINT16", description: "Return intensity" };
    attributes.intensity = { attribute: GLB_INTENSITY_ATTRIBUTE };
  }
  if (c.classification) {
    const src = c.classification;
    const values = new Uint8Array(4 * n);
    for (let i = 0; i < n; i++) values[4 * i] = src[order[i]];
    views.push({ attribute: GLB_CLASSIFICATION_ATTRIBUTE, type: "SCALAR", componentType: 5121, normalized: false, data: values, stride: 4 });
    properties.classification = { type: "SCALAR", componentType: "UINT8", description: "ASPRS classification" };
    attributes.classification = { attribute: GLB_CLASSIFICATION_ATTRIBUTE };
  }
  const withMetadata = c.intensity !== undefined || c.classification !== undefined;

  // One meshopt-compressed buffer view per accessor in buffer 0 (the GLB's BIN chunk), each padded to 4
  // bytes; buffer 1 is the fallback, declared with the uncompressed lengths and no data.
  const compressed: Uint8Array[] = [];
  const accessors: Record<string, unknown>[] = [];
  const bufferViews: Record<string, unknown>[] = [];
  const primitiveAttributes: Record<string, number> = {};
  let binLength = 0;
  let fallbackLength = 0;
  views.forEach((v, i) => {
    const raw = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    const packed = MeshoptEncoder.encodeGltfBuffer(raw, n, v.stride, "ATTRIBUTES");
    const accessor: Record<string, unknown> = { type: v.type, componentType: v.componentType, count: n };
    if (v.bounds) {
      accessor.max = v.bounds.max.map(Math.fround);
      accessor.min = v.bounds.min.map(Math.fround);
    }
    accessor.normalized = v.normalized;
    accessor.byteOffset = 0;
    accessor.bufferView = i;
    accessors.push(accessor);
    bufferViews.push({
      buffer: 1,
      byteOffset: fallbackLength,
      byteLength: raw.byteLength,
      target: 34962,
      byteStride: v.stride,
      extensions: { EXT_meshopt_compression: { buffer: 0, byteOffset: binLength, byteLength: packed.byteLength, mode: "ATTRIBUTES", byteStride: v.stride, count: n } },
    });
    primitiveAttributes[v.attribute] = i;
    compressed.push(packed);
    binLength += pad4(packed.byteLength);
    fallbackLength += pad4(raw.byteLength);
  });
  const primitive: Record<string, unknown> = { attributes: primitiveAttributes, mode: 0, material: 0 };
  if (withMetadata) primitive.extensions = { [STRUCTURAL_METADATA]: { propertyAttributes: [0] } };
  const used = ["EXT_meshopt_compression", ...(withMetadata ? [STRUCTURAL_METADATA] : []), "KHR_materials_unlit", ...(quantised ? ["KHR_mesh_quantization"] : [])];
  const required = ["EXT_meshopt_compression", ...(quantised ? ["KHR_mesh_quantization"] : [])];
  const json: Record<string, unknown> = {
    asset: { generator: "realconv", version: "2.0" },
    accessors,
    bufferViews,
    buffers: [{ byteLength: binLength }, { byteLength: fallbackLength, extensions: { EXT_meshopt_compression: { fallback: true } } }],
    materials: [{ name: "points", pbrMetallicRoughness: {}, extensions: { KHR_materials_unlit: {} } }],
    meshes: [{ name: "points", primitives: [primitive] }],
    nodes: [node],
    scenes: [{ nodes: [0] }],
    scene: 0,
    extensionsUsed: used,
    extensionsRequired: required,
  };
  if (withMetadata) json.extensions = { [STRUCTURAL_METADATA]: metadata };

  const text = new TextEncoder().encode(JSON.stringify(json));
  const jsonLength = pad4(text.byteLength);
  const total = 12 + 8 + jsonLength + 8 + binLength;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x46546c67, true); // "glTF"
  dv.setUint32(4, 2, true);
  dv.setUint32(8, total, true);
  dv.setUint32(12, jsonLength, true);
  dv.setUint32(16, 0x4e4f534a, true); // "JSON"
  out.set(text, 20);
  out.fill(0x20, 20 + text.byteLength, 20 + jsonLength);
  let at = 20 + jsonLength;
  dv.setUint32(at, binLength, true);
  dv.setUint32(at + 4, 0x004e4942, true); // "BIN\0"
  at += 8;
  for (const packed of compressed) {
    out.set(packed, at);
    at += pad4(packed.byteLength);
  }
  return out;
}

interface GlbView {
  attribute: string;
  type: "VEC3" | "SCALAR";
  componentType: number;
  normalized: boolean;
  /** The accessor's values, each element padded to `stride` bytes. */
  data: Uint8Array | Uint16Array | Float32Array;
  stride: number;
  /** Component bounds (POSITION only). */
  bounds?: { min: number[]; max: number[] };
}

const pad4 = (v: number) => Math.ceil(v / 4) * 4;

function nearly(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-5) return false;
  return true;
}

/** Per-component min and max over the finite values of `count` elements of `size` components, `stride` apart. */
function componentBounds(a: Uint16Array | Float32Array, count: number, stride: number, size: number): { min: number[]; max: number[] } {
  const min: number[] = [];
  const max: number[] = [];
  for (let j = 0; j < size; j++) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0, k = j; i < count; i++, k += stride) {
      const v = a[k];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    min.push(lo);
    max.push(hi);
  }
  return { min, max };
}

export interface DecodedPointGlb {
  count: number;
  /** Tile-frame (z-up) positions, float64, the node transforms and the y-up -> z-up rotation applied. */
  positions: Float64Array;
  /** 8-bit sRGB, converted back from linear COLOR_0. */
  rgb?: Uint8Array;
  intensity?: Uint16Array;
  classification?: Uint8Array;
  /** Extensions the GLB declares used. */
  extensionsUsed: string[];
}

/** Reads a GLB point tile (ours or any with POINTS primitives and the extensions above). */
export async function decodePointGlb(bytes: Uint8Array, file = "tile.glb"): Promise<DecodedPointGlb> {
  await meshoptReady();
  let doc: Document;
  try {
    doc = await io().readBinary(bytes);
  } catch (e) {
    throw new FormatError(`GLB does not read: ${(e as Error).message}`, file, 0);
  }
  const metadata = doc.getRoot().listExtensionsUsed().find((e): e is PointMetadataExtension => e instanceof PointMetadataExtension)?.metadata;
  const attributeOf = (property: string): string | undefined => {
    for (const pa of metadata?.propertyAttributes ?? []) if (pa.properties[property]) return pa.properties[property].attribute;
    return undefined;
  };
  const intensityName = attributeOf("intensity") ?? GLB_INTENSITY_ATTRIBUTE;
  const classificationName = attributeOf("classification") ?? GLB_CLASSIFICATION_ATTRIBUTE;

  const positions: Float64Array[] = [];
  const rgb: Uint8Array[] = [];
  const intensity: Uint16Array[] = [];
  const classification: Uint8Array[] = [];
  let count = 0;
  const scene = doc.getRoot().getDefaultScene() ?? doc.getRoot().listScenes()[0];
  if (!scene) throw new FormatError("GLB has no scene", file, 0);
  scene.traverse((node) => {
    const mesh = node.getMesh();
    if (!mesh) return;
    const m = node.getWorldMatrix();
    for (const primitive of mesh.listPrimitives()) {
      if (primitive.getMode() !== Primitive.Mode.POINTS) throw new FormatError(`primitive of mode ${primitive.getMode()}, expected POINTS (0)`, file, 0);
      const position = primitive.getAttribute("POSITION");
      if (!position) throw new FormatError("POINTS primitive without POSITION", file, 0);
      const k = position.getCount();
      const world = new Float64Array(3 * k);
      const raw = position.getNormalized() ? undefined : position.getArray();
      const el: number[] = [0, 0, 0];
      for (let i = 0; i < k; i++) {
        if (raw) {
          el[0] = raw[3 * i];
          el[1] = raw[3 * i + 1];
          el[2] = raw[3 * i + 2];
        } else position.getElement(i, el);
        const x = m[0] * el[0] + m[4] * el[1] + m[8] * el[2] + m[12];
        const y = m[1] * el[0] + m[5] * el[1] + m[9] * el[2] + m[13];
        const z = m[2] * el[0] + m[6] * el[1] + m[10] * el[2] + m[14];
        // glTF y-up -> tile z-up: (x, y, z)_gl -> (x, -z, y).
        world[3 * i] = x;
        world[3 * i + 1] = -z;
        world[3 * i + 2] = y;
      }
      positions.push(world);
      const colour = primitive.getAttribute("COLOR_0");
      if (colour) rgb.push(readColours(colour, k));
      const inten = primitive.getAttribute(intensityName);
      if (inten) intensity.push(Uint16Array.from(inten.getArray() ?? []));
      const cls = primitive.getAttribute(classificationName);
      if (cls) classification.push(Uint8Array.from(cls.getArray() ?? []));
      count += k;
    }
  });
  // An attribute counts only when every primitive has it.
  const joined = <T extends Float64Array | Uint8Array | Uint16Array>(parts: T[], make: (n: number) => T): T | undefined => {
    if (parts.length === 0 || parts.length !== positions.length) return undefined;
    const out = make(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  return {
    count,
    positions: joined(positions, (n) => new Float64Array(n)) ?? new Float64Array(0),
    rgb: joined(rgb, (n) => new Uint8Array(n)),
    intensity: joined(intensity, (n) => new Uint16Array(n)),
    classification: joined(classification, (n) => new Uint8Array(n)),
    extensionsUsed: doc.getRoot().listExtensionsUsed().map((e) => e.extensionName),
  };
}

let linearU16ToSrgb8: Uint8Array | undefined;

function readColours(accessor: Accessor, count: number): Uint8Array {
  const out = new Uint8Array(3 * count);
  const raw = accessor.getArray();
  const size = accessor.getElementSize();
  if (accessor.getNormalized() && raw instanceof Uint16Array) {
    linearU16ToSrgb8 ??= Uint8Array.from({ length: 65536 }, (_, v) => linearToSrgb8(v / 65535));
    for (let i = 0; i < count; i++) for (let a = 0; a < 3; a++) out[3 * i + a] = linearU16ToSrgb8[raw[size * i + a]];
    return out;
  }
  const el: number[] = [];
  for (let i = 0; i < count; i++) {
    accessor.getElement(i, el); // normalised values come back in [0, 1]
    for (let a = 0; a < 3; a++) out[3 * i + a] = linearToSrgb8(el[a]);
  }
  return out;
}
