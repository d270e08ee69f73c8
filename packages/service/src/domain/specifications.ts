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
import { COLOR_PATTERN, crsProblem, declarations, formatsOf, outputOf, type JobTypeDeclaration, type OptionDeclaration } from "@realconv/convert";
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

/** Most input ids one job may name (the hosted limit is undocumented; this matches the platform's page limit). */
export const MAX_INPUTS = 1000;

/**
 * Per job type, what the runner declarations say (`@realconv/convert`'s registry): its input key, options
 * and formats. Omitted options stay omitted in the canonical specification (a job echoes only what its
 * creator sent, like the hosted service); runners receive the declared defaults.
 */
export interface JobTypeRule {
  declaration: JobTypeDeclaration;
  input: string;
  /** True when the input is an array of ids, false for one id. */
  many: boolean;
  /** Option keys allowed, in canonical (documented) order; `outputFormat` first when the type has formats. */
  options: readonly string[];
  formats: readonly string[];
}

function ruleOf(d: JobTypeDeclaration): JobTypeRule {
  const formats = formatsOf(d);
  const options = Object.keys(d.options);
  return { declaration: d, input: d.input.key, many: d.input.many, options: formats.length > 0 ? ["outputFormat", ...options] : options, formats };
}

export const JOB_TYPE_RULES: Readonly<Record<JobType, Readonly<JobTypeRule>>> = Object.fromEntries(
  JOB_TYPES.map((type) => {
    const d = declarations.find((x) => x.type === type);
    if (!d) throw new Error(`no declaration for job type ${type}`);
    return [type, ruleOf(d)];
  }),
) as Record<JobType, JobTypeRule>;

/** Every output format of every job type, in declaration order. */
export const OUTPUT_FORMATS: readonly string[] = [...new Set(declarations.flatMap(formatsOf))];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^([^"<>|:*?\\/\u0000-\u001f])+$/;
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

/** One option's validation from its declaration: the canonical value, null to drop it, undefined when invalid. */
function parseOption(f: Field, decl: OptionDeclaration, p: Problems): unknown {
  switch (decl.kind) {
    case "enum":
      return enumValue(f, decl.values, p);
    case "integer":
      if (decl.automatic !== undefined && f.value === decl.automatic) return null;
      return integerIn(f, decl.minimum, decl.maximum, p);
    case "number":
      if (typeof f.value !== "number") {
        p.invalidProperty(f.path, f.value, `A number of ${decl.unit} is expected.`);
        return undefined;
      }
      if (!Number.isFinite(f.value) || f.value <= decl.greaterThan) {
        p.invalidValue(f.path, f.value, `It must be a finite number of ${decl.unit} greater than ${decl.greaterThan}.`);
        return undefined;
      }
      return f.value;
    case "crs": {
      const text = nonEmptyString(f, decl.maxLength, p);
      if (text === undefined) return undefined;
      const problem = crsProblem(text);
      if (problem !== undefined) {
        p.invalidValue(f.path, f.value, `It must be a CRS this server knows (EPSG code, WKT or PROJ string): ${problem}.`);
        return undefined;
      }
      return text;
    }
    case "color":
      if (typeof f.value !== "string") {
        p.invalidProperty(f.path, f.value, "A string is expected.");
        return undefined;
      }
      if (!COLOR_PATTERN.test(f.value)) {
        p.invalidValue(f.path, f.value, "It must be a colour written #RRGGBB.");
        return undefined;
      }
      return f.value;
    case "text":
      return nonEmptyString(f, decl.maxLength, p);
  }
}

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
    const value = key === "outputFormat" ? enumValue(f, rule.formats, problems) : parseOption(f, rule.declaration.options[key], problems);
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
      if (JOB_TYPE_RULES[type].formats.length > 0 && !parsed.formatGiven) problems.missing(join(optionsPath, "outputFormat"), "outputFormat");
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

/** The reality data the service creates to receive a job's output (type, root document when fixed), as declared. */
export function outputRealityDataType(type: JobType, outputFormat: string | undefined): { type: string; rootDocument?: string } {
  const out = outputOf(JOB_TYPE_RULES[type].declaration, outputFormat);
  return out.rootDocument === undefined ? { type: out.type } : { type: out.type, rootDocument: out.rootDocument };
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
    const rule = JOB_TYPE_RULES[creation.type];
    const accepted: readonly string[] = rule.input === key ? rule.declaration.input.accepts : [];
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
