/**
 * `@realconv/sdk`'s types are the route schemas': its generated `wire.ts` is what the schemas render today, and
 * its types are assignable to the schemas' `Static` types (in both directions where the schemas are exact), so
 * nothing the SDK lets a client write is outside the documented API.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Static } from "@sinclair/typebox";
import type * as sdk from "@realconv/sdk";
import { declarations } from "@realconv/convert";
import { renderWireTypes } from "./wire-types.js";
import type {
  ErrorResponse,
  ExecutionInfoSchema,
  JobCreationSchema,
  JobResponse,
  JobSchema,
  JobsResponse,
  MessagesResponse,
  ProgressResponse,
} from "./schemas.js";
import type { RealityData } from "../ports/reality-data.js";

type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Compile-time checks: the build fails when one no longer holds.
export type WireChecks = [
  Assert<Extends<sdk.Job, Static<typeof JobSchema>>>,
  Assert<Extends<sdk.JobResponse, Static<typeof JobResponse>>>,
  Assert<Extends<sdk.JobsPage, Static<typeof JobsResponse>>>,
  Assert<Extends<sdk.JobCreation, Static<typeof JobCreationSchema>>>,
  Assert<Same<sdk.ExecutionInfo, Static<typeof ExecutionInfoSchema>>>,
  Assert<Same<sdk.ProgressResponse, Static<typeof ProgressResponse>>>,
  Assert<Same<sdk.MessagesResponse, Static<typeof MessagesResponse>>>,
  Assert<Same<sdk.ErrorResponse, Static<typeof ErrorResponse>>>,
  Assert<Same<sdk.JobState, Static<typeof JobSchema>["state"]>>,
  Assert<Same<sdk.JobType, Static<typeof JobSchema>["type"]>>,
  // Reality data as the routes send them: the records without the iTwin they were created in.
  Assert<Same<sdk.RealityData, Omit<RealityData, "iTwinId">>>,
];

test("the SDK's wire.ts is what the route schemas render (regenerate with `npm run generate:sdk`)", () => {
  const committed = readFileSync(fileURLToPath(new URL("../../../sdk/src/wire.ts", import.meta.url)), "utf8");
  assert.ok(committed === renderWireTypes(), "packages/sdk/src/wire.ts differs from the schemas: run `npm run generate:sdk`");
});

test("every job type has its creation interface, keyed by its input and typed options", () => {
  const text = renderWireTypes();
  for (const d of declarations) {
    assert.match(text, new RegExp(`export type ${d.type}Creation = \\{\\n  type: "${d.type}";`));
    const specs = text.slice(text.indexOf(`export type ${d.type}Specifications `));
    assert.match(specs, new RegExp(`^  inputs: \\{\\n.*\\n    ${d.input.key}: string${d.input.many ? "\\[\\]" : ""};`, "m"), d.type);
    const options = text.slice(text.indexOf(`export type ${d.type}Options `), text.indexOf(`export type ${d.type}Specifications `));
    for (const key of Object.keys(d.options)) assert.match(options, new RegExp(`\\n  ${key}\\?: `), `${d.type}.${key}`);
  }
});
