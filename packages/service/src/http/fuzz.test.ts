/**
 * Property-based fuzzing of the HTTP surface with fast-check, over real HTTP against the real app:
 * `$filter`, `$top`, `continuationToken`, path ids, tokens and both JSON bodies (jobs, reality data),
 * plus blob endpoint paths and queries. Whatever comes in: never a 5xx, and every error is the
 * platform's envelope (Azure's XML under /blobs). A fixed seed and a bounded number of runs keep it
 * reproducible and quick.
 */
import { describe, it, before, after } from "node:test";
import fc from "fast-check";
import assert from "node:assert/strict";
import { api, startTestServer, type TestServer } from "../testing/harness.js";
import { assertAzureError, assertEnvelope } from "../testing/envelope.js";
import { JOB_STATES, JOB_TYPES } from "../domain/job.js";
import { OUTPUT_FORMATS } from "../domain/specifications.js";
import { CLASSIFICATIONS, REALITY_DATA_TYPES } from "../domain/reality-data.js";

const SEED = 20_240_611;
const RUNS = 120;
const TIME_LIMIT_MS = 4000;
const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

/** Keys that trip code treating JSON objects as plain records. */
const TRICKY_KEYS = ["toString", "valueOf", "__proto__", "constructor", "hasOwnProperty", "length", "0"];

const json = fc.jsonValue({ maxDepth: 4 });
/** A JSON value, or an object built from tricky keys. */
const anyValue = fc.oneof(json, fc.dictionary(fc.constantFrom(...TRICKY_KEYS), json, { maxKeys: 3 }));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const oneOrJunk = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: anyValue });

/** Text as clients might (or should not) put it in a URL: encoded, raw, or with broken percent-escapes. */
const urlText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }).map(encodeURIComponent),
  fc.stringMatching(/^[%0-9A-Za-z.~_$-]{0,40}$/),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s).replace(/%[0-9A-F]/, "%")),
);

const filterText = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom("id", "iTwinId", "name", "email", "type", "state", "createdDateTime", "inputId", "outputId", "(", ")", "'", "''"),
        fc.constantFrom("eq", "ne", "lt", "le", "gt", "ge", "in", "and", "or", "not", ","),
        fc.constantFrom(...JOB_STATES, ...JOB_TYPES),
        fc.uuid().map(String),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string({ maxLength: 8 }),
      ),
      { maxLength: 12 },
    )
    .map((words) => words.join(" ")),
);

const tokenText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.base64String({ maxLength: 60 }),
  fc.uuid().map((u) => Buffer.from(u).toString("base64")),
  anyValue.map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")),
  fc.record({ top: anyValue, skip: anyValue }).map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")),
);

const topText = fc.oneof(fc.string({ maxLength: 8 }), fc.integer().map(String), fc.double().map(String), fc.constant(""));

/** Query string from optional parts; values encoded or raw. */
function query(parts: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const entries = Object.entries(parts).map(([k, arb]) =>
    maybe(fc.tuple(arb, fc.boolean())).map((v) => (v === undefined ? undefined : `${k}=${v[1] ? encodeURIComponent(v[0]) : v[0]}`)),
  );
  return fc.tuple(...entries).map((xs) => xs.filter((x) => x !== undefined).join("&"));
}

describe("fuzzing the API (fast-check)", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  let rdId: string;
  let readSas: URL;

  const check = async (arb: fc.Arbitrary<{ method: string; path: string; o: Parameters<typeof api>[3] }>) => {
    await fc.assert(
      fc.asyncProperty(arb, async ({ method, path, o }) => {
        const r = await api(s.url, method, path, o);
        assert.ok(r.status < 500, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
        if (r.status < 400) return;
        if (path.startsWith("/blobs")) assertAzureError(r, method, `${method} ${path}`);
        else assertEnvelope(r, `${method} ${path}`);
      }),
      { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, endOnFailure: true },
    );
  };

  before(async () => {
    s = await startTestServer();
    token = await s.token("fuzz@example.com");
    itwin = await s.createITwin("Fuzz", ["fuzz@example.com"]);
    rdId = await s.createRealityData(itwin, "LAS", [], "fuzz");
    const access = await api(s.url, "GET", `/reality-management/reality-data/${rdId}/readaccess`, { token, headers: V1 });
    readSas = new URL(access.body._links.containerUrl.href);
  });
  after(async () => s.close());

  it("job listings: $filter, $top, continuationToken", async () => {
    const qs = query({ $filter: filterText, $top: topText, continuationToken: tokenText });
    await check(qs.map((q) => ({ method: "GET", path: `/reality-conversion/jobs?${q}`, o: { token } })));
  });

  it("reality data listings: every query parameter", async () => {
    const qs = query({
      iTwinId: fc.oneof(fc.constant(itwin), urlText),
      $top: topText,
      continuationToken: tokenText,
      $orderBy: fc.oneof(fc.constantFrom("displayName desc", "size asc"), fc.string({ maxLength: 20 })),
      $search: fc.string({ maxLength: 20 }),
      types: fc.string({ maxLength: 20 }),
      extent: fc.oneof(fc.array(fc.double(), { maxLength: 5 }).map((a) => a.join(",")), fc.string({ maxLength: 20 })),
      createdDateTime: fc.string({ maxLength: 30 }),
      tag: fc.string({ maxLength: 20 }),
    });
    await check(qs.map((q) => ({ method: "GET", path: `/reality-management/reality-data?${q}`, o: { token, headers: V1 } })));
  });

  it("path ids and tokens on every route", async () => {
    const routes = [
      ["GET", "/reality-conversion/jobs/{id}"],
      ["DELETE", "/reality-conversion/jobs/{id}"],
      ["GET", "/reality-conversion/jobs/{id}/progress"],
      ["GET", "/reality-conversion/jobs/{id}/messages"],
      ["GET", "/reality-management/reality-data/{id}"],
      ["DELETE", "/reality-management/reality-data/{id}"],
      ["GET", "/reality-management/reality-data/{id}/itwins"],
      ["POST", "/reality-management/reality-data/{id}/iTwins/{id}"],
      ["DELETE", "/reality-management/reality-data/{id}/iTwins/{id}"],
      ["GET", "/reality-management/reality-data/{id}/readaccess"],
      ["GET", "/reality-management/reality-data/{id}/writeAccess"],
    ] as const;
    const arb = fc.record({
      route: fc.constantFrom(...routes),
      ids: fc.array(fc.oneof(urlText, fc.uuid().map(String), fc.constant(rdId)), { minLength: 2, maxLength: 2 }),
      bearer: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }),
    });
    await check(
      arb.map(({ route, ids, bearer }) => {
        const [method, template] = [route[0], route[1]];
        let i = 0;
        const path = template.replace(/\{id\}/g, () => ids[i++]);
        const headers = { ...(path.startsWith("/reality-management") ? V1 : {}), ...(bearer !== undefined ? { authorization: bearer } : {}) };
        return { method, path, o: { token: bearer === undefined ? token : undefined, headers } };
      }),
    );
  });

  it("job creation bodies", async () => {
    const body = fc.record(
      {
        type: oneOrJunk(fc.constantFrom(...JOB_TYPES)),
        iTwinId: oneOrJunk(fc.constant(itwin)),
        name: oneOrJunk(fc.string({ maxLength: 30 })),
        specifications: oneOrJunk(
          fc.record(
            {
              inputs: oneOrJunk(fc.record({ pointCloud: oneOrJunk(fc.constant(rdId)), pointClouds: oneOrJunk(fc.constant([rdId])) }, { requiredKeys: [] })),
              options: oneOrJunk(
                fc.record(
                  { outputFormat: oneOrJunk(fc.constantFrom(...OUTPUT_FORMATS)), inputCrs: anyValue, outputCrs: anyValue, sampling: anyValue },
                  { requiredKeys: [] },
                ),
              ),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    );
    const extra = fc.dictionary(fc.constantFrom(...TRICKY_KEYS), anyValue, { maxKeys: 2 });
    const raw = fc.oneof({ weight: 4, arbitrary: fc.tuple(body, extra).map(([b, e]) => JSON.stringify({ ...e, ...b })) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });
    await check(raw.map((rawBody) => ({ method: "POST", path: "/reality-conversion/jobs", o: { token, rawBody } })));
  });

  it("reality data bodies (create, update, move)", async () => {
    const fields = fc.record(
      {
        iTwinId: oneOrJunk(fc.constant(itwin)),
        displayName: oneOrJunk(fc.string({ maxLength: 30 })),
        type: oneOrJunk(fc.constantFrom(...REALITY_DATA_TYPES)),
        classification: oneOrJunk(fc.constantFrom(...CLASSIFICATIONS)),
        tags: oneOrJunk(fc.array(oneOrJunk(fc.string({ maxLength: 10 })), { maxLength: 4 })),
        rootDocument: oneOrJunk(fc.string({ maxLength: 20 })),
        acquisition: oneOrJunk(fc.record({ startDateTime: anyValue, endDateTime: anyValue, acquirer: anyValue }, { requiredKeys: [] })),
        extent: oneOrJunk(fc.record({ southWest: anyValue, northEast: anyValue }, { requiredKeys: [] })),
        crs: oneOrJunk(fc.record({ id: anyValue, verticalId: anyValue }, { requiredKeys: [] })),
        authoring: oneOrJunk(fc.boolean()),
        ownerId: anyValue,
      },
      { requiredKeys: [] },
    );
    const target = fc.constantFrom(
      ["POST", "/reality-management/reality-data"],
      ["PATCH", `/reality-management/reality-data/${rdId}`],
      ["PATCH", `/reality-management/reality-data/${rdId}/move`],
    );
    await check(
      fc.tuple(target, fc.oneof({ weight: 4, arbitrary: fields.map((f) => JSON.stringify(f)) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) })).map(
        ([[method, path], rawBody]) => ({ method, path, o: { token, rawBody, headers: V1 } }),
      ),
    );
  });

  it("blob endpoint paths and queries, with and without a valid SAS", async () => {
    const arb = fc.record({
      method: fc.constantFrom("GET", "HEAD", "PUT", "DELETE"),
      container: fc.oneof(fc.constant(rdId), urlText),
      blob: maybe(urlText),
      sas: fc.boolean(),
      extra: query({ comp: fc.constantFrom("list", "block", "blocklist", "x"), restype: fc.constantFrom("container", "x"), blockid: urlText, maxresults: topText, marker: urlText }),
    });
    await check(
      arb.map(({ method, container, blob, sas, extra }) => {
        const q = [sas ? readSas.search.slice(1) : "sv=2020-08-04&sig=x", extra].filter((x) => x !== "").join("&");
        return { method, path: `/blobs/${container}${blob === undefined ? "" : `/${blob}`}?${q}`, o: { headers: { "x-ms-blob-type": "BlockBlob" } } };
      }),
    );
  });
});
