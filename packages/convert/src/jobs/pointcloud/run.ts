/**
 * PointCloudConversion and PointCloudOptimization to LAS, LAZ or E57.
 *
 * Inputs are recognised by content (../pointcloud/sources.ts): LAS, LAZ (COPC included), E57 (each scan),
 * PLY, PTS, XYZ/TXT, whatever the reality data's declared type.
 * - Conversion (`pointCloud`): one output per input file, named after it (`<file>.<ext>`), and one per
 *   scan for E57 inputs (`<file>-<scan name or index>.<ext>`). LAS/LAZ -> LAS/LAZ without reprojection
 *   keeps the source's record format, scale and offset, so the integer positions are bit-exact.
 * - Optimization (`pointClouds`): every source of every dataset merged into one `merged.<ext>` (one E57
 *   scan), on a common quantisation; inputs in other CRSs are reprojected to the output CRS (`outputCrs`,
 *   else the first input's).
 * CRS: `inputCrs` overrides the files' CRS (with a warning when they differ); `outputCrs` reprojects every
 * point. Memory is bounded by one chunk whatever the input size (../pointcloud/output.ts).
 */
import type { ColumnName, LasReader } from "@realconv/formats";
import type { RunnerOptions } from "../../contract/declaration.js";
import { ConversionError, throwIfAborted, type Extent, type JobMessage, type Runner, type RunnerContext } from "../../contract/runner.js";
import { optionCrs, sameCrs, scaleForCrs, shortCrs, sourceCrs, transformBetween, wgs84Extent } from "../../pointcloud/crs.js";
import { commonQuantisation, mergeSchemas } from "../../pointcloud/merge.js";
import { openPointSources, type PointSource } from "../../pointcloud/sources.js";
import { EXTENSION, passesOf, Progress, writePointCloud, type OutputPart, type OutputSpec, type PointCloudFormat } from "../../pointcloud/output.js";
import { writeTiled, type TiledFormat, type TiledSpec } from "../../pointcloud/tiled-output.js";
import type { pointCloudConversion, pointCloudOptimization } from "./declaration.js";

type ConversionOptions = RunnerOptions<typeof pointCloudConversion>;
type OptimizationOptions = RunnerOptions<typeof pointCloudOptimization>;

/** Waveform formats are written without their wave packets (the waveform data is not carried over). */
const WITHOUT_WAVEFORM: Record<number, number> = { 4: 1, 5: 3, 9: 6, 10: 8 };

/** The formats these runners write (the registry entry lists them, so a job asks only for these). */
function outputFormat(ctx: RunnerContext<ConversionOptions | OptimizationOptions>): PointCloudFormat | TiledFormat {
  const f = ctx.options.outputFormat;
  if (f === "LAS" || f === "LAZ" || f === "E57" || f === "COPC" || f === "OPC" || f === "3DTilesPnts" || f === "3DTilesGlbc") return f;
  throw new ConversionError("UnsupportedFormat", "Unsupported format", "outputFormat %1 is not produced by this runner.", [f]);
}

function warnSources(ctx: RunnerContext, sources: readonly PointSource[]): void {
  const seen = new Set<readonly string[]>();
  for (const s of sources) {
    // E57 scans share their file's warning list: report it once.
    if (seen.has(s.warnings)) continue;
    seen.add(s.warnings);
    for (const w of s.warnings) ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "%1", params: [w] });
  }
}

/** Output path from a base name: the format's extension, unique in the output (case-insensitively). */
const TILED_EXTENSION: Record<TiledFormat, string> = { COPC: "copc.laz", OPC: "opc", "3DTilesPnts": "json", "3DTilesGlbc": "json" };

function isTiled(format: PointCloudFormat | TiledFormat): format is TiledFormat {
  return format === "COPC" || format === "OPC" || format === "3DTilesPnts" || format === "3DTilesGlbc";
}

/** A tileset's root document: `tileset.json` at the root for one output, else `<base>/tileset.json`. */
function tilesetPath(base: string, single: boolean, used: Set<string>): string {
  let path = single ? "tileset.json" : `${base}/tileset.json`;
  for (let k = 2; used.has(path.toLowerCase()); k++) path = `${base}_${k}/tileset.json`;
  used.add(path.toLowerCase());
  return path;
}

function uniquePath(base: string, format: PointCloudFormat | TiledFormat, used: Set<string>): string {
  const ext = isTiled(format) ? TILED_EXTENSION[format] : EXTENSION[format];
  let path = `${base}.${ext}`;
  for (let k = 2; used.has(path.toLowerCase()); k++) path = `${base}_${k}.${ext}`;
  used.add(path.toLowerCase());
  return path;
}

/** LAS header fields kept from a LAS/LAZ source (record format without waveform; LAZ 0-3 as LAS 1.2). */
function lasFieldsOf(reader: LasReader, format: PointCloudFormat): OutputSpec["las"] {
  const h = reader.header;
  const pdrf = WITHOUT_WAVEFORM[h.pdrf] ?? h.pdrf;
  return {
    pdrf,
    minorVersion: format === "LAZ" && pdrf <= 3 ? 2 : Math.max(2, h.versionMinor),
    gpsTimeStandard: (h.globalEncoding & 1) === 1,
    fileSourceId: h.fileSourceId,
    systemIdentifier: h.systemIdentifier || undefined,
  };
}

function unionExtent(a: Extent | undefined, b: Extent | undefined): Extent | undefined {
  if (!a || !b) return a ?? b;
  return {
    southWest: { latitude: Math.min(a.southWest.latitude, b.southWest.latitude), longitude: Math.min(a.southWest.longitude, b.southWest.longitude) },
    northEast: { latitude: Math.max(a.northEast.latitude, b.northEast.latitude), longitude: Math.max(a.northEast.longitude, b.northEast.longitude) },
  };
}

function noCrs(label: string, outputCrs: string): ConversionError {
  return new ConversionError(
    "InputData_Invalid",
    "Invalid input data",
    "The file %1 has no CRS and no inputCrs was given: it cannot be reprojected to %2.",
    [label, outputCrs],
  );
}

/** Columns each output format has no place for (see the LAS writer's record formats and the E57 writer's fields). */
const NOT_STORED: Record<PointCloudFormat, readonly ColumnName[]> = {
  LAS: ["normalX", "normalY", "normalZ"],
  LAZ: ["normalX", "normalY", "normalZ"],
  E57: ["scanFlags", "classificationFlags", "scanAngle", "userData", "pointSourceId", "scannerChannel", "nir"],
};

async function writeAll(ctx: RunnerContext<ConversionOptions | OptimizationOptions>, specs: OutputSpec[], sources: readonly PointSource[]): Promise<void> {
  for (const spec of specs) {
    const dropped = spec.schema.columns.filter((c) => NOT_STORED[spec.format].includes(c));
    if (dropped.length > 0) {
      ctx.warn({
        code: "InputData_Warning",
        title: "Input data warning",
        message: "%1 cannot store the attributes %2 of %3; they were left out.",
        params: [spec.format, dropped.join(", "), spec.parts.map((p) => p.source.label).join(", ")],
      });
    }
  }
  const progress = new Progress((p) => ctx.progress(p));
  for (const spec of specs) for (const part of spec.parts) progress.expect(part.source, passesOf(spec));
  let extent: Extent | undefined;
  for (const spec of specs) {
    throwIfAborted(ctx.signal);
    const { partBounds } = await writePointCloud(ctx, spec, progress);
    // Each part's extent from its own coordinates: tighter than the output's box when that is geocentric.
    spec.parts.forEach((part, i) => {
      const crs = part.transform ? part.crs : spec.crs;
      const b = partBounds[i];
      if (b && crs) extent = unionExtent(extent, wgs84Extent(b, crs));
    });
  }
  throwIfAborted(ctx.signal);
  warnSources(ctx, sources);
  ctx.output.setRootDocument(specs[0].path);
  const crs = specs.find((s) => s.crs !== undefined)?.crs;
  if (crs) ctx.output.setCrs(crs);
  if (extent) ctx.output.setExtent(extent);
  ctx.progress(100);
}

/** Tiled outputs (COPC, OPC): one octree per output, built by the tiling engine. */
async function writeAllTiled(ctx: RunnerContext<ConversionOptions | OptimizationOptions>, specs: OutputSpec[], format: TiledFormat, sources: readonly PointSource[]): Promise<void> {
  const total = specs.length;
  let extent: Extent | undefined;
  let done = 0;
  for (const spec of specs) {
    throwIfAborted(ctx.signal);
    const tiled: TiledSpec = { ...spec, format, name: `tree-${done}` };
    const { bounds, count } = await writeTiled(ctx, tiled, (f) => ctx.progress(Math.min(99, Math.floor((100 * (done + f)) / total))));
    done++;
    if (count > 0 && spec.crs) {
      // The extent from each source's own coordinates when reprojected (tighter than a geocentric box).
      for (const part of spec.parts) {
        if (part.transform && part.crs && part.source.las) extent = unionExtent(extent, wgs84Extent(part.source.las.header.bounds, part.crs));
      }
      if (!spec.parts.some((p) => p.transform)) extent = unionExtent(extent, wgs84Extent(bounds, spec.crs));
    }
  }
  throwIfAborted(ctx.signal);
  warnSources(ctx, sources);
  ctx.output.setRootDocument(specs[0].path);
  const crs = specs.find((s) => s.crs !== undefined)?.crs;
  if (crs) ctx.output.setCrs(crs);
  if (extent) ctx.output.setExtent(extent);
  ctx.progress(100);
}

/** Output fields of a LAS source for a tiled output (COPC is LAS 1.4; OPC takes none of them). */
function lasFieldsTiled(reader: LasReader): OutputSpec["las"] {
  return { minorVersion: 4, gpsTimeStandard: (reader.header.globalEncoding & 1) === 1, fileSourceId: reader.header.fileSourceId };
}

export const runConversion: Runner<ConversionOptions> = async (ctx) => {
  const format = outputFormat(ctx);
  const warn = (m: JobMessage) => ctx.warn(m);
  const sources = await openPointSources(ctx.inputs.pointCloud ?? [], ctx.signal, ctx.resources.threads);
  const outputCrs = optionCrs(ctx.options, "outputCrs");
  const used = new Set<string>();
  const specs = sources.map((source): OutputSpec => {
    const from = sourceCrs(source.crs, ctx.options, source.label, warn);
    let transform;
    let crs = from;
    if (outputCrs) {
      if (!from) throw noCrs(source.label, outputCrs);
      transform = transformBetween(from, outputCrs, source.label, warn);
      // The same CRS keeps the file's own spelling (WKT stays WKT).
      if (transform || !sameCrs(from, outputCrs)) crs = outputCrs;
    }
    const las = source.las;
    return {
      path: format === "3DTilesPnts" || format === "3DTilesGlbc" ? tilesetPath(source.baseName, sources.length === 1, used) : uniquePath(source.baseName, format, used),
      format: isTiled(format) ? "LAS" : format,
      parts: [{ source, transform, crs: from }],
      schema: source.schema,
      extraBytes: [...source.extraBytes],
      las: las ? (isTiled(format) ? lasFieldsTiled(las) : lasFieldsOf(las, format)) : {},
      // LAS/LAZ in the same CRS: the source's integers are kept as they are (bit-exact).
      quantisation: las && !transform ? { scale: las.header.scale, offset: las.header.offset } : undefined,
      scale: transform && crs ? scaleForCrs(crs) : undefined,
      crs,
      scanName: source.baseName.split("/").pop() ?? source.baseName,
    };
  });
  if (isTiled(format)) await writeAllTiled(ctx, specs, format, sources);
  else await writeAll(ctx, specs, sources);
};

export const runOptimization: Runner<OptimizationOptions> = async (ctx) => {
  const format = outputFormat(ctx);
  const warn = (m: JobMessage) => ctx.warn(m);
  const sources = await openPointSources(ctx.inputs.pointClouds ?? [], ctx.signal, ctx.resources.threads);
  const outputCrs = optionCrs(ctx.options, "outputCrs");
  const froms = sources.map((s) => sourceCrs(s.crs, ctx.options, s.label, warn));
  const firstKnown = froms.findIndex((c) => c !== undefined);
  // One CRS for the merged cloud: outputCrs, else the first input's; the others are reprojected to it.
  const target = outputCrs ?? (firstKnown >= 0 ? froms[firstKnown] : undefined);
  const missing: string[] = [];
  const parts: OutputPart[] = sources.map((source, i) => {
    const from = froms[i];
    if (!from) {
      if (outputCrs) throw noCrs(source.label, outputCrs);
      missing.push(source.label);
      return { source };
    }
    return { source, transform: target ? transformBetween(from, target, source.label, warn) : undefined, crs: from };
  });
  if (target && missing.length > 0) {
    ctx.warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "The files %1 have no CRS; they were merged as if in the CRS %2.",
      params: [missing.join(", "), shortCrs(target)],
    });
  }
  const reprojected = parts.some((p) => p.transform);
  const readers = sources.map((s) => s.las).filter((r): r is LasReader => r !== undefined);
  const allLas = readers.length === sources.length;
  const { schema, extraBytes } = mergeSchemas(sources);
  let quantisation: OutputSpec["quantisation"];
  if (allLas && !reprojected) {
    const q = commonQuantisation(readers);
    if (q.inexact.length > 0 || q.coarsened) {
      ctx.warn({
        code: "InputData_Warning",
        title: "Input data warning",
        message: "The files %1 were re-quantised to the common scale %2 and offset %3; their coordinates may move by up to half a step.",
        params: [q.inexact.join(", ") || "(all)", q.scale.join(" "), q.offset.join(" ")],
      });
    }
    quantisation = { scale: q.scale, offset: q.offset };
  }
  const extended = readers.some((r) => r.header.versionMinor >= 4);
  const spec: OutputSpec = {
    path: format === "3DTilesPnts" || format === "3DTilesGlbc" ? "tileset.json" : `merged.${isTiled(format) ? TILED_EXTENSION[format] : EXTENSION[format]}`,
    format: isTiled(format) ? "LAS" : format,
    parts,
    schema,
    extraBytes,
    las: {
      minorVersion: extended ? 4 : 2,
      gpsTimeStandard: readers.length > 0 && readers.every((r) => (r.header.globalEncoding & 1) === 1),
    },
    quantisation,
    // Reprojected points get a step suited to the CRS unit; otherwise the finest LAS input scale is kept.
    scale: reprojected && target ? scaleForCrs(target) : finestScale(readers),
    crs: target,
    scanName: "merged",
  };
  if (isTiled(format)) await writeAllTiled(ctx, [spec], format, sources);
  else await writeAll(ctx, [spec], sources);
};

function finestScale(readers: readonly LasReader[]): [number, number, number] | undefined {
  if (readers.length === 0) return undefined;
  const s: [number, number, number] = [Infinity, Infinity, Infinity];
  for (const r of readers) for (let a = 0; a < 3; a++) s[a] = Math.min(s[a], Math.abs(r.header.scale[a]));
  return s;
}
