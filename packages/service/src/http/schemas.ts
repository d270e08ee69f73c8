/**
 * TypeBox schemas of the Reality Conversion v2 wire shapes. Responses are serialised through them (fastify's
 * serializer drops any property a schema does not list, so nothing internal can leak) and the OpenAPI document
 * is generated from them. Request bodies are NOT validated with these: `parseJobCreation` does that, because
 * it must produce the hosted service's exact error details and accept lenient spellings.
 *
 * The string formats `uuid` and `date-time` are registered in TypeBox's FormatRegistry on import (when not
 * already there), so `Value.Check` and TypeBox's compiler can check them.
 */
import { FormatRegistry, Kind, Type, TypeRegistry, type Static, type TSchema, type TUnsafe } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { JOB_STATES, JOB_TYPES } from "../domain/job.js";
import { COLOR_PATTERN, declarations, formatsOf, type JobTypeDeclaration, type OptionDeclaration } from "@realconv/convert";
import { MAX_INPUTS, OUTPUT_FORMATS } from "../domain/specifications.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** RFC 3339 date-time; the fraction may have up to 7 digits (.NET's round-trip form the hosted service emits). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
if (!FormatRegistry.Has("uuid")) FormatRegistry.Set("uuid", (v) => UUID.test(v));
if (!FormatRegistry.Has("date-time")) FormatRegistry.Set("date-time", (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));

/*
 * Two custom kinds keep the emitted JSON Schema plain (`{type: "string", enum: [...]}`, `nullable: true`), as
 * OpenAPI 3.0 wants it and as fastify's serializer handles without a runtime validation per field (it checks
 * every `anyOf` branch with ajv on each response). TypeBox checks them through its TypeRegistry.
 */
const STRING_ENUM = "RealconvStringEnum";
const NULLABLE = "RealconvNullable";

/** The non-null schema of a Nullable, kept under a symbol so it never appears in the JSON Schema. */
const INNER = Symbol("realconv.nullable.inner");
if (!TypeRegistry.Has(STRING_ENUM)) {
  TypeRegistry.Set<{ enum: unknown[] }>(STRING_ENUM, (schema, value) => typeof value === "string" && schema.enum.includes(value));
}
if (!TypeRegistry.Has(NULLABLE)) {
  TypeRegistry.Set<{ [INNER]: TSchema }>(NULLABLE, (schema, value) => value === null || Value.Check(schema[INNER], value));
}

const closed = { additionalProperties: false } as const;

/** A string enumeration: `{ type: "string", enum }`. */
function literals<T extends readonly string[]>(values: T, options: { title?: string; description?: string; default?: unknown } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ [Kind]: STRING_ENUM, type: "string", enum: [...values], ...options });
}

/** `schema` or null, written the OpenAPI 3.0 way (`nullable: true`; an enum also lists null). */
function nullable<T extends TSchema>(schema: T, description: string): TUnsafe<Static<T> | null> {
  const { [Kind]: _kind, ...plain } = schema as TSchema & Record<string, unknown>;
  const out: Record<string | symbol, unknown> = { ...plain, nullable: true, description, [Kind]: NULLABLE, [INNER]: schema };
  if (Array.isArray(plain.enum)) out.enum = [...plain.enum, null];
  return Type.Unsafe<Static<T> | null>(out);
}

const guid = (description: string) => Type.String({ format: "uuid", description });
const guids = (description: string) => Type.Array(Type.String({ format: "uuid" }), { minItems: 1, maxItems: MAX_INPUTS, description });
const dateTime = (description: string) => Type.String({ format: "date-time", description });

export const JobTypeSchema = literals(JOB_TYPES, { title: "Job Types", description: "Type of the job." });
export const JobStateSchema = literals(JOB_STATES, { title: "Job State", description: "Current state of the job." });

const NAME_PATTERN = '^([^"<>|:*?\\\\/\\u0000-\\u001f])+$';

// ---- options and inputs, from the job types' declarations ----

/**
 * The JSON Schema of one declared option, nullable as the hosted API accepts null. Defaults are documented
 * on requests only: fastify's serializer would write a schema's default into every response.
 */
function optionSchema(decl: OptionDeclaration, documentDefault: boolean): TSchema {
  const d = documentDefault && "default" in decl && decl.default !== undefined ? { default: decl.default } : {};
  switch (decl.kind) {
    case "enum":
      return nullable(literals(decl.values, d), decl.description);
    case "integer": {
      const automatic = decl.automatic === undefined ? "" : ` ${decl.automatic} means the same as omitting it.`;
      return nullable(Type.Integer({ minimum: decl.minimum, maximum: decl.maximum, ...d }), decl.description + automatic);
    }
    case "number":
      return nullable(
        Type.Number({ exclusiveMinimum: decl.greaterThan, ...d }),
        `${decl.description} (${decl.unit})`,
      );
    case "crs":
    case "text":
      return nullable(Type.String({ minLength: 1, maxLength: decl.maxLength }), decl.description);
    case "color":
      return nullable(Type.String({ pattern: COLOR_PATTERN.source, ...d }), decl.description);
  }
}

function outputFormat(formats: readonly string[], title: string, description: string) {
  return literals(formats, { title, description });
}

function formatDescription(d: JobTypeDeclaration): string {
  const lines = Object.entries(d.outputFormats ?? {}).map(([f, o]) => `\`${f}\`: ${o.description} Output reality data type \`${o.type}\`.`);
  return `Output format (required). ${lines.join(" ")}`;
}

/** The options of one job type: `outputFormat` (when it has formats) and its declared options. */
function optionsOf(d: JobTypeDeclaration, request: boolean): Record<string, TSchema> {
  const out: Record<string, TSchema> = {};
  const formats = formatsOf(d);
  if (formats.length > 0) out.outputFormat = Type.Optional(outputFormat(formats, `${d.title} Format`, formatDescription(d)));
  for (const [key, decl] of Object.entries(d.options)) out[key] = Type.Optional(optionSchema(decl, request));
  return out;
}

function inputSchema(d: JobTypeDeclaration): TSchema {
  const description = `${d.input.description} Accepted reality data types: ${d.input.accepts.join(", ")}.`;
  return d.input.many ? guids(description) : guid(description);
}

/** Every option key any job type has; a returned job's options are a subset, without nulls. */
export const JobOptionsSchema = Type.Object(
  Object.assign(
    { outputFormat: Type.Optional(outputFormat(OUTPUT_FORMATS, "Output Format", "Output format for the conversion.")) },
    ...declarations.map((d) => {
      const { outputFormat: _own, ...rest } = optionsOf(d, false);
      return rest;
    }),
  ) as Record<string, TSchema>,
  { ...closed, title: "Options", description: "Options of the job, depending on its type." },
);

/** Every input key any job type has; a returned job has exactly the one of its type. */
export const JobInputsSchema = Type.Object(
  Object.fromEntries(declarations.map((d) => [d.input.key, Type.Optional(inputSchema(d))])),
  { ...closed, title: "Inputs", description: "Input reality data ids by key; the key depends on the job type." },
);

export const JobSpecificationsSchema = Type.Object(
  {
    inputs: JobInputsSchema,
    output: guid("Reality data id of the output, created by the service."),
    options: Type.Optional(JobOptionsSchema),
  },
  { ...closed, title: "Specifications", description: "Inputs, output and options of the job, in sync with its type." },
);

export const ExecutionInfoSchema = Type.Object(
  {
    createdDateTime: dateTime("Creation time of the job."),
    startedDateTime: Type.Optional(nullable(dateTime("Start time of the job."), "Start time of the job.")),
    endedDateTime: Type.Optional(nullable(dateTime("End time of the job."), "End time of the job.")),
    processingUnits: Type.Optional(nullable(Type.Number({ minimum: 0 }), "The number of processing units consumed by the job.")),
  },
  { ...closed, title: "Execution Information", description: "Execution information of a job." },
);

export const JobSchema = Type.Object(
  {
    id: guid("Unique id of the job."),
    name: Type.Optional(Type.String({ minLength: 3, maxLength: 256, description: "Name of the job." })),
    type: JobTypeSchema,
    state: JobStateSchema,
    iTwinId: guid("iTwin Id for the job."),
    userId: Type.String({ description: "Identifier of the user that created the job." }),
    executionInfo: ExecutionInfoSchema,
    specifications: JobSpecificationsSchema,
  },
  { ...closed, title: "Job", description: "Job information." },
);

export const JobResponse = Type.Object({ job: JobSchema }, { ...closed, title: "Job Response", description: "A job." });

export const JobsResponse = Type.Object(
  {
    jobs: Type.Array(JobSchema, { description: "Array of jobs" }),
    _links: Type.Optional(
      Type.Object(
        {
          next: Type.Object(
            { href: Type.String({ description: "The URL." }) },
            { ...closed, title: "Link", description: "URL for getting the next page of results." },
          ),
        },
        { ...closed, title: "Next Page Link", description: "Contains the hyperlink to the next page of results, if applicable." },
      ),
    ),
  },
  { ...closed, title: "Jobs", description: "A page of jobs; `_links` is absent on the last page." },
);

export const ProgressResponse = Type.Object(
  {
    progress: Type.Object(
      {
        state: JobStateSchema,
        percentage: Type.Number({ minimum: 0, maximum: 100, description: "Progress in percent, 0 to 100." }),
      },
      { ...closed, title: "Job Progress" },
    ),
  },
  { ...closed, title: "Progress Response", description: "Progress of a job." },
);

export const JobMessageSchema = Type.Object(
  {
    code: Type.String({ description: "Message code, e.g. InputData_Invalid." }),
    title: Type.String({ description: "Short title of the message." }),
    message: Type.String({ description: "The message; %1, %2... are replaced by the params." }),
    params: Type.Array(Type.String(), { description: "Parameters to be placed in the message. Can be used for localization effort." }),
  },
  { ...closed, title: "Job Message" },
);

export const MessagesResponse = Type.Object(
  {
    messages: Type.Object(
      {
        errors: Type.Array(JobMessageSchema, { description: "Errors the job reported." }),
        warnings: Type.Array(JobMessageSchema, { description: "Warnings the job reported." }),
      },
      { ...closed, title: "Job Messages" },
    ),
  },
  { ...closed, title: "Messages Response", description: "Errors and warnings of a job." },
);

const ErrorDetailSchema = Type.Object(
  {
    code: Type.String({ description: "One of a server-defined set of error codes." }),
    message: Type.String({ description: "A human-readable representation of the error." }),
    target: Type.Optional(nullable(Type.String(), "The target of the error.")),
  },
  { ...closed, title: "Error Detail" },
);

export const ErrorResponse = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: "One of a server-defined set of error codes." }),
        message: Type.String({ description: "A human-readable representation of the error." }),
        target: Type.Optional(nullable(Type.String(), "The target of the error.")),
        details: Type.Optional(Type.Array(ErrorDetailSchema, { description: "Optional array of more specific errors." })),
      },
      { ...closed, title: "Detailed Error", description: "Contains error information and an array of more specific errors." },
    ),
  },
  { ...closed, title: "Error Response", description: "Gives details for an error that occurred while handling the request." },
);

// ---- the create request, per job type (documentation only) ----

function creationSpecs(d: JobTypeDeclaration) {
  return Type.Object(
    {
      inputs: Type.Object({ [d.input.key]: inputSchema(d) }, { ...closed, title: `${d.title} Inputs` }),
      options: Type.Optional(Type.Object(optionsOf(d, true), { ...closed, title: `${d.title} Options` })),
    },
    { ...closed, title: `${d.title} Specifications`, description: `${d.type}: ${d.description}` },
  );
}

export const JobCreationSchema = Type.Object(
  {
    type: JobTypeSchema,
    name: Type.Optional(
      nullable(Type.String({ minLength: 3, maxLength: 256, pattern: NAME_PATTERN }), "Name of the job."),
    ),
    iTwinId: guid("iTwin Id for the job."),
    specifications: Type.Union(
      declarations.map(creationSpecs),
      {
        description:
          "List of inputs and options for the job, must be in sync with type. `options.outputFormat` is required " +
          "for every type except ContextSceneTiler. The output is created by the service.",
      },
    ),
  },
  {
    ...closed,
    title: "Job Creation",
    description:
      "Body of POST /reality-conversion/jobs. Property names and enumeration values are matched case-insensitively.",
  },
);

export const ListJobsQuery = Type.Object(
  {
    $filter: Type.String({
      description:
        "The filter evaluated for each job. Properties: id, iTwinId, name, email, type, state, createdDateTime, inputId, " +
        "outputId. Operators: eq, lt, le, gt, ge, ne, in, and, or. Example: iTwinId eq dc720f05-e5f7-448b-ae06-765de46f0af1",
    }),
    $top: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 1000 }), Type.String()], {
        description: "The number of jobs in each page. Max 1000, 100 by default.",
      }),
    ),
    continuationToken: Type.Optional(
      Type.String({ description: "Token for the next page, passed exactly as in the response's _links.next." }),
    ),
  },
  { ...closed, title: "List Jobs Query" },
);

export type JobWire = Static<typeof JobSchema>;
export type JobCreationWire = Static<typeof JobCreationSchema>;
export type ErrorResponseWire = Static<typeof ErrorResponse>;

/**
 * The OpenAPI 3.0 form of a document generated from JSON Schema (draft 7) schemas: 3.0 writes an exclusive
 * bound as `minimum: n, exclusiveMinimum: true` where draft 7 writes `exclusiveMinimum: n`.
 */
export function toOpenApi30<T>(document: T): T {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== "object" || node === null) return;
    const o = node as Record<string, unknown>;
    for (const [bound, exclusive] of [["minimum", "exclusiveMinimum"], ["maximum", "exclusiveMaximum"]] as const) {
      if (typeof o[exclusive] === "number") {
        o[bound] = o[exclusive];
        o[exclusive] = true;
      }
    }
    Object.values(o).forEach(visit);
  };
  visit(document);
  return document;
}
