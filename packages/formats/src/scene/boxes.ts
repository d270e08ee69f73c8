/**
 * 3D objects of a ContextScene's annotations (boxes) as a glTF 2.0 binary (GLB) content for 3D Tiles 1.1:
 * one TRIANGLES primitive (the box faces, translucent) and one LINES primitive (its edges) over the same
 * vertices; each object a feature (`EXT_mesh_features`) whose object id, label and confidence are a
 * property table (`EXT_structural_metadata`). Pure: positions in, bytes out.
 */
import type { SceneObject3D } from "./context-scene.js";
import { BinaryBuilder, bytesOf, glb, stringColumn } from "./frustums.js";

/** Vertices per box: the 8 corners, corner k at centre + (±x ±y ±z half-axes) with bit 0 for x, 1 for y, 2 for z. */
export const BOX_VERTICES = 8;
/** Two triangles per face, counter-clockwise seen from outside (for a right-handed box). */
const BOX_TRIANGLES = [0, 2, 3, 0, 3, 1, 4, 5, 7, 4, 7, 6, 0, 1, 5, 0, 5, 4, 2, 6, 7, 2, 7, 3, 0, 4, 6, 0, 6, 2, 1, 3, 7, 1, 7, 5];
const BOX_EDGES = [0, 1, 2, 3, 4, 5, 6, 7, 0, 2, 1, 3, 4, 6, 5, 7, 0, 4, 1, 5, 2, 6, 3, 7];

/** Writes one object's 8 corners (scene coordinates) at `out[offset..offset+24)`. */
export function writeBox(object: SceneObject3D, out: Float64Array, offset: number): void {
  const [c, h] = [object.center, object.halfAxes];
  for (let k = 0; k < BOX_VERTICES; k++) {
    const s = [k & 1 ? 1 : -1, k & 2 ? 1 : -1, k & 4 ? 1 : -1];
    for (let j = 0; j < 3; j++) out[offset + k * 3 + j] = c[j] + s[0] * h[j] + s[1] * h[3 + j] + s[2] * h[6 + j];
  }
}

/** One 3D object's metadata, as its feature's properties. */
export interface AnnotationFeature {
  objectId: string;
  /** Label name (the label id when the scene names none). */
  label: string;
  labelId: string;
  /** -1 when the scene gives none (the schema's noData). */
  confidence: number;
}

/** The metadata schema of annotation features (one class), as GLB contents declare it. */
export const ANNOTATION_SCHEMA = {
  id: "realconv_annotations",
  classes: {
    annotation: {
      name: "Annotation",
      description: "A 3D object of the ContextScene's annotations.",
      properties: {
        objectId: { type: "STRING", description: "Object id in the ContextScene." },
        label: { type: "STRING", description: "Label name." },
        labelId: { type: "STRING", description: "Label id in the ContextScene." },
        confidence: { type: "SCALAR", componentType: "FLOAT32", noData: -1, description: "Detection confidence, 0..1." },
      },
    },
  },
} as const;

/** A stable colour per label id (golden-angle hues), so a label looks the same in every tile. */
function labelColour(labelId: string): [number, number, number] {
  let hash = 0;
  for (const ch of labelId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const hue = ((hash % 360) * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    return 0.55 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}

/**
 * GLB of `objects.length` boxes. `vertices` holds BOX_VERTICES xyz corners per object in the tile's z-up
 * frame (e.g. ECEF); they are stored relative to `center` (the node's translation, in double precision)
 * and turned y-up, as glTF wants and 3D Tiles turns back.
 */
export function encodeBoxGlb(vertices: Float64Array, objects: readonly AnnotationFeature[], center: readonly [number, number, number]): Uint8Array {
  const n = objects.length;
  if (vertices.length !== n * BOX_VERTICES * 3) throw new RangeError(`expected ${n * BOX_VERTICES * 3} coordinates, got ${vertices.length}`);
  const positions = new Float32Array(n * BOX_VERTICES * 3);
  const colours = new Uint8Array(n * BOX_VERTICES * 4);
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < n * BOX_VERTICES; v++) {
    // z-up (x, y, z) -> y-up (x, z, -y): a rotation, so faces keep their winding.
    const p = [vertices[v * 3] - center[0], vertices[v * 3 + 2] - center[2], -(vertices[v * 3 + 1] - center[1])];
    for (let k = 0; k < 3; k++) {
      positions[v * 3 + k] = p[k];
      min[k] = Math.min(min[k], Math.fround(p[k]));
      max[k] = Math.max(max[k], Math.fround(p[k]));
    }
  }
  const featureIds = new Float32Array(n * BOX_VERTICES);
  for (let o = 0; o < n; o++) {
    featureIds.fill(o, o * BOX_VERTICES, (o + 1) * BOX_VERTICES);
    const rgb = labelColour(objects[o].labelId).map((c) => Math.round(c * 255));
    for (let v = 0; v < BOX_VERTICES; v++) colours.set([rgb[0], rgb[1], rgb[2], 255], (o * BOX_VERTICES + v) * 4);
  }
  const triangles = new Uint32Array(n * BOX_TRIANGLES.length);
  const edges = new Uint32Array(n * BOX_EDGES.length);
  for (let o = 0; o < n; o++) {
    for (let k = 0; k < BOX_TRIANGLES.length; k++) triangles[o * BOX_TRIANGLES.length + k] = o * BOX_VERTICES + BOX_TRIANGLES[k];
    for (let k = 0; k < BOX_EDGES.length; k++) edges[o * BOX_EDGES.length + k] = o * BOX_VERTICES + BOX_EDGES[k];
  }

  const bin = new BinaryBuilder();
  const ARRAY_BUFFER = 34962;
  const ELEMENT_ARRAY_BUFFER = 34963;
  const positionView = bin.add(bytesOf(positions), ARRAY_BUFFER);
  const colourView = bin.add(colours, ARRAY_BUFFER);
  const featureView = bin.add(bytesOf(featureIds), ARRAY_BUFFER);
  const triangleView = bin.add(bytesOf(triangles), ELEMENT_ARRAY_BUFFER);
  const edgeView = bin.add(bytesOf(edges), ELEMENT_ARRAY_BUFFER);
  const properties: Record<string, Record<string, number | string>> = {};
  for (const key of ["objectId", "label", "labelId"] as const) {
    const { data, offsets } = stringColumn(objects.map((o) => o[key]));
    properties[key] = { values: bin.add(data), stringOffsets: bin.add(bytesOf(offsets)), stringOffsetType: "UINT32" };
  }
  properties.confidence = { values: bin.add(bytesOf(Float32Array.from(objects, (o) => o.confidence))) };
  const binary = bin.bytes();
  const features = { EXT_mesh_features: { featureIds: [{ featureCount: n, attribute: 0, propertyTable: 0 }] } };
  const attributes = { POSITION: 0, COLOR_0: 1, _FEATURE_ID_0: 2 };
  const gltf = {
    asset: { version: "2.0", generator: "realconv" },
    extensionsUsed: ["EXT_mesh_features", "EXT_structural_metadata"],
    extensions: { EXT_structural_metadata: { schema: ANNOTATION_SCHEMA, propertyTables: [{ name: "annotations", class: "annotation", count: n, properties }] } },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, translation: [center[0], center[2], -center[1]] }],
    meshes: [
      {
        primitives: [
          { mode: 4, attributes, indices: 3, material: 0, extensions: features },
          { mode: 1, attributes, indices: 4, material: 1, extensions: features },
        ],
      },
    ],
    // Faces translucent so what the box holds stays visible; edges opaque.
    materials: [
      { pbrMetallicRoughness: { baseColorFactor: [1, 1, 1, 0.35], metallicFactor: 0, roughnessFactor: 1 }, alphaMode: "BLEND", doubleSided: true },
      { pbrMetallicRoughness: { baseColorFactor: [1, 1, 1, 1], metallicFactor: 0, roughnessFactor: 1 } },
    ],
    accessors: [
      { bufferView: positionView, componentType: 5126, count: n * BOX_VERTICES, type: "VEC3", min, max },
      { bufferView: colourView, componentType: 5121, normalized: true, count: n * BOX_VERTICES, type: "VEC4" },
      { bufferView: featureView, componentType: 5126, count: n * BOX_VERTICES, type: "SCALAR" },
      { bufferView: triangleView, componentType: 5125, count: triangles.length, type: "SCALAR" },
      { bufferView: edgeView, componentType: 5125, count: edges.length, type: "SCALAR" },
    ],
    bufferViews: bin.views,
    buffers: [{ byteLength: binary.byteLength }],
  };
  return glb(gltf, binary);
}
