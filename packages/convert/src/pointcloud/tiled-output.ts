/**
 * Streamable point-cloud outputs written from the octree engine (../tiling/engine.ts): COPC (additive
 * nodes, one LAZ chunk each, compressed on the LAZ pool) and OPC (cumulative levels of tiles).
 *
 * The tree's frame: positions on the LAS inputs' own quantisation when they are not reprojected (COPC
 * records are then bit-exact), else a step suited to the CRS; the root box from the headers' bounds
 * (transformed when reprojected), and measured by the distribution pass itself when the headers were
 * wrong (the pass is then run again on the measured bounds); a bounds pass first for sources whose
 * headers give no bounds.
 */
import {
  chunkBounds,
  CrsError,
  copcCube,
  opcLayout,
  transformPositions,
  writeCopc,
  writeOpc,
  type ColumnName,
  type CopcWriterOptions,
  type LasExtraBytesSpec,
  type OpcAttribute,
  type OpcTile,
  type PointChunk,
  type PointSchema,
  type PointTransform,
  createTransform,
  encodePnts,
  encodePointGlb,
  encodeTilesetJson,
  enuToEcef,
  tilesetOf,
  boxFromBounds,
  type Tile,
  type PointTileContent,
  buildImplicitSubtrees,
  expandTemplate,
  implicitOctreeRoot,
  type TilesetOptions,
  type Vec3,
} from "@realconv/formats";
import { lazChunkCompressor } from "../parallel/laz-pool.js";
import { ConversionError, throwIfAborted, type RunnerContext } from "../contract/runner.js";
import type { AttributeSpec, PointBlock } from "../tiling/block.js";
import { buildOctree, OutsideRootBox, type Octree, type TreeMode } from "../tiling/engine.js";
import type { PositionMapping } from "../tiling/chunk-pool.js";
import type { TreeFrame } from "../tiling/frame.js";
import { compareKeys, keyId, levelSpacing, nodeBox, type NodeKey } from "../tiling/frame.js";
import { crsAsWkt, crsKey, parseJobCrs, sameCrs, transformBetween, wgs84Extent } from "./crs.js";
import { enuGrid, type EnuGrid, type ExactTransform } from "./enu-grid.js";
import { quantiseBounds, type OutputPart } from "./output.js";
import { chooseLasScaleOffset } from "@realconv/formats";
import { positionsAsF64 } from "../tiling/position-grid.js";

export type TiledFormat = "COPC" | "OPC" | "3DTilesPnts" | "3DTilesGlbc";

const is3dTiles = (f: TiledFormat) => f === "3DTilesPnts" || f === "3DTilesGlbc";

/** A tileset's local frame: points go source CRS -> ECEF (EPSG:4978) -> east-north-up at `enuToEcef`. */
interface EnuFrame {
  /** Output-CRS positions to ENU, exactly, in place. */
  exact: ExactTransform;
  /** The same, interpolated (enu-grid.ts); undefined when the grid cannot keep the tolerance. */
  grid?: EnuGrid;
  /** ENU -> ECEF, column-major 4x4 (the root transform). */
  matrix: number[];
  /** ENU bounds of the source box (sampled, padded): the root box before the points are seen. */
  bounds: Float64Array;
}

export interface TiledSpec {
  /** The output file (`.copc.laz`, `.opc`). */
  path: string;
  format: TiledFormat;
  parts: OutputPart[];
  schema: PointSchema;
  extraBytes: LasExtraBytesSpec[];
  quantisation?: { scale: readonly [number, number, number]; offset: readonly [number, number, number] };
  scale?: readonly [number, number, number];
  crs: string | undefined;
  /** Names the tree among the job's parts. */
  name: string;
  /** 3D Tiles with a known CRS: the points in a local east-north-up frame, the tileset on the globe. */
  enu?: EnuFrame;
}

const U8 = new Set<ColumnName>(["classification", "classificationFlags", "returnNumber", "numberOfReturns", "scanFlags", "scannerChannel", "userData"]);
const F32 = new Set<ColumnName>(["scanAngle", "normalX", "normalY", "normalZ"]);
/** Columns COPC's record formats 6-8 have no place for. */
const NOT_IN_COPC = new Set<ColumnName>(["normalX", "normalY", "normalZ"]);

function specsOf(spec: TiledSpec): AttributeSpec[] {
  if (spec.format === "COPC") {
    const cols = spec.schema.columns.filter((c) => !NOT_IN_COPC.has(c));
    return [
      ...cols.map((c): AttributeSpec => ({ name: c, kind: U8.has(c) ? "u8" : F32.has(c) ? "f32" : c === "gpsTime" ? "f64" : "u16" })),
      ...spec.schema.extra.map((e): AttributeSpec => ({ name: `extra:${e.name}`, kind: "f64" })),
    ];
  }
  const want: ColumnName[] = ["red", "green", "blue", "intensity", "classification"];
  return want.filter((c) => spec.schema.columns.includes(c)).map((c) => ({ name: c, kind: c === "classification" ? "u8" : "u16" }));
}

function reprojected(chunk: PointChunk, part: OutputPart): PointChunk {
  if (!part.transform) return chunk;
  try {
    return { ...chunk, positions: transformPositions(chunk.positions, chunk.count, part.transform) };
  } catch (e) {
    if (e instanceof CrsError) throw new ConversionError("InputData_Invalid", "Invalid input data", "The points of %1 cannot be reprojected: %2", [part.source.label, e.message]);
    throw e;
  }
}

/** Source (output-CRS) positions to the ENU frame: through the interpolation grid when there is one. */
function toEnu(chunk: PointChunk, enu: EnuFrame, label: string): PointChunk {
  const n = chunk.count;
  const { x, y, z } = positionsAsF64(chunk.positions, n);
  try {
    if (enu.grid) enu.grid.apply(x, y, z, n);
    else enu.exact(x.subarray(0, n), y.subarray(0, n), z.subarray(0, n));
  } catch (e) {
    if (e instanceof CrsError) throw new ConversionError("InputData_Invalid", "Invalid input data", "The points of %1 cannot be reprojected: %2", [label, e.message]);
    throw e;
  }
  return { ...chunk, positions: { kind: "f64", x, y, z } };
}

/**
 * The points of every part, reprojected, and in the ENU frame (3D Tiles) unless `labels` is given: then
 * the ENU mapping is left to the engine's threads (`enuMapping`), and each chunk's source label is kept
 * for the exact fallback's messages.
 */
async function* pointsOf(ctx: RunnerContext, spec: TiledSpec, read: { points: number }, labels?: WeakMap<PointChunk, string>, only?: ColumnsKept): AsyncGenerator<PointChunk> {
  for (const part of spec.parts) {
    for await (const raw of part.source.chunks(ctx.signal, only)) {
      throwIfAborted(ctx.signal);
      read.points += raw.count;
      const c = reprojected(raw, part);
      if (labels) labels.set(c, part.source.label);
      yield spec.enu && !labels ? toEnu(c, spec.enu, part.source.label) : c;
    }
  }
}

type ColumnsKept = { columns: readonly ColumnName[]; extra: boolean };

/** The columns a tree keeps, for the readers to decode no others; undefined (all) for COPC, which keeps every one. */
function columnsKept(spec: TiledSpec, specs: readonly AttributeSpec[]): ColumnsKept | undefined {
  if (spec.format === "COPC") return undefined;
  return { columns: specs.filter((s) => !s.name.startsWith("extra:")).map((s) => s.name as ColumnName), extra: specs.some((s) => s.name.startsWith("extra:")) };
}

/** The ENU transform of a 3D Tiles output for the engine's threads: its grid, and `toEnu` for chunks the grid does not cover. */
function enuMapping(enu: EnuFrame, labels: WeakMap<PointChunk, string>): PositionMapping | undefined {
  if (!enu.grid) return undefined;
  return { grid: enu.grid.data, exact: (chunk) => toEnu(chunk, enu, labels.get(chunk) ?? "the input") };
}

/** Bounds the headers give (LAS/LAZ sources not reprojected), else undefined. */
function headerBounds(spec: TiledSpec): Float64Array | undefined {
  if (spec.enu) return undefined;
  const b = new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
  for (const p of spec.parts) {
    const las = p.source.las;
    if (!las || p.transform) return undefined;
    if (las.pointCount === 0) continue;
    const h = las.header.bounds;
    for (let a = 0; a < 3; a++) {
      b[a] = Math.min(b[a], h[a]);
      b[a + 3] = Math.max(b[a + 3], h[a + 3]);
    }
  }
  return b.every(Number.isFinite) ? b : undefined;
}

async function measuredBounds(ctx: RunnerContext, spec: TiledSpec): Promise<Float64Array> {
  const b = new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
  for await (const c of pointsOf(ctx, spec, { points: 0 }, undefined, { columns: [], extra: false })) chunkBounds(c, b);
  return b.every(Number.isFinite) ? b : new Float64Array(6);
}

function frameFor(spec: TiledSpec, bounds: Float64Array): { frame: TreeFrame; mode: TreeMode } {
  // ENU frames are metres: 0.1 mm steps keep any survey's precision.
  const q = spec.enu ? quantiseBounds(bounds, [1e-4, 1e-4, 1e-4]) : (spec.quantisation ?? (spec.scale ? quantiseBounds(bounds, spec.scale) : chooseLasScaleOffset(bounds)));
  const scale: [number, number, number] = [q.scale[0], q.scale[1], q.scale[2]];
  const offset: [number, number, number] = [q.offset[0], q.offset[1], q.offset[2]];
  if (spec.format === "OPC") {
    const layout = opcLayout(bounds, scale);
    const top = layout.levelCount - 1;
    const edge = layout.tileSize.map((t) => t * 2 ** top) as [number, number, number];
    return { frame: { scale, offset, min: layout.origin, edge }, mode: { kind: "opc", layout } };
  }
  const cube = copcCube(bounds);
  const min = cube.center.map((c) => c - cube.halfSize) as [number, number, number];
  const e = 2 * cube.halfSize;
  return { frame: { scale, offset, min, edge: [e, e, e] }, mode: { kind: "additive", maxLeaf: 50_000 } };
}

function epsgOf(crs: string | undefined): number | undefined {
  if (!crs) return undefined;
  const m = /^EPSG:(\d+)/.exec(crsKey(crs));
  return m ? Number(m[1]) : undefined;
}

/** A tree node's points as a PointChunk on the frame's quantisation (for the LAS record encoder). */
function toChunk(tree: Octree, b: PointBlock): PointChunk {
  const chunk: PointChunk = {
    count: b.count,
    positions: { kind: "i32", x: b.x, y: b.y, z: b.z, scale: tree.frame.scale, offset: tree.frame.offset },
  };
  tree.specs.forEach((s, i) => {
    if (s.name.startsWith("extra:")) (chunk.extra ??= {})[s.name.slice(6)] = b.attributes[i] as Float64Array;
    else (chunk as unknown as Record<string, unknown>)[s.name] = b.attributes[i];
  });
  return chunk;
}

async function writeCopcTree(ctx: RunnerContext, spec: TiledSpec, tree: Octree, written: (points: number) => void): Promise<void> {
  const wkt = spec.crs ? crsAsWkt(spec.crs) : undefined;
  const options: CopcWriterOptions = {
    schema: { columns: spec.schema.columns.filter((c) => !NOT_IN_COPC.has(c)), extra: spec.schema.extra },
    extraBytes: spec.extraBytes,
    scale: tree.frame.scale,
    offset: tree.frame.offset,
    cube: { center: [0, 1, 2].map((a) => tree.frame.min[a] + tree.frame.edge[a] / 2) as [number, number, number], halfSize: tree.frame.edge[0] / 2 },
    spacing: levelSpacing(tree.frame, 0),
    wkt: wkt && !/^EPSG:/i.test(wkt.trim()) ? wkt : undefined,
    generatingSoftware: "realconv",
  };
  // The writer exists once writeCopc returns; the node generator runs only when the stream is read.
  let encoder: { encode(c: PointChunk): Uint8Array } | undefined;
  async function* nodes() {
    for (const n of tree.nodes) {
      throwIfAborted(ctx.signal);
      yield { key: n.key, records: encoder!.encode(toChunk(tree, n.read())) };
      written(n.count);
    }
  }
  const probe = writeCopc(options, [], {});
  const compressor = lazChunkCompressor(probe.writer.pdrf, probe.writer.recordLength, ctx.resources.threads);
  const out = writeCopc(options, nodes(), { compressor, concurrency: Math.max(1, 2 * (ctx.resources.threads?.size ?? 1)) });
  encoder = out.writer;
  await ctx.output.writePatched(spec.path, out.stream, () => out.patches(), ctx.signal);
}

async function writeOpcTree(ctx: RunnerContext, spec: TiledSpec, tree: Octree, layout: Extract<TreeMode, { kind: "opc" }>["layout"], written: (points: number) => void): Promise<void> {
  const names = tree.specs.map((s) => s.name);
  const attributes: OpcAttribute[] = [];
  if (names.includes("red") && names.includes("green") && names.includes("blue")) attributes.push("color");
  if (names.includes("intensity")) attributes.push("intensity");
  if (names.includes("classification")) attributes.push("classification");
  attributes.push("weight");
  const epsg = epsgOf(spec.crs);
  if (spec.crs && epsg === undefined) {
    ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "OPC stores its CRS as an EPSG code; the CRS of %1 has none, so the file is not geolocated.", params: [spec.path] });
  }
  const { stream, patches } = writeOpc({ layout, attributes, epsg }, function* (level): Iterable<OpcTile> {
    for (const t of tree.opcLevels[level] ?? []) {
      yield { x: t.x, y: t.y, z: t.z, points: t.read() };
      // Each pass over level 0 counts a share: geometry and each attribute.
      if (level === 0) written(t.count / (attributes.length + 1));
    }
  });
  await ctx.output.writePatched(spec.path, stream, () => patches(), ctx.signal);
}

/** The 8-bit sRGB colours, intensity and classification of a node's points, positions relative to its centre. */
function tileContent(tree: Octree, b: PointBlock, centre: [number, number, number], precision: number): PointTileContent {
  const n = b.count;
  const positions = new Float32Array(3 * n);
  const [sx, sy, sz] = tree.frame.scale;
  const ox = tree.frame.offset[0] - centre[0], oy = tree.frame.offset[1] - centre[1], oz = tree.frame.offset[2] - centre[2];
  for (let i = 0; i < n; i++) {
    positions[3 * i] = b.x[i] * sx + ox;
    positions[3 * i + 1] = b.y[i] * sy + oy;
    positions[3 * i + 2] = b.z[i] * sz + oz;
  }
  const c: PointTileContent = { count: n, positions, rtcCenter: centre, precision };
  const at = (name: string) => tree.specs.findIndex((s) => s.name === name);
  const r = at("red"), g = at("green"), bl = at("blue");
  if (r >= 0 && g >= 0 && bl >= 0) {
    const rgb = new Uint8Array(3 * n);
    const sh = tree.colorShift;
    const R = b.attributes[r], G = b.attributes[g], B = b.attributes[bl];
    for (let i = 0; i < n; i++) {
      rgb[3 * i] = R[i] >> sh;
      rgb[3 * i + 1] = G[i] >> sh;
      rgb[3 * i + 2] = B[i] >> sh;
    }
    c.rgb = rgb;
  }
  const it = at("intensity");
  if (it >= 0) c.intensity = b.attributes[it] as Uint16Array;
  const cl = at("classification");
  if (cl >= 0) c.classification = b.attributes[cl] as Uint8Array;
  return c;
}

/**
 * A 3D Tiles tileset: one content per node with points, additive refinement, bounding boxes the octree's
 * node boxes, geometric error the spacing of the node's level (it halves per level).
 * 3DTilesPnts (1.0): an explicit tree in tileset.json (`tiles/<level>/<x>_<y>_<z>.pnts`, empty ancestors as
 * tiles without content, 0 at leaves). 3DTilesGlbc (1.1): implicit octree tiling over the root cube
 * (`writeImplicit`), except a tree of one node, written as one explicit tile.
 */
async function writeTilesetTree(ctx: RunnerContext, spec: TiledSpec, tree: Octree, written: (points: number) => void): Promise<void> {
  const glb = spec.format === "3DTilesGlbc";
  const dir = spec.path.includes("/") ? spec.path.slice(0, spec.path.lastIndexOf("/") + 1) : "";
  const precision = Math.min(...tree.frame.scale);
  const rootBox = nodeBox(tree.frame, { level: 0, x: 0, y: 0, z: 0 });
  const rootError = levelSpacing(tree.frame, 0);
  const options = { version: glb ? ("1.1" as const) : ("1.0" as const), refine: "ADD" as const, transform: spec.enu?.matrix, generator: "realconv" };
  /** Encodes one node's content and writes it at `uri`. */
  const writeNode = async (n: Octree["nodes"][number], uri: string) => {
    throwIfAborted(ctx.signal);
    const box = nodeBox(tree.frame, n.key);
    const centre: [number, number, number] = [(box[0] + box[3]) / 2, (box[1] + box[4]) / 2, (box[2] + box[5]) / 2];
    const content = tileContent(tree, n.read(), centre, precision);
    await ctx.output.write(dir + uri, glb ? await encodePointGlb(content) : encodePnts(content), ctx.signal);
    written(n.count);
  };
  const deepest = tree.nodes.reduce((d, n) => Math.max(d, n.key.level), 0);
  if (glb && deepest > 0) {
    await writeImplicit(ctx, spec.path, tree, writeNode, { min: [rootBox[0], rootBox[1], rootBox[2]], max: [rootBox[3], rootBox[4], rootBox[5]], geometricError: rootError, options });
    return;
  }
  interface Entry { tile: Tile; key: NodeKey; children: Map<string, Entry> }
  const entries = new Map<string, Entry>();
  const entryOf = (key: NodeKey): Entry => {
    const id = keyId(key);
    let e = entries.get(id);
    if (e) return e;
    const box = nodeBox(tree.frame, key);
    e = { key, tile: { boundingVolume: boxFromBounds(box.slice(0, 3), box.slice(3)), geometricError: levelSpacing(tree.frame, key.level) }, children: new Map() };
    entries.set(id, e);
    if (key.level > 0) entryOf({ level: key.level - 1, x: key.x >> 1, y: key.y >> 1, z: key.z >> 1 }).children.set(id, e);
    return e;
  };
  entryOf({ level: 0, x: 0, y: 0, z: 0 });
  for (const n of tree.nodes) {
    const uri = glb ? "content/0/0/0/0.glb" : `tiles/${n.key.level}/${n.key.x}_${n.key.y}_${n.key.z}.pnts`;
    await writeNode(n, uri);
    entryOf(n.key).tile.content = { uri };
  }
  const toTile = (e: Entry): Tile => {
    const kids = [...e.children.values()].sort((a, b) => compareKeys(a.key, b.key)).map(toTile);
    const t: Tile = { ...e.tile };
    if (kids.length > 0) t.children = kids;
    else t.geometricError = 0;
    return t;
  };
  await ctx.output.write(spec.path, encodeTilesetJson(tilesetOf(toTile(entries.get("0-0-0-0")!), 2 * rootError, options)), ctx.signal);
}

/**
 * Levels per subtree file of an implicit tileset. 5: a subtree's tile and content bitstreams are 586 bytes
 * and its child subtree bitstream 4 KiB (8^5 bits), and the engine's deepest level (17) is reached through
 * four subtree files (levels 0, 5, 10, 15); 6 would make the child bitstream 32 KiB, mostly zeros for
 * surfaces, 4 would need one more round of subtree requests for the same depth.
 */
export const SUBTREE_LEVELS = 5;

/**
 * 3D Tiles 1.1 implicit octree tiling. The engine's nodes are the implicit tiles already: node (level, x, y, z)
 * of the root cube is implicit tile (level, x, y, z) (the root box is the cube, halved per level), so every
 * content lies in its implicit volume, and the spacing (= geometric error) halves per level as implicit
 * geometric errors do. Contents `content/{level}/{x}/{y}/{z}.glb`, subtree files
 * `subtrees/{level}/{x}/{y}/{z}.subtree` (`buildImplicitSubtrees`: ancestors of a content tile available,
 * files ordered by level and Morton index), written after the contents, then tileset.json.
 */
async function writeImplicit(
  ctx: RunnerContext,
  path: string,
  tree: Octree,
  writeNode: (n: Octree["nodes"][number], uri: string) => Promise<void>,
  root: { min: Vec3; max: Vec3; geometricError: number; options: TilesetOptions },
): Promise<void> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  const contentUri = "content/{level}/{x}/{y}/{z}.glb";
  const subtreesUri = "subtrees/{level}/{x}/{y}/{z}.subtree";
  const keys: NodeKey[] = [];
  for (const n of tree.nodes) {
    await writeNode(n, expandTemplate(contentUri, n.key.level, n.key.x, n.key.y, n.key.z));
    keys.push(n.key);
  }
  const { subtrees, availableLevels } = buildImplicitSubtrees(keys, SUBTREE_LEVELS);
  for (const s of subtrees) await ctx.output.write(dir + expandTemplate(subtreesUri, s.level, s.x, s.y, s.z), s.bytes, ctx.signal);
  const tile = implicitOctreeRoot({ min: root.min, max: root.max, geometricError: root.geometricError, subtreeLevels: SUBTREE_LEVELS, availableLevels, contentUri, subtreesUri });
  await ctx.output.write(path, encodeTilesetJson(tilesetOf(tile, 2 * root.geometricError, root.options)), ctx.signal);
}

/**
 * The transformation that places a tileset on the globe. Heights in a vertical datum that needs a geoid
 * grid are taken as ellipsoidal (the tileset sits off by the geoid separation, tens of metres at most),
 * with a warning, rather than failing the job; a CRS that cannot reach ECEF leaves the tileset local.
 */
function globeTransform(ctx: RunnerContext, crs: string, to: string, path: string): PointTransform | "identity" | undefined {
  if (sameCrs(crs, to)) return "identity";
  try {
    return transformBetween(crs, to, path, (m) => ctx.warn(m)) ?? "identity";
  } catch (e) {
    if (!(e instanceof ConversionError)) throw e;
    try {
      const t = createTransform(parseJobCrs(crs, path), parseJobCrs(to, path), { ignoreVerticalDatum: true });
      ctx.warn({
        code: "InputData_Warning",
        title: "Input data warning",
        message: "%1: %2 The tileset was placed with its heights taken as ellipsoidal.",
        params: [path, e.message.replace(/%(\d+)/g, (_, i: string) => e.params[Number(i) - 1] ?? "")],
      });
      return t.identity ? "identity" : t;
    } catch {
      return undefined;
    }
  }
}

/** Builds the tree of one output and writes it; returns the points' bounds (output CRS) and count. */
export async function writeTiled(ctx: RunnerContext, spec: TiledSpec, progress: (fraction: number) => void): Promise<{ bounds: Float64Array; count: number }> {
  const specs = specsOf(spec);
  const expected = spec.parts.reduce((n, p) => n + (p.source.pointCount ?? p.source.estimatedCount), 0);
  // Bounds in the output CRS, for the extent (3D Tiles trees are in their ENU frame).
  let crsBounds: Float64Array | undefined;
  if (is3dTiles(spec.format)) {
    if (spec.crs) {
      const crs = spec.crs;
      const around = headerBounds(spec) ?? (await measuredBounds(ctx, spec));
      crsBounds = around;
      spec = { ...spec, enu: enuFrameFor(crs, around, globeTransform(ctx, crs, "EPSG:4978", spec.path)) };
    }
    if (!spec.enu) {
      ctx.warn({
        code: "InputData_Warning",
        title: "Input data warning",
        message: "%1 has no CRS that can be placed on the globe: the tileset is in the input's local coordinates.",
        params: [spec.path],
      });
    }
  }
  let bounds = spec.enu?.bounds ?? headerBounds(spec) ?? (await measuredBounds(ctx, spec));
  let tree: Octree | undefined;
  let layout: Extract<TreeMode, { kind: "opc" }>["layout"] | undefined;
  for (let attempt = 0; !tree; attempt++) {
    const { frame, mode } = frameFor(spec, bounds);
    layout = mode.kind === "opc" ? mode.layout : undefined;
    try {
      // LAS/LAZ readers yield fresh arrays per chunk, and nothing here keeps a chunk: they may be handed over.
      const labels = new WeakMap<PointChunk, string>();
      const positions = spec.enu ? enuMapping(spec.enu, labels) : undefined;
      tree = await buildOctree(pointsOf(ctx, spec, { points: 0 }, positions ? labels : undefined, columnsKept(spec, specs)), { frame, specs, mode, expectedPoints: expected, name: spec.name, positions, chunksHandedOver: spec.parts.every((p) => p.source.las !== undefined) }, {
        resources: ctx.resources,
        parts: ctx.parts,
        signal: ctx.signal,
        progress: (f) => progress(0.9 * f),
      });
    } catch (e) {
      // Header bounds that do not hold the points: once more on the bounds the pass measured.
      if (e instanceof OutsideRootBox && attempt === 0) bounds = e.bounds;
      else throw e;
    }
  }
  try {
    // The output's share of the progress: points written over points in the tree.
    let done = 0;
    const total = Math.max(1, tree.pointCount);
    const written = (n: number) => {
      done += n;
      progress(0.9 + 0.1 * Math.min(1, done / total));
    };
    if (spec.format === "COPC") await writeCopcTree(ctx, spec, tree, written);
    else if (spec.format === "OPC") await writeOpcTree(ctx, spec, tree, layout!, written);
    else await writeTilesetTree(ctx, spec, tree, written);
  } finally {
    await tree.dispose();
  }
  progress(1);
  return { bounds: spec.enu ? crsBounds! : tree.bounds, count: tree.pointCount };
}

/**
 * The ENU frame of a 3D Tiles output in `crs` around `bounds` (given in `crs`): its origin on the
 * ellipsoid below the centre of the extent. `ecef` is the transformation to EPSG:4978 ("identity" for
 * geocentric inputs); undefined when there is none.
 */
export function enuFrameFor(crs: string, bounds: ArrayLike<number>, ecef: PointTransform | "identity" | undefined): EnuFrame | undefined {
  const extent = wgs84Extent(bounds, crs);
  if (!extent || !ecef) return undefined;
  const lon = (extent.southWest.longitude + extent.northEast.longitude) / 2;
  const lat = (extent.southWest.latitude + extent.northEast.latitude) / 2;
  const m = enuToEcef(lon, lat, 0);
  const exact: ExactTransform = (x, y, z) => {
    if (ecef !== "identity") ecef.transform(x, y, z);
    for (let i = 0; i < x.length; i++) {
      const dx = x[i] - m[12], dy = y[i] - m[13], dz = z[i] - m[14];
      x[i] = m[0] * dx + m[1] * dy + m[2] * dz;
      y[i] = m[4] * dx + m[5] * dy + m[6] * dz;
      z[i] = m[8] * dx + m[9] * dy + m[10] * dz;
    }
  };
  // The box sampled 5 x 5 x 2 (the ellipsoid curves between corners), padded: the OutsideRootBox
  // fallback of writeTiled covers what the padding misses.
  const sx = new Float64Array(50), sy = new Float64Array(50), sz = new Float64Array(50);
  let k = 0;
  for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) for (let c = 0; c < 2; c++, k++) {
    sx[k] = bounds[0] + ((bounds[3] - bounds[0]) * a) / 4;
    sy[k] = bounds[1] + ((bounds[4] - bounds[1]) * b) / 4;
    sz[k] = c === 0 ? bounds[2] : bounds[5];
  }
  exact(sx, sy, sz);
  const enuBounds = new Float64Array(6);
  [sx, sy, sz].forEach((v, a) => {
    let lo = Infinity, hi = -Infinity;
    for (const t of v) {
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
    const pad = 0.01 * (hi - lo) + 1;
    enuBounds[a] = lo - pad;
    enuBounds[a + 3] = hi + pad;
  });
  return { exact, grid: enuGrid(exact, bounds, 5e-5), matrix: m, bounds: enuBounds };
}

export { is3dTiles, wgs84Extent };
