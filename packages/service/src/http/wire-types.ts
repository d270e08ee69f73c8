/**
 * The TypeScript declarations of the Reality Conversion wire shapes, rendered from the route schemas (the
 * schemas the OpenAPI document is generated from) for `@realconv/sdk`: `packages/sdk/src/wire.ts`, written by
 * `npm run generate:sdk`. A test fails when that file differs from what the schemas render, so the client's
 * types cannot drift from the document.
 *
 * Only the JSON Schema the schemas use is rendered: objects, arrays, strings, numbers, string enumerations,
 * `nullable` and `anyOf`.
 */
import { declarations } from "@realconv/convert";
import {
  ErrorResponse,
  ExecutionInfoSchema,
  JobCreationSchema,
  JobInputsSchema,
  JobOptionsSchema,
  JobResponse,
  JobSchema,
  JobSpecificationsSchema,
  JobStateSchema,
  JobTypeSchema,
  JobsResponse,
  MessagesResponse,
  ProgressResponse,
} from "./schemas.js";

interface Schema {
  type?: string;
  enum?: unknown[];
  nullable?: boolean;
  description?: string;
  default?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

class Renderer {
  /**
   * Schemas rendered by name where they appear, keyed by their JSON (TypeBox's Optional wraps a schema in a
   * copy, so identity would miss them).
   */
  private readonly names = new Map<string, string>();

  name(schema: unknown, name: string): void {
    this.names.set(JSON.stringify(schema), name);
  }

  type(schema: Schema, indent: string, top = false): string {
    const named = this.names.get(JSON.stringify(schema));
    if (named && !top) return named;
    if (schema.anyOf) return schema.anyOf.map((s) => this.type(s, indent)).join(" | ");
    let t: string;
    if (schema.enum) {
      return schema.enum.map((v) => (v === null ? "null" : JSON.stringify(v))).join(" | ");
    } else if (schema.type === "object") {
      t = this.object(schema, indent);
    } else if (schema.type === "array") {
      const item = this.type(schema.items ?? {}, indent);
      t = /[|&]/.test(item) ? `(${item})[]` : `${item}[]`;
    } else if (schema.type === "string") t = "string";
    else if (schema.type === "number" || schema.type === "integer") t = "number";
    else if (schema.type === "boolean") t = "boolean";
    else t = "unknown";
    return schema.nullable ? `${t} | null` : t;
  }

  private object(schema: Schema, indent: string): string {
    const inner = `${indent}  `;
    const required = new Set(schema.required ?? []);
    const lines = Object.entries(schema.properties ?? {}).map(([key, prop]) => {
      const k = IDENTIFIER.test(key) ? key : JSON.stringify(key);
      return `${doc(prop, inner)}${inner}${k}${required.has(key) ? "" : "?"}: ${this.type(prop, inner)};`;
    });
    return lines.length === 0 ? "{}" : `{\n${lines.join("\n")}\n${indent}}`;
  }

  declaration(name: string, schema: unknown, description?: string): string {
    const s = schema as Schema;
    // Type aliases rather than interfaces: object literal types are assignable to index signatures.
    return `${doc({ description: description ?? s.description }, "")}export type ${name} = ${this.type(s, "", true)};\n`;
  }
}

function doc(schema: Schema, indent: string): string {
  const lines: string[] = [];
  if (schema.description) lines.push(...schema.description.split("\n"));
  if (schema.default !== undefined) lines.push(`@default ${JSON.stringify(schema.default)}`);
  if (lines.length === 0) return "";
  // "*/" inside a description would end the comment.
  const body = lines.map((l) => l.replace(/\*\//g, "*\\/"));
  return body.length === 1 ? `${indent}/** ${body[0]} */\n` : `${indent}/**\n${body.map((l) => `${indent} * ${l}`).join("\n")}\n${indent} */\n`;
}

export function renderWireTypes(): string {
  const r = new Renderer();
  const props = (s: unknown) => (s as Schema).properties!;
  const errorBody = props(ErrorResponse).error;
  const named: [string, unknown][] = [
    ["JobType", JobTypeSchema],
    ["JobState", JobStateSchema],
    ["JobInputs", JobInputsSchema],
    ["JobOptions", JobOptionsSchema],
    ["JobSpecifications", JobSpecificationsSchema],
    ["ExecutionInfo", ExecutionInfoSchema],
    ["Job", JobSchema],
    ["JobResponse", JobResponse],
    ["JobsPage", JobsResponse],
    ["JobProgress", props(ProgressResponse).progress],
    ["ProgressResponse", ProgressResponse],
    ["JobMessage", props(MessagesResponse).messages.properties!.errors.items],
    ["JobMessages", props(MessagesResponse).messages],
    ["MessagesResponse", MessagesResponse],
    ["ErrorDetail", errorBody.properties!.details.items],
    ["ErrorBody", errorBody],
    ["ErrorResponse", ErrorResponse],
  ];
  for (const [name, schema] of named) r.name(schema, name);

  // The create request: one interface per job type, so `type` selects its inputs and options.
  const creation = JobCreationSchema as unknown as Schema;
  const variants = creation.properties!.specifications.anyOf!;
  const perType = declarations.map((d) => {
    const specs = variants.find((v) => (v as { title?: string }).title === `${d.title} Specifications`);
    if (!specs) throw new Error(`no creation schema for ${d.type}`);
    return { type: d.type, specs, options: specs.properties!.options };
  });
  for (const t of perType) {
    r.name(t.specs, `${t.type}Specifications`);
    r.name(t.options, `${t.type}Options`);
  }

  const out: string[] = [
    "// Generated by `npm run generate:sdk` from the route schemas of packages/service (src/http/schemas.ts),",
    "// the schemas the OpenAPI document is generated from. Do not edit: a test compares this file with them.",
    "",
  ];
  for (const [name, schema] of named) out.push(r.declaration(name, schema));
  for (const t of perType) {
    out.push(r.declaration(`${t.type}Options`, t.options));
    out.push(r.declaration(`${t.type}Specifications`, t.specs));
    const c = creation.properties!;
    out.push(
      `${doc({ description: `Body of POST /reality-conversion/jobs for a ${t.type} job.` }, "")}` +
        `export type ${t.type}Creation = {\n` +
        `  type: ${JSON.stringify(t.type)};\n` +
        `${doc(c.name, "  ")}  name?: ${r.type(c.name, "  ")};\n` +
        `${doc(c.iTwinId, "  ")}  iTwinId: string;\n` +
        `  specifications: ${t.type}Specifications;\n};\n`,
    );
  }
  out.push(`${doc(creation, "")}export type JobCreation = ${perType.map((t) => `${t.type}Creation`).join(" | ")};\n`);
  out.push(
    `/** The create request of each job type, by type. */\nexport type JobCreationByType = {\n` +
      perType.map((t) => `  ${t.type}: ${t.type}Creation;`).join("\n") +
      "\n};\n",
  );
  return out.join("\n");
}
