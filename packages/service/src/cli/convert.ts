/**
 * `realconv convert`: one conversion on local files with the service's runners, no server. Its flags and
 * help come from the job types' declarations, and options go through the API's validation, so what works
 * here works in a job.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  createLazPool,
  createScratch,
  declarations,
  entryProduces,
  failureMessage,
  findRunner,
  formatsOf,
  localInputDataset,
  localOutputSink,
  optionFlag,
  registry,
  renderMessage,
  runJob,
  sweepScratch,
  type InputDataset,
  type JobParts,
  type JobTypeDeclaration,
  type JsonValue,
  type OptionDeclaration,
} from "@realconv/convert";
import { loadConfig } from "../config.js";
import { parseJobCreation } from "../domain/specifications.js";
import { ApiError } from "../domain/errors.js";
import { progressBar } from "./progress.js";

/** Reality data type of a local input, from its extension (`--input-type` overrides it). */
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
  ".jpeg": "Orthophoto",
  ".png": "Orthophoto",
  ".xml": "ContextScene",
};

function parserOf(decl: OptionDeclaration): ((v: string) => unknown) | undefined {
  if (decl.kind !== "integer" && decl.kind !== "number") return undefined;
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("a number is expected");
    return n;
  };
}

function argumentOf(decl: OptionDeclaration): string {
  switch (decl.kind) {
    case "enum":
      return decl.values.join("|");
    case "integer":
      return `${decl.minimum}..${decl.maximum}`;
    case "number":
      return decl.unit;
    case "crs":
      return "crs";
    case "color":
      return "#RRGGBB";
    case "text":
      return "text";
  }
}

/** Reality data type of a local input, from its extension (`Unstructured` when unknown). */
export function realityDataTypeOf(path: string): string {
  return TYPE_BY_EXTENSION[extname(path).toLowerCase()] ?? "Unstructured";
}

/** Every declared option once (job types share inputCrs/outputCrs), as `--kebab-case` flags. */
function optionFlags(): Option[] {
  const seen = new Map<string, OptionDeclaration>();
  for (const d of declarations) for (const [key, decl] of Object.entries(d.options)) if (!seen.has(key)) seen.set(key, decl);
  return [...seen].map(([key, decl]) => {
    const byDefault = "default" in decl && decl.default !== undefined ? `, default ${String(decl.default)}` : "";
    const o = new Option(`${optionFlag(key)} <${argumentOf(decl)}>`, `${decl.description} (${key}${byDefault})`);
    const parse = parserOf(decl);
    if (parse) o.argParser(parse);
    return o;
  });
}

/** What each job type takes and produces, for the help text. */
function jobTypesHelp(): string {
  const lines = ["", "Job types (input key, output formats; * = not produced yet):"];
  for (const entry of registry) {
    const d = entry.declaration;
    const formats = formatsOf(d).map((f) => (entryProduces(entry, f) ? f : `${f}*`));
    const options = Object.entries(d.options).map(([k, o]) => ("default" in o && o.default !== undefined ? `${k}=${String(o.default)}` : k));
    lines.push(`  ${d.type}  ${d.input.key}${d.input.many ? "[]" : ""}  ${formats.length > 0 ? formats.join(" ") : entry.load ? "(tileset)" : "(tileset*)"}`);
    lines.push(`      ${d.description} Options: ${options.join(", ")}.`);
  }
  return lines.join("\n");
}

/**
 * The job flags `convert` and `submit` share: `--format`, `--input-type` and every declared option by its spec
 * name, with the job types listed in the help.
 */
export function addJobFlags(command: Command): Command {
  command
    .option("-f, --format <format>", "output format (outputFormat), e.g. LAS; required for job types with formats")
    .option("--input-type <type>", "reality data type of the inputs (default: from the file extension)");
  for (const o of optionFlags()) command.addOption(o);
  return command.addHelpText("after", jobTypesHelp());
}

/** A job type's declaration by name (any case), or a one-line reason for the user. */
export function declarationOf(type: string): JobTypeDeclaration | string {
  return (
    declarations.find((d) => d.type.toLowerCase() === type.toLowerCase()) ??
    `unknown job type '${type}' (one of ${declarations.map((d) => d.type).join(", ")})`
  );
}

/** The job's `options` from the parsed flags: `outputFormat` from `--format`, and the type's declared options. */
export function jobOptionsOf(declaration: JobTypeDeclaration, opts: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (opts.format !== undefined) options.outputFormat = opts.format;
  for (const key of Object.keys(declaration.options)) if (opts[key] !== undefined) options[key] = opts[key];
  return options;
}

export function convertCommand(): Command {
  const command = new Command("convert")
    .description("run one conversion locally, without a server, with the service's runners")
    .argument("<type>", "job type, e.g. PointCloudConversion")
    .argument("<inputs...>", "input files or folders (a folder is one reality data)")
    .requiredOption("-o, --output <dir>", "output folder")
    .option(
      "--work-dir <dir>",
      "keep the finished parts of the conversion (the chunks of a point-cloud tree) in this folder: after an interruption (Ctrl-C, a kill, a crash) the same command resumes from them; removed when the conversion succeeds",
    );
  addJobFlags(command);
  command.action(async (type: string, inputs: string[], opts: Record<string, unknown>) => {
    process.exitCode = await convertLocally(type, inputs, opts);
  });
  return command;
}

/** Without `--work-dir`, parts live only as long as the command (the run is not resumed). */
function memoryParts(): JobParts {
  const done = new Map<string, JsonValue>();
  return {
    finished: async () => new Map(done),
    finish: async (id, manifest) => {
      done.set(id, manifest);
    },
  };
}

/** Size and modification time of every file under `path` (a file, or a folder's files), to tell whether an input changed. */
async function fingerprint(path: string): Promise<JsonValue> {
  const st = await stat(path);
  if (!st.isDirectory()) return [path, st.size, st.mtimeMs];
  const out: JsonValue[] = [];
  for (const name of (await readdir(path)).sort()) out.push(await fingerprint(join(path, name)));
  return out;
}

/**
 * Parts kept in `<dir>/run.json` (written whole and renamed, so a kill leaves the last finished state),
 * their files in `<dir>/parts`. State left by another run (other inputs, type or options) is cleared; a
 * folder holding anything else is refused, since clearing it would delete the user's files.
 */
async function folderParts(dir: string, run: JsonValue): Promise<{ parts: JobParts; partsDir: string; resumed: number }> {
  const state = join(dir, "run.json");
  const partsDir = join(dir, "parts");
  const key = JSON.stringify(run);
  await mkdir(dir, { recursive: true });
  const foreign = (await readdir(dir)).filter((n) => n !== "run.json" && n !== "run.json.tmp" && n !== "parts");
  if (foreign.length > 0) throw new WorkDirError(`--work-dir ${dir} holds other files (${foreign.slice(0, 3).join(", ")}): give an empty or new folder`);
  let done = new Map<string, JsonValue>();
  try {
    const saved = JSON.parse(await readFile(state, "utf8")) as { run: string; parts: Record<string, JsonValue> };
    if (saved.run === key) done = new Map(Object.entries(saved.parts));
  } catch {
    // no state yet, or a damaged one: start afresh
  }
  if (done.size === 0) await rm(partsDir, { recursive: true, force: true });
  await mkdir(partsDir, { recursive: true });
  const write = async () => {
    await writeFile(`${state}.tmp`, JSON.stringify({ run: key, parts: Object.fromEntries(done) }));
    await rename(`${state}.tmp`, state);
  };
  // Parts finish concurrently (one per thread): their writes of the state go one after the other.
  let saved: Promise<void> = write();
  await saved;
  return {
    parts: {
      finished: async () => new Map(done),
      finish: async (id, manifest) => {
        done.set(id, manifest);
        saved = saved.then(write, write);
        await saved;
      },
    },
    partsDir,
    resumed: done.size,
  };
}

class WorkDirError extends Error {}

/** What `folderParts` made, removed (the folder too when nothing else is left in it). */
async function removeWorkDir(dir: string): Promise<void> {
  await rm(join(dir, "parts"), { recursive: true, force: true });
  await rm(join(dir, "run.json"), { force: true });
  await rmdir(dir).catch(() => undefined);
}

export async function convertLocally(type: string, paths: string[], opts: Record<string, unknown>): Promise<number> {
  const declaration = declarationOf(type);
  if (typeof declaration === "string") {
    console.error(`realconv: ${declaration}`);
    return 1;
  }
  const options = jobOptionsOf(declaration, opts);
  const ids = paths.map(() => randomUUID());
  let creation;
  try {
    creation = parseJobCreation({
      type: declaration.type,
      iTwinId: "00000000-0000-0000-0000-000000000000",
      specifications: { inputs: { [declaration.input.key]: !declaration.input.many && ids.length === 1 ? ids[0] : ids }, options },
    });
  } catch (e) {
    if (e instanceof ApiError) {
      console.error(`realconv: ${(e.details ?? []).map((d) => `${d.target ?? ""}: ${d.message}`).join("; ") || e.message}`);
      return 1;
    }
    throw e;
  }
  const entry = findRunner(creation.type, creation.outputFormat);
  if (!entry) {
    console.error(`realconv: ${creation.type}${creation.outputFormat ? ` to ${creation.outputFormat}` : ""} is not supported yet`);
    return 1;
  }
  const refused = entry.refuses?.(creation.options);
  if (refused) {
    console.error(`realconv: ${refused.message}`);
    return 1;
  }
  const datasets: InputDataset[] = [];
  for (const p of paths) {
    const t = typeof opts.inputType === "string" ? opts.inputType : realityDataTypeOf(p);
    datasets.push(await localInputDataset(p, t));
  }
  await mkdir(String(opts.output), { recursive: true });
  const sink = localOutputSink(String(opts.output));
  const config = loadConfig(process.env);
  const scratchDir = join(tmpdir(), "realconv-scratch");
  await sweepScratch(scratchDir).catch(() => []);
  const scratch = await createScratch(scratchDir, config.scratchMb * 1024 * 1024);
  const threads = createLazPool(config.threads);
  const workDir = typeof opts.workDir === "string" ? resolve(opts.workDir) : undefined;
  let kept: Awaited<ReturnType<typeof folderParts>> | undefined;
  if (workDir) {
    const run = { type: creation.type, options: creation.options as JsonValue, inputs: await Promise.all(paths.map((p) => fingerprint(resolve(p)))) };
    try {
      kept = await folderParts(workDir, run);
    } catch (e) {
      await threads?.close();
      await scratch.dispose();
      if (e instanceof WorkDirError) {
        console.error(`realconv: ${e.message}`);
        return 1;
      }
      throw e;
    }
    if (kept.resumed > 0) console.log(`resuming from ${kept.resumed} finished part(s) in ${workDir}`);
  }
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", interrupt);
  const bar = progressBar();
  const started = Date.now();
  try {
    await runJob(entry, {
      jobId: "local",
      type: creation.type,
      options: creation.options,
      inputs: { [declaration.input.key]: datasets },
      output: sink,
      progress: (pct) => bar.update(pct),
      warn: (m) => bar.note(`warning: ${renderMessage(m)}`),
      signal: controller.signal,
      resources: { scratch, threads, memoryBudgetBytes: config.memoryMb * 1024 * 1024, partsDir: kept?.partsDir },
      parts: kept?.parts ?? memoryParts(),
    });
  } catch (e) {
    bar.end(false);
    console.error(`realconv: ${renderMessage(failureMessage(e))}`);
    if (workDir) console.error(`realconv: the finished parts stay in ${workDir}: run the same command again to resume`);
    return 1;
  } finally {
    process.off("SIGINT", interrupt);
    // The command ends when the conversion does: nothing it started may keep the process alive.
    await threads?.close();
    await scratch.dispose();
  }
  bar.end(true);
  if (workDir) await removeWorkDir(workDir);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`wrote ${sink.files.length} file(s) to ${String(opts.output)} in ${secs} s${sink.rootDocument ? ` (root document ${sink.rootDocument})` : ""}`);
  const listed = 20;
  for (const f of sink.files.slice(0, listed)) console.log(`  ${f}`);
  if (sink.files.length > listed) console.log(`  ... and ${sink.files.length - listed} more`);
  return 0;
}
