/**
 * Camera frustums of a ContextScene's photos, and their encoding as a glTF 2.0 binary (GLB) content for
 * 3D Tiles 1.1: one LINES primitive (apex to the four image corners, and the image rectangle), each
 * camera a feature (`EXT_mesh_features`) whose photo id, image path and camera model are a property table
 * (`EXT_structural_metadata`). Pure: positions in, bytes out.
 */
import type { SceneDevice, ScenePose } from "./context-scene.js";

/** Vertices per frustum: the apex, then the image corners (top left, top right, bottom right, bottom left). */
export const FRUSTUM_VERTICES = 5;
/** Line segments per frustum: four edges from the apex and four around the image. */
const FRUSTUM_INDICES = [0, 1, 0, 2, 0, 3, 0, 4, 1, 2, 2, 3, 3, 4, 4, 1];

/** Focal length in pixels when a device gives none: a normal lens (about 50 mm on a 36 mm sensor). */
export function focalLengthOf(device: SceneDevice): number {
  return device.focalLength ?? 1.4 * Math.max(device.width, device.height);
}

/**
 * Writes one frustum's 5 vertices (world coordinates, the pose's SRS) at `out[offset..offset+15)`: the apex
 * at the camera centre, the corners where the image corners' rays reach `depth` along the viewing axis.
 */
export function writeFrustum(device: SceneDevice, pose: ScenePose, depth: number, out: Float64Array, offset: number): void {
  const f = focalLengthOf(device);
  const [cx, cy] = device.principalPoint ?? [device.width / 2, device.height / 2];
  const fy = f * (device.aspectRatio ?? 1);
  const m = pose.rotation;
  const corners: Array<[number, number]> = [
    [0, 0],
    [device.width, 0],
    [device.width, device.height],
    [0, device.height],
  ];
  out.set(pose.center, offset);
  corners.forEach(([u, v], k) => {
    // Ray in camera axes (x right, y down, z forward) at depth 1, then to world axes with M^T.
    const cam = [((u - cx) / f) * depth, ((v - cy) / fy) * depth, depth];
    for (let j = 0; j < 3; j++) out[offset + 3 * (k + 1) + j] = pose.center[j] + m[j] * cam[0] + m[3 + j] * cam[1] + m[6 + j] * cam[2];
  });
}

/** One camera's metadata, as its feature's properties. */
export interface CameraFeature {
  photoId: string;
  imagePath: string;
  deviceId: string;
  width: number;
  height: number;
  focalLength: number;
  principalPointX: number;
  principalPointY: number;
}

const STRING_PROPERTIES = ["photoId", "imagePath", "deviceId"] as const;
const NUMBER_PROPERTIES = [
  ["width", "UINT32"],
  ["height", "UINT32"],
  ["focalLength", "FLOAT64"],
  ["principalPointX", "FLOAT64"],
  ["principalPointY", "FLOAT64"],
] as const;

/** The metadata schema of camera features (one class), as tilesets and GLB contents declare it. */
export const CAMERA_SCHEMA = {
  id: "realconv_cameras",
  classes: {
    camera: {
      name: "Camera",
      description: "A photo of the ContextScene: where it was taken from and with which camera.",
      properties: {
        photoId: { type: "STRING", description: "Photo id in the ContextScene." },
        imagePath: { type: "STRING", description: "Image path as the ContextScene writes it." },
        deviceId: { type: "STRING", description: "Camera (device) id in the ContextScene." },
        width: { type: "SCALAR", componentType: "UINT32", description: "Image width, pixels." },
        height: { type: "SCALAR", componentType: "UINT32", description: "Image height, pixels." },
        focalLength: { type: "SCALAR", componentType: "FLOAT64", description: "Focal length, pixels." },
        principalPointX: { type: "SCALAR", componentType: "FLOAT64", description: "Principal point x, pixels." },
        principalPointY: { type: "SCALAR", componentType: "FLOAT64", description: "Principal point y, pixels." },
      },
    },
  },
} as const;

/** A glTF binary chunk built from buffer views. */
export class BinaryBuilder {
  private readonly parts: Uint8Array[] = [];
  private length = 0;
  readonly views: Array<{ buffer: 0; byteOffset: number; byteLength: number; target?: number }> = [];

  /** Adds a buffer view (8-byte aligned, as float64 data and the GLB chunk need); returns its index. */
  add(bytes: Uint8Array, target?: number): number {
    const pad = (8 - (this.length % 8)) % 8;
    if (pad) this.push(new Uint8Array(pad));
    this.views.push({ buffer: 0, byteOffset: this.length, byteLength: bytes.byteLength, ...(target ? { target } : {}) });
    this.push(bytes);
    return this.views.length - 1;
  }

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.byteLength;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.length / 4) * 4);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A STRING property column: UTF-8 values and UINT32 offsets. */
export function stringColumn(values: readonly string[]): { data: Uint8Array; offsets: Uint32Array } {
  const enc = new TextEncoder();
  const encoded = values.map((v) => enc.encode(v));
  const offsets = new Uint32Array(values.length + 1);
  for (let i = 0; i < encoded.length; i++) offsets[i + 1] = offsets[i] + encoded[i].byteLength;
  const data = new Uint8Array(offsets[values.length]);
  encoded.forEach((e, i) => data.set(e, offsets[i]));
  return { data, offsets };
}

/**
 * GLB of `cameras.length` frustums. `vertices` holds FRUSTUM_VERTICES xyz vertices per camera in the tile's
 * z-up frame (e.g. ECEF); they are stored relative to `center` (kept in the node's translation in double
 * precision) and turned y-up, as glTF wants and 3D Tiles turns back.
 */
export function encodeFrustumGlb(vertices: Float64Array, cameras: readonly CameraFeature[], center: readonly [number, number, number]): Uint8Array {
  const n = cameras.length;
  if (vertices.length !== n * FRUSTUM_VERTICES * 3) throw new RangeError(`expected ${n * FRUSTUM_VERTICES * 3} coordinates, got ${vertices.length}`);
  const positions = new Float32Array(n * FRUSTUM_VERTICES * 3);
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < n * FRUSTUM_VERTICES; v++) {
    // z-up (x, y, z) -> y-up (x, z, -y)
    const p = [vertices[v * 3] - center[0], vertices[v * 3 + 2] - center[2], -(vertices[v * 3 + 1] - center[1])];
    for (let k = 0; k < 3; k++) {
      positions[v * 3 + k] = p[k];
      min[k] = Math.min(min[k], Math.fround(p[k]));
      max[k] = Math.max(max[k], Math.fround(p[k]));
    }
  }
  const featureIds = new Float32Array(n * FRUSTUM_VERTICES);
  for (let c = 0; c < n; c++) featureIds.fill(c, c * FRUSTUM_VERTICES, (c + 1) * FRUSTUM_VERTICES);
  const indices = new Uint32Array(n * FRUSTUM_INDICES.length);
  for (let c = 0; c < n; c++) for (let k = 0; k < FRUSTUM_INDICES.length; k++) indices[c * FRUSTUM_INDICES.length + k] = c * FRUSTUM_VERTICES + FRUSTUM_INDICES[k];

  const bin = new BinaryBuilder();
  const ARRAY_BUFFER = 34962;
  const ELEMENT_ARRAY_BUFFER = 34963;
  const positionView = bin.add(bytesOf(positions), ARRAY_BUFFER);
  const featureView = bin.add(bytesOf(featureIds), ARRAY_BUFFER);
  const indexView = bin.add(bytesOf(indices), ELEMENT_ARRAY_BUFFER);
  const properties: Record<string, Record<string, number | string>> = {};
  for (const key of STRING_PROPERTIES) {
    const { data, offsets } = stringColumn(cameras.map((c) => c[key]));
    properties[key] = { values: bin.add(data), stringOffsets: bin.add(bytesOf(offsets)), stringOffsetType: "UINT32" };
  }
  for (const [key, type] of NUMBER_PROPERTIES) {
    const column = type === "UINT32" ? Uint32Array.from(cameras, (c) => c[key]) : Float64Array.from(cameras, (c) => c[key]);
    properties[key] = { values: bin.add(bytesOf(column)) };
  }
  const binary = bin.bytes();
  const gltf = {
    asset: { version: "2.0", generator: "realconv" },
    extensionsUsed: ["EXT_mesh_features", "EXT_structural_metadata"],
    extensions: { EXT_structural_metadata: { schema: CAMERA_SCHEMA, propertyTables: [{ name: "cameras", class: "camera", count: n, properties }] } },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, translation: [center[0], center[2], -center[1]] }],
    meshes: [
      {
        primitives: [
          {
            mode: 1,
            attributes: { POSITION: 0, _FEATURE_ID_0: 1 },
            indices: 2,
            material: 0,
            extensions: { EXT_mesh_features: { featureIds: [{ featureCount: n, attribute: 0, propertyTable: 0 }] } },
          },
        ],
      },
    ],
    materials: [{ pbrMetallicRoughness: { baseColorFactor: [1, 0.55, 0, 1], metallicFactor: 0, roughnessFactor: 1 } }],
    accessors: [
      { bufferView: positionView, componentType: 5126, count: n * FRUSTUM_VERTICES, type: "VEC3", min, max },
      { bufferView: featureView, componentType: 5126, count: n * FRUSTUM_VERTICES, type: "SCALAR" },
      { bufferView: indexView, componentType: 5125, count: indices.length, type: "SCALAR" },
    ],
    bufferViews: bin.views,
    buffers: [{ byteLength: binary.byteLength }],
  };
  return glb(gltf, binary);
}

/** A GLB container: 12-byte header, JSON chunk padded with spaces, BIN chunk padded with zeros. */
export function glb(json: unknown, binary: Uint8Array): Uint8Array {
  const raw = new TextEncoder().encode(JSON.stringify(json));
  const jsonBytes = new Uint8Array(Math.ceil(raw.byteLength / 4) * 4).fill(0x20);
  jsonBytes.set(raw);
  const binLength = Math.ceil(binary.byteLength / 4) * 4;
  const total = 12 + 8 + jsonBytes.byteLength + 8 + binLength;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x46546c67, true); // "glTF"
  dv.setUint32(4, 2, true);
  dv.setUint32(8, total, true);
  dv.setUint32(12, jsonBytes.byteLength, true);
  dv.setUint32(16, 0x4e4f534a, true); // "JSON"
  out.set(jsonBytes, 20);
  const binAt = 20 + jsonBytes.byteLength;
  dv.setUint32(binAt, binLength, true);
  dv.setUint32(binAt + 4, 0x004e4942, true); // "BIN\0"
  out.set(binary, binAt + 8);
  return out;
}
