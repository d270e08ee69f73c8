/**
 * Validation and canonicalisation of the body of `POST /reality-conversion/jobs`, for all six job types.
 * Pure: no HTTP, no SQL. The HTTP layer parses JSON and hands the value to `parseJobCreation`; the result is
 * what the service stores and echoes (canonical keys and spellings, lower-case GUIDs, no null options).
 *
 * Error codes (one detail per problem, every problem reported at once):
 * - `InvalidProperty`: an unknown or duplicated property, a value of the wrong JSON kind, or a value outside an
 *   enumeration. These are what the hosted service's typed deserializer rejects, and it uses this code for them
 *   ("Invalid value 'PCConversion' for property 'type'.").
 * - `MissingRequiredProperty`: a required property is absent or null.
 * - `InvalidValue`: a value of the right kind that breaks a rule (GUID format, length, range, pattern, duplicates).
 * `target` is the JSON path of the property as the client spelled it (`specifications.inputs.pointClouds[2]`).
 *
 * Leniency (clients and the hosted docs disagree on spellings, see the research notes 1.2, 1.6, 1.7):
 * property names and enumeration values match case-insensitively and are echoed in canonical spelling;
 * `pointClouds` holding one string is accepted for PointCloudConversion and stored as `pointCloud` (doc bug of the
 * cancel example); a bare string is accepted where an id array is expected; the early-draft option `format` is
 * accepted for `outputFormat`; `topLevel`/`bottomLevel` of -1 (v1's "automatic") count as omitted.
 */
import { errors, type ErrorDetail } from "./errors.js";
import { JOB_TYPES, type JobType } from "./job.js";

/** A validated, canonical job creation request. `options` includes `outputFormat` when there is one. */
export interface JobCreation {
  type: JobType;
  name?: string;
  iTwinId: string;
  inputs: Record<string, string | string[]>;
  options: Record<string, unknown>;
  outputFormat: string | undefined;
  /** Every input reality data id, in request order. */
  inputIds: string[];
}

export const POINT_CLOUD_FORMATS = ["OPC", "3DTilesPnts", "3DTilesGlbc", "LAS", "LAZ", "E57", "POD"] as const;
export const TILE_MAP_FORMATS = ["XYZTileMap"] as const;
export const VECTOR_FORMATS = ["GeoJSON", "FeatureDB"] as const;
export const OUTPUT_FORMATS = [...POINT_CLOUD_FORMATS, ...TILE_MAP_FORMATS, ...VECTOR_FORMATS] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const IMAGE_FORMATS = ["JPG", "PNG"] as const;
export const SCENE_OBJECTS = ["Cameras", "TiePoints", "Annotations"] as const;

export const INPUT_KEYS = ["pointCloud", "pointClouds", "meshes", "tileMaps", "vectors", "scene"] as const;
export type InputKey = (typeof INPUT_KEYS)[number];

export const OPTION_KEYS = [
  "outputFormat",
  "inputCrs",
  "outputCrs",
  "sampling",
  "topLevel",
  "bottomLevel",
  "imageFormat",
  "jpgQuality",
  "backgroundColor",
  "featureClassDisplayName",
  "objectToTile",
] as const;
export type OptionKey = (typeof OPTION_KEYS)[number];

/** Most input ids one job may name (the hosted limit is undocumented; this matches the platform's page limit). */
export const MAX_INPUTS = 1000;
/** Tile map levels beyond 30 address tiles smaller than a centimetre; nothing sensible lives there. */
export const MAX_TILE_LEVEL = 30;
export const MAX_CRS_LENGTH = 2048;
export const MAX_FEATURE_CLASS_NAME_LENGTH = 256;

/**
 * What runners assume for an omitted option. The canonical specification does not fill these in, so a job
 * echoes only what its creator sent, like the hosted service. Values follow v1's documented defaults.
 * - `outputFormat`: required for every type except ContextSceneTiler: without it a job cannot produce anything.
 * - `inputCrs`: read from the input files; `outputCrs`: same as the input CRS.
 * - `topLevel`/`bottomLevel`: chosen from the data (one tile covering everything / native resolution).
 * - `objectToTile`: `Cameras`, the one object every ContextScene made from photos has.
 */
export const OPTION_DEFAULTS = {
  sampling: 0.125,
  imageFormat: "JPG",
  jpgQuality: 85,
  backgroundColor: "#FFFFFF",
  objectToTile: "Cameras",
} as const;

export interface JobTypeRule {
  input: InputKey;
  /** True when the input is an array of ids, false for one id. */
  many: boolean;
  /** Option keys allowed, in canonical (documented) order. */
  options: readonly OptionKey[];
  formats: readonly string[];
}

const CRS = ["inputCrs", "outputCrs"] as const;

/** Per job type: its one input key and the options it takes (research notes 1.7). */
export const JOB_TYPE_RULES: Readonly<Record<JobType, Readonly<JobTypeRule>>> = {
  PointCloudConversion: { input: "pointCloud", many: false, options: ["outputFormat", ...CRS], formats: POINT_CLOUD_FORMATS },
  PointCloudOptimization: { input: "pointClouds", many: true, options: ["outputFormat", ...CRS], formats: POINT_CLOUD_FORMATS },
  MeshSampling: { input: "meshes", many: true, options: ["outputFormat", ...CRS, "sampling"], formats: POINT_CLOUD_FORMATS },
  TileMapOptimization: {
    input: "tileMaps",
    many: true,
    options: ["outputFormat", ...CRS, "topLevel", "bottomLevel", "imageFormat", "jpgQuality", "backgroundColor"],
    formats: TILE_MAP_FORMATS,
  },
  VectorOptimization: {
    input: "vectors",
    many: true,
    options: ["outputFormat", ...CRS, "featureClassDisplayName"],
    formats: VECTOR_FORMATS,
  },
  ContextSceneTiler: { input: "scene", many: false, options: ["objectToTile"], formats: [] },
};

/**
 * Reality data types each input key accepts (research notes 1.7, from v1's input enums and the SDK).
 * `Unstructured` is accepted for point clouds because PTS/XYZ/CSV point files have no registered type, and for
 * tile maps because GeoTIFF rasters have none either; the runner then checks the files themselves.
 */
export const ACCEPTED_INPUT_TYPES: Readonly<Record<InputKey, readonly string[]>> = {
  pointCloud: ["LAS", "LAZ", "PLY", "E57", "OPC", "PointCloud", "PNTS", "Unstructured"],
  pointClouds: ["LAS", "LAZ", "PLY", "E57", "OPC", "PointCloud", "PNTS", "Unstructured"],
  meshes: ["Cesium3DTiles", "RealityMesh3DTiles", "3MX", "OBJ", "PLY", "GLB", "GLTF", "3SM"],
  tileMaps: ["Orthophoto", "OrthophotoDSM", "OMI", "OVF", "OVT", "Unstructured"],
  vectors: ["SHP", "GeoJSON", "KML", "OVF", "OVT", "ContextScene"],
  scene: ["ContextScene"],
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^([^"<>|:*?\\/\u0000-\u001f])+$/;
const COLOR = /^#[a-fA-F0-9]{6}$/;
/** Bounds the size of an error response when a body is wrong in many places. */
const MAX_DETAILS = 100;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** A value as messages quote it: strings in quotes, anything else as JSON; long values cut. */
function show(v: unknown): string {
  const s = typeof v === "string" ? `'${v}'` : v === undefined ? "undefined" : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

class Problems {
  readonly details: ErrorDetail[] = [];
  private add(code: string, message: string, target: string): void {
    if (this.details.length < MAX_DETAILS) this.details.push({ code, message, target });
  }
  unknown(target: string, key: string): void {
    this.add("InvalidProperty", `Unknown property '${key}'.`, target);
  }
  invalidProperty(target: string, value: unknown, why?: string): void {
    this.add("InvalidProperty", `Invalid value ${show(value)} for property '${target}'.${why ? ` ${why}` : ""}`, target);
  }
  invalidValue(target: string, value: unknown, why: string): void {
    this.add("InvalidValue", `Invalid value ${show(value)} for property '${target}'. ${why}`, target);
  }
  missing(target: string, key: string): void {
    this.add("MissingRequiredProperty", `The ${key} field is required.`, target);
  }
  custom(code: string, message: string, target: string): void {
    this.add(code, message, target);
  }
}

interface Field {
  /** The key as the client spelled it. */
  key: string;
  path: string;
  value: unknown;
}

/**
 * Reads an object's properties against the allowed canonical keys (case-insensitive, with aliases mapping other
 * spellings to a canonical key). Unknown keys and two spellings of one key are reported.
 */
function fields(
  obj: Json,
  path: string,
  allowed: readonly string[],
  problems: Problems,
  aliases: Readonly<Record<string, string>> = {},
  reserved: Readonly<Record<string, string>> = {},
): Map<string, Field> {
  const byLower = new Map<string, string>();
  for (const k of allowed) byLower.set(k.toLowerCase(), k);
  for (const [alias, k] of Object.entries(aliases)) byLower.set(alias.toLowerCase(), k);
  const out = new Map<string, Field>();
  for (const key of Object.keys(obj)) {
    const target = join(path, key);
    const lower = key.toLowerCase();
    const reason = Object.hasOwn(reserved, lower) ? reserved[lower] : undefined;
    if (reason !== undefined) {
      problems.custom("InvalidProperty", reason, target);
      continue;
    }
    const canonical = byLower.get(lower);
    if (canonical === undefined) {
      problems.unknown(target, key);
      continue;
    }
    const seen = out.get(canonical);
    if (seen !== undefined) {
      problems.custom("InvalidProperty", `Property '${key}' duplicates property '${seen.key}'.`, target);
      continue;
    }
    out.set(canonical, { key, path: target, value: obj[key] });
  }
  return out;
}

/** Matches a string against an enumeration case-insensitively; returns the canonical spelling. */
function enumValue(f: Field, values: readonly string[], problems: Problems): string | undefined {
  if (typeof f.value === "string") {
    const lower = f.value.toLowerCase();
    const hit = values.find((v) => v.toLowerCase() === lower);
    if (hit !== undefined) return hit;
  }
  problems.invalidProperty(f.path, f.value, `Allowed values: ${values.join(", ")}.`);
  return undefined;
}

function guid(f: { path: string; value: unknown }, problems: Problems): string | undefined {
  if (typeof f.value !== "string") {
    problems.invalidProperty(f.path, f.value, "A reality data id (GUID string) is expected.");
    return undefined;
  }
  if (!GUID.test(f.value)) {
    problems.invalidValue(f.path, f.value, "It must be a GUID.");
    return undefined;
  }
  return f.value.toLowerCase();
}

function integerIn(f: Field, min: number, max: number, problems: Problems): number | undefined {
  if (typeof f.value !== "number") {
    problems.invalidProperty(f.path, f.value, "An integer is expected.");
    return undefined;
  }
  if (!Number.isInteger(f.value) || f.value < min || f.value > max) {
    problems.invalidValue(f.path, f.value, `It must be an integer from ${min} to ${max}.`);
    return undefined;
  }
  return f.value;
}

function nonEmptyString(f: Field, maxLength: number, problems: Problems): string | undefined {
  if (typeof f.value !== "string") {
    problems.invalidProperty(f.path, f.value, "A string is expected.");
    return undefined;
  }
  if (f.value.trim() === "" || f.value.length > maxLength) {
    problems.invalidValue(f.path, f.value, `It must be a non-blank string of at most ${maxLength} characters.`);
    return undefined;
  }
  return f.value;
}

/** Level option: -1 is v1's "automatic" and reads as omitted (returns null). */
function level(f: Field, problems: Problems): number | null | undefined {
  if (f.value === -1) return null;
  return integerIn(f, 0, MAX_TILE_LEVEL, problems);
}

/** One option's validation: the canonical value, null to drop it, undefined when invalid (problem recorded). */
const optionParsers: Record<OptionKey, (f: Field, rule: JobTypeRule, p: Problems) => unknown> = {
  outputFormat: (f, rule, p) => enumValue(f, rule.formats, p),
  inputCrs: (f, _r, p) => nonEmptyString(f, MAX_CRS_LENGTH, p),
  outputCrs: (f, _r, p) => nonEmptyString(f, MAX_CRS_LENGTH, p),
  sampling: (f, _r, p) => {
    if (typeof f.value !== "number") {
      p.invalidProperty(f.path, f.value, "A number of metres is expected.");
      return undefined;
    }
    if (!Number.isFinite(f.value) || f.value <= 0) {
      p.invalidValue(f.path, f.value, "It must be a finite number of metres greater than 0.");
      return undefined;
    }
    return f.value;
  },
  topLevel: (f, _r, p) => level(f, p),
  bottomLevel: (f, _r, p) => level(f, p),
  imageFormat: (f, _r, p) => enumValue(f, IMAGE_FORMATS, p),
  jpgQuality: (f, _r, p) => integerIn(f, 10, 99, p),
  backgroundColor: (f, _r, p) => {
    if (typeof f.value !== "string") {
      p.invalidProperty(f.path, f.value, "A string is expected.");
      return undefined;
    }
    if (!COLOR.test(f.value)) {
      p.invalidValue(f.path, f.value, "It must be a colour written #RRGGBB.");
      return undefined;
    }
    return f.value;
  },
  featureClassDisplayName: (f, _r, p) => nonEmptyString(f, MAX_FEATURE_CLASS_NAME_LENGTH, p),
  objectToTile: (f, _r, p) => enumValue(f, SCENE_OBJECTS, p),
};

/** The array of ids of one input key: non-empty, GUIDs, no repeats, at most MAX_INPUTS. */
function idArray(f: Field, problems: Problems): string[] | undefined {
  if (typeof f.value === "string") {
    // Lenient: one id given where an array is expected.
    const id = guid(f, problems);
    return id === undefined ? undefined : [id];
  }
  if (!Array.isArray(f.value)) {
    problems.invalidProperty(f.path, f.value, "An array of reality data ids is expected.");
    return undefined;
  }
  const values: unknown[] = f.value;
  if (values.length === 0) {
    problems.invalidValue(f.path, values, "At least one reality data id is required.");
    return undefined;
  }
  if (values.length > MAX_INPUTS) {
    problems.custom(
      "InvalidValue",
      `Property '${f.path}' lists ${values.length} reality data ids; at most ${MAX_INPUTS} are allowed.`,
      f.path,
    );
    return undefined;
  }
  // Repeated ids are refused rather than merged away: consolidating one dataset twice would duplicate its
  // points or features, so a repeat is a client mistake worth reporting, and the stored spec stays what was sent.
  const firstIndex = new Map<string, number>();
  const ids: string[] = [];
  let ok = true;
  values.forEach((value, i) => {
    const path = `${f.path}[${i}]`;
    const id = guid({ path, value }, problems);
    if (id === undefined) {
      ok = false;
      return;
    }
    const first = firstIndex.get(id);
    if (first !== undefined) {
      problems.invalidValue(path, value, `The reality data id is already listed at index ${first}.`);
      ok = false;
      return;
    }
    firstIndex.set(id, i);
    ids.push(id);
  });
  return ok ? ids : undefined;
}

function parseInputs(inputs: Json, path: string, type: JobType, problems: Problems): Record<string, string | string[]> {
  const rule = JOB_TYPE_RULES[type];
  // The cancel example of the hosted docs writes PointCloudConversion's input as `pointClouds: "<id>"`.
  const aliases: Record<string, string> = type === "PointCloudConversion" ? { pointClouds: "pointCloud" } : {};
  const got = fields(inputs, path, [rule.input], problems, aliases);
  const f = got.get(rule.input);
  if (f === undefined || f.value === null) {
    problems.missing(join(path, rule.input), rule.input);
    return {};
  }
  if (rule.many) {
    const ids = idArray(f, problems);
    return ids === undefined ? {} : { [rule.input]: ids };
  }
  if (Array.isArray(f.value)) {
    problems.invalidProperty(f.path, f.value, `A ${type} job takes one reality data id, not an array.`);
    return {};
  }
  const id = guid(f, problems);
  return id === undefined ? {} : { [rule.input]: id };
}

/** Canonical options, and whether `outputFormat` was given at all (even with an invalid value). */
function parseOptions(
  options: Json,
  path: string,
  type: JobType,
  problems: Problems,
): { options: Record<string, unknown>; formatGiven: boolean } {
  const rule = JOB_TYPE_RULES[type];
  // `format` was the option's name in the first v2 draft of the SDK.
  const aliases: Record<string, string> = rule.options.includes("outputFormat") ? { format: "outputFormat" } : {};
  const got = fields(options, path, rule.options, problems, aliases);
  const out: Record<string, unknown> = {};
  for (const key of rule.options) {
    const f = got.get(key);
    if (f === undefined || f.value === null) continue;
    const value = optionParsers[key](f, rule, problems);
    if (value !== undefined && value !== null) out[key] = value;
  }
  // The top level is the coarsest, so it cannot lie below the bottom (finest) level.
  const top = out.topLevel;
  const bottom = out.bottomLevel;
  if (typeof top === "number" && typeof bottom === "number" && top > bottom) {
    problems.invalidValue(
      got.get("topLevel")!.path,
      top,
      `The top level (coarsest) must not exceed the bottom level (finest), here ${bottom}.`,
    );
  }
  const format = got.get("outputFormat");
  return { options: out, formatGiven: format !== undefined && format.value !== null };
}

/**
 * Validates a create-job body and returns its canonical form, or throws the 400
 * `InvalidRealityConversionRequest` ApiError listing every problem found.
 */
export function parseJobCreation(body: unknown): JobCreation {
  const problems = new Problems();
  if (!isObject(body)) {
    problems.custom("InvalidProperty", "The request body must be a JSON object.", "");
    throw errors.invalidRequest("conversion", problems.details);
  }
  const top = fields(body, "", ["type", "name", "iTwinId", "specifications"], problems);

  let type: JobType | undefined;
  const typeField = top.get("type");
  if (typeField === undefined || typeField.value === null) problems.missing("type", "type");
  else type = enumValue(typeField, JOB_TYPES, problems) as JobType | undefined;

  let name: string | undefined;
  const nameField = top.get("name");
  if (nameField !== undefined && nameField.value !== null) {
    const v = nameField.value;
    if (typeof v !== "string") problems.invalidProperty(nameField.path, v, "A string is expected.");
    else if (v.length < 3 || v.length > 256) problems.invalidValue(nameField.path, v, "It must be 3 to 256 characters long.");
    else if (!NAME.test(v))
      problems.invalidValue(nameField.path, v, 'It must not contain control characters nor any of " < > | : * ? \\ /.');
    else name = v;
  }

  let iTwinId: string | undefined;
  const iTwinField = top.get("iTwinId");
  if (iTwinField === undefined || iTwinField.value === null) problems.missing("iTwinId", "iTwinId");
  else iTwinId = guid(iTwinField, problems);

  let inputs: Record<string, string | string[]> = {};
  let options: Record<string, unknown> = {};
  const specField = top.get("specifications");
  if (specField === undefined || specField.value === null) problems.missing("specifications", "specifications");
  else if (!isObject(specField.value)) problems.invalidProperty(specField.path, specField.value, "An object is expected.");
  else {
    const spec = fields(specField.value, specField.path, ["inputs", "options"], problems, {}, {
      output: "Property 'output' cannot be given: the service creates the output reality data.",
    });
    const inputsField = spec.get("inputs");
    if (inputsField === undefined || inputsField.value === null) problems.missing(join(specField.path, "inputs"), "inputs");
    else if (!isObject(inputsField.value)) problems.invalidProperty(inputsField.path, inputsField.value, "An object is expected.");
    else if (type !== undefined) inputs = parseInputs(inputsField.value, inputsField.path, type, problems);

    const optionsField = spec.get("options");
    const rawOptions = optionsField === undefined || optionsField.value === null ? {} : optionsField.value;
    const optionsPath = optionsField?.path ?? join(specField.path, "options");
    if (!isObject(rawOptions)) problems.invalidProperty(optionsPath, rawOptions, "An object is expected.");
    else if (type !== undefined) {
      const parsed = parseOptions(rawOptions, optionsPath, type, problems);
      options = parsed.options;
      // Required here although the SDK marks it optional: the hosted default is undocumented and a job
      // without a format cannot produce anything. Not reported when the given value was itself invalid.
      if (type !== "ContextSceneTiler" && !parsed.formatGiven) problems.missing(join(optionsPath, "outputFormat"), "outputFormat");
    }
  }

  if (problems.details.length > 0 || type === undefined || iTwinId === undefined) {
    throw errors.invalidRequest("conversion", problems.details);
  }
  const creation: JobCreation = {
    type,
    iTwinId,
    inputs,
    options,
    outputFormat: typeof options.outputFormat === "string" ? options.outputFormat : undefined,
    inputIds: Object.values(inputs).flatMap((v) => (Array.isArray(v) ? v : [v])),
  };
  if (name !== undefined) creation.name = name;
  return creation;
}

/**
 * The reality data the service creates to receive a job's output: its registered type and, when fixed by the
 * format, its root document (what viewers open first).
 * - 3D Tiles outputs (`3DTilesPnts`, `3DTilesGlbc`, ContextSceneTiler) are `Cesium3DTiles` with `tileset.json`:
 *   that is the type viewers (iTwin.js, CesiumJS) open through the root document. (The SDK stores bare GLB
 *   files as `GLB`; a tileset is not one GLB, so `Cesium3DTiles` is the right registered type here.)
 * - `POD` is registered as `PointCloud`; `OPC`, `LAS`, `LAZ`, `E57`, `GeoJSON` as themselves. Their root
 *   document depends on how many files the runner writes, so the runner sets it.
 * - `XYZTileMap` has no registered type: it is `Unstructured`, with a TileJSON document `tilemap.json`
 *   (tile URL template `{z}/{x}/{y}.<ext>`, bounds, min/max zoom) as the root so a client can find the tiles.
 * - `FeatureDB` (a feature database index) has no registered type either: `Unstructured`, root set by the runner.
 */
export function outputRealityDataType(type: JobType, outputFormat: string | undefined): { type: string; rootDocument?: string } {
  if (type === "ContextSceneTiler") return { type: "Cesium3DTiles", rootDocument: "tileset.json" };
  if (outputFormat === undefined || !JOB_TYPE_RULES[type].formats.includes(outputFormat)) {
    throw new Error(`Output format ${String(outputFormat)} is not one of ${type}'s`);
  }
  switch (outputFormat as OutputFormat) {
    case "3DTilesPnts":
    case "3DTilesGlbc":
      return { type: "Cesium3DTiles", rootDocument: "tileset.json" };
    case "OPC":
      return { type: "OPC" };
    case "LAS":
      return { type: "LAS" };
    case "LAZ":
      return { type: "LAZ" };
    case "E57":
      return { type: "E57" };
    case "POD":
      return { type: "PointCloud" };
    case "XYZTileMap":
      return { type: "Unstructured", rootDocument: "tilemap.json" };
    case "GeoJSON":
      return { type: "GeoJSON" };
    case "FeatureDB":
      return { type: "Unstructured" };
  }
}

/**
 * Refuses inputs whose reality data type the input key does not accept, with the 422
 * `InvalidRealityConversionRequest` ApiError naming each offending input (code `InvalidInputType`).
 * `typesById` maps every input id (any case) to its registered type, as the service resolved it; an id it
 * lacks could not be resolved and is reported as 404 `RealityDataNotFound`. Types compare case-insensitively
 * because clients spell some differently (`LODTree`/`LodTree`).
 */
export function checkInputTypes(creation: Pick<JobCreation, "type" | "inputs">, typesById: ReadonlyMap<string, string>): void {
  const types = new Map<string, string>();
  for (const [id, t] of typesById) types.set(id.toLowerCase(), t);
  const details: ErrorDetail[] = [];
  for (const [key, value] of Object.entries(creation.inputs)) {
    const accepted: readonly string[] = Object.hasOwn(ACCEPTED_INPUT_TYPES, key) ? ACCEPTED_INPUT_TYPES[key as InputKey] : [];
    const acceptedLower = new Set(accepted.map((t) => t.toLowerCase()));
    for (const id of Array.isArray(value) ? value : [value]) {
      const t = types.get(id.toLowerCase());
      if (t === undefined) throw errors.realityDataNotFound();
      if (!acceptedLower.has(t.toLowerCase()) && details.length < MAX_DETAILS) {
        details.push({
          code: "InvalidInputType",
          message:
            `Reality data '${id}' has type '${t}', which input '${key}' of a ${creation.type} job does not accept. ` +
            `Accepted types: ${accepted.join(", ")}.`,
          target: `specifications.inputs.${key}`,
        });
      }
    }
  }
  if (details.length > 0) throw errors.unprocessable("conversion", details);
}
