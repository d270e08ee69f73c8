/**
 * ContextScene documents (Bentley's description of a capture: photos with cameras and poses, point clouds,
 * meshes, tie points, annotations), XML (versions 3 and 4, `<ContextScene version="...">`) and JSON
 * (versions 5 and 6). Both spellings become one model; paths stay as written (`<referenceId>:<relative>`)
 * and are resolved through `references` by `resolveScenePath`.
 *
 * ContextCapture BlocksExchange XML (`<BlocksExchange>`, the CC Orientations format) is read into the same
 * model: its SRSs, the photogroups' cameras and posed photos, and its tie points.
 *
 * Poses: a centre and a rotation. The rotation is kept as the 3x3 matrix that maps world axes to camera axes
 * (row-major; camera x right, y down, z forward, as ContextCapture defines them); XML/JSON give it as
 * `omega/phi/kappa` in radians (R = Rz(kappa) Ry(phi) Rx(omega)) or as the matrix `M_00`..`M_22`.
 */
import { FormatError } from "../io/byte-source.js";
import { child, parseXml, XmlError, type XmlElement } from "../xml/xml.js";

export interface SceneDevice {
  id: string;
  /** perspective, fisheye, spherical, ... as written. */
  type: string;
  width: number;
  height: number;
  /** In pixels. */
  focalLength?: number;
  principalPoint?: [number, number];
  radialDistortion?: [number, number, number];
  tangentialDistortion?: [number, number];
  aspectRatio?: number;
  skew?: number;
}

export interface ScenePose {
  id: string;
  center: [number, number, number];
  /** World -> camera rotation, row-major 3x3. */
  rotation: number[];
}

export interface ScenePhoto {
  id: string;
  imagePath: string;
  deviceId?: string;
  poseId?: string;
}

export interface SceneAsset {
  id: string;
  name?: string;
  path: string;
}

export interface ContextScene {
  version: string;
  /** SRS definitions by id (EPSG:n, WKT, `Local:unit=meter`, ...). */
  spatialReferenceSystems: Map<string, string>;
  /** The SRS the photo collection's poses are in, when stated. */
  photoSrsId?: string;
  devices: Map<string, SceneDevice>;
  poses: Map<string, ScenePose>;
  photos: ScenePhoto[];
  meshes: SceneAsset[];
  pointClouds: SceneAsset[];
  /**
   * Tie points of the photo collection: xyz interleaved, optional RGB (JSON documents). XML documents hold
   * them as `<TiePoint>` elements, not kept in memory: `inDocument` counts them and `positions` is empty;
   * they are read from the document with `streamTiePoints` (tie-points.ts). `path` names a separate tie
   * point file (BlocksExchange `<TiePoints><Path>`), read the same way.
   */
  tiePoints?: ScenePoints & { path?: string; inDocument?: number };
  /** Labels by id, the 3D objects, and how many 2D-only annotations (Objects2D, Segmentation2D) the scene holds. */
  annotations?: { labels: Map<string, string>; objects3D: SceneObject3D[]; objects2DCount: number; srsId?: string };
  references: Map<string, string>;
}

export interface ScenePoints {
  positions: Float64Array;
  colors?: Uint8Array;
  srsId?: string;
}

/**
 * A 3D object: a box in the scene SRS as 3D Tiles writes boxes, its centre and three half-axis vectors
 * (x, y, z). `Box3D` with `xmin`..`zmax` is axis-aligned; an oriented box gives `Center`, `Dimensions`
 * (full lengths along its own axes) and a `Rotation` (world -> object, as a pose's).
 */
export interface SceneObject3D {
  id: string;
  labelId?: string;
  /** 0..1 when the detector gave one. */
  confidence?: number;
  center: [number, number, number];
  halfAxes: [number, number, number, number, number, number, number, number, number];
}

function multiply(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out.push(a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j]);
  return out;
}

/**
 * World -> camera rotation from omega, phi, kappa in radians, the photogrammetric convention: the camera's
 * axes in the world are Rx(omega) Ry(phi) Rz(kappa); the world -> camera matrix is its transpose.
 */
export function rotationFromOpk(omega: number, phi: number, kappa: number): number[] {
  const [co, so, cp, sp, ck, sk] = [Math.cos(omega), Math.sin(omega), Math.cos(phi), Math.sin(phi), Math.cos(kappa), Math.sin(kappa)];
  const rx = [1, 0, 0, 0, co, -so, 0, so, co];
  const ry = [cp, 0, sp, 0, 1, 0, -sp, 0, cp];
  const rz = [ck, -sk, 0, sk, ck, 0, 0, 0, 1];
  const cameraToWorld = multiply(multiply(rx, ry), rz);
  return [0, 3, 6, 1, 4, 7, 2, 5, 8].map((k) => cameraToWorld[k]);
}

type Json = Record<string, unknown>;

class SceneReader {
  constructor(readonly file: string) {}

  fail(message: string, offset = 0): never {
    throw new FormatError(message, this.file, offset);
  }

  number(v: unknown, what: string): number {
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    if (!Number.isFinite(n)) this.fail(`${what} is not a number (${JSON.stringify(v)?.slice(0, 40)})`);
    return n;
  }

  optionalNumber(v: unknown, what: string): number | undefined {
    return v === undefined || v === null || v === "" ? undefined : this.number(v, what);
  }
}

/** A JSON value or an XML element, read through the same accessors (XML children by name, text as value). */
type Node = Json | XmlElement;

function isXml(n: Node): n is XmlElement {
  return typeof (n as XmlElement).name === "string" && Array.isArray((n as XmlElement).children);
}

function field(n: Node | undefined, key: string): Node | string | undefined {
  if (!n) return undefined;
  if (isXml(n)) {
    const c = child(n, key);
    if (!c) return undefined;
    return c.children.length > 0 || c.pruned ? c : c.text.trim();
  }
  const v = n[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === "object" ? (v as Json) : String(v);
}

function text(n: Node | undefined, key: string): string | undefined {
  const v = field(n, key);
  return typeof v === "string" ? v : undefined;
}

/** Entries of a collection: XML children (id attribute) or JSON object members (id = key). */
function entries(n: Node | string | undefined): Array<[string, Node]> {
  if (!n || typeof n === "string") return [];
  if (isXml(n)) return n.children.map((c, i) => [c.attrs.id ?? text(c, "Id") ?? String(i), c]);
  return Object.entries(n).filter(([, v]) => typeof v === "object" && v !== null).map(([k, v]) => [text(v as Json, "Id") ?? k, v as Json]);
}

function node(n: Node | string | undefined): Node | undefined {
  return n && typeof n !== "string" ? n : undefined;
}

function readDevice(r: SceneReader, id: string, d: Node): SceneDevice {
  const dims = node(field(d, "Dimensions"));
  const pp = node(field(d, "PrincipalPoint"));
  const rad = node(field(d, "RadialDistortion"));
  const tan = node(field(d, "TangentialDistortion"));
  return {
    id,
    type: text(d, "Type") ?? "perspective",
    width: r.number(text(dims, "width") ?? text(dims, "Width"), `device ${id} width`),
    height: r.number(text(dims, "height") ?? text(dims, "Height"), `device ${id} height`),
    focalLength: r.optionalNumber(text(d, "FocalLength") ?? text(d, "FocalLengthPixels"), `device ${id} focal length`),
    principalPoint: pp ? [r.number(text(pp, "x"), "principal point x"), r.number(text(pp, "y"), "principal point y")] : undefined,
    radialDistortion: rad ? [r.number(text(rad, "k1") ?? 0, "k1"), r.number(text(rad, "k2") ?? 0, "k2"), r.number(text(rad, "k3") ?? 0, "k3")] : undefined,
    tangentialDistortion: tan ? [r.number(text(tan, "p1") ?? 0, "p1"), r.number(text(tan, "p2") ?? 0, "p2")] : undefined,
    aspectRatio: r.optionalNumber(text(d, "AspectRatio"), "aspect ratio"),
    skew: r.optionalNumber(text(d, "Skew"), "skew"),
  };
}

function readPose(r: SceneReader, id: string, p: Node, degrees = false): ScenePose {
  const c = node(field(p, "Center"));
  if (!c) r.fail(`pose ${id} has no Center`);
  const center: [number, number, number] = [r.number(text(c, "x"), `pose ${id} x`), r.number(text(c, "y"), `pose ${id} y`), r.number(text(c, "z"), `pose ${id} z`)];
  const rot = node(field(p, "Rotation"));
  if (!rot) r.fail(`pose ${id} has no Rotation`);
  return { id, center, rotation: readRotation(r, rot, `pose ${id}`, degrees) };
}

/** A rotation as `M_00`..`M_22`, or omega/phi/kappa (radians in ContextScene, degrees in BlocksExchange). */
function readRotation(r: SceneReader, rot: Node, what: string, degrees: boolean): number[] {
  if (text(rot, "M_00") !== undefined) {
    const rotation: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) rotation.push(r.number(text(rot, `M_${i}${j}`), `${what} M_${i}${j}`));
    return rotation;
  }
  const unit = degrees ? Math.PI / 180 : 1;
  return rotationFromOpk(
    r.number(text(rot, "omega") ?? text(rot, "Omega"), `${what} omega`) * unit,
    r.number(text(rot, "phi") ?? text(rot, "Phi"), `${what} phi`) * unit,
    r.number(text(rot, "kappa") ?? text(rot, "Kappa"), `${what} kappa`) * unit,
  );
}

function readAssets(collection: Node | undefined, key: string): SceneAsset[] {
  return entries(field(collection, key)).map(([id, m]) => ({ id, name: text(m, "Name") || undefined, path: text(m, "Path") ?? "" }));
}

/** A scene with nothing in it but the document's spatial reference systems (the same block in every dialect). */
function emptyScene(version: string, root: Node): ContextScene {
  const scene: ContextScene = {
    version,
    spatialReferenceSystems: new Map(),
    devices: new Map(),
    poses: new Map(),
    photos: [],
    meshes: [],
    pointClouds: [],
    references: new Map(),
  };
  for (const [id, s] of entries(field(root, "SpatialReferenceSystems"))) {
    const def = text(s, "Definition");
    if (def) scene.spatialReferenceSystems.set(id, def);
  }
  return scene;
}

function readScene(r: SceneReader, root: Node, version: string): ContextScene {
  const scene = emptyScene(version, root);
  const photos = node(field(root, "PhotoCollection"));
  if (photos) {
    scene.photoSrsId = text(photos, "SRSId");
    for (const [id, d] of entries(field(photos, "Devices"))) scene.devices.set(id, readDevice(r, id, d));
    for (const [id, p] of entries(field(photos, "Poses"))) scene.poses.set(id, readPose(r, id, p));
    for (const [id, p] of entries(field(photos, "Photos"))) {
      let poseId = text(p, "PoseId");
      const inline = node(field(p, "Pose"));
      if (inline) {
        // A pose written inside its photo gets the photo's id, apart from the collection's own poses.
        poseId = `photo:${id}`;
        scene.poses.set(poseId, readPose(r, poseId, inline));
      }
      scene.photos.push({ id, imagePath: text(p, "ImagePath") ?? "", deviceId: text(p, "DeviceId"), poseId });
    }
    const tie = node(field(photos, "TiePoints")) ?? node(field(root, "TiePoints"));
    if (tie) scene.tiePoints = readTiePoints(r, tie);
  }
  scene.meshes = readAssets(node(field(root, "MeshCollection")), "Meshes");
  scene.pointClouds = readAssets(node(field(root, "PointCloudCollection")), "PointClouds");
  const annotations = node(field(root, "Annotations"));
  if (annotations) {
    const labels = new Map<string, string>();
    for (const [id, l] of entries(field(annotations, "Labels"))) labels.set(id, text(l, "Name") ?? id);
    const objects3D: SceneObject3D[] = [];
    for (const [id, o] of entries(field(annotations, "Objects3D"))) {
      const object = readObject3D(r, id, o);
      if (object) objects3D.push(object);
    }
    let objects2DCount = 0;
    for (const [, perPhoto] of entries(field(annotations, "Objects2D"))) objects2DCount += entries(perPhoto).length;
    if (field(annotations, "Segmentation2D") !== undefined) objects2DCount += entries(field(annotations, "Segmentation2D")).length;
    scene.annotations = { labels, objects3D, objects2DCount, srsId: text(annotations, "SRSId") };
  }
  for (const [id, ref] of entries(field(root, "References"))) scene.references.set(id, text(ref, "Path") ?? "");
  return scene;
}

function readObject3D(r: SceneReader, id: string, o: Node): SceneObject3D | undefined {
  const box = node(field(o, "Box3D")) ?? node(field(o, "OrientedBox3D"));
  if (!box) return undefined;
  const info = node(field(o, "LabelInfo"));
  const confidence = r.optionalNumber(text(info, "Confidence"), `object ${id} confidence`);
  const labelId = text(info, "LabelId");
  const centre = node(field(box, "Center"));
  if (centre) {
    const dims = node(field(box, "Dimensions"));
    if (!dims) r.fail(`object ${id} has a Center but no Dimensions`);
    const c: [number, number, number] = [r.number(text(centre, "x"), `object ${id} center x`), r.number(text(centre, "y"), `object ${id} center y`), r.number(text(centre, "z"), `object ${id} center z`)];
    const half = ["x", "y", "z"].map((k) => r.number(text(dims, k), `object ${id} dimension ${k}`) / 2);
    if (half.some((h) => h < 0)) r.fail(`object ${id} has a negative dimension`);
    const rot = node(field(box, "Rotation"));
    const m = rot ? readRotation(r, rot, `object ${id}`, false) : [1, 0, 0, 0, 1, 0, 0, 0, 1];
    // Rows of the world -> object rotation are the object's axes in world coordinates.
    const halfAxes = [0, 1, 2].flatMap((a) => [m[a * 3] * half[a], m[a * 3 + 1] * half[a], m[a * 3 + 2] * half[a]]) as SceneObject3D["halfAxes"];
    return { id, labelId, confidence, center: c, halfAxes };
  }
  const v = (k: string) => r.number(text(box, k), `object ${id} ${k}`);
  const [x0, y0, z0, x1, y1, z1] = [v("xmin"), v("ymin"), v("zmin"), v("xmax"), v("ymax"), v("zmax")];
  if (x1 < x0 || y1 < y0 || z1 < z0) r.fail(`object ${id} has a box whose max is below its min`);
  return { id, labelId, confidence, center: [(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2], halfAxes: [(x1 - x0) / 2, 0, 0, 0, (y1 - y0) / 2, 0, 0, 0, (z1 - z0) / 2] };
}

function readTiePoints(r: SceneReader, tie: Node): NonNullable<ContextScene["tiePoints"]> {
  const inner = node(field(tie, "TiePoints"));
  const path = text(tie, "Path");
  const container = inner ?? tie;
  const srsId = text(tie, "SRSId");
  if (isXml(container)) {
    const inDocument = container.pruned ?? 0;
    return { positions: new Float64Array(0), srsId, ...(inDocument > 0 ? { inDocument } : path ? { path } : {}) };
  }
  const points = entries(container);
  return { ...readPointList(r, points), srsId, ...(path && points.length === 0 ? { path } : {}) };
}

function readPointList(r: SceneReader, points: Array<[string, Node]>): ScenePoints {
  const positions = new Float64Array(points.length * 3);
  let colors: Uint8Array | undefined;
  points.forEach(([id, p], i) => {
    const pos = node(field(p, "Position")) ?? p;
    positions[i * 3] = r.number(text(pos, "x"), `tie point ${id} x`);
    positions[i * 3 + 1] = r.number(text(pos, "y"), `tie point ${id} y`);
    positions[i * 3 + 2] = r.number(text(pos, "z"), `tie point ${id} z`);
    const c = node(field(p, "Color"));
    if (c) {
      colors ??= new Uint8Array(points.length * 3);
      // Colours are 0..1 floats in the ContextCapture exchange formats (BlocksExchange spells them Red, Green, Blue).
      for (const [k, ch] of ["red", "green", "blue"].entries()) {
        const value = text(c, ch) ?? text(c, ch[0].toUpperCase() + ch.slice(1)) ?? 0;
        colors[i * 3 + k] = Math.round(Math.min(1, Math.max(0, r.number(value, `tie point ${id} ${ch}`))) * 255);
      }
    }
  });
  return { positions, colors };
}

/** Focal length in pixels of a BlocksExchange photogroup: given in pixels, or in mm with the sensor size in mm. */
function photogroupFocal(r: SceneReader, g: Node, width: number, height: number, id: string): number | undefined {
  const pixels = r.optionalNumber(text(g, "FocalLengthPixels"), `photogroup ${id} focal length`);
  if (pixels !== undefined) return pixels;
  const mm = r.optionalNumber(text(g, "FocalLength"), `photogroup ${id} focal length`);
  const sensor = r.optionalNumber(text(g, "SensorSize"), `photogroup ${id} sensor size`);
  return mm !== undefined && sensor ? (mm * Math.max(width, height)) / sensor : undefined;
}

/** A BlocksExchange document: SRSs, then every block's photogroups (cameras), posed photos and tie points. */
function readBlocksExchange(r: SceneReader, root: XmlElement): ContextScene {
  const scene = emptyScene(`BlocksExchange ${root.attrs.version ?? ""}`.trim(), root);
  let inDocument = 0;
  let tiePath: string | undefined;
  let tieSrs: string | undefined;
  let hasTiePoints = false;
  root.children.filter((b) => b.name === "Block").forEach((block, b) => {
    scene.photoSrsId ??= text(block, "SRSId");
    for (const [g, group] of entries(field(block, "Photogroups"))) {
      const dims = node(field(group, "ImageDimensions"));
      const width = r.number(text(dims, "Width"), `photogroup ${g} width`);
      const height = r.number(text(dims, "Height"), `photogroup ${g} height`);
      const pp = node(field(group, "PrincipalPoint"));
      const deviceId = `${b}:${g}`;
      scene.devices.set(deviceId, {
        id: deviceId,
        type: (text(group, "CameraModelType") ?? "perspective").toLowerCase(),
        width,
        height,
        focalLength: photogroupFocal(r, group, width, height, g),
        principalPoint: pp ? [r.number(text(pp, "x"), "principal point x"), r.number(text(pp, "y"), "principal point y")] : undefined,
        aspectRatio: r.optionalNumber(text(group, "AspectRatio"), "aspect ratio"),
        skew: r.optionalNumber(text(group, "Skew"), "skew"),
      });
      for (const photo of isXml(group) ? group.children.filter((c) => c.name === "Photo") : []) {
        const id = text(photo, "Id") ?? String(scene.photos.length);
        const pose = node(field(photo, "Pose"));
        let poseId: string | undefined;
        if (pose && node(field(pose, "Center")) && node(field(pose, "Rotation"))) {
          poseId = `${b}:${id}`;
          scene.poses.set(poseId, readPose(r, poseId, pose, true));
        }
        scene.photos.push({ id, imagePath: text(photo, "ImagePath") ?? "", deviceId, poseId });
      }
    }
    for (const photo of entries(field(block, "BulkPhotos"))) scene.photos.push({ id: text(photo[1], "Id") ?? photo[0], imagePath: text(photo[1], "ImagePath") ?? "" });
    const tie = node(field(block, "TiePoints"));
    if (tie) {
      const points = readTiePoints(r, tie);
      hasTiePoints = true;
      inDocument += points.inDocument ?? 0;
      tiePath ??= points.path;
      tieSrs ??= points.srsId ?? text(block, "SRSId");
    }
  });
  if (hasTiePoints) {
    scene.tiePoints = { positions: new Float64Array(0), srsId: tieSrs, ...(inDocument > 0 ? { inDocument } : tiePath ? { path: tiePath } : {}) };
  }
  return scene;
}

/** Tie points are many: read from the document as a stream, not kept in its tree. */
const TIE_POINT_ELEMENTS: ReadonlySet<string> = new Set(["TiePoint"]);

/** Parses a ContextScene document (XML or JSON, told apart by content). */
export function parseContextScene(bytes: Uint8Array, file: string): ContextScene {
  const r = new SceneReader(file);
  const src = new TextDecoder("utf-8", { fatal: false }).decode(bytes).replace(/^\uFEFF/, "");
  const first = src.trimStart()[0];
  if (first === "{") {
    let json: unknown;
    try {
      json = JSON.parse(src);
    } catch (e) {
      const at = /position (\d+)/.exec(String(e))?.[1];
      r.fail(`not valid JSON: ${(e as Error).message}`, at ? Number(at) : 0);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) r.fail("a ContextScene JSON document is an object");
    const version = String((json as Json).version ?? "");
    if (!/^[56](\.|$)/.test(version)) r.fail(`unsupported ContextScene JSON version '${version}' (5 and 6 are read)`);
    return readScene(r, json as Json, version);
  }
  if (first !== "<") r.fail("not a ContextScene document (neither XML nor JSON)");
  let root: XmlElement;
  try {
    root = parseXml(src, { prune: TIE_POINT_ELEMENTS });
  } catch (e) {
    if (e instanceof XmlError) r.fail(`not well-formed XML: ${e.message}`, e.position);
    throw e;
  }
  if (root.name === "BlocksExchange") return readBlocksExchange(r, root);
  if (root.name !== "ContextScene") r.fail(`the root element is <${root.name}>, not <ContextScene> or <BlocksExchange>`);
  const version = root.attrs.version ?? "";
  if (!/^[34](\.|$)/.test(version)) r.fail(`unsupported ContextScene XML version '${version}' (3 and 4 are read)`);
  return readScene(r, root, version);
}

/**
 * A scene path (`<referenceId>:<relative path>`, or a bare relative path) as a reference target and a path
 * within it: `{ reference: "rds:<id>" | "<folder>", path }`.
 */
export function resolveScenePath(scene: ContextScene, path: string): { reference?: string; path: string } {
  const m = /^([^:/\\]+):(.*)$/.exec(path);
  if (!m || !scene.references.has(m[1])) return { path };
  return { reference: scene.references.get(m[1]), path: m[2] };
}
