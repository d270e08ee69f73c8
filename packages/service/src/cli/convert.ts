/**
 * `realconv convert`: one conversion on local files with the service's runners, no server.
 * Options go through the same validation as the API, so what works here works in a job.
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { extname } from "node:path";
import { findRunner, localInputDataset, localOutputSink, type InputDataset, type JobMessage } from "@realconv/convert";
import { parseJobCreation } from "../domain/specifications.js";
import { ApiError } from "../domain/errors.js";
import { failureMessage } from "../worker/host.js";

const INPUT_KEY: Record<string, string> = {
  PointCloudConversion: "pointCloud",
  PointCloudOptimization: "pointClouds",
  MeshSampling: "meshes",
  TileMapOptimization: "tileMaps",
  VectorOptimization: "vectors",
  ContextSceneTiler: "scene",
};

const TYPE_BY_EXTENSION: Record<string, string> = {
  ".las": "LAS",
  ".laz": "LAZ",
  ".e57": "E57",
  ".ply": "PLY",
  ".opc": "OPC",
  ".pod": "PointCloud",
  ".obj": "OBJ",
  ".glb": "GLB",
  ".gltf": "GLTF",
  ".geojson": "GeoJSON",
  ".json": "GeoJSON",
  ".shp": "SHP",
  ".kml": "KML",
  ".tif": "Orthophoto",
  ".tiff": "Orthophoto",
  ".jpg": "Orthophoto",
  ".xml": "ContextScene",
};

export interface ConvertOptions {
  output: string;
  format: string;
  inputType?: string;
  inputCrs?: string;
  outputCrs?: string;
  sampling?: number;
  topLevel?: number;
  bottomLevel?: number;
  imageFormat?: string;
  jpgQuality?: number;
  backgroundColor?: string;
  featureClassDisplayName?: string;
  objectToTile?: string;
}

function render(m: JobMessage): string {
  return m.message.replace(/%(\d+)/g, (_, i: string) => m.params[Number(i) - 1] ?? "");
}

export async function convertLocally(type: string, paths: string[], opts: ConvertOptions): Promise<number> {
  const canonicalType = Object.keys(INPUT_KEY).find((t) => t.toLowerCase() === type.toLowerCase());
  if (!canonicalType) {
    console.error(`realconv: unknown job type '${type}' (one of ${Object.keys(INPUT_KEY).join(", ")})`);
    return 1;
  }
  const key = INPUT_KEY[canonicalType];
  const ids = paths.map(() => randomUUID());
  const single = key === "pointCloud" || key === "scene";
  const options: Record<string, unknown> = {
    outputFormat: opts.format,
    inputCrs: opts.inputCrs,
    outputCrs: opts.outputCrs,
    sampling: opts.sampling,
    topLevel: opts.topLevel,
    bottomLevel: opts.bottomLevel,
    imageFormat: opts.imageFormat,
    jpgQuality: opts.jpgQuality,
    backgroundColor: opts.backgroundColor,
    featureClassDisplayName: opts.featureClassDisplayName,
    objectToTile: opts.objectToTile,
  };
  for (const k of Object.keys(options)) if (options[k] === undefined) delete options[k];
  if (canonicalType === "ContextSceneTiler") delete options.outputFormat;

  let creation;
  try {
    creation = parseJobCreation({
      type: canonicalType,
      iTwinId: "00000000-0000-0000-0000-000000000000",
      specifications: { inputs: { [key]: single && ids.length === 1 ? ids[0] : ids }, options },
    });
  } catch (e) {
    if (e instanceof ApiError) {
      console.error(`realconv: ${(e.details ?? []).map((d) => `${d.target ?? ""}: ${d.message}`).join("; ") || e.message}`);
      return 1;
    }
    throw e;
  }
  const runner = findRunner(creation.type, creation.outputFormat);
  if (!runner) {
    console.error(`realconv: ${creation.type} to ${creation.outputFormat ?? "(no format)"} is not supported yet`);
    return 1;
  }
  const datasets: InputDataset[] = [];
  for (const p of paths) {
    const t = opts.inputType ?? TYPE_BY_EXTENSION[extname(p).toLowerCase()] ?? "Unstructured";
    datasets.push(await localInputDataset(p, t));
  }
  await mkdir(opts.output, { recursive: true });
  const sink = localOutputSink(opts.output);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort(new Error("interrupted")));
  const tty = process.stderr.isTTY === true;
  let shown = -1;
  const started = Date.now();
  try {
    await runner.run({
      jobId: "local",
      type: creation.type,
      options: creation.options,
      inputs: { [Object.keys(creation.inputs)[0]]: datasets },
      output: sink,
      progress: (pct) => {
        const p = Math.floor(Math.max(0, Math.min(100, pct)));
        if (!tty || p === shown) return;
        shown = p;
        const bar = "#".repeat(Math.round(p / 4)).padEnd(25, " ");
        process.stderr.write(`\r[${bar}] ${String(p).padStart(3)}%`);
      },
      warn: (m) => {
        process.stderr.write(`${tty ? "\n" : ""}warning: ${render(m)}\n`);
      },
      signal: controller.signal,
    });
  } catch (e) {
    if (tty) process.stderr.write("\n");
    console.error(`realconv: ${render(failureMessage(e))}`);
    return 1;
  }
  if (tty) process.stderr.write(`\r[${"#".repeat(25)}] 100%\n`);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`wrote ${sink.files.length} file(s) to ${opts.output} in ${secs} s${sink.rootDocument ? ` (root document ${sink.rootDocument})` : ""}`);
  for (const f of sink.files) console.log(`  ${f}`);
  return 0;
}
