/**
 * The GLB point-tile encoder built on a glTF-Transform Document, kept for the tests: encodePointGlb writes
 * the same bytes without the Document.
 */
import { Document, Extension, Logger, Primitive, WebIO, type ReaderContext, type WriterContext } from "@gltf-transform/core";
import { EXTMeshoptCompression, KHRMaterialsUnlit, KHRMeshQuantization } from "@gltf-transform/extensions";
import { MeshoptDecoder } from "meshoptimizer/decoder";
import { MeshoptEncoder } from "meshoptimizer/encoder";
import { checkContent, positionBounds, quantisationFits, srgbToLinear, type PointTileContent } from "../tiles3d/content.js";

const GLB_INTENSITY_ATTRIBUTE = "_INTENSITY";
const GLB_CLASSIFICATION_ATTRIBUTE = "_CLASSIFICATION";
const STRUCTURAL_METADATA = "EXT_structural_metadata";

interface PropertyAttributeJson {
  class: string;
  properties: Record<string, { attribute: string }>;
}
interface StructuralMetadataJson {
  schema: { id: string; classes: Record<string, { properties: Record<string, { type: string; componentType: string; description?: string }> }> };
  propertyAttributes: PropertyAttributeJson[];
}

/**
 * EXT_structural_metadata limited to property attributes on point primitives: gltf-transform has no
 * implementation of it, so this one writes the root schema and tags every primitive carrying a described
 * attribute, and on read keeps the root JSON for the decoder.
 */
class PointMetadataExtension extends Extension {
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

const SRGB_TO_LINEAR_U16 = Uint16Array.from({ length: 256 }, (_, v) => Math.round(srgbToLinear(v) * 65535));

let codecReady: Promise<void> | undefined;
function meshoptReady(): Promise<void> {
  codecReady ??= Promise.all([MeshoptEncoder.ready, MeshoptDecoder.ready]).then(() => undefined);
  return codecReady;
}

function io(): WebIO {
  return new WebIO()
    .setLogger(new Logger(Logger.Verbosity.WARN))
    .registerExtensions([EXTMeshoptCompression, KHRMeshQuantization, KHRMaterialsUnlit, PointMetadataExtension])
    .registerDependencies({ "meshopt.encoder": MeshoptEncoder, "meshopt.decoder": MeshoptDecoder });
}

export async function encodePointGlbWithDocument(c: PointTileContent): Promise<Uint8Array> {
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

  const doc = new Document();
  const buffer = doc.createBuffer();
  const primitive = doc.createPrimitive().setMode(Primitive.Mode.POINTS);
  const node = doc.createNode("points");
  const r = c.rtcCenter;
  if (quantised) {
    const step = [0, 1, 2].map((a) => (max[a] > min[a] ? (max[a] - min[a]) / 65535 : 1));
    const q = new Uint16Array(3 * n);
    for (let i = 0; i < n; i++) {
      const o = 3 * order[i];
      q[3 * i] = Math.round((c.positions[o] - min[0]) / step[0]);
      q[3 * i + 1] = Math.round((c.positions[o + 2] - min[2]) / step[2]);
      q[3 * i + 2] = Math.round((max[1] - c.positions[o + 1]) / step[1]);
    }
    primitive.setAttribute("POSITION", doc.createAccessor().setType("VEC3").setArray(q).setBuffer(buffer));
    node.setTranslation([r[0] + min[0], r[2] + min[2], -(r[1] + max[1])]).setScale([step[0], step[2], step[1]]);
    doc.createExtension(KHRMeshQuantization).setRequired(true);
  } else {
    const p = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const o = 3 * order[i];
      p[3 * i] = c.positions[o];
      p[3 * i + 1] = c.positions[o + 2];
      p[3 * i + 2] = -c.positions[o + 1];
    }
    primitive.setAttribute("POSITION", doc.createAccessor().setType("VEC3").setArray(p).setBuffer(buffer));
    node.setTranslation([r[0], r[2], -r[1]]);
  }
  if (c.rgb) {
    const colours = new Uint16Array(3 * n);
    for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) colours[3 * i + a] = SRGB_TO_LINEAR_U16[c.rgb[3 * order[i] + a]];
    primitive.setAttribute("COLOR_0", doc.createAccessor().setType("VEC3").setArray(colours).setNormalized(true).setBuffer(buffer));
  }
  const metadata: StructuralMetadataJson = { schema: { id: "realconv_points", classes: { point: { properties: {} } } }, propertyAttributes: [{ class: "point", properties: {} }] };
  const properties = metadata.schema.classes.point.properties;
  const attributes = metadata.propertyAttributes[0].properties;
  if (c.intensity) {
    const values = new Uint16Array(n);
    for (let i = 0; i < n; i++) values[i] = c.intensity[order[i]];
    primitive.setAttribute(GLB_INTENSITY_ATTRIBUTE, doc.createAccessor().setType("SCALAR").setArray(values).setBuffer(buffer));
    properties.intensity = { type: "SCALAR", componentType: "UINT16", description: "Return intensity" };
    attributes.intensity = { attribute: GLB_INTENSITY_ATTRIBUTE };
  }
  if (c.classification) {
    const values = new Uint8Array(n);
    for (let i = 0; i < n; i++) values[i] = c.classification[order[i]];
    primitive.setAttribute(GLB_CLASSIFICATION_ATTRIBUTE, doc.createAccessor().setType("SCALAR").setArray(values).setBuffer(buffer));
    properties.classification = { type: "SCALAR", componentType: "UINT8", description: "ASPRS classification" };
    attributes.classification = { attribute: GLB_CLASSIFICATION_ATTRIBUTE };
  }
  if (c.intensity || c.classification) doc.createExtension(PointMetadataExtension).metadata = metadata;

  const unlit = doc.createExtension(KHRMaterialsUnlit);
  primitive.setMaterial(doc.createMaterial("points").setExtension(KHRMaterialsUnlit.EXTENSION_NAME, unlit.createUnlit()));
  node.setMesh(doc.createMesh("points").addPrimitive(primitive));
  doc.createScene().addChild(node);
  doc.getRoot().setDefaultScene(doc.getRoot().listScenes()[0]);
  doc.getRoot().getAsset().generator = "realconv";
  doc.createExtension(EXTMeshoptCompression).setRequired(true).setEncoderOptions({ method: EXTMeshoptCompression.EncoderMethod.QUANTIZE });
  return io().writeBinary(doc);
}

