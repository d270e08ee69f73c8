/**
 * The job forms come from the service's own OpenAPI document (`/reality-conversion/openapi.json`): the
 * creation schema's `specifications` is one schema per job type (`anyOf`, each described "<Type>: ..."), so the
 * forms follow whatever options the server takes. Values are checked here with the same schema rules before
 * sending; the server's 422 details are shown as they come.
 */

export interface Schema {
  type?: string;
  enum?: string[];
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  items?: Schema;
  title?: string;
  description?: string;
  default?: unknown;
  nullable?: boolean;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
}

export interface JobTypeForm {
  type: string;
  description: string;
  inputs: [string, Schema][];
  requiredInputs: string[];
  options: [string, Schema][];
  name: Schema;
}

let docPromise: Promise<Schema> | undefined;

export async function jobCreationSchema(): Promise<Schema> {
  docPromise ??= fetch("/reality-conversion/openapi.json")
    .then((r) => {
      if (!r.ok) throw new Error(`the API description answered HTTP ${r.status}`);
      return r.json();
    })
    .then((doc: { paths: Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: Schema }> } } }> }) => {
      const schema = doc.paths["/reality-conversion/jobs"]?.post?.requestBody?.content?.["application/json"]?.schema;
      if (!schema) throw new Error("the API description has no job creation schema");
      return schema;
    });
  return docPromise;
}

export function jobTypeForms(creation: Schema): JobTypeForm[] {
  const types = creation.properties?.type?.enum ?? [];
  const specs = creation.properties?.specifications?.anyOf ?? [];
  return types.map((type) => {
    const spec = specs.find((s) => s.description?.startsWith(`${type}:`)) ?? {};
    const inputs = spec.properties?.inputs ?? {};
    return {
      type,
      description: spec.description?.slice(type.length + 1).trim() ?? "",
      inputs: Object.entries(inputs.properties ?? {}),
      requiredInputs: inputs.required ?? [],
      options: Object.entries(spec.properties?.options?.properties ?? {}).map(([k, o]) => [k, textEnum(o)] as [string, Schema]),
      name: creation.properties?.name ?? {},
    };
  });
}

/** A nullable enumeration lists `null` among its values; the form offers "(default)" for it instead. */
function textEnum(s: Schema): Schema {
  return s.enum ? { ...s, enum: s.enum.filter((v): v is string => typeof v === "string") } : s;
}

/** "Accepted reality data types: LAS, LAZ." in an input's description. */
export function acceptedTypes(s: Schema): string[] | undefined {
  const m = /Accepted reality data types: ([^.]+)\./.exec(s.description ?? "");
  return m ? m[1].split(",").map((t) => t.trim()) : undefined;
}

export function isRequiredOption(s: Schema): boolean {
  return /\(required\)/.test(s.description ?? "");
}

/** The description without the per-format glossary the output format carries; that one is shown per value. */
export function formatDescriptions(s: Schema): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of s.enum ?? []) {
    const m = new RegExp("`" + v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "`: ([^`]+?)(?= `|$)").exec(s.description ?? "");
    // "... contents. Output reality data type `Cesium3DTiles`.": the type is the part after the next backtick.
    if (m) out[v] = m[1].replace(/\s*Output reality data type\s*$/, "").trim();
  }
  return out;
}

export interface Problem {
  target: string;
  message: string;
}

/** A form value (text) against its schema: the value to send, or a problem. */
export function checkValue(target: string, s: Schema, text: string, required: boolean): { value?: unknown; problem?: Problem } {
  if (text.trim() === "") return required ? { problem: { target, message: "is required" } } : {};
  if (s.enum) return s.enum.includes(text) ? { value: text } : { problem: { target, message: `must be one of ${s.enum.join(", ")}` } };
  if (s.type === "integer" || s.type === "number") {
    const n = Number(text);
    if (!Number.isFinite(n) || (s.type === "integer" && !Number.isInteger(n))) return { problem: { target, message: `must be ${s.type === "integer" ? "an integer" : "a number"}` } };
    if (s.minimum !== undefined && n < s.minimum) return { problem: { target, message: `must be at least ${s.minimum}` } };
    if (s.maximum !== undefined && n > s.maximum) return { problem: { target, message: `must be at most ${s.maximum}` } };
    return { value: n };
  }
  if (s.minLength !== undefined && text.length < s.minLength) return { problem: { target, message: `must be at least ${s.minLength} characters long` } };
  if (s.maxLength !== undefined && text.length > s.maxLength) return { problem: { target, message: `must be at most ${s.maxLength} characters long` } };
  if (s.pattern && !new RegExp(s.pattern, "u").test(text)) return { problem: { target, message: "has characters that are not allowed" } };
  return { value: text };
}
