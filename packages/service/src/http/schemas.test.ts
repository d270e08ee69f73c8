import { test } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { Value } from "@sinclair/typebox/value";
import type { Job } from "../domain/job.js";
import { ApiError } from "../domain/errors.js";
import { parseJobCreation } from "../domain/specifications.js";
import {
  ErrorResponse,
  JobCreationSchema,
  JobResponse,
  JobSchema,
  JobsResponse,
  ListJobsQuery,
  MessagesResponse,
  ProgressResponse,
} from "./schemas.js";

/** The 201 example of section 1.2, verbatim. */
const created = {
  id: "86e93558-7dbd-40da-8604-245ed345c57a",
  state: "Active",
  userId: "654e3c44-9a1a-4c72-8f8c-e1245bfcebf3",
  executionInfo: { createdDateTime: "2026-04-04T13:57:24Z" },
  specifications: {
    inputs: { pointCloud: "df091f39-377c-48fb-a9c9-9fd0998e151a" },
    output: "407f2733-75cf-4aa3-bd3d-3cb85221ac43",
    options: { outputFormat: "3DTilesPnts" },
  },
  name: "My first PC Conversion job",
  type: "PointCloudConversion",
  iTwinId: "019b18b4-e4c1-4211-b8bb-1bd26b8e955e",
};

/** Section 1.6's cancel example as the service stores it: its `pointClouds` string canonicalised to `pointCloud`. */
function cancelled(): Job {
  const c = parseJobCreation({
    type: "PointCloudConversion",
    name: "PointCloudConversion Job",
    iTwinId: "ce54f773-67db-4b4f-a98b-368329107429",
    specifications: { inputs: { pointClouds: "40a8142e-3277-4c65-922f-e1f3759b904b" }, options: { outputFormat: "3DTilesPnts" } },
  });
  return {
    id: "5e315451-564e-4e8b-a952-45b14e6a9c90",
    state: "TerminatingOnCancel",
    userId: "3a8670f9-b69f-4a60-b958-f103d580755f",
    executionInfo: { createdDateTime: "2026-04-05T14:04:56Z" },
    specifications: { inputs: c.inputs, output: "f4cc6131-a9c8-4833-8d2a-cd0a11b8b778", options: c.options },
    name: c.name,
    type: c.type,
    iTwinId: c.iTwinId,
  };
}

/** A finished job with the .NET 7-digit timestamps of the list example. */
const finished = {
  id: "eba823ca-f8e3-4ebb-be5f-6bc77aadbe14",
  state: "Success",
  userId: "e263a543-db55-4fa5-8a4e-69b9cfcf6c59",
  executionInfo: {
    startedDateTime: "2026-04-01T09:56:14.0000000+00:00",
    endedDateTime: "2026-04-01T10:07:49.0000000+00:00",
    createdDateTime: "2026-04-01T09:48:28.0000000+00:00",
    processingUnits: 0,
  },
  specifications: {
    inputs: { pointClouds: ["fc2746d5-7b62-4f00-9a88-1bfaa22475d7"] },
    output: "62869765-1031-470f-9730-15ef7aac8adb",
    options: { outputFormat: "3DTilesPnts" },
  },
  name: "Unified Job- PCOptimization",
  type: "PointCloudOptimization",
  iTwinId: "2c8e4988-eb9b-4e5f-a903-8c7c18f3030a",
};

const A = "dbad181b-5079-4224-8561-96ad218bcfc9";
const B = "ea881e3e-b0e3-4b23-bc3f-4ee8e9acdf61";

/** One canonical job per type, from the section 1.7 example bodies. */
function jobsOfAllTypes(): Job[] {
  const bodies = [
    { type: "PointCloudConversion", specifications: { inputs: { pointCloud: A }, options: { outputFormat: "LAZ", inputCrs: "EPSG:2056" } } },
    { type: "PointCloudOptimization", specifications: { inputs: { pointClouds: [A, B] }, options: { outputFormat: "3DTilesGlbc" } } },
    { type: "MeshSampling", specifications: { inputs: { meshes: [A, B] }, options: { outputFormat: "3DTilesGlbc", sampling: 0.1 } } },
    {
      type: "TileMapOptimization",
      specifications: {
        inputs: { tileMaps: [A, B] },
        options: { outputFormat: "XYZTileMap", backgroundColor: "#000000", topLevel: 3, bottomLevel: 19, imageFormat: "PNG", jpgQuality: 80 },
      },
    },
    { type: "VectorOptimization", specifications: { inputs: { vectors: [A, B] }, options: { outputFormat: "FeatureDB", featureClassDisplayName: "Road" } } },
    { type: "ContextSceneTiler", specifications: { inputs: { scene: A }, options: { objectToTile: "Cameras" } } },
  ];
  return bodies.map((b, i) => {
    const c = parseJobCreation({ ...b, iTwinId: created.iTwinId });
    return {
      id: `00000000-0000-4000-8000-00000000000${i}`,
      type: c.type,
      state: "Queued",
      iTwinId: c.iTwinId,
      userId: "user-1",
      executionInfo: { createdDateTime: "2026-11-28T16:00:00.000Z", startedDateTime: null, endedDateTime: null, processingUnits: null },
      specifications: { inputs: c.inputs, output: "f4cc6131-a9c8-4833-8d2a-cd0a11b8b778", options: c.options },
    };
  });
}

test("canonical jobs from the documented examples pass JobSchema", () => {
  assert.ok(Value.Check(JobSchema, created));
  assert.ok(Value.Check(JobSchema, cancelled()));
  assert.ok(Value.Check(JobSchema, finished));
  for (const job of jobsOfAllTypes()) assert.ok(Value.Check(JobSchema, job), job.type);
  assert.ok(Value.Check(JobResponse, { job: created }));
  assert.ok(Value.Check(JobsResponse, { jobs: [finished, created] }));
  assert.ok(
    Value.Check(JobsResponse, {
      jobs: jobsOfAllTypes(),
      _links: { next: { href: "https://api.bentley.com/reality-conversion/jobs?$filter=x&continuationToken=abc" } },
    }),
  );
});

test("an extra or wrong property anywhere in a job fails JobSchema", () => {
  const clone = () => structuredClone(created) as Record<string, any>;
  const mutations: Array<(j: Record<string, any>) => void> = [
    (j) => (j.email = "a@b.c"),
    (j) => (j.executionInfo.submissionDateTime = "2026-04-04T13:57:24Z"),
    (j) => (j.specifications.outputs = "x"),
    (j) => (j.specifications.inputs.extra = A),
    (j) => (j.specifications.options.merge = true),
    (j) => (j.state = "active"),
    (j) => (j.type = "Conversion"),
    (j) => (j.specifications.options.outputFormat = "opc"),
    (j) => (j.iTwinId = "not-a-guid"),
    (j) => (j.executionInfo.createdDateTime = "yesterday"),
    (j) => delete j.userId,
    (j) => delete j.specifications.output,
    // The raw cancel example (pointClouds as a string) is not the canonical form.
    (j) => (j.specifications.inputs = { pointClouds: "40a8142e-3277-4c65-922f-e1f3759b904b" }),
  ];
  for (const [i, mutate] of mutations.entries()) {
    const j = clone();
    mutate(j);
    assert.equal(Value.Check(JobSchema, j), false, `mutation ${i}`);
  }
  assert.equal(Value.Check(JobsResponse, { jobs: [], _links: { next: { href: "x", rel: "next" } } }), false);
  assert.equal(Value.Check(JobResponse, { job: created, extra: 1 }), false);
});

test("progress, messages and error shapes", () => {
  assert.ok(Value.Check(ProgressResponse, { progress: { percentage: 5, state: "Active" } }));
  assert.equal(Value.Check(ProgressResponse, { progress: { percentage: 101, state: "Active" } }), false);
  assert.equal(Value.Check(ProgressResponse, { progress: { percentage: 5, state: "Active", step: "Convert_Files" } }), false);
  const message = { code: "InputData_Invalid", message: 'Invalid input data. Please check the documentation. ("%1")', title: "Invalid input data", params: ["Scene"] };
  assert.ok(Value.Check(MessagesResponse, { messages: { errors: [message], warnings: [] } }));
  assert.equal(Value.Check(MessagesResponse, { messages: { errors: [{ ...message, params: [1] }], warnings: [] } }), false);
  assert.equal(Value.Check(MessagesResponse, { messages: { errors: [] } }), false);

  // A real validation error, serialised as the HTTP layer does.
  let body: unknown;
  try {
    parseJobCreation({ type: "PCConversion", iTwinId: created.iTwinId, specifications: { inputs: {} } });
  } catch (e) {
    assert.ok(e instanceof ApiError);
    body = e.toBody();
  }
  assert.ok(Value.Check(ErrorResponse, body));
  assert.ok(Value.Check(ErrorResponse, { error: { code: "JobNotFound", message: "Requested job is not available." } }));
  assert.ok(Value.Check(ErrorResponse, { error: { code: "InvalidRealityConversionRequest", message: "m", details: [{ code: "InvalidChange", message: "x", target: "" }] } }));
  assert.equal(Value.Check(ErrorResponse, { error: { code: "X", message: "m", stack: "..." } }), false);
});

test("JobCreationSchema documents the request: examples pass, output and unknown keys fail", () => {
  const bodies = jobsOfAllTypes().map((j) => ({ type: j.type, iTwinId: j.iTwinId, specifications: { inputs: j.specifications.inputs, options: j.specifications.options } }));
  for (const b of bodies) assert.ok(Value.Check(JobCreationSchema, b), b.type);
  assert.ok(Value.Check(JobCreationSchema, { ...bodies[0], name: "My first PC Conversion job" }));
  assert.equal(Value.Check(JobCreationSchema, { ...bodies[0], name: "a|b" }), false);
  assert.equal(Value.Check(JobCreationSchema, { ...bodies[0], specifications: { ...bodies[0].specifications, output: A } }), false);
  assert.equal(Value.Check(JobCreationSchema, { ...bodies[0], state: "Active" }), false);
  assert.ok(Value.Check(ListJobsQuery, { $filter: "iTwinId eq dc720f05-e5f7-448b-ae06-765de46f0af1", $top: "10" }));
  assert.ok(Value.Check(ListJobsQuery, { $filter: "x", $top: 10, continuationToken: "abc" }));
  assert.equal(Value.Check(ListJobsQuery, { $top: 10 }), false);
});

test("fastify serialises responses through the schemas: extra properties never reach the wire", async () => {
  const app = Fastify();
  app.get("/job", { schema: { response: { 200: JobResponse } } }, async () => ({
    job: { ...created, email: "secret@example.com", specifications: { ...created.specifications, internalPath: "/data/x" } },
  }));
  app.get("/jobs", { schema: { response: { 200: JobsResponse } } }, async () => ({ jobs: jobsOfAllTypes() }));
  try {
    const r = await app.inject({ method: "GET", url: "/job" });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { job: created });
    const l = await app.inject({ method: "GET", url: "/jobs" });
    assert.equal(l.statusCode, 200);
    assert.deepEqual(l.json(), { jobs: jobsOfAllTypes() });
  } finally {
    await app.close();
  }
});

test("enumerations and nullables are plain OpenAPI 3.0 JSON Schema, and TypeBox still checks them", () => {
  const props = JobSchema.properties;
  assert.deepEqual(JSON.parse(JSON.stringify(props.state)), {
    type: "string",
    enum: ["Queued", "Active", "TerminatingOnCancel", "TerminatingOnFailure", "Cancelled", "Failed", "Success"],
    title: "Job State",
    description: "Current state of the job.",
  });
  const started = JSON.parse(JSON.stringify(props.executionInfo.properties.startedDateTime));
  assert.equal(started.nullable, true);
  assert.equal(started.type, "string");
  assert.equal("anyOf" in started, false);
  const exec = { createdDateTime: "2026-04-04T13:57:24Z" };
  assert.ok(Value.Check(props.executionInfo, { ...exec, startedDateTime: null, processingUnits: 1.5 }));
  assert.equal(Value.Check(props.executionInfo, { ...exec, startedDateTime: "soon" }), false);
  assert.equal(Value.Check(props.executionInfo, { ...exec, processingUnits: "1" }), false);
  assert.equal(Value.Check(props.executionInfo, { createdDateTime: null }), false);
  const options = props.specifications.properties.options;
  assert.ok(Value.Check(options, { objectToTile: null, jpgQuality: 85 }));
  assert.equal(Value.Check(options, { objectToTile: "Photos" }), false);
  assert.equal(Value.Check(options, { jpgQuality: 100 }), false);
});
