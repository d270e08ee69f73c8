/**
 * Requests replayed as Bentley's v2 TypeScript client sends them (Authorization, the versioned Accept and
 * `Content-Type: application/json` on every request, body or not; `continuationToken=` on a first page;
 * `URLSearchParams` encoding), and the sample requests of the hosted service's documentation.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startTestServer, type TestServer } from "../testing/harness.js";
import { assertEnvelope } from "../testing/envelope.js";

const V1 = "application/vnd.bentley.itwin-platform.v1+json";
const V2 = "application/vnd.bentley.itwin-platform.v2+json";

describe("replayed client requests", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  let pointCloud: string;

  /** One request the way the client library makes it: JSON content type always, the body only when there is one. */
  const send = async (method: string, path: string, accept: string, body?: unknown, params?: Record<string, string>) => {
    const query = params ? `?${new URLSearchParams(params).toString()}` : "";
    const res = await fetch(`${s.url}${path}${query}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept, "content-type": "application/json" },
      body: body === undefined ? (method === "GET" ? undefined : "") : JSON.stringify(body),
    });
    const text = await res.text();
    const r = { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
    if (r.status >= 400) assertEnvelope(r, `${method} ${path}`);
    return r;
  };

  before(async () => {
    s = await startTestServer();
    token = await s.token("client@example.com");
    itwin = await s.createITwin("Client", ["client@example.com"]);
    pointCloud = await s.createRealityData(itwin, "LAS", []);
  });
  after(async () => s.close());

  it("getJobs sends an empty continuationToken on the first page; getRealityData too", async () => {
    const first = await send("GET", "/reality-conversion/jobs", V2, undefined, { $filter: `iTwinId eq ${itwin}`, $top: "10", continuationToken: "" });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.jobs, []);
    const noTop = await send("GET", "/reality-conversion/jobs", V2, undefined, { $filter: "state eq Success", continuationToken: "" });
    assert.equal(noTop.status, 200);
    const rd = await send("GET", "/reality-management/reality-data", V1, undefined, { iTwinId: itwin, continuationToken: "" });
    assert.equal(rd.status, 200, JSON.stringify(rd.body));
  });

  it("body-less DELETE and POST with a JSON content type: cancel, associate, dissociate, delete", async () => {
    const created = await send("POST", "/reality-conversion/jobs", V2, {
      type: "PointCloudConversion",
      iTwinId: itwin,
      name: "Replayed job",
      specifications: { inputs: { pointCloud }, options: { outputFormat: "LAS" } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const cancel = await send("DELETE", `/reality-conversion/jobs/${created.body.job.id}`, V2);
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    assert.match(cancel.body.job.state, /^(TerminatingOnCancel|Cancelled)$/);
    for (const part of ["progress", "messages"]) assert.equal((await send("GET", `/reality-conversion/jobs/${created.body.job.id}/${part}`, V2)).status, 200);

    const other = await s.createITwin("Other", ["client@example.com"]);
    const rd = await s.createRealityData(itwin, "LAS", [], "someone-else");
    const associate = await send("POST", `/reality-management/reality-data/${rd}/iTwins/${other}`, V1);
    assert.equal(associate.status, 200, JSON.stringify(associate.body));
    const dissociate = await send("DELETE", `/reality-management/reality-data/${rd}/iTwins/${other}`, V1);
    assert.equal(dissociate.status, 204);
    const del = await send("DELETE", `/reality-management/reality-data/${rd}`, V1);
    assert.equal(del.status, 204);
    const missingBody = await send("POST", "/reality-conversion/jobs", V2);
    assert.equal(missingBody.status, 400, "no body where one is needed is the route's own error");
    assert.equal(missingBody.body.error.details[0].code, "InvalidProperty");
  });

  it("the documentation's create-job sample (ids replaced): 201 with its shape, in either spelling of its format", async () => {
    const sample = (outputFormat: string) => ({
      specifications: { inputs: { pointCloud }, options: { outputFormat } },
      name: "My first PC Conversion job",
      type: "PointCloudConversion",
      iTwinId: itwin,
    });
    for (const spelling of ["3DTilesPnts", "3DTilesPNTS"]) {
      const r = await send("POST", "/reality-conversion/jobs", V2, sample(spelling));
      assert.equal(r.status, 201, spelling);
      assert.equal(r.body.job.specifications.options.outputFormat, "3DTilesPnts", spelling);
    }
    const r = await send("POST", "/reality-conversion/jobs", V2, sample("LAS"));
    assert.equal(r.status, 201);
    assert.deepEqual(Object.keys(r.body.job).sort(), ["executionInfo", "iTwinId", "id", "name", "specifications", "state", "type", "userId"]);
    assert.deepEqual(r.body.job.specifications.inputs, { pointCloud });
    assert.match(r.body.job.specifications.output, /^[0-9a-f-]{36}$/);

    const filters = [
      `iTwinId eq ${itwin}`,
      `inputId in ('${pointCloud}', '${randomUUID()}')`,
      `id eq ${r.body.job.id}`,
      "createdDateTime gt 2024-06-24T13:00:00Z",
    ];
    for (const $filter of filters) {
      const list = await send("GET", "/reality-conversion/jobs", V2, undefined, { $filter });
      assert.equal(list.status, 200, $filter);
      assert.ok(list.body.jobs.some((j: { id: string }) => j.id === r.body.job.id), $filter);
    }
  });

  it("the documentation's reality data samples: create body, next link, container access in the clients' casing", async () => {
    const created = await send("POST", "/reality-management/reality-data", V1, {
      iTwinId: itwin,
      displayName: "Name of the reality data to create",
      classification: "Model",
      type: "LAS",
      description: "Description of the reality data",
      dataset: "Dataset",
      group: "GroupId",
      attribution: "Attribution of reality data",
      termsOfUse: "Terms of use of reality data",
      rootDocument: "rootDocument.las",
      tags: ["tag1", "tag2"],
      acquisition: { startDateTime: "2021-05-12T20:03:12.0000000+00:00", endDateTime: "2021-05-15T22:07:18.0000000+00:00", acquirer: "Data Acquisition Inc." },
      extent: { southWest: { latitude: 40.0206, longitude: -75.6355 }, northEast: { latitude: 40.0356, longitude: -75.6059 } },
      crs: { id: "EPSG:4326", verticalId: "EPSG:5773" },
      authoring: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.realityData.id as string;
    const next = await send("GET", "/reality-management/reality-data", V1, undefined, { iTwinId: itwin, continuationToken: "eyJ0b3AiOjEwMCwic2tpcCI6MTAwfQ" });
    assert.equal(next.status, 200, JSON.stringify(next.body));
    for (const access of ["readAccess", "writeAccess", "readaccess", "writeaccess"]) {
      const r = await send("GET", `/reality-management/reality-data/${id}/${access}`, V1, undefined, { iTwinId: itwin });
      assert.equal(r.status, 200, access);
      assert.equal(r.body.type, "AzureBlobSasUrl");
    }
    const details = await send("GET", `/reality-management/reality-data/${id}`, V1, undefined, { iTwinId: itwin });
    assert.equal(details.status, 200);
    assert.deepEqual(details.body.realityData.tags, ["tag1", "tag2"]);
    const patched = await send("PATCH", `/reality-management/reality-data/${id}`, V1, { authoring: false });
    assert.equal(patched.status, 200);
  });
});
