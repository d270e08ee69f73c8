/**
 * ContextSceneTiler: one kind of object of a ContextScene as a 3D Tiles 1.1 tileset (`tileset.json`).
 *
 * - The scene document is the input's root document, else the file named ContextScene.xml/.json, else its
 *   only .xml/.json file (a ContextScene, or a ContextCapture BlocksExchange document). Photos are not read.
 * - The scene's SRS: `inputCrs`, else the SRS the objects name, else the photo collection's, else the only
 *   one; a local SRS (`Local:...`, or none) keeps local coordinates with a warning.
 * - `Cameras`: every photo with a pose becomes a camera frustum, with its photo id, image path and camera
 *   model as feature metadata. `Annotations`: every 3D object becomes a box (faces and edges) with its object
 *   id, label name, label id and confidence as feature metadata; 2D-only annotations are reported as a
 *   warning. Both are georeferenced in EPSG:4978 (scene coordinates in a projected or geocentric CRS are
 *   turned into ECEF); a geographic SRS (degrees) cannot be drawn in metres and fails the job.
 * - `TiePoints`: the tie points (colour when given) as a point-cloud tileset of GLB tiles built by the LOD
 *   octree engine (tie-points.ts), in `outputCrs` or the scene's SRS, placed on the globe when it is known.
 *
 * Frustum depth: half the median distance from a camera to its nearest neighbour (1 unit for one camera),
 * so neighbouring frustums do not overlap. Frustums and boxes are split at the median of the longest axis
 * until a tile holds at most CAMERAS_PER_TILE / OBJECTS_PER_TILE (spatial-tiles.ts), so a viewer streams
 * 100 000 photos or objects tile by tile.
 */
import {
  BOX_VERTICES,
  encodeBoxGlb,
  writeBox,
  type AnnotationFeature,
  encodeFrustumGlb,
  focalLengthOf,
  FRUSTUM_VERTICES,
  writeFrustum,
  type CameraFeature,
  type ContextScene,
  type SceneDevice,
  type ScenePose,
} from "@realconv/formats";
import { ConversionError, throwIfAborted, type Runner, type RunnerContext } from "../../contract/runner.js";
import { optionCrs, parseJobCrs, shortCrs, transformBetween, wgs84Extent } from "../../pointcloud/crs.js";
import { sceneCrs, sceneDocument, type Options } from "./scene-input.js";
import { finishTree, leafVertices, partition, tileJson, transformInterleaved, type TileNode } from "./spatial-tiles.js";
import { tileTiePoints } from "./tie-points.js";

/** Cameras in one tile's content: a few hundred kilobytes of GLB. */
export const CAMERAS_PER_TILE = 1000;
/** Boxes in one tile's content: 8 vertices and 60 indices each, a few hundred kilobytes of GLB. */
export const OBJECTS_PER_TILE = 1000;

interface Camera {
  photoId: string;
  imagePath: string;
  device: SceneDevice;
  pose: ScenePose;
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

/** The SRS to draw frustums or boxes from: projected or geocentric (turned into ECEF), or local with a warning. */
function drawingCrs(ctx: RunnerContext<Options>, scene: ContextScene, label: string, what: string, srsId?: string): string | undefined {
  const crs = sceneCrs(ctx, scene, srsId);
  if (crs && parseJobCrs(crs, label).horizontal?.kind === "geographic") {
    throw new ConversionError("UnsupportedCrs", "Unsupported CRS", "The %1 of %2 are in the geographic CRS %3: they need a projected or geocentric CRS.", [what, label, shortCrs(crs)]);
  }
  if (!crs) {
    ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "The ContextScene %1 has no spatial reference: the tileset is in its local coordinates.", params: [label] });
  }
  const outputCrs = optionCrs(ctx.options, "outputCrs");
  if (outputCrs && crs && !/^EPSG:4978$/.test(outputCrs)) {
    ctx.warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "The %1 tileset is placed in EPSG:4978, the frame of 3D Tiles; outputCrs %2 applies to tie points only.",
      params: [what, shortCrs(outputCrs)],
    });
  }
  return crs;
}

/**
 * Writes items of `perItem` vertices each (scene coordinates, turned into ECEF when `crs` is known) as
 * spatial tiles of at most `perTile` items under `folder/`, and the tileset; records CRS and extent.
 */
async function writeItemTileset(
  ctx: RunnerContext<Options>,
  label: string,
  crs: string | undefined,
  vertices: Float64Array,
  perItem: number,
  perTile: number,
  folder: string,
  encodeLeaf: (items: number[], vertices: Float64Array, center: [number, number, number]) => Uint8Array,
): Promise<void> {
  const n = vertices.length / (perItem * 3);
  // The extent from the scene coordinates, before they are turned into ECEF.
  const bounds = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  for (let v = 0; v < n * perItem; v++) for (let k = 0; k < 3; k++) {
    bounds[k] = Math.min(bounds[k], vertices[v * 3 + k]);
    bounds[k + 3] = Math.max(bounds[k + 3], vertices[v * 3 + k]);
  }
  const toEcef = crs ? transformBetween(crs, "EPSG:4978", label, (m) => ctx.warn(m)) : undefined;
  if (toEcef) transformInterleaved(vertices, toEcef);
  ctx.progress(10);
  // Partitioned on each item's first vertex (a frustum's apex, a box corner), so tiles are compact where the viewer is.
  const anchors = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) anchors.set(vertices.subarray(i * perItem * 3, i * perItem * 3 + 3), i * 3);
  const leaves: TileNode[] = [];
  const root = partition([...Array(n).keys()], anchors, perTile, (path) => `${folder}/${path}.glb`, leaves);
  finishTree(root, vertices, perItem);
  for (const [k, leaf] of leaves.entries()) {
    throwIfAborted(ctx.signal);
    const center = leaf.box.slice(0, 3) as [number, number, number];
    await ctx.output.write(leaf.uri!, encodeLeaf(leaf.items, leafVertices(leaf, vertices, perItem), center), ctx.signal);
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
    const extent = wgs84Extent(bounds, crs);
    if (extent) ctx.output.setExtent(extent);
  }
  ctx.progress(100);
}

async function tileCameras(ctx: RunnerContext<Options>, scene: ContextScene, label: string): Promise<void> {
  const cameras = camerasOf(ctx, scene, label);
  const crs = drawingCrs(ctx, scene, label, "camera poses");
  const depth = frustumDepth(cameras);
  const vertices = new Float64Array(cameras.length * FRUSTUM_VERTICES * 3);
  cameras.forEach((c, i) => writeFrustum(c.device, c.pose, depth, vertices, i * FRUSTUM_VERTICES * 3));
  await writeItemTileset(ctx, label, crs, vertices, FRUSTUM_VERTICES, CAMERAS_PER_TILE, "cameras", (items, tileVertices, center) => {
    const features: CameraFeature[] = items.map((c) => {
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
    return encodeFrustumGlb(tileVertices, features, center);
  });
}

async function tileAnnotations(ctx: RunnerContext<Options>, scene: ContextScene, label: string): Promise<void> {
  const annotations = scene.annotations;
  if (!annotations || (annotations.objects3D.length === 0 && annotations.objects2DCount === 0)) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The ContextScene %1 has no annotations to tile.", [label]);
  }
  const objects = annotations.objects3D;
  if (objects.length === 0) {
    throw new ConversionError(
      "InputData_Invalid",
      "Invalid input data",
      "The ContextScene %1 has only 2D annotations (%2 objects in photos or segmentation masks): there is no 3D object to tile.",
      [label, String(annotations.objects2DCount)],
    );
  }
  if (annotations.objects2DCount > 0) {
    ctx.warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "%1 2D annotations of %2 (objects in photos, segmentation masks) are not tiled: only its %3 3D objects are.",
      params: [String(annotations.objects2DCount), label, String(objects.length)],
    });
  }
  const unnamed = new Set(objects.map((o) => o.labelId ?? "").filter((id) => !annotations.labels.has(id)));
  if (unnamed.size > 0) {
    ctx.warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "Objects of %1 use labels its Labels do not name (%2); their label is the label id.",
      params: [label, [...unnamed].map((id) => id || "none").slice(0, 10).join(", ")],
    });
  }
  const crs = drawingCrs(ctx, scene, label, "annotations", annotations.srsId);
  const vertices = new Float64Array(objects.length * BOX_VERTICES * 3);
  objects.forEach((o, i) => writeBox(o, vertices, i * BOX_VERTICES * 3));
  await writeItemTileset(ctx, label, crs, vertices, BOX_VERTICES, OBJECTS_PER_TILE, "annotations", (items, tileVertices, center) => {
    const features: AnnotationFeature[] = items.map((i) => {
      const o = objects[i];
      const labelId = o.labelId ?? "";
      return { objectId: o.id, label: annotations.labels.get(labelId) ?? labelId, labelId, confidence: o.confidence ?? -1 };
    });
    return encodeBoxGlb(tileVertices, features, center);
  });
}

export const runContextSceneTiler: Runner<Options> = async (ctx) => {
  const input = await sceneDocument(ctx);
  throwIfAborted(ctx.signal);
  const kind = ctx.options.objectToTile;
  if (kind === "Cameras") await tileCameras(ctx, input.scene, input.file.path);
  else if (kind === "Annotations") await tileAnnotations(ctx, input.scene, input.file.path);
  else if (kind === "TiePoints") await tileTiePoints(ctx, input);
  else throw new ConversionError("UnsupportedOption", "Unsupported option", "objectToTile %1 is not one of Cameras, TiePoints, Annotations.", [String(kind)]);
};
