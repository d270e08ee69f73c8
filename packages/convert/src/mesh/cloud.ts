/**
 * The point cloud a MeshSampling job makes: every input mesh sampled (./sampler.ts) into point chunks, as
 * point sources the point-cloud writers (../pointcloud/output.ts) and the tiling engine read like any
 * other. `openMeshCloud` is the one entry point: it opens the meshes, settles CRS, units and quantisation,
 * counts the points (a scan without building them), and returns the parts, each re-sampling its mesh on
 * every pass (the sampling is deterministic, so every pass gives the same points).
 *
 * Units: `sampling` is in metres. A mesh in a CRS (inputCrs, or the file's: 3D Tiles ECEF, 3MX SRS) is
 * sampled at `sampling` converted to the CRS's unit (US feet for many State Plane CRSs); a mesh without one
 * is in metres when its format says so (glTF, 3D Tiles), and taken as metres otherwise (OBJ, PLY).
 */
import type { PointChunk, PointSchema } from "@realconv/formats";
import type { TriangleBatch } from "./formats.js";
import { ConversionError, throwIfAborted, type JobMessage, type RunnerContext } from "../contract/runner.js";
import { optionCrs, parseJobCrs, scaleForCrs, shortCrs, sourceCrs, transformBetween } from "../pointcloud/crs.js";
import { quantiseBounds, type OutputPart, type OutputSpec } from "../pointcloud/output.js";
import { stripExtension, type PointSource } from "../pointcloud/sources.js";
import { asJobError, openMeshInputs, type MeshInput } from "./sources.js";
import { SurfaceSampler } from "./sampler.js";
import { DEFAULT_CHUNK_POINTS } from "@realconv/formats";

export interface MeshSamplingOptions extends Readonly<Record<string, unknown>> {
  readonly sampling: number;
  readonly inputCrs?: string;
  readonly outputCrs?: string;
}

export interface MeshCloud {
  /** One part per mesh, in input order. */
  parts: OutputPart[];
  schema: PointSchema;
  /** CRS of the points (outputCrs, else the first mesh's), undefined when no mesh has one. */
  crs: string | undefined;
  /** Quantisation from the meshes' bounds when nothing is reprojected (the writers then need no bounds pass). */
  quantisation: OutputSpec["quantisation"];
  /** Quantisation step for reprojected points. */
  scale: OutputSpec["scale"];
  /** Points the parts give, in total. */
  pointCount: number;
  /** Sampled surface, in square metres. */
  areaM2: number;
  meshes: MeshInput[];
}

function pow10Below(x: number): number {
  return Number((10 ** Math.floor(Math.log10(x) + 1e-9)).toPrecision(1));
}

/** Triangles above this many expected points are subdivided first, so that a chunk never waits on one huge triangle. */
const MAX_POINTS_PER_TRIANGLE = DEFAULT_CHUNK_POINTS / 4;

/** One triangle of a batch as a batch of its own, with its four midpoint-subdivided children. */
function splitTriangle(b: TriangleBatch, t: number): TriangleBatch {
  const P = b.positions.subarray(t * 9, t * 9 + 9);
  const mid = (arr: ArrayLike<number>, size: number, a: number, c: number, k: number) => (arr[a * size + k] + arr[c * size + k]) / 2;
  // Corners 0,1,2 and midpoints 3 (0-1), 4 (1-2), 5 (2-0); children (0,3,5), (3,1,4), (5,4,2), (3,4,5).
  const order = [0, 3, 5, 3, 1, 4, 5, 4, 2, 3, 4, 5];
  const pick = <A extends Float64Array | Float32Array | Uint8Array>(src: ArrayLike<number>, size: number, make: (n: number) => A): A => {
    const ext = make(6 * size);
    for (let k = 0; k < size; k++) {
      ext[k] = src[k];
      ext[size + k] = src[size + k];
      ext[2 * size + k] = src[2 * size + k];
      ext[3 * size + k] = mid(src, size, 0, 1, k);
      ext[4 * size + k] = mid(src, size, 1, 2, k);
      ext[5 * size + k] = mid(src, size, 2, 0, k);
    }
    const out = make(12 * size);
    order.forEach((c, i) => {
      for (let k = 0; k < size; k++) out[i * size + k] = ext[c * size + k];
    });
    return out;
  };
  return {
    count: 4,
    positions: pick(P, 3, (n) => new Float64Array(n)),
    normals: b.normals ? pick(b.normals.subarray(t * 9, t * 9 + 9), 3, (n) => new Float32Array(n)) : undefined,
    uvs: b.uvs ? pick(b.uvs.subarray(t * 6, t * 6 + 6), 2, (n) => new Float32Array(n)) : undefined,
    colours: b.colours ? pick(b.colours.subarray(t * 12, t * 12 + 12), 4, (n) => new Uint8Array(n)) : undefined,
    materials: b.materials ? new Int32Array(4).fill(b.materials[t]) : undefined,
  };
}

function triangleArea(p: Float64Array, t: number): number {
  const k = t * 9;
  const e1x = p[k + 3] - p[k], e1y = p[k + 4] - p[k + 1], e1z = p[k + 5] - p[k + 2];
  const e2x = p[k + 6] - p[k], e2y = p[k + 7] - p[k + 1], e2z = p[k + 8] - p[k + 2];
  const cx = e1y * e2z - e1z * e2y, cy = e1z * e2x - e1x * e2z, cz = e1x * e2y - e1y * e2x;
  return Math.sqrt(cx * cx + cy * cy + cz * cz) / 2;
}

function sub(b: TriangleBatch, from: number, to: number): TriangleBatch {
  return {
    count: to - from,
    positions: b.positions.subarray(from * 9, to * 9),
    normals: b.normals?.subarray(from * 9, to * 9),
    uvs: b.uvs?.subarray(from * 6, to * 6),
    colours: b.colours?.subarray(from * 12, to * 12),
    materials: b.materials?.subarray(from, to),
  };
}

/**
 * The batch in pieces whose points stay within a few chunks: runs of ordinary triangles as they are, each
 * oversized triangle subdivided (recursively) into quarters. Subdividing does not change the points: the
 * lattice is the mesh's and the pieces share their edges exactly.
 */
function* boundedPieces(b: TriangleBatch, maxArea: number): Generator<TriangleBatch> {
  let start = 0;
  for (let t = 0; t < b.count; t++) {
    if (!(triangleArea(b.positions, t) > maxArea)) continue;
    if (t > start) yield sub(b, start, t);
    start = t + 1;
    const stack = [splitTriangle(b, t)];
    while (stack.length > 0) {
      const piece = stack.pop()!;
      for (let c = 3; c >= 0; c--) {
        if (triangleArea(piece.positions, c) > maxArea) stack.push(splitTriangle(piece, c));
        else yield sub(piece, c, c + 1);
      }
    }
  }
  if (start < b.count) yield start === 0 ? b : sub(b, start, b.count);
}

interface MeshPlan {
  input: MeshInput;
  spacing: number;
  origin: [number, number, number];
}

interface ChunkShape {
  colour: boolean;
  normals: "columns" | "extra";
  quantisation: OutputSpec["quantisation"];
}

function texturesOf(input: MeshInput, b: TriangleBatch): Set<number> {
  const used = new Set<number>();
  if (!b.materials || !b.uvs) return used;
  const mats = input.reader.materials;
  let last = -2;
  for (let t = 0; t < b.count; t++) {
    const m = b.materials[t];
    if (m === last) continue;
    last = m;
    const tex = m >= 0 ? mats[m]?.texture : -1;
    if (tex !== undefined && tex >= 0) used.add(tex);
  }
  return used;
}

/** The points of one mesh, chunk by chunk (the same points every call). */
async function* meshChunks(plan: MeshPlan, shape: ChunkShape, signal: AbortSignal): AsyncGenerator<PointChunk> {
  const { input } = plan;
  const schemaColour = shape.colour;
  const sampler = new SurfaceSampler({
    spacing: plan.spacing,
    origin: plan.origin,
    materials: input.reader.materials,
    chunkPoints: DEFAULT_CHUNK_POINTS,
    colour: shape.colour,
    normals: shape.normals,
    quantisation: shape.quantisation,
  });
  const maxArea = MAX_POINTS_PER_TRIANGLE * plan.spacing * plan.spacing;
  const ready: PointChunk[] = [];
  const emit = (c: PointChunk) => ready.push(c);
  try {
    for await (const batch of input.reader.batches(signal)) {
      throwIfAborted(signal);
      if (schemaColour && input.reader.textures.length > 0) sampler.textures = await input.textures.ensure(texturesOf(input, batch));
      for (const piece of boundedPieces(batch, maxArea)) {
        sampler.sample(piece, emit);
        while (ready.length > 0) yield ready.shift()!;
      }
    }
  } catch (e) {
    throw asJobError(input, e);
  }
  const last = sampler.flush();
  if (last) yield last;
}

/** Counts the points of one mesh and whether its triangles carry colour. */
async function countMesh(plan: MeshPlan, signal: AbortSignal): Promise<{ points: number; area: number; colour: boolean }> {
  const { input } = plan;
  const sampler = new SurfaceSampler({ spacing: plan.spacing, origin: plan.origin, materials: input.reader.materials, chunkPoints: 1, colour: false, normals: "none" });
  let colour = false;
  try {
    for await (const batch of input.reader.batches(signal)) {
      throwIfAborted(signal);
      if (batch.colours || (batch.materials && input.reader.materials.length > 0)) colour = true;
      sampler.count(batch);
    }
  } catch (e) {
    throw asJobError(input, e);
  }
  return { points: sampler.points, area: sampler.area, colour };
}

/** The LAS extra bytes that carry normals (PDAL's names), for outputs without normal fields. */
export const NORMAL_EXTRA_BYTES = [
  { name: "NormalX", type: "f32" as const, description: "X surface normal" },
  { name: "NormalY", type: "f32" as const, description: "Y surface normal" },
  { name: "NormalZ", type: "f32" as const, description: "Z surface normal" },
];

/**
 * Opens the job's meshes as point-cloud parts (see the module comment). `normals`: as the normal columns
 * (E57, the tiling engine) or as the NormalX/Y/Z extra attributes (LAS/LAZ).
 */
export async function openMeshCloud(ctx: RunnerContext<MeshSamplingOptions>, normals: "columns" | "extra" = "columns"): Promise<MeshCloud> {
  const warn = (m: JobMessage) => ctx.warn(m);
  const meshes = await openMeshInputs(ctx.inputs.meshes ?? [], ctx.signal);
  const d = ctx.options.sampling;
  const outputCrs = optionCrs(ctx.options, "outputCrs");
  const froms = meshes.map((m) => sourceCrs(m.reader.crs, ctx.options, m.label, warn));
  const firstKnown = froms.find((c) => c !== undefined);
  const target = outputCrs ?? firstKnown;
  const plans: MeshPlan[] = meshes.map((input, i) => {
    const from = froms[i];
    let metresPerUnit = input.reader.metresPerUnit ?? 1;
    if (from) {
      const ref = parseJobCrs(from, input.label);
      if (ref.horizontal?.kind === "geographic") {
        throw new ConversionError("InputData_Invalid", "Invalid input data", "The mesh %1 is in the geographic CRS %2 (degrees): a surface in degrees cannot be sampled in metres; give a projected inputCrs.", [input.label, shortCrs(from)]);
      }
      metresPerUnit = ref.horizontal?.unitToMeter ?? 1;
    }
    const b = input.reader.bounds;
    return { input, spacing: d / metresPerUnit, origin: [b[0], b[1], b[2]] };
  });
  const counts: { points: number; area: number; colour: boolean }[] = [];
  for (const plan of plans) counts.push(await countMesh(plan, ctx.signal));
  const colour = counts.some((c) => c.colour);
  const schema: PointSchema =
    normals === "columns"
      ? { columns: [...(colour ? (["red", "green", "blue"] as const) : []), "normalX", "normalY", "normalZ"], extra: [] }
      : { columns: colour ? ["red", "green", "blue"] : [], extra: NORMAL_EXTRA_BYTES.map((e) => ({ ...e })) };
  const missing: string[] = [];
  const transforms = plans.map((plan, i) => {
    const from = froms[i];
    if (!from) {
      if (outputCrs) throw new ConversionError("InputData_Invalid", "Invalid input data", "The mesh %1 has no CRS and no inputCrs was given: it cannot be reprojected to %2.", [plan.input.label, outputCrs]);
      if (target) missing.push(plan.input.label);
      return undefined;
    }
    return target ? transformBetween(from, target, plan.input.label, warn) : undefined;
  });
  const reprojected = transforms.some((t) => t !== undefined);
  // A step well below the spacing (a tenth), and no coarser than the CRS's usual millimetre.
  const finest = Math.min(...plans.map((p) => p.spacing));
  const crsScale = target ? scaleForCrs(target) : ([0.001, 0.001, 0.001] as [number, number, number]);
  const step = pow10Below(finest / 10);
  const scale: [number, number, number] = [Math.min(crsScale[0], step), Math.min(crsScale[1], step), Math.min(crsScale[2], step)];
  let quantisation: OutputSpec["quantisation"];
  if (!reprojected) {
    const b = new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
    for (const m of meshes) for (let a = 0; a < 3; a++) {
      b[a] = Math.min(b[a], m.reader.bounds[a]);
      b[a + 3] = Math.max(b[a + 3], m.reader.bounds[a + 3]);
    }
    quantisation = quantiseBounds(b, scale);
  }
  // Points come quantised as the writer stores them when nothing is reprojected (no re-quantising).
  const shape: ChunkShape = { colour, normals, quantisation };
  const parts: OutputPart[] = plans.map((plan, i) => {
    const from = froms[i];
    const points = counts[i].points;
    const source: PointSource = {
      file: plan.input.file,
      label: plan.input.label,
      baseName: stripExtension(plan.input.label),
      format: "Mesh",
      schema,
      extraBytes: normals === "extra" ? NORMAL_EXTRA_BYTES : [],
      crs: from,
      pointCount: points,
      estimatedCount: points,
      warnings: plan.input.warnings,
      chunks: (signal) => meshChunks(plan, shape, signal),
    };
    return from ? { source, transform: transforms[i], crs: from } : { source };
  });
  if (missing.length > 0) {
    ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "The meshes %1 have no CRS; they were merged as if in the CRS %2.", params: [missing.join(", "), shortCrs(target!)] });
  }
  const areaM2 = counts.reduce((s, c, i) => s + c.area * (d / plans[i].spacing) ** 2, 0);
  const pointCount = counts.reduce((s, c) => s + c.points, 0);
  return { parts, schema, crs: target, quantisation, scale: reprojected && target ? scaleForCrs(target) : scale, pointCount, areaM2, meshes };
}
