/**
 * Conformance of /reality-conversion over real HTTP: every endpoint, error body, $filter operator
 * and literal form, and paging. The server here has no workers, so jobs stay where the API puts them.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { api, startTestServer, type TestServer } from "../testing/harness.js";

const JOB_KEYS = ["executionInfo", "iTwinId", "id", "name", "specifications", "state", "type", "userId"];

describe("Reality Conversion v2 API", () => {
  let s: TestServer;
  let alice: string;
  let bob: string;
  let carol: string;
  let itwin: string;
  let bobsITwin: string;
  let lasInput: string;
  const call = (method: string, path: string, o: Parameters<typeof api>[3] = {}) => api(s.url, method, path, o);
  const lasJob = (extra: Record<string, unknown> = {}, options: Record<string, unknown> = { outputFormat: "LAS" }) => ({
    type: "PointCloudConversion",
    iTwinId: itwin,
    name: "Convert scan",
    specifications: { inputs: { pointCloud: lasInput }, options },
    ...extra,
  });

  before(async () => {
    s = await startTestServer();
    alice = await s.token("alice@example.com");
    bob = await s.token("bob@example.com");
    carol = await s.token("carol@example.com");
    itwin = await s.createITwin("Site A", ["alice@example.com", "carol@example.com"]);
    bobsITwin = await s.createITwin("Bob's", ["bob@example.com"]);
    lasInput = await s.createRealityData(itwin, "LAS", [sharedData("pointcloud", "1.2-with-color.las")]);
  });
  after(async () => s.close());

  describe("authentication, versioning and envelopes", () => {
    it("401 HeaderNotFound with details when there is no Authorization header", async () => {
      const r = await call("GET", "/reality-conversion/jobs?$filter=state eq Success");
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, "HeaderNotFound");
      assert.equal(r.body.error.message, "Header Authorization was not found in the request. Access denied.");
      assert.equal(r.body.error.details[0].code, "HeaderNotFound", "CesiumJS reads details[0].code");
    });

    it("401 for a forged, expired or scope-less token", async () => {
      const forged = alice.slice(0, -4) + (alice.endsWith("AAAA") ? "BBBB" : "AAAA");
      for (const token of [forged, "not-a-jwt", await s.token("alice@example.com", { expiresIn: -120 })]) {
        const r = await call("GET", "/reality-conversion/jobs?$filter=state eq Success", { token });
        assert.equal(r.status, 401, token);
        assert.equal(r.body.error.code, "InvalidToken");
        assert.ok(Array.isArray(r.body.error.details));
      }
      const noScope = await s.token("alice@example.com", { scope: "openid profile" });
      const r = await call("GET", "/reality-conversion/jobs?$filter=state eq Success", { token: noScope });
      assert.equal(r.status, 401);
      assert.equal(r.body.error.details[0].code, "InsufficientScope");
    });

    it("serves v2 for the v2 Accept header, application/json, */* and none; 404 ResourceNotFound for another version", async () => {
      for (const accept of ["application/vnd.bentley.itwin-platform.v2+json", "application/json", "*/*", ""]) {
        const headers = accept ? { accept } : { accept: "" };
        const r = await call("GET", "/reality-conversion/jobs?$filter=state eq Success", { token: alice, headers });
        assert.equal(r.status, 200, `Accept '${accept}'`);
      }
      const r = await call("GET", "/reality-conversion/jobs?$filter=state eq Success", {
        token: alice,
        headers: { accept: "application/vnd.bentley.itwin-platform.v1+json" },
      });
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, "ResourceNotFound");
      assert.equal(r.body.error.details[0].code, "OperationNotFound");
    });

    it("404 ResourceNotFound for unknown paths, in the envelope", async () => {
      const r = await call("GET", "/reality-conversion/nope", { token: alice });
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, "ResourceNotFound");
    });

    it("every response carries x-correlation-id, echoing the caller's", async () => {
      const r1 = await call("GET", "/reality-conversion/jobs/" + randomUUID(), { token: alice });
      assert.match(r1.headers.get("x-correlation-id") ?? "", /^[0-9a-f-]{36}$/);
      const r2 = await call("GET", "/health", { headers: { "x-correlation-id": "abc-123" } });
      assert.equal(r2.headers.get("x-correlation-id"), "abc-123");
      const r3 = await call("GET", "/reality-conversion/jobs");
      assert.ok(r3.headers.get("x-correlation-id"));
    });

    it("serves the OpenAPI document and a reference page", async () => {
      const r = await call("GET", "/reality-conversion/openapi.json");
      assert.equal(r.status, 200);
      assert.match(r.body.openapi, /^3\./);
      for (const p of ["/reality-conversion/jobs", "/reality-conversion/jobs/{id}", "/reality-conversion/jobs/{id}/progress", "/reality-conversion/jobs/{id}/messages"]) {
        assert.ok(r.body.paths[p], `documents ${p}`);
      }
      assert.ok(r.body.paths["/reality-conversion/jobs"].post.responses["201"]);
      const page = await fetch(s.url + "/reality-conversion/docs/");
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
    });

    it("health", async () => {
      const r = await call("GET", "/health");
      assert.equal(r.status, 200);
      assert.equal(r.body.status, "ok");
    });
  });

  describe("POST /jobs", () => {
    it("201 with exactly the documented job, and a new output reality data", async () => {
      const r = await call("POST", "/reality-conversion/jobs", { token: alice, body: lasJob({}, { outputFormat: "las" }) });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const job = r.body.job;
      assert.deepEqual(Object.keys(r.body), ["job"]);
      assert.deepEqual(Object.keys(job).sort(), JOB_KEYS);
      assert.equal(job.type, "PointCloudConversion");
      assert.equal(job.state, "Queued");
      assert.equal(job.iTwinId, itwin);
      assert.equal(job.name, "Convert scan");
      assert.match(job.userId, /^[0-9a-f-]{36}$/);
      assert.match(job.executionInfo.createdDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.deepEqual(job.specifications.inputs, { pointCloud: lasInput });
      assert.deepEqual(job.specifications.options, { outputFormat: "LAS" }, "canonical spelling echoed");
      assert.match(job.specifications.output, /^[0-9a-f-]{36}$/);
      const out = await s.server.runtime.realityData.get(job.specifications.output);
      assert.equal(out?.type, "LAS");
      assert.equal(out?.authoring, true);
      assert.equal(out?.iTwinId, itwin);
      const again = await call("GET", `/reality-conversion/jobs/${job.id}`, { token: alice });
      assert.deepEqual(again.body, { job });
    });

    it("400 InvalidRealityConversionRequest for a bad type, with the property as target", async () => {
      const r = await call("POST", "/reality-conversion/jobs", { token: alice, body: lasJob({ type: "PCConversion" }) });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, "InvalidRealityConversionRequest");
      assert.equal(r.body.error.details[0].code, "InvalidProperty");
      assert.equal(r.body.error.details[0].target, "type");
    });

    it("400 for unknown properties, bad option values and malformed JSON", async () => {
      const cases: [unknown, string][] = [
        [lasJob({ colour: "red" }), "colour"],
        [lasJob({}, { outputFormat: "LAS", extra: 1 }), "specifications.options.extra"],
        [{ ...lasJob(), specifications: { inputs: { pointCloud: "not-a-guid" }, options: { outputFormat: "LAS" } } }, "specifications.inputs.pointCloud"],
        [lasJob({ name: "a<b" }), "name"],
      ];
      for (const [body, target] of cases) {
        const r = await call("POST", "/reality-conversion/jobs", { token: alice, body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.body.error.code, "InvalidRealityConversionRequest");
        assert.ok(
          r.body.error.details.some((d: { target: string }) => d.target === target),
          `${target} in ${JSON.stringify(r.body.error.details)}`,
        );
      }
      const tile = {
        type: "TileMapOptimization",
        iTwinId: itwin,
        specifications: { inputs: { tileMaps: [lasInput] }, options: { outputFormat: "XYZTileMap", jpgQuality: 100, backgroundColor: "white" } },
      };
      const t = await call("POST", "/reality-conversion/jobs", { token: alice, body: tile });
      assert.equal(t.status, 400);
      const targets = t.body.error.details.map((d: { target: string }) => d.target);
      assert.ok(targets.includes("specifications.options.jpgQuality"));
      const bad = await call("POST", "/reality-conversion/jobs", { token: alice, rawBody: "{not json" });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, "InvalidRealityConversionRequest");
      assert.equal(bad.body.error.message.includes("at "), false, "no stack trace");
    });

    it("404 iTwinNotFound when the caller is not a member of the iTwin", async () => {
      const r = await call("POST", "/reality-conversion/jobs", { token: bob, body: lasJob() });
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, "iTwinNotFound");
    });

    it("422 for a missing, inaccessible or wrongly typed input, and for a format not supported", async () => {
      const missing = await call("POST", "/reality-conversion/jobs", {
        token: alice,
        body: { ...lasJob(), specifications: { inputs: { pointCloud: randomUUID() }, options: { outputFormat: "LAS" } } },
      });
      assert.equal(missing.status, 422);
      assert.equal(missing.body.error.details[0].target, "specifications.inputs.pointCloud");
      const bobsData = await s.createRealityData(bobsITwin, "LAS", [sharedData("pointcloud", "1.2-with-color.las")]);
      const foreign = await call("POST", "/reality-conversion/jobs", {
        token: alice,
        body: { ...lasJob(), specifications: { inputs: { pointCloud: bobsData }, options: { outputFormat: "LAS" } } },
      });
      assert.equal(foreign.status, 422, "another iTwin's data is not usable");
      const mesh = await s.createRealityData(itwin, "GeoJSON", []);
      const wrongType = await call("POST", "/reality-conversion/jobs", {
        token: alice,
        body: { ...lasJob(), specifications: { inputs: { pointCloud: mesh }, options: { outputFormat: "LAS" } } },
      });
      assert.equal(wrongType.status, 422);
      assert.equal(wrongType.body.error.code, "InvalidRealityConversionRequest");
      const pod = await call("POST", "/reality-conversion/jobs", { token: alice, body: lasJob({}, { outputFormat: "POD" }) });
      assert.equal(pod.status, 422);
      assert.equal(pod.body.error.details[0].code, "UnsupportedFormat");
      assert.equal(pod.body.error.details[0].target, "specifications.options.outputFormat");
    });
  });

  describe("GET, DELETE, progress, messages", () => {
    it("404 JobNotFound for unknown ids, malformed ids and other users' jobs", async () => {
      const created = await call("POST", "/reality-conversion/jobs", { token: alice, body: lasJob() });
      for (const [token, id] of [
        [alice, randomUUID()],
        [alice, "not-an-id"],
        [bob, created.body.job.id],
      ]) {
        for (const suffix of ["", "/progress", "/messages"]) {
          const r = await call("GET", `/reality-conversion/jobs/${id}${suffix}`, { token });
          assert.equal(r.status, 404);
          assert.deepEqual(r.body, { error: { code: "JobNotFound", message: "Requested job is not available." } });
        }
        const d = await call("DELETE", `/reality-conversion/jobs/${id}`, { token });
        assert.equal(d.status, 404);
      }
      // A fellow member of the iTwin sees it.
      const asCarol = await call("GET", `/reality-conversion/jobs/${created.body.job.id}`, { token: carol });
      assert.equal(asCarol.status, 200);
    });

    it("progress and messages have the documented shapes", async () => {
      const created = await call("POST", "/reality-conversion/jobs", { token: alice, body: lasJob() });
      const p = await call("GET", `/reality-conversion/jobs/${created.body.job.id}/progress`, { token: alice });
      assert.deepEqual(p.body, { progress: { state: "Queued", percentage: 0 } });
      const m = await call("GET", `/reality-conversion/jobs/${created.body.job.id}/messages`, { token: alice });
      assert.deepEqual(m.body, { messages: { errors: [], warnings: [] } });
    });

    it("DELETE cancels a queued job: TerminatingOnCancel, then Cancelled; again gives the final state", async () => {
      const created = await call("POST", "/reality-conversion/jobs", { token: alice, body: lasJob() });
      const id = created.body.job.id;
      const d = await call("DELETE", `/reality-conversion/jobs/${id}`, { token: alice });
      assert.equal(d.status, 200);
      assert.deepEqual(Object.keys(d.body.job).sort(), JOB_KEYS);
      assert.equal(d.body.job.state, "TerminatingOnCancel");
      const g = await call("GET", `/reality-conversion/jobs/${id}`, { token: alice });
      assert.equal(g.body.job.state, "Cancelled");
      assert.ok(g.body.job.executionInfo.endedDateTime);
      const again = await call("DELETE", `/reality-conversion/jobs/${id}`, { token: alice });
      assert.equal(again.status, 200);
      assert.equal(again.body.job.state, "Cancelled");
    });
  });

  describe("GET /jobs: $filter, $top and paging", () => {
    let mine: string[] = [];
    let siteJobs: { id: string; name?: string; type: string; state: string; createdDateTime: string; output: string }[] = [];
    let filterITwin: string;
    let input2: string;

    before(async () => {
      filterITwin = await s.createITwin("Filters", ["dave@example.com", "erin@example.com"]);
      input2 = await s.createRealityData(filterITwin, "LAS", [sharedData("pointcloud", "epsg_4326.las")]);
      const input1 = await s.createRealityData(filterITwin, "LAZ", [sharedData("pointcloud", "autzen_trim.laz")]);
      const dave = await s.token("dave@example.com");
      const erin = await s.token("erin@example.com");
      const bodies = [
        { t: dave, body: { type: "PointCloudConversion", iTwinId: filterITwin, name: "O'Brien scan", specifications: { inputs: { pointCloud: input1 }, options: { outputFormat: "LAS" } } } },
        { t: dave, body: { type: "PointCloudOptimization", iTwinId: filterITwin, name: "Merge", specifications: { inputs: { pointClouds: [input1, input2] }, options: { outputFormat: "LAS" } } } },
        { t: erin, body: { type: "PointCloudConversion", iTwinId: filterITwin, specifications: { inputs: { pointCloud: input2 }, options: { outputFormat: "LAS" } } } },
        { t: dave, body: { type: "PointCloudConversion", iTwinId: filterITwin, name: "Third", specifications: { inputs: { pointCloud: input2 }, options: { outputFormat: "LAS" } } } },
      ];
      for (const { t, body } of bodies) {
        const r = await call("POST", "/reality-conversion/jobs", { token: t, body });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        const j = r.body.job;
        siteJobs.push({ id: j.id, name: j.name, type: j.type, state: j.state, createdDateTime: j.executionInfo.createdDateTime, output: j.specifications.output });
        if (t === dave) mine.push(j.id);
        await new Promise((r) => setTimeout(r, 5)); // distinct creation times
      }
      // Erin's job gets cancelled, so states differ.
      await call("DELETE", `/reality-conversion/jobs/${siteJobs[2].id}`, { token: erin });
    });

    async function ids(filter: string, token?: string): Promise<string[]> {
      const t = token ?? (await s.token("dave@example.com"));
      const r = await call("GET", `/reality-conversion/jobs?$filter=${encodeURIComponent(filter)}`, { token: t });
      assert.equal(r.status, 200, `${filter}: ${JSON.stringify(r.body)}`);
      return r.body.jobs.map((j: { id: string }) => j.id);
    }

    it("without iTwinId: only the caller's own jobs; with it: all jobs of the iTwin", async () => {
      assert.deepEqual(await ids("type eq PointCloudConversion or type eq PointCloudOptimization"), mine);
      assert.deepEqual(await ids(`iTwinId eq ${filterITwin}`), siteJobs.map((j) => j.id));
    });

    it("404 iTwinNotFound for an iTwin the caller cannot see", async () => {
      const r = await call("GET", `/reality-conversion/jobs?$filter=iTwinId eq ${filterITwin}`, { token: bob });
      assert.equal(r.status, 404);
      assert.deepEqual(r.body, { error: { code: "iTwinNotFound", message: "Requested iTwin is not available." } });
      const unknown = await call("GET", `/reality-conversion/jobs?$filter=iTwinId eq ${randomUUID()}`, { token: bob });
      assert.equal(unknown.status, 404);
    });

    it("every operator and literal form", async () => {
      const [a, b, c, d] = siteJobs.map((j) => j.id);
      const it2 = `iTwinId eq ${filterITwin}`;
      assert.deepEqual(await ids(`id eq ${b}`), [b]);
      assert.deepEqual(await ids(`id eq '${b}'`), [b], "quoted GUID");
      assert.deepEqual(await ids(`${it2} and id ne ${b}`), [a, c, d]);
      assert.deepEqual(await ids(`${it2} and name eq 'O''Brien scan'`), [a], "'' escapes a quote");
      assert.deepEqual(await ids(`${it2} and name ne 'Merge'`), [a, c, d], "ne keeps unnamed jobs");
      assert.deepEqual(await ids(`${it2} and name eq null`), [c]);
      assert.deepEqual(await ids(`${it2} and email eq 'ERIN@example.com'`), [c], "email, any case");
      assert.deepEqual(await ids(`${it2} and type eq pointcloudoptimization`), [b], "enum in any case");
      assert.deepEqual(await ids(`${it2} and state eq Cancelled`), [c]);
      assert.deepEqual(await ids(`${it2} and state in ('Queued')`), [a, b, d]);
      assert.deepEqual(await ids(`inputId eq ${input2}`), [b, d], "inputId matches arrays too (own jobs)");
      assert.deepEqual(await ids(`${it2} and inputId in ('${input2}', '${randomUUID()}')`), [b, c, d]);
      assert.deepEqual(await ids(`outputId eq ${siteJobs[3].output}`), [d]);
      const t2 = siteJobs[1].createdDateTime;
      assert.deepEqual(await ids(`${it2} and createdDateTime gt ${t2}`), [c, d]);
      assert.deepEqual(await ids(`${it2} and createdDateTime ge ${t2}`), [b, c, d]);
      assert.deepEqual(await ids(`${it2} and createdDateTime lt ${t2}`), [a]);
      assert.deepEqual(await ids(`${it2} and createdDateTime le ${t2}`), [a, b]);
      assert.deepEqual(await ids(`${it2} and createdDateTime gt 2024-06-24T13:00:00Z`), [a, b, c, d], "the documented sample");
      assert.deepEqual(await ids(`${it2} and not (state eq Cancelled)`), [a, b, d]);
      assert.deepEqual(await ids(`${it2} and (id eq ${a} or id eq ${d})`), [a, d]);
      assert.deepEqual(await ids(`id eq ${a} or id eq ${b} and state eq Cancelled`), [a], "and binds tighter than or");
      assert.deepEqual(await ids(`(id eq ${a} or id eq ${b}) and state eq Queued`), [a, b]);
      assert.deepEqual(await ids(`iTwinId in ('${filterITwin}') and id in (${a}, ${c})`), [a, c]);
    });

    it("decodes '+' as a space, as URLSearchParams sends it", async () => {
      const t = await s.token("dave@example.com");
      const q = new URLSearchParams({ $filter: `iTwinId eq ${filterITwin} and state eq Cancelled` });
      const r = await call("GET", `/reality-conversion/jobs?${q}`, { token: t });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.jobs.map((j: { id: string }) => j.id), [siteJobs[2].id]);
    });

    it("400 with a $filter detail for a missing or malformed filter", async () => {
      const t = await s.token("dave@example.com");
      for (const f of [undefined, "", "state eq", "foo eq 1", "id eq not-a-guid", "(state eq Success", "name eq 'open", "createdDateTime gt 2024-13-45T00:00:00Z", "state eq Nope", "state eq Success extra"]) {
        const qs = f === undefined ? "" : `?$filter=${encodeURIComponent(f)}`;
        const r = await call("GET", `/reality-conversion/jobs${qs}`, { token: t });
        assert.equal(r.status, 400, String(f));
        assert.equal(r.body.error.code, "InvalidRealityConversionRequest");
        assert.equal(r.body.error.details[0].code, "InvalidParameter");
        assert.equal(r.body.error.details[0].target, "$filter");
      }
    });

    it("400 with the documented body for a bad $top", async () => {
      const t = await s.token("dave@example.com");
      for (const top of ["0", "1001", "-1", "abc", "1.5"]) {
        const r = await call("GET", `/reality-conversion/jobs?$filter=state eq Queued&$top=${top}`, { token: t });
        assert.equal(r.status, 400, top);
        assert.deepEqual(r.body, {
          error: {
            code: "InvalidRealityConversionRequest",
            message: "Cannot find jobs.",
            details: [
              { code: "InvalidParameter", message: "The $top query parameter value must be a positive integer that does not exceed 1000.", target: "$top" },
            ],
          },
        });
      }
    });

    it("pages with $top; _links.next is a full URL repeating $filter and $top, absent on the last page", async () => {
      const t = await s.token("dave@example.com");
      const filter = `iTwinId eq ${filterITwin}`;
      let href: string | undefined = `${s.url}/reality-conversion/jobs?$filter=${encodeURIComponent(filter)}&$top=3`;
      const pages: string[][] = [];
      while (href) {
        const res = await fetch(href, { headers: { authorization: `Bearer ${t}` } });
        const body = (await res.json()) as { jobs: { id: string }[]; _links?: { next: { href: string } } };
        pages.push(body.jobs.map((j) => j.id));
        href = body._links?.next.href;
        if (href) {
          const u = new URL(href);
          assert.equal(u.origin, s.url);
          assert.equal(u.searchParams.get("$filter"), filter);
          assert.equal(u.searchParams.get("$top"), "3");
          assert.ok(u.searchParams.get("continuationToken"));
          assert.match(href, /\$filter=iTwinId%20eq%20/);
        }
      }
      assert.deepEqual(pages, [siteJobs.slice(0, 3).map((j) => j.id), [siteJobs[3].id]]);
      const bad = await call("GET", `/reality-conversion/jobs?$filter=${encodeURIComponent(filter)}&continuationToken=garbage`, { token: t });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.details[0].target, "continuationToken");
    });
  });
});

describe("rate limit", () => {
  it("429 RateLimitExceeded with retry-after past the per-user budget, other users unaffected", async () => {
    const s = await startTestServer({ rateLimitPerMinute: 5 });
    try {
      const t = await s.token("busy@example.com");
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 7; i++) {
        last = await api(s.url, "GET", "/reality-conversion/jobs?$filter=state eq Queued", { token: t });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      assert.equal(last!.body.error.code, "RateLimitExceeded");
      assert.equal(last!.body.error.message, "The client sent more requests than allowed by this API for the current tier of the client.");
      assert.ok(Number(last!.headers.get("retry-after")) >= 1);
      const other = await api(s.url, "GET", "/reality-conversion/jobs?$filter=state eq Queued", { token: await s.token("calm@example.com") });
      assert.equal(other.status, 200);
    } finally {
      await s.close();
    }
  });
});
