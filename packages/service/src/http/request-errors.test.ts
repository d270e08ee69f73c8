/**
 * Requests that are wrong in shape (nesting, types, tokens, URLs, HTTP itself) get the documented 4xx in
 * the platform's envelope (Azure's XML on the blob endpoint), never a 500 or fastify's own error body.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import { api, startTestServer, type TestServer } from "../testing/harness.js";
import { assertAzureError, assertEnvelope } from "../testing/envelope.js";
import { loadOrCreateKeys } from "../adapters/auth/local-issuer.js";
import { MAX_JSON_DEPTH } from "./json-body.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const RD = "/reality-management/reality-data";

describe("request errors", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  let rdId: string;

  before(async () => {
    s = await startTestServer();
    token = await s.token("alice@example.com");
    itwin = await s.createITwin("Site", ["alice@example.com"]);
    rdId = await s.createRealityData(itwin, "LAS", [], "alice");
  });
  after(async () => s.close());

  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels with 400 InvalidBody, on every JSON route`, async () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    const bodies = [
      nested(5000),
      `{"type":"PointCloudConversion","iTwinId":"${itwin}","specifications":{"inputs":{"pointCloud":${nested(5000)}}}}`,
      `{"displayName":"x","type":"LAS","iTwinId":"${itwin}","tags":${nested(5000)}}`,
      `{"a":`.repeat(3000) + "1" + "}".repeat(3000),
    ];
    const routes: [string, string, Record<string, string>][] = [
      ["POST", "/reality-conversion/jobs", {}],
      ["POST", RD, V1],
      ["PATCH", `${RD}/${rdId}`, V1],
      ["PATCH", `${RD}/${rdId}/move`, V1],
    ];
    for (const [method, path, headers] of routes) {
      for (const rawBody of bodies) {
        const r = await api(s.url, method, path, { token, rawBody, headers });
        assert.equal(r.status, 400, `${method} ${path}`);
        assertEnvelope(r, `${method} ${path}`);
        assert.equal(r.body.error.details[0].code, "InvalidBody");
      }
    }
    // At the limit the body is parsed and judged on its content.
    const atLimit = await api(s.url, "POST", RD, { token, headers: V1, rawBody: `{"tags":${nested(MAX_JSON_DEPTH - 1)}}` });
    assert.equal(atLimit.status, 422);
    // Brackets inside strings do not count.
    const inString = await api(s.url, "POST", RD, { token, headers: V1, body: { iTwinId: itwin, displayName: "[".repeat(1000), type: "LAS" } });
    assert.equal(inString.status, 201, JSON.stringify(inString.body));
  });

  it("422 for objects and other wrong types where reality data expects a string", async () => {
    const trap = { toString: 1, valueOf: 1 };
    const fields: [Record<string, unknown>, string][] = [
      [{ type: trap }, "type"],
      [{ classification: trap }, "classification"],
      [{ displayName: trap }, "displayName"],
      [{ description: [trap] }, "description"],
      [{ tags: [trap] }, "tags[0]"],
      [{ tags: trap }, "tags"],
      [{ rootDocument: trap }, "rootDocument"],
      [{ acquisition: { acquirer: trap, startDateTime: trap } }, "acquisition.acquirer"],
      [{ crs: { id: trap } }, "crs.id"],
      [{ extent: { southWest: trap, northEast: [] } }, "extent.southWest"],
      [{ authoring: trap }, "authoring"],
      [{ iTwinId: trap }, "iTwinId"],
    ];
    for (const [extra, target] of fields) {
      for (const [method, path] of [["POST", RD], ["PATCH", `${RD}/${rdId}`]]) {
        const body = method === "POST" ? { iTwinId: itwin, displayName: "x", type: "LAS", ...extra } : extra;
        if (method === "PATCH" && target === "iTwinId") continue;
        const r = await api(s.url, method, path, { token, headers: V1, body });
        assert.equal(r.status, 422, `${method} ${JSON.stringify(extra)}: ${JSON.stringify(r.body)}`);
        assertEnvelope(r, method);
        assert.ok(r.body.error.details.some((d: { target: string }) => d.target === target), `${target}: ${JSON.stringify(r.body)}`);
      }
    }
    const ownerTrap = await api(s.url, "PATCH", `${RD}/${rdId}`, { token, headers: V1, body: { ownerId: trap } });
    assert.equal(ownerTrap.status, 422);
    const move = await api(s.url, "PATCH", `${RD}/${rdId}/move`, { token, headers: V1, body: { iTwinId: trap } });
    assert.equal(move.status, 422);
    assertEnvelope(move, "move");
  });

  it("400 for objects where a job body expects a string, with the property as target", async () => {
    const trap = { toString: 1, valueOf: 1 };
    const body = (top: Record<string, unknown>, inputs: Record<string, unknown>, options: Record<string, unknown>) => ({
      type: "PointCloudConversion",
      iTwinId: itwin,
      ...top,
      specifications: { inputs: { pointCloud: rdId, ...inputs }, options: { outputFormat: "LAS", ...options } },
    });
    const cases: [Record<string, unknown>, string][] = [
      [body({ type: trap }, {}, {}), "type"],
      [body({ iTwinId: trap }, {}, {}), "iTwinId"],
      [body({ name: trap }, {}, {}), "name"],
      [body({}, { pointCloud: trap }, {}), "specifications.inputs.pointCloud"],
      [body({}, { pointCloud: [trap] }, {}), "specifications.inputs.pointCloud"],
      [body({}, {}, { outputFormat: trap }), "specifications.options.outputFormat"],
      [body({}, {}, { inputCrs: trap }), "specifications.options.inputCrs"],
      [body({}, {}, { outputCrs: [trap] }), "specifications.options.outputCrs"],
    ];
    for (const [b, target] of cases) {
      const r = await api(s.url, "POST", "/reality-conversion/jobs", { token, body: b });
      assert.equal(r.status, 400, `${target}: ${JSON.stringify(r.body)}`);
      assertEnvelope(r, target);
      assert.ok(r.body.error.details.some((d: { target: string }) => d.target.startsWith(target)), `${target}: ${JSON.stringify(r.body)}`);
    }
  });

  it("401 in the envelope for signed tokens whose claims have unexpected types, and for tokens without exp", async () => {
    const { keys } = await loadOrCreateKeys(s.config.home);
    const key = await importJWK(keys.privateJwk, "ES256");
    const sign = (claims: Record<string, unknown>, withExp = true) => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: keys.privateJwk.kid }).setIssuer("realconv-local").setIssuedAt();
      if (withExp) jwt.setExpirationTime("1h");
      return jwt.sign(key);
    };
    const base = { sub: "user-1", email: "alice@example.com", scope: "itwin-platform" };
    const tokens: [string, Record<string, unknown>, boolean][] = [
      ["email as an object", { ...base, email: { toString: 1 } }, true],
      ["email as a number", { ...base, email: 7 }, true],
      ["sub as a number", { ...base, sub: 42 }, true],
      ["sub as an object", { ...base, sub: { toString: 1 } }, true],
      ["scope as an array of objects", { ...base, scope: [{ toString: 1 }] }, true],
      ["scope as an object", { ...base, scope: { toString: 1 } }, true],
      ["no exp", base, false],
    ];
    assert.equal((await api(s.url, "GET", `/reality-conversion/jobs/${randomUUID()}`, { token: await sign(base) })).status, 404, "the well-typed token is accepted");
    for (const [what, claims, withExp] of tokens) {
      const t = await sign(claims, withExp);
      for (const [path, headers] of [[`/reality-conversion/jobs/${randomUUID()}`, {}], [`${RD}/${rdId}`, V1]] as const) {
        const r = await api(s.url, "GET", path, { token: t, headers });
        assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
        assertEnvelope(r, what);
        assert.equal(r.body.error.code, "InvalidToken");
        assert.ok(r.body.error.details?.[0]?.code, "401 bodies carry details");
      }
    }
  });

  it("malformed percent-escapes: 400 in the envelope (Azure XML on /blobs), without echoing the URL", async () => {
    for (const path of ["/reality-conversion/jobs/%ZZ", `${RD}/%E0%A4%A`, `${RD}/${rdId}/iTwins/%ZZ`]) {
      const r = await api(s.url, "GET", path, { token, headers: path.startsWith(RD) ? V1 : {} });
      assert.equal(r.status, 400, path);
      assertEnvelope(r, path);
      assert.ok(!JSON.stringify(r.body).includes("%ZZ") && !JSON.stringify(r.body).includes("%E0"), "the URL is not echoed");
    }
    for (const method of ["GET", "PUT", "HEAD"]) {
      const r = await api(s.url, method, "/blobs/c/%ZZ?sv=2020-08-04&sig=TOPSECRETSIGNATURE", {});
      assert.equal(r.status, 400, method);
      assertAzureError(r, method, `${method} /blobs`);
      assert.equal(r.headers.get("x-ms-error-code"), "InvalidUri");
      assert.ok(!String(r.body).includes("TOPSECRET"));
    }
  });

  it("431 in the envelope (Azure XML on /blobs) for a request line and headers over the limit", async () => {
    const long = "a".repeat(20_000);
    const r = await api(s.url, "GET", `/reality-conversion/jobs/${long}`, { token });
    assert.equal(r.status, 431);
    assertEnvelope(r, "jobs");
    const m = await api(s.url, "GET", `${RD}?tag=${long}`, { token, headers: V1 });
    assert.equal(m.status, 431);
    assert.equal(m.body.error.code, "InvalidRealityDataRequest");
    const b = await api(s.url, "GET", `/blobs/${rdId}/x?sv=1&sig=${long}`, {});
    assert.equal(b.status, 431);
    assertAzureError(b, "GET", "/blobs");
    assert.ok(!String(b.body).includes(long));
  });

  it("fastify's own errors leave in the envelope: bad JSON, too large, media type, no route, no method", async () => {
    const cases: [string, string, Parameters<typeof api>[3], number][] = [
      ["POST", "/reality-conversion/jobs", { rawBody: "{bad" }, 400],
      ["POST", RD, { rawBody: '{"__proto__":{"x":1}}', headers: V1 }, 400],
      ["POST", "/reality-conversion/jobs", { rawBody: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }) }, 400],
      ["POST", "/reality-conversion/jobs", { rawBody: "<job/>", headers: { "content-type": "application/xml" } }, 415],
      ["GET", "/reality-conversion/nothing-here", {}, 404],
      ["PUT", "/reality-conversion/jobs", { body: {} }, 404],
      ["PROPFIND", `${RD}/${rdId}`, { headers: V1 }, 404],
      ["GET", "/nowhere", {}, 404],
    ];
    for (const [method, path, o, status] of cases) {
      const r = await api(s.url, method, path, { token, ...o });
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assertEnvelope(r, `${method} ${path}`);
      assert.ok(!/FST_|statusCode/.test(JSON.stringify(r.body)), JSON.stringify(r.body));
    }
  });
});
