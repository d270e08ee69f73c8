/**
 * ContextSceneTiler, `objectToTile: TiePoints`: the scene's tie points (colour when given) as a 3D Tiles
 * 1.1 point-cloud tileset of GLB tiles, built by the LOD octree engine like a PointCloudConversion to
 * 3DTilesGlbc (every point kept once, additive refinement).
 *
 * - Tie points come from the scene document, or from the file its `<TiePoints><Path>` names (relative to
 *   the document's folder, or `<referenceId>:<path>` through the scene's references, within the same
 *   reality data); a missing file fails the job naming it. XML tie points (in the document or their own
 *   file) are streamed, never held whole: a first pass counts them and sees whether they have colours, the
 *   engine's passes read them again.
 * - CRS: the tie points' SRS (`inputCrs`, the SRS they name, the photo collection's); reprojected to
 *   `outputCrs` when given; the tileset placed on the globe (east-north-up frame) when the CRS is known,
 *   else in local coordinates with a warning. The output's CRS is `outputCrs` or the scene's SRS.
 */
import { resolveScenePath, streamTiePoints, DEFAULT_CHUNK_POINTS, type PointChunk, type PointSchema, type ScenePoints } from "@realconv/formats";
import { ConversionError, throwIfAborted, type InputFile, type RunnerContext } from "../../contract/runner.js";
import { optionCrs, transformBetween, wgs84Extent } from "../../pointcloud/crs.js";
import type { PointSource } from "../../pointcloud/sources.js";
import { writeTiled } from "../../pointcloud/tiled-output.js";
import { sceneCrs, type Options, type SceneInput } from "./scene-input.js";

/** The tie point file a scene names, among the reality data's files. */
function tiePointFile(input: SceneInput, path: string): InputFile {
  const { reference, path: relative } = resolveScenePath(input.scene, path);
  if (reference && /^rds:/i.test(reference)) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The tie points of %1 are in another reality data (%2): give them in the scene's own reality data.", [
      input.file.path,
      reference,
    ]);
  }
  const folder = input.file.path.includes("/") ? input.file.path.slice(0, input.file.path.lastIndexOf("/") + 1) : "";
  const clean = (p: string) => p.replace(/\\/g, "/").replace(/^\.\//, "");
  const base = reference ? `${folder}${clean(reference).replace(/\/?$/, "/")}`.replace(/^\.\//, "") : folder;
  const wanted = [clean(`${base}${clean(relative)}`), clean(relative)];
  const file: InputFile | undefined = wanted.map((w) => input.files.find((f) => f.path === w || f.path.toLowerCase() === w.toLowerCase())).find(Boolean);
  if (!file) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The tie point file %1 that %2 refers to is not in its reality data.", [path, input.file.path]);
  }
  return file;
}

function sourceOf(file: InputFile, schema: PointSchema, count: number, crs: string | undefined, chunks: (signal: AbortSignal) => AsyncIterable<PointChunk>): PointSource {
  return { file, label: file.path, baseName: "tiepoints", format: "ContextScene", schema, extraBytes: [], crs, pointCount: count, estimatedCount: count, warnings: [], chunks };
}

const RGB: PointSchema = { columns: ["red", "green", "blue"], extra: [] };
const XYZ: PointSchema = { columns: [], extra: [] };

/** A tie point file as a point source: streamed in batches on every pass, after a first pass that counts. */
async function streamedSource(ctx: RunnerContext<Options>, file: InputFile, crs: string | undefined): Promise<PointSource> {
  let count = 0;
  let colored = 0;
  for await (const b of streamTiePoints(file, DEFAULT_CHUNK_POINTS, ctx.signal)) {
    count += b.count;
    for (let i = 0; i < b.count; i++) colored += b.colored[i];
  }
  if (colored > 0 && colored < count) {
    ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "%1 of the %2 tie points of %3 have no colour; they are black.", params: [String(count - colored), String(count), file.path] });
  }
  return sourceOf(file, colored > 0 ? RGB : XYZ, count, crs, async function* (signal) {
    for await (const b of streamTiePoints(file, DEFAULT_CHUNK_POINTS, signal)) {
      const x = new Float64Array(b.count);
      const y = new Float64Array(b.count);
      const z = new Float64Array(b.count);
      for (let i = 0; i < b.count; i++) [x[i], y[i], z[i]] = [b.positions[i * 3], b.positions[i * 3 + 1], b.positions[i * 3 + 2]];
      const chunk: PointChunk = { count: b.count, positions: { kind: "f64", x, y, z } };
      if (colored > 0) {
        const [r, g, bl] = [new Uint16Array(b.count), new Uint16Array(b.count), new Uint16Array(b.count)];
        for (let i = 0; i < b.count; i++) [r[i], g[i], bl[i]] = [b.colors[i * 3], b.colors[i * 3 + 1], b.colors[i * 3 + 2]];
        Object.assign(chunk, { red: r, green: g, blue: bl });
      }
      yield chunk;
    }
  });
}

/** Tie points of the scene document as a point source: chunks of DEFAULT_CHUNK_POINTS, colours as 8-bit values. */
function inlineSource(file: InputFile, points: ScenePoints, crs: string | undefined): PointSource {
  const n = points.positions.length / 3;
  const colors = points.colors;
  return sourceOf(file, colors ? RGB : XYZ, n, crs, async function* (signal) {
    for (let start = 0; start < n; start += DEFAULT_CHUNK_POINTS) {
      throwIfAborted(signal);
      const count = Math.min(DEFAULT_CHUNK_POINTS, n - start);
      const x = new Float64Array(count);
      const y = new Float64Array(count);
      const z = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const at = (start + i) * 3;
        x[i] = points.positions[at];
        y[i] = points.positions[at + 1];
        z[i] = points.positions[at + 2];
      }
      const chunk: PointChunk = { count, positions: { kind: "f64", x, y, z } };
      if (colors) {
        const [r, g, b] = [new Uint16Array(count), new Uint16Array(count), new Uint16Array(count)];
        for (let i = 0; i < count; i++) {
          const at = (start + i) * 3;
          r[i] = colors[at];
          g[i] = colors[at + 1];
          b[i] = colors[at + 2];
        }
        Object.assign(chunk, { red: r, green: g, blue: b });
      }
      yield chunk;
    }
  });
}

export async function tileTiePoints(ctx: RunnerContext<Options>, input: SceneInput): Promise<void> {
  const label = input.file.path;
  const points = input.scene.tiePoints;
  const noTiePoints = () => new ConversionError("InputData_Invalid", "Invalid input data", "The ContextScene %1 has no tie points to tile.", [label]);
  if (!points || (!points.path && !points.inDocument && points.positions.length === 0)) throw noTiePoints();
  const crs = sceneCrs(ctx, input.scene, points.srsId);
  const outputCrs = optionCrs(ctx.options, "outputCrs");
  if (outputCrs && !crs) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "outputCrs %1 needs the SRS of the tie points, and %2 gives none: give inputCrs.", [outputCrs, label]);
  }
  const transform = crs && outputCrs ? transformBetween(crs, outputCrs, label, (m) => ctx.warn(m)) : undefined;
  // XML tie points are streamed from their file, the scene document's own or the one it names.
  const streamed = points.path ? tiePointFile(input, points.path) : points.inDocument ? input.file : undefined;
  const source = streamed ? await streamedSource(ctx, streamed, crs) : inlineSource(input.file, points, crs);
  const n = source.pointCount ?? 0;
  if (n === 0) throw noTiePoints();
  const target = outputCrs ?? crs;
  ctx.progress(5);
  const { bounds, count } = await writeTiled(
    ctx,
    { path: "tileset.json", format: "3DTilesGlbc", parts: [{ source, transform, crs }], schema: source.schema, extraBytes: [], crs: target, name: "tiepoints" },
    (f) => ctx.progress(Math.min(99, 5 + Math.floor(94 * f))),
  );
  throwIfAborted(ctx.signal);
  if (count !== n) throw new Error(`the octree holds ${count} of ${n} tie points`);
  ctx.output.setRootDocument("tileset.json");
  if (target) {
    ctx.output.setCrs(target);
    const extent = wgs84Extent(bounds, target);
    if (extent) ctx.output.setExtent(extent);
  }
  ctx.progress(100);
}
