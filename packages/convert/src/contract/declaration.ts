/**
 * What a job type accepts and produces, declared once per job type (in its folder under `jobs/`). The
 * service's request validation, its 422 for what this server does not produce, the output reality data it
 * creates, the OpenAPI document and `realconv convert --help` all read these declarations.
 */
import type { OptionDeclarations, OptionValues } from "./options.js";
import type { Runner } from "./runner.js";

/** The one input key of a job type (`specifications.inputs.<key>`). */
export interface InputDeclaration {
  readonly key: string;
  /** True when the input is an array of reality data ids, false for one id. */
  readonly many: boolean;
  /** Reality data types the key accepts (compared case-insensitively); the runner then checks the files. */
  readonly accepts: readonly string[];
  readonly description: string;
}

/** The reality data a job's output becomes. */
export interface OutputDeclaration {
  /** Registered reality data type (Cesium3DTiles, LAS, ...). */
  readonly type: string;
  /** Root document when the format fixes it (tileset.json); otherwise the runner sets it. */
  readonly rootDocument?: string;
  readonly description: string;
}

export interface JobTypeDeclaration<F extends string = string, O extends OptionDeclarations = OptionDeclarations> {
  /** Job type as the API spells it (PointCloudConversion). */
  readonly type: string;
  readonly title: string;
  readonly description: string;
  readonly input: InputDeclaration;
  /** Options other than `outputFormat`, in documented order. */
  readonly options: O;
  /**
   * Output formats, chosen with the required option `outputFormat`; each with the reality data it becomes.
   * A job type without formats has one fixed `output`.
   */
  readonly outputFormats?: Readonly<Record<F, OutputDeclaration>>;
  readonly output?: OutputDeclaration;
  /** Reality data classification of the output. */
  readonly outputClassification: "Model" | "Imagery" | "Terrain" | "Pinned" | "Undefined";
}

/** The options a job type's runner receives: declared defaults applied, plus `outputFormat` when it has formats. */
export type RunnerOptions<D extends JobTypeDeclaration> =
  D extends JobTypeDeclaration<infer F, infer O> ? OptionValues<O> & { readonly outputFormat: F } : never;

/**
 * A job type as this server runs it: its declaration, the formats it produces so far, and its runner, loaded
 * on first use so that the API process never loads conversion code.
 */
export interface RunnerEntry<D extends JobTypeDeclaration = JobTypeDeclaration> {
  readonly declaration: D;
  /** Formats produced today (a subset of the declared ones); the others answer 422 UnsupportedFormat. */
  readonly produces: readonly string[];
  readonly load?: () => Promise<Runner<RunnerOptions<D>>>;
  /**
   * Why this server cannot run a job with these (validated) options although it produces the format, e.g. an
   * option value not implemented yet; the job is then refused at creation (422 UnsupportedOption).
   */
  readonly refuses?: (options: Readonly<Record<string, unknown>>) => { option: string; message: string } | undefined;
}

/** Declares a job type with its types kept literal, for `RunnerOptions`. */
export function declareJobType<const F extends string, const O extends OptionDeclarations>(
  d: JobTypeDeclaration<F, O>,
): JobTypeDeclaration<F, O> {
  return d;
}

/** The format names of a declaration (none for a job type with a fixed output). */
export function formatsOf(d: JobTypeDeclaration): string[] {
  return Object.keys(d.outputFormats ?? {});
}

/** Whether the entry produces that format (a type without formats: whether it has a runner). */
export function entryProduces(entry: RunnerEntry, outputFormat: string | undefined): boolean {
  if (entry.load === undefined) return false;
  if (entry.declaration.outputFormats === undefined) return true;
  return outputFormat !== undefined && entry.produces.includes(outputFormat);
}

/** The output reality data of a job of this type and format. */
export function outputOf(d: JobTypeDeclaration, outputFormat: string | undefined): OutputDeclaration {
  if (d.outputFormats === undefined) {
    if (!d.output) throw new Error(`${d.type} declares neither output formats nor an output`);
    return d.output;
  }
  const out = outputFormat === undefined ? undefined : (d.outputFormats as Record<string, OutputDeclaration | undefined>)[outputFormat];
  if (!out) throw new Error(`Output format ${String(outputFormat)} is not one of ${d.type}'s`);
  return out;
}
