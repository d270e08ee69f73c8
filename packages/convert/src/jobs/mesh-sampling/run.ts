/**
 * MeshSampling: every input mesh sampled at `sampling` metres (../../mesh/cloud.ts, method in
 * ../../mesh/sampler.ts) and merged into one cloud: `merged.<ext>` through the point-cloud writers (LAS, LAZ,
 * E57), or one octree through the tiling engine (`merged.copc.laz`, `merged.opc`, `tileset.json`), as
 * PointCloudOptimization writes them.
 * Colours come from the textures (bilinear), else the vertex colours, else the material colours; normals from
 * the surface (E57 stores them as normals, LAS/LAZ as the NormalX/NormalY/NormalZ extra bytes PDAL uses).
 * The points are made as they are written, chunk by chunk; every pass samples the meshes again.
 */
import type { RunnerOptions } from "../../contract/declaration.js";
import { ConversionError, throwIfAborted, type Extent, type Runner, type RunnerContext } from "../../contract/runner.js";
import { NORMAL_EXTRA_BYTES, openMeshCloud } from "../../mesh/cloud.js";
import { wgs84Extent } from "../../pointcloud/crs.js";
import { EXTENSION, passesOf, Progress, writePointCloud, type OutputSpec, type PointCloudFormat } from "../../pointcloud/output.js";
import { writeTiled, type TiledFormat } from "../../pointcloud/tiled-output.js";
import type { meshSampling } from "./declaration.js";

type MeshSamplingRunOptions = RunnerOptions<typeof meshSampling>;

const TILED_PATH: Record<TiledFormat, string> = { COPC: "merged.copc.laz", OPC: "merged.opc", "3DTilesPnts": "tileset.json", "3DTilesGlbc": "tileset.json" };

function outputFormat(ctx: RunnerContext<MeshSamplingRunOptions>): PointCloudFormat | TiledFormat {
  const f = ctx.options.outputFormat;
  if (f === "LAS" || f === "LAZ" || f === "E57" || f in TILED_PATH) return f as PointCloudFormat | TiledFormat;
  throw new ConversionError("UnsupportedFormat", "Unsupported format", "outputFormat %1 is not produced by this runner.", [f]);
}

export const runMeshSampling: Runner<MeshSamplingRunOptions> = async (ctx) => {
  const format = outputFormat(ctx);
  // LAS has no normal fields: they go to extra bytes.
  const cloud = await openMeshCloud(ctx, format === "E57" ? "columns" : "extra");
  for (const m of cloud.meshes) for (const w of m.warnings) ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "%1", params: [w] });
  const { schema, parts } = cloud;
  if (cloud.pointCount === 0) {
    ctx.warn({
      code: "InputData_Warning",
      title: "Input data warning",
      message: "Sampling %1 every %2 m gives no point (surface %3 m²); the output is empty.",
      params: [cloud.meshes.map((m) => m.label).join(", "), String(ctx.options.sampling), cloud.areaM2.toPrecision(3)],
    });
  }
  const tiled = format in TILED_PATH ? (format as TiledFormat) : undefined;
  const spec: OutputSpec = {
    path: tiled ? TILED_PATH[tiled] : `merged.${EXTENSION[format as PointCloudFormat]}`,
    format: tiled ? "LAS" : (format as PointCloudFormat),
    parts,
    schema,
    extraBytes: format === "E57" ? [] : NORMAL_EXTRA_BYTES,
    las: { minorVersion: 2 },
    quantisation: cloud.quantisation,
    scale: cloud.scale,
    crs: cloud.crs,
    scanName: "merged",
  };
  throwIfAborted(ctx.signal);
  if (tiled) {
    const { bounds } = await writeTiled(ctx, { ...spec, format: tiled, name: "mesh" }, (f) => ctx.progress(Math.min(99, Math.floor(100 * f))));
    throwIfAborted(ctx.signal);
    warnTextureFailures(ctx, cloud.meshes);
    ctx.output.setRootDocument(spec.path);
    if (spec.crs) {
      ctx.output.setCrs(spec.crs);
      const extent = cloud.pointCount > 0 ? wgs84Extent(bounds, spec.crs) : undefined;
      if (extent) ctx.output.setExtent(extent);
    }
    ctx.progress(100);
    return;
  }
  const progress = new Progress((p) => ctx.progress(p));
  for (const part of spec.parts) progress.expect(part.source, passesOf(spec));
  const { partBounds } = await writePointCloud(ctx, spec, progress);
  warnTextureFailures(ctx, cloud.meshes);
  ctx.output.setRootDocument(spec.path);
  if (spec.crs) {
    ctx.output.setCrs(spec.crs);
    let extent: Extent | undefined;
    spec.parts.forEach((part, i) => {
      const b = partBounds[i];
      const crs = part.transform ? part.crs : spec.crs;
      const e = b && crs ? wgs84Extent(b, crs) : undefined;
      if (!e) return;
      extent = extent
        ? {
            southWest: { latitude: Math.min(extent.southWest.latitude, e.southWest.latitude), longitude: Math.min(extent.southWest.longitude, e.southWest.longitude) },
            northEast: { latitude: Math.max(extent.northEast.latitude, e.northEast.latitude), longitude: Math.max(extent.northEast.longitude, e.northEast.longitude) },
          }
        : e;
    });
    if (extent) ctx.output.setExtent(extent);
  }
  ctx.progress(100);
};

function warnTextureFailures(ctx: RunnerContext<MeshSamplingRunOptions>, meshes: Awaited<ReturnType<typeof openMeshCloud>>["meshes"]): void {
  for (const m of meshes) {
    for (const f of m.textures.failures) ctx.warn({ code: "InputData_Warning", title: "Input data warning", message: "%1: %2", params: [m.label, f] });
  }
}
