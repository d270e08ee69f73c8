/**
 * The OpenAPI document as client generators read it: valid for the OpenAPI version it declares (checked by
 * an independent validator), and describing every job type's inputs and options from the declarations.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import SwaggerParser from "@apidevtools/swagger-parser";
import { declarations, formatsOf } from "@realconv/convert";
import { startTestServer } from "../testing/harness.js";

interface SchemaObject {
  title?: string;
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: unknown;
  properties?: Record<string, SchemaObject>;
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  $ref?: string;
}

async function document(): Promise<Record<string, unknown>> {
  const s = await startTestServer();
  try {
    const r = await fetch(`${s.url}/reality-conversion/openapi.json`);
    assert.equal(r.status, 200);
    return (await r.json()) as Record<string, unknown>;
  } finally {
    await s.close();
  }
}

test("the OpenAPI document is valid for the version it declares", async () => {
  const doc = await document();
  assert.equal(doc.openapi, "3.0.3");
  // validate() dereferences in place: give it a copy.
  await SwaggerParser.validate(structuredClone(doc) as never);
});

test("the create-job body documents every job type's inputs, formats, options, defaults and ranges", async () => {
  const doc = (await SwaggerParser.dereference(structuredClone(await document()) as never)) as unknown as {
    paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: SchemaObject }> } } }>;
  };
  const body = doc.paths["/reality-conversion/jobs"].post!.requestBody!.content["application/json"].schema;
  const variants = body.properties!.specifications.anyOf ?? body.properties!.specifications.oneOf ?? [];
  assert.equal(variants.length, declarations.length);
  for (const d of declarations) {
    const v = variants.find((x) => x.title === `${d.title} Specifications`);
    assert.ok(v, `variant of ${d.type}`);
    assert.deepEqual(Object.keys(v.properties!.inputs.properties!), [d.input.key]);
    assert.equal(v.properties!.inputs.properties![d.input.key].type, d.input.many ? "array" : "string");
    const options = v.properties!.options.properties!;
    const formats = formatsOf(d);
    if (formats.length > 0) assert.deepEqual(options.outputFormat.enum, formats, d.type);
    else assert.equal(options.outputFormat, undefined);
    for (const [key, decl] of Object.entries(d.options)) {
      const o = options[key];
      assert.ok(o, `${d.type}.${key}`);
      if ("default" in decl && decl.default !== undefined) assert.equal(o.default, decl.default, `${d.type}.${key} default`);
      if (decl.kind === "enum") assert.deepEqual(o.enum, [...decl.values, null]);
      if (decl.kind === "integer") assert.deepEqual([o.minimum, o.maximum], [decl.minimum, decl.maximum]);
      if (decl.kind === "number") assert.deepEqual([o.minimum, o.exclusiveMinimum], [decl.greaterThan, true]);
    }
  }
});
