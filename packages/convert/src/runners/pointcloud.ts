/**
 * PointCloudConversion and PointCloudOptimization to LAS.
 *
 * - Conversion (`pointCloud`): one output .las per input file, named after it (LAS -> LAS keeps the
 *   source's format, scale and offset, so the records are bit-exact).
 * - Optimization (`pointClouds`): every file of every dataset merged into one `merged.las`, on a common
 *   quantisation (see ../pointcloud/merge.ts).
 *
 * Streaming: the LAS header (counts, bounds) comes first but depends on every point, so each output is
 * produced in two passes over its inputs (pass 1 measures, pass 2 encodes; `writeLasStream`). Memory is
 * one chunk plus headers whatever the input size; progress counts points of both passes.
 */
import {
  writeLasStream,
  type LasReader,
  type LasWriterOptions,
  type PointChunk,
} from "@realconv/formats";
import type { RunnerEntry } from "../registry.js";
import { ConversionError, throwIfAborted, type RunnerContext } from "../runner.js";
import { effectiveCrs, sameCrs } from "../pointcloud/crs.js";
import { commonQuantisation, mergeSchemas } from "../pointcloud/merge.js";
import { openPointCloudInputs, type PointCloudInput } from "../pointcloud/inputs.js";

/** Waveform formats are written without their wave packets (the waveform data is not carried over). */
const WITHOUT_WAVEFORM: Record<number, number> = { 4: 1, 5: 3, 9: 6, 10: 8 };

/** Monotone progress by points done over both passes of every output. */
class Progress {
  private done = 0;
  private last = -1;
  constructor(
    private readonly ctx: RunnerContext,
    private readonly total: number,
  ) {}
  add(n: number): void {
    this.done += n;
    const pct = this.total > 0 ? Math.min(99, Math.floor((100 * this.done) / this.total)) : 99;
    if (pct > this.last) {
      this.last = pct;
      this.ctx.progress(pct);
    }
  }
}

async function* tracked(reader: LasReader, ctx: RunnerContext, progress: Progress): AsyncIterable<PointChunk> {
  for await (const chunk of reader.chunks(ctx.signal)) {
    throwIfAborted(ctx.signal);
    yield chunk;
    progress.add(chunk.count);
  }
}

function warnAll(ctx: RunnerContext, inputs: readonly PointCloudInput[]): void {
  for (const { reader } of inputs) {
    for (const w of reader.warnings) ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "%1", params: [w] });
  }
}

/** Output path for an input file: same folder and base name, `.las` extension, unique in the output. */
function outputPath(input: string, used: Set<string>): string {
  const base = input.replace(/\\/g, "/").replace(/^\/+/, "").replace(/\.[^./]*$/, "") || "pointcloud";
  let path = `${base}.las`;
  for (let k = 2; used.has(path.toLowerCase()); k++) path = `${base}_${k}.las`;
  used.add(path.toLowerCase());
  return path;
}

function writerOptionsFor(reader: LasReader, crs: string | undefined): LasWriterOptions {
  const h = reader.header;
  const pdrf = WITHOUT_WAVEFORM[h.pdrf] ?? h.pdrf;
  return {
    schema: reader.schema,
    pdrf,
    minorVersion: Math.max(2, h.versionMinor),
    scale: h.scale,
    offset: h.offset,
    crs,
    extraBytes: reader.extraBytes.map((e) => ({ name: e.name, type: e.type, scale: e.scale, valueOffset: e.valueOffset, noData: e.noData, description: e.description })),
    gpsTimeStandard: (h.globalEncoding & 1) === 1,
    fileSourceId: h.fileSourceId,
    systemIdentifier: h.systemIdentifier || undefined,
  };
}

function setCrsAndExtent(ctx: RunnerContext, crs: string | undefined, readers: readonly LasReader[]): void {
  if (!crs) return;
  ctx.output.setCrs(crs);
  // Geographic WGS 84 coordinates are already the extent; other CRSs need a reprojection (not available yet).
  if (/^EPSG:4326$/i.test(crs.trim())) {
    let s = Infinity, w = Infinity, n = -Infinity, e = -Infinity;
    for (const r of readers) {
      if (r.pointCount === 0) continue;
      const b = r.header.bounds;
      w = Math.min(w, b[0]);
      s = Math.min(s, b[1]);
      e = Math.max(e, b[3]);
      n = Math.max(n, b[4]);
    }
    if (Number.isFinite(s)) ctx.output.setExtent({ southWest: { latitude: s, longitude: w }, northEast: { latitude: n, longitude: e } });
  }
}

async function runConversion(ctx: RunnerContext): Promise<void> {
  const datasets = ctx.inputs.pointCloud ?? ctx.inputs.pointClouds ?? [];
  const inputs = await openPointCloudInputs(datasets, ctx.signal);
  const crsOf = inputs.map(({ file, reader }) => effectiveCrs(reader.crs, ctx.options, file.path || file.name));
  warnAll(ctx, inputs);
  const progress = new Progress(ctx, 2 * inputs.reduce((n, i) => n + i.reader.pointCount, 0));
  const used = new Set<string>();
  const paths: string[] = [];
  for (let i = 0; i < inputs.length; i++) {
    throwIfAborted(ctx.signal);
    const { file, reader } = inputs[i];
    const path = outputPath(file.path || file.name, used);
    paths.push(path);
    const stream = writeLasStream(writerOptionsFor(reader, crsOf[i]), () => tracked(reader, ctx, progress));
    await ctx.output.write(path, stream, ctx.signal);
  }
  throwIfAborted(ctx.signal);
  ctx.output.setRootDocument(paths[0]);
  setCrsAndExtent(ctx, crsOf.find((c) => c !== undefined), inputs.map((i) => i.reader));
  ctx.progress(100);
}

/** The one CRS of merged inputs; files without a CRS take the others'. Different CRSs cannot be merged yet. */
function mergedCrs(ctx: RunnerContext, inputs: readonly PointCloudInput[]): string | undefined {
  let crs: string | undefined;
  let from = "";
  const missing: string[] = [];
  for (const { file, reader } of inputs) {
    const name = file.path || file.name;
    const c = effectiveCrs(reader.crs, ctx.options, name);
    if (!c) {
      missing.push(name);
      continue;
    }
    if (crs === undefined) {
      crs = c;
      from = name;
    } else if (!sameCrs(crs, c)) {
      throw new ConversionError(
        "InputData_Invalid",
        "Invalid input data",
        "The files %1 and %2 have different coordinate reference systems; merging them needs a reprojection, which is not available yet.",
        [from, name],
      );
    }
  }
  if (crs && missing.length > 0) {
    ctx.warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "The files %1 have no CRS; they were merged as if in the CRS of %2.",
      params: [missing.join(", "), from],
    });
  }
  return crs;
}

async function runOptimization(ctx: RunnerContext): Promise<void> {
  const datasets = ctx.inputs.pointClouds ?? ctx.inputs.pointCloud ?? [];
  const inputs = await openPointCloudInputs(datasets, ctx.signal);
  const crs = mergedCrs(ctx, inputs);
  warnAll(ctx, inputs);
  const readers = inputs.map((i) => i.reader);
  const { schema, extraBytes } = mergeSchemas(readers);
  const q = commonQuantisation(readers);
  if (q.inexact.length > 0 || q.coarsened) {
    ctx.warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "The files %1 were re-quantised to the common scale %2 and offset %3; their coordinates may move by up to half a step.",
      params: [q.inexact.join(", ") || "(all)", q.scale.join(" "), q.offset.join(" ")],
    });
  }
  const progress = new Progress(ctx, 2 * readers.reduce((n, r) => n + r.pointCount, 0));
  const extended = readers.some((r) => r.header.versionMinor >= 4);
  const options: LasWriterOptions = {
    schema,
    minorVersion: extended ? 4 : 2,
    scale: q.scale,
    offset: q.offset,
    crs,
    extraBytes,
    gpsTimeStandard: readers.every((r) => (r.header.globalEncoding & 1) === 1),
  };
  const all = async function* (): AsyncIterable<PointChunk> {
    for (const r of readers) yield* tracked(r, ctx, progress);
  };
  const path = "merged.las";
  await ctx.output.write(path, writeLasStream(options, all), ctx.signal);
  throwIfAborted(ctx.signal);
  ctx.output.setRootDocument(path);
  setCrsAndExtent(ctx, crs, readers);
  ctx.progress(100);
}

/** PointCloudConversion / PointCloudOptimization runners producing LAS. */
export const pointCloudRunners: RunnerEntry[] = [
  { type: "PointCloudConversion", outputFormats: ["LAS"], run: runConversion },
  { type: "PointCloudOptimization", outputFormats: ["LAS"], run: runOptimization },
];
