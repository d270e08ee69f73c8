/**
 * The GLB point-tile encoder built on a glTF-Transform Document, kept for the tests: encodePointGlb writes
 * the same bytes without the Document.
 */
import { Document, Primitive } from "@gltf-transform/core";
import { EXTMeshoptCompression, KHRMaterialsUnlit, KHRMeshQuantization } from "@gltf-transform/extensions";
import { MeshoptEncoder } from "meshoptimizer/encoder";
import { checkContent, positionBounds, quantisationFits, type PointTileContent } from "../tiles3d/content.js";
import {
  GLB_CLASSIFICATION_ATTRIBUTE,
  GLB_INTENSITY_ATTRIBUTE,
  io,
  meshoptReady,
  PointMetadataExtension,
  SRGB_TO_LINEAR_U16,
  type StructuralMetadataJson,
} from "../tiles3d/glb.js";

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

