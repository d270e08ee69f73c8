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
} from "@realconv/formats";
import { lazChunkCompressor } from "../parallel/laz-pool.js";
import { ConversionError, throwIfAborted, type RunnerContext } from "../contract/runner.js";
import type { AttributeSpec, PointBlock } from "../tiling/block.js";
import { buildOctree, OutsideRootBox, type Octree, type TreeMode } from "../tiling/engine.js";
import type { TreeFrame } from "../tiling/frame.js";
import { levelSpacing } from "../tiling/frame.js";
import { crsAsWkt, crsKey, wgs84Extent } from "./crs.js";
import { quantiseBounds, type OutputPart } from "./output.js";
import { chooseLasScaleOffset } from "@realconv/formats";

export type TiledFormat = "COPC" | "OPC";

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

async function* pointsOf(ctx: RunnerContext, spec: TiledSpec, read: { points: number }): AsyncGenerator<PointChunk> {
  for (const part of spec.parts) {
    for await (const raw of part.source.chunks(ctx.signal)) {
      throwIfAborted(ctx.signal);
      read.points += raw.count;
      yield reprojected(raw, part);
    }
  }
}

/** Bounds the headers give (LAS/LAZ sources not reprojected), else undefined. */
function headerBounds(spec: TiledSpec): Float64Array | undefined {
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
  for await (const c of pointsOf(ctx, spec, { points: 0 })) chunkBounds(c, b);
  return b.every(Number.isFinite) ? b : new Float64Array(6);
}

function frameFor(spec: TiledSpec, bounds: Float64Array): { frame: TreeFrame; mode: TreeMode } {
  const q = spec.quantisation ?? (spec.scale ? quantiseBounds(bounds, spec.scale) : chooseLasScaleOffset(bounds));
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

async function writeCopcTree(ctx: RunnerContext, spec: TiledSpec, tree: Octree): Promise<void> {
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
    }
  }
  const probe = writeCopc(options, [], {});
  const compressor = lazChunkCompressor(probe.writer.pdrf, probe.writer.recordLength, ctx.resources.threads);
  const out = writeCopc(options, nodes(), { compressor, concurrency: Math.max(1, 2 * (ctx.resources.threads?.size ?? 1)) });
  encoder = out.writer;
  await ctx.output.writePatched(spec.path, out.stream, () => out.patches(), ctx.signal);
}

async function writeOpcTree(ctx: RunnerContext, spec: TiledSpec, tree: Octree, layout: Extract<TreeMode, { kind: "opc" }>["layout"]): Promise<void> {
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
    for (const t of tree.opcLevels[level] ?? []) yield { x: t.x, y: t.y, z: t.z, points: t.read() };
  });
  await ctx.output.writePatched(spec.path, stream, () => patches(), ctx.signal);
}

/** Builds the tree of one output and writes it; returns the points' bounds (output CRS) and count. */
export async function writeTiled(ctx: RunnerContext, spec: TiledSpec, progress: (fraction: number) => void): Promise<{ bounds: Float64Array; count: number }> {
  const specs = specsOf(spec);
  const expected = spec.parts.reduce((n, p) => n + (p.source.pointCount ?? p.source.estimatedCount), 0);
  let bounds = headerBounds(spec) ?? (await measuredBounds(ctx, spec));
  let tree: Octree | undefined;
  let layout: Extract<TreeMode, { kind: "opc" }>["layout"] | undefined;
  for (let attempt = 0; !tree; attempt++) {
    const { frame, mode } = frameFor(spec, bounds);
    layout = mode.kind === "opc" ? mode.layout : undefined;
    try {
      tree = await buildOctree(pointsOf(ctx, spec, { points: 0 }), { frame, specs, mode, expectedPoints: expected, name: spec.name }, {
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
    if (spec.format === "COPC") await writeCopcTree(ctx, spec, tree);
    else await writeOpcTree(ctx, spec, tree, layout!);
  } finally {
    await tree.dispose();
  }
  progress(1);
  return { bounds: tree.bounds, count: tree.pointCount };
}

export { wgs84Extent };
