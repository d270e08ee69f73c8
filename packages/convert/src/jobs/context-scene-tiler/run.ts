/**
 * ContextSceneTiler, `objectToTile: Cameras`: every photo with a pose becomes a camera frustum in a
 * 3D Tiles 1.1 tileset, with its photo id, image path and camera model as feature metadata.
 *
 * - The scene document is the input's root document, else the file named ContextScene.xml/.json, else its
 *   only .xml/.json file. Photos are not read (a frustum needs the camera, not the pixels).
 * - Georeferencing: poses in a projected or geocentric CRS (the photo collection's SRS) are turned into
 *   EPSG:4978, so the tileset lands on the globe; a local SRS (`Local:...`, or none) keeps local coordinates
 *   with a warning. Poses in a geographic CRS (degrees) cannot be drawn in metres and fail the job.
 * - Frustum depth: half the median distance from a camera to its nearest neighbour (1 unit for one camera),
 *   so neighbouring frustums do not overlap.
 * - Tiling: cameras are split at the median of the longest axis until a tile holds at most
 *   CAMERAS_PER_TILE; only leaves have content (refine ADD), geometric errors shrink with the tiles to 0 at
 *   the leaves, so a viewer streams 100 000 photos tile by tile.
 */
import {
  encodeFrustumGlb,
  focalLengthOf,
  FRUSTUM_VERTICES,
  parseContextScene,
  writeFrustum,
  type CameraFeature,
  type ContextScene,
  type SceneDevice,
  type ScenePose,
} from "@realconv/formats";
import type { RunnerOptions } from "../../contract/declaration.js";
import { ConversionError, throwIfAborted, type InputFile, type Runner, type RunnerContext } from "../../contract/runner.js";
import { parseJobCrs, transformBetween, wgs84Extent } from "../../pointcloud/crs.js";
import type { contextSceneTiler } from "./declaration.js";

type Options = RunnerOptions<typeof contextSceneTiler>;

/** Cameras in one tile's content: a few hundred kilobytes of GLB. */
export const CAMERAS_PER_TILE = 1000;
/** A scene document larger than this is not a ContextScene worth reading whole. */
const MAX_SCENE_BYTES = 512 * 1024 * 1024;

interface Camera {
  photoId: string;
  imagePath: string;
  device: SceneDevice;
  pose: ScenePose;
}

async function sceneDocument(ctx: RunnerContext<Options>): Promise<{ file: InputFile; scene: ContextScene }> {
  const dataset = ctx.inputs.scene?.[0];
  if (!dataset) throw new ConversionError("InputData_Invalid", "Invalid input data", "The job has no ContextScene input.");
  const files = await dataset.files();
  const byName = (re: RegExp) => files.filter((f) => re.test(f.path.split("/").pop() ?? ""));
  const root = dataset.rootDocument ? files.find((f) => f.path === dataset.rootDocument) : undefined;
  const named = byName(/^contextscene\.(xml|json)$/i);
  const any = byName(/\.(xml|json)$/i);
  const file = root ?? (named.length === 1 ? named[0] : undefined) ?? (any.length === 1 ? any[0] : undefined);
  if (!file) {
    throw new ConversionError(
      "InputData_Invalid",
      "Invalid input data",
      "The reality data %1 holds no ContextScene document (a ContextScene.xml or ContextScene.json file, or its root document).",
      [dataset.id],
    );
  }
  if (file.size > MAX_SCENE_BYTES) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The ContextScene %1 is larger than %2 bytes.", [file.path, String(MAX_SCENE_BYTES)]);
  }
  const bytes = await file.read(0, file.size);
  return { file, scene: parseContextScene(bytes, file.path) };
}

function camerasOf(ctx: RunnerContext<Options>, scene: ContextScene, label: string): Camera[] {
  const cameras: Camera[] = [];
  let withoutPose = 0;
  for (const photo of scene.photos) {
    const pose = photo.poseId !== undefined ? scene.poses.get(photo.poseId) : undefined;
    const device = photo.deviceId !== undefined ? scene.devices.get(photo.deviceId) : scene.devices.size === 1 ? [...scene.devices.values()][0] : undefined;
    if (!pose || !device) {
      withoutPose++;
      continue;
    }
    cameras.push({ photoId: photo.id, imagePath: photo.imagePath, device, pose });
  }
  if (cameras.length === 0) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The ContextScene %1 has no cameras to tile: none of its %2 photos has a pose and a camera.", [
      label,
      String(scene.photos.length),
    ]);
  }
  if (withoutPose > 0) {
    ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "%1 photos of %2 have no pose or camera; they were left out.", params: [String(withoutPose), label] });
  }
  if (cameras.some((c) => c.device.focalLength === undefined)) {
    ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "Cameras of %1 give no focal length; their frustums use a normal lens.", params: [label] });
  }
  return cameras;
}

/** Half the median nearest-neighbour distance between camera centres (grid-free: cameras are few per scene). */
function frustumDepth(cameras: readonly Camera[]): number {
  if (cameras.length < 2) return 1;
  const sorted = cameras.map((c) => c.pose.center).sort((a, b) => a[0] - b[0]);
  const nearest: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let best = Infinity;
    // Scan outwards in x while the x gap alone is below the best distance found.
    for (const step of [-1, 1]) {
      for (let j = i + step; j >= 0 && j < sorted.length && Math.abs(sorted[j][0] - sorted[i][0]) < best; j += step) {
        const d = Math.hypot(sorted[j][0] - sorted[i][0], sorted[j][1] - sorted[i][1], sorted[j][2] - sorted[i][2]);
        if (d > 0) best = Math.min(best, d);
      }
    }
    if (Number.isFinite(best)) nearest.push(best);
  }
  if (nearest.length === 0) return 1;
  nearest.sort((a, b) => a - b);
  return nearest[Math.floor(nearest.length / 2)] / 2;
}

/** The SRS poses are in, when it is one the CRS module knows; undefined for local coordinates. */
function sceneCrs(scene: ContextScene): string | undefined {
  const id = scene.photoSrsId ?? (scene.spatialReferenceSystems.size === 1 ? [...scene.spatialReferenceSystems.keys()][0] : undefined);
  const definition = id !== undefined ? scene.spatialReferenceSystems.get(id) : undefined;
  if (!definition || /^local\b/i.test(definition.trim())) return undefined;
  return definition;
}

interface TileNode {
  cameras: number[];
  children: TileNode[];
  /** Content path, leaves only. */
  uri?: string;
  box: number[];
  geometricError: number;
}

/** Splits camera indices at the median of the longest axis of their centres until each leaf is small. */
function partition(indices: number[], centers: Float64Array, path: string, leaves: TileNode[]): TileNode {
  if (indices.length <= CAMERAS_PER_TILE) {
    const leaf: TileNode = { cameras: indices, children: [], uri: `cameras/${path}.glb`, box: [], geometricError: 0 };
    leaves.push(leaf);
    return leaf;
  }
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (const i of indices) for (let k = 0; k < 3; k++) {
    min[k] = Math.min(min[k], centers[i * 3 + k]);
    max[k] = Math.max(max[k], centers[i * 3 + k]);
  }
  const axis = [0, 1, 2].reduce((a, k) => (max[k] - min[k] > max[a] - min[a] ? k : a), 0);
  // Ties broken by index: the same scene always splits the same way.
  const sorted = [...indices].sort((a, b) => centers[a * 3 + axis] - centers[b * 3 + axis] || a - b);
  const half = sorted.length >> 1;
  return {
    cameras: [],
    children: [partition(sorted.slice(0, half), centers, `${path}-0`, leaves), partition(sorted.slice(half), centers, `${path}-1`, leaves)],
    box: [],
    geometricError: 0,
  };
}

/** 3D Tiles box (centre, three half-axes) around an axis-aligned min/max. */
function boxOf(min: readonly number[], max: readonly number[]): number[] {
  const c = [0, 1, 2].map((k) => (min[k] + max[k]) / 2);
  // A flat box still needs a thickness for culling.
  const h = [0, 1, 2].map((k) => Math.max((max[k] - min[k]) / 2, 1e-3));
  return [...c, h[0], 0, 0, 0, h[1], 0, 0, 0, h[2]];
}

/** Fills boxes and geometric errors bottom-up; returns the node's min/max. */
function finishTree(node: TileNode, vertices: Float64Array): { min: number[]; max: number[] } {
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  const grow = (b: { min: number[]; max: number[] }) => {
    for (let k = 0; k < 3; k++) {
      min[k] = Math.min(min[k], b.min[k]);
      max[k] = Math.max(max[k], b.max[k]);
    }
  };
  for (const c of node.cameras) {
    for (let v = 0; v < FRUSTUM_VERTICES; v++) {
      const at = (c * FRUSTUM_VERTICES + v) * 3;
      grow({ min: [vertices[at], vertices[at + 1], vertices[at + 2]], max: [vertices[at], vertices[at + 1], vertices[at + 2]] });
    }
  }
  let childError = 0;
  for (const child of node.children) {
    grow(finishTree(child, vertices));
    childError = Math.max(childError, child.geometricError);
  }
  node.box = boxOf(min, max);
  if (node.children.length > 0) {
    const diagonal = Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]);
    node.geometricError = Math.max(diagonal / 20, childError * 2, 1e-3);
  }
  return { min, max };
}

function tileJson(node: TileNode): Record<string, unknown> {
  return {
    boundingVolume: { box: node.box },
    geometricError: node.geometricError,
    ...(node.uri ? { content: { uri: node.uri } } : {}),
    ...(node.children.length > 0 ? { children: node.children.map(tileJson) } : {}),
  };
}

async function tileCameras(ctx: RunnerContext<Options>, scene: ContextScene, label: string): Promise<void> {
  const cameras = camerasOf(ctx, scene, label);
  const crs = sceneCrs(scene);
  if (crs && parseJobCrs(crs, label).horizontal?.kind === "geographic") {
    throw new ConversionError("UnsupportedCrs", "Unsupported CRS", "The poses of %1 are in the geographic CRS %2: camera frustums need a projected or geocentric CRS.", [label, crs]);
  }
  if (!crs) {
    ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "The ContextScene %1 has no spatial reference: the tileset is in its local coordinates.", params: [label] });
  }
  const depth = frustumDepth(cameras);
  const n = cameras.length;
  const vertices = new Float64Array(n * FRUSTUM_VERTICES * 3);
  cameras.forEach((c, i) => writeFrustum(c.device, c.pose, depth, vertices, i * FRUSTUM_VERTICES * 3));
  ctx.progress(10);
  const toEcef = crs ? transformBetween(crs, "EPSG:4978", label, (m) => ctx.warn(m)) : undefined;
  if (toEcef) {
    const count = n * FRUSTUM_VERTICES;
    const x = new Float64Array(count);
    const y = new Float64Array(count);
    const z = new Float64Array(count);
    for (let v = 0; v < count; v++) [x[v], y[v], z[v]] = [vertices[v * 3], vertices[v * 3 + 1], vertices[v * 3 + 2]];
    toEcef.transform(x, y, z);
    for (let v = 0; v < count; v++) [vertices[v * 3], vertices[v * 3 + 1], vertices[v * 3 + 2]] = [x[v], y[v], z[v]];
  }
  // Partitioned on the (possibly geocentric) apexes, so tiles are compact where the viewer is.
  const centers = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) centers.set(vertices.subarray(i * FRUSTUM_VERTICES * 3, i * FRUSTUM_VERTICES * 3 + 3), i * 3);
  const leaves: TileNode[] = [];
  const root = partition(cameras.map((_, i) => i), centers, "0", leaves);
  finishTree(root, vertices);
  for (const [k, leaf] of leaves.entries()) {
    throwIfAborted(ctx.signal);
    const tileVertices = new Float64Array(leaf.cameras.length * FRUSTUM_VERTICES * 3);
    leaf.cameras.forEach((c, i) => tileVertices.set(vertices.subarray(c * FRUSTUM_VERTICES * 3, (c + 1) * FRUSTUM_VERTICES * 3), i * FRUSTUM_VERTICES * 3));
    const features: CameraFeature[] = leaf.cameras.map((c) => {
      const cam = cameras[c];
      const [ppx, ppy] = cam.device.principalPoint ?? [cam.device.width / 2, cam.device.height / 2];
      return {
        photoId: cam.photoId,
        imagePath: cam.imagePath,
        deviceId: cam.device.id,
        width: cam.device.width,
        height: cam.device.height,
        focalLength: focalLengthOf(cam.device),
        principalPointX: ppx,
        principalPointY: ppy,
      };
    });
    const center = leaf.box.slice(0, 3) as [number, number, number];
    await ctx.output.write(leaf.uri!, encodeFrustumGlb(tileVertices, features, center), ctx.signal);
    ctx.progress(10 + (85 * (k + 1)) / leaves.length);
  }
  const tileset = {
    asset: { version: "1.1", generator: "realconv" },
    geometricError: Math.max(root.geometricError * 2, 1e-3),
    root: { ...tileJson(root), refine: "ADD" },
  };
  await ctx.output.write("tileset.json", new TextEncoder().encode(JSON.stringify(tileset)), ctx.signal);
  ctx.output.setRootDocument("tileset.json");
  if (crs) {
    ctx.output.setCrs("EPSG:4978");
    const bounds = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
    for (const { pose } of cameras) for (let k = 0; k < 3; k++) {
      bounds[k] = Math.min(bounds[k], pose.center[k]);
      bounds[k + 3] = Math.max(bounds[k + 3], pose.center[k]);
    }
    const extent = wgs84Extent(bounds, crs);
    if (extent) ctx.output.setExtent(extent);
  }
  ctx.progress(100);
}

export const runContextSceneTiler: Runner<Options> = async (ctx) => {
  const { file, scene } = await sceneDocument(ctx);
  throwIfAborted(ctx.signal);
  if (ctx.options.objectToTile !== "Cameras") {
    throw new ConversionError("UnsupportedOption", "Unsupported option", "objectToTile %1 is not produced by this server yet.", [ctx.options.objectToTile]);
  }
  await tileCameras(ctx, scene, file.path);
};
