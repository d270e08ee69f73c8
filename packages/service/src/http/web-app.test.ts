/**
 * The web app's endpoints over real HTTP, on SQLite and on PostgreSQL: sign-in codes (one use, concurrent
 * use, expiry, tampering), the caller's iTwins, and share links (opened without a token, their container URL
 * read with @azure/storage-blob; tampered, expired and withdrawn links refused).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ContainerClient } from "@azure/storage-blob";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { api, startTestServer, type TestServer } from "../testing/harness.js";
import { dropSchema, postgresSchemaUrl, postgresUnavailable, uniqueSchema } from "../testing/postgres.js";
import { SignInService } from "../services/sign-in-service.js";
import { HmacShareTokens } from "../adapters/auth/share-tokens.js";
import { loadOrCreateSecret } from "../adapters/auth/secrets.js";
import { webAuthConfig } from "../server.js";
import { loadConfig } from "../config.js";
import { startAzurite } from "../adapters/blob/azurite-helper.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const ALICE = "alice@example.com";
const BOB = "bob@example.com";

/** The share token of a share URL (`<base>/#/share/<token>`). */
const tokenOf = (url: string) => url.split("/#/share/")[1];

/** A token with one character of its payload changed (its signature then no longer matches). */
function tampered(token: string): string {
  const [h, p, s] = token.split(".");
  const i = Math.floor(p.length / 2);
  return [h, `${p.slice(0, i)}${p[i] === "A" ? "B" : "A"}${p.slice(i + 1)}`, s].join(".");
}

const targets: { name: string; databaseUrl: () => Promise<string | undefined>; cleanup: () => Promise<void>; skip: () => Promise<string | undefined> }[] = [
  { name: "SQLite", databaseUrl: async () => undefined, cleanup: async () => undefined, skip: async () => undefined },
  (() => {
    const schema = uniqueSchema("web_app");
    let made = false;
    return {
      name: "PostgreSQL",
      skip: postgresUnavailable,
      databaseUrl: async () => {
        made = true;
        return postgresSchemaUrl(schema);
      },
      cleanup: async () => {
        if (made) await dropSchema(schema);
      },
    };
  })(),
];

for (const target of targets) {
  describe(`web app endpoints on ${target.name}`, () => {
    let s: TestServer;
    let skip: string | undefined;
    let signIn: SignInService;
    let itwin: string;
    let other: string;
    let data: string;
    const las = sharedData("pointcloud", "autzen_trim.las");

    before(async () => {
      skip = await target.skip();
      if (skip) return;
      s = await startTestServer({ databaseUrl: await target.databaseUrl() });
      signIn = new SignInService(s.server.runtime.signInCodes);
      itwin = await s.createITwin("Site", [ALICE]);
      other = await s.createITwin("Elsewhere", [BOB]);
      data = await s.createRealityData(itwin, "LAS", [las], ALICE);
    });
    after(async () => {
      await s?.close();
      await target.cleanup();
    });

    const test = (title: string, fn: () => Promise<void>) =>
      it(title, async (t) => {
        if (skip) return t.skip(skip);
        await fn();
      });

    test("config.json says the app signs in with realconv's links", async () => {
      const r = await api(s.url, "GET", "/app/config.json");
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { auth: { mode: "embedded" } });
      assert.equal(r.headers.get("cache-control"), "no-store");
    });

    test("a sign-in code gives a working token once; a second use, a tampered or a malformed code gets 401", async () => {
      const { code } = await signIn.createCode("Alice@Example.com", 60_000);
      assert.match(code, /^[A-Za-z0-9_-]{43}$/, "32 random bytes, base64url");
      const changed = `${code.slice(0, -1)}${code.endsWith("A") ? "B" : "A"}`;
      const refused = await api(s.url, "POST", "/app/sign-in", { body: { code: changed } });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error.code, "InvalidSignInCode");
      assert.equal(typeof refused.body.error.message, "string");

      const r = await api(s.url, "POST", "/app/sign-in", { body: { code } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body).sort(), ["accessToken", "email", "expiresIn"]);
      assert.equal(r.body.email, ALICE);
      assert.equal(r.body.expiresIn, 8 * 3600);
      assert.equal(r.headers.get("cache-control"), "no-store");
      const list = await api(s.url, "GET", "/itwins", { token: r.body.accessToken });
      assert.equal(list.status, 200, "the token works on the API");
      assert.deepEqual(list.body.iTwins.map((t: { id: string }) => t.id), [itwin]);

      const again = await api(s.url, "POST", "/app/sign-in", { body: { code } });
      assert.equal(again.status, 401);
      assert.equal(again.body.error.code, "InvalidSignInCode");
      for (const body of [{ code: "short" }, { code: `${code}=` }]) {
        const bad = await api(s.url, "POST", "/app/sign-in", { body });
        assert.equal(bad.status, 401, JSON.stringify(body));
        assert.equal(bad.body.error.code, "InvalidSignInCode");
      }
      for (const body of [{}, { code: 1 }, { code, extra: true }]) {
        const bad = await api(s.url, "POST", "/app/sign-in", { body });
        assert.equal(bad.status, 400, JSON.stringify(body));
        assert.ok(bad.body.error.code, "the error envelope");
      }
    });

    test("the same code sent many times at once signs in exactly once", async () => {
      const { code } = await signIn.createCode(BOB, 60_000);
      const answers = await Promise.all(Array.from({ length: 12 }, () => api(s.url, "POST", "/app/sign-in", { body: { code } })));
      assert.equal(answers.filter((a) => a.status === 200).length, 1);
      assert.equal(answers.filter((a) => a.status === 401 && a.body.error.code === "InvalidSignInCode").length, 11);
    });

    test("an expired code is refused", async () => {
      const { code, expiresAt } = await signIn.createCode(ALICE, 300);
      await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.getTime() - Date.now()) + 100));
      const r = await api(s.url, "POST", "/app/sign-in", { body: { code } });
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, "InvalidSignInCode");
    });

    test("/itwins lists the caller's memberships in the iTwins API shape; another's iTwin is 404", async () => {
      const token = await s.token(ALICE);
      const list = await api(s.url, "GET", "/itwins", { token });
      assert.equal(list.status, 200);
      const expected = { id: itwin, displayName: "Site", class: "Endeavor", subClass: "Project", type: null, status: "Active" };
      assert.deepEqual(list.body, { iTwins: [expected] });
      assert.deepEqual((await api(s.url, "GET", `/itwins/${itwin}`, { token })).body, { iTwin: expected });
      assert.deepEqual((await api(s.url, "GET", `/itwins/${itwin.toUpperCase()}`, { token })).body, { iTwin: expected });
      for (const id of [other, "00000000-0000-4000-8000-000000000000", "not-a-guid"]) {
        const r = await api(s.url, "GET", `/itwins/${id}`, { token });
        assert.equal(r.status, 404, id);
        assert.deepEqual(r.body, { error: { code: "iTwinNotFound", message: "Requested iTwin is not available." } });
      }
      const stranger = await api(s.url, "GET", "/itwins", { token: await s.token("stranger@example.com") });
      assert.deepEqual(stranger.body, { iTwins: [] });
      const anonymous = await api(s.url, "GET", "/itwins");
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body.error.code, "HeaderNotFound");
    });

    test("a share link opens the reality data without a token, and its container URL reads the files", async () => {
      const token = await s.token(ALICE);
      const before = Date.now();
      const made = await api(s.url, "POST", "/app/shares", { token, body: { realityDataId: data, iTwinId: itwin } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.match(made.body.url, new RegExp(`^${s.url}/#/share/[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
      const expiresAt = Date.parse(made.body.expiresAt);
      assert.ok(Math.abs(expiresAt - (before + 24 * 3600_000)) < 5000, `24 hours by default: ${made.body.expiresAt}`);

      const opened = await api(s.url, "GET", `/app/shares/${tokenOf(made.body.url)}`);
      assert.equal(opened.status, 200, JSON.stringify(opened.body));
      assert.equal(opened.body.expiresAt, made.body.expiresAt);
      const details = await api(s.url, "GET", `/reality-management/reality-data/${data}`, { token, headers: V1 });
      const { lastAccessedDateTime: _a, ...shared } = opened.body.realityData;
      const { lastAccessedDateTime: _b, ...direct } = details.body.realityData;
      assert.deepEqual(shared, direct, "the Reality Management representation");

      const url = new URL(opened.body.containerUrl);
      assert.equal(url.searchParams.get("sp"), "rl", "read and list only");
      const sasExpiry = Date.parse(url.searchParams.get("se")!);
      assert.ok(sasExpiry <= Date.now() + 2 * 3600_000 + 1000 && sasExpiry > Date.now() + 3600_000, `at most two hours: ${url.searchParams.get("se")}`);
      const container = new ContainerClient(opened.body.containerUrl);
      const names: string[] = [];
      for await (const b of container.listBlobsFlat()) names.push(b.name);
      assert.deepEqual(names, ["autzen_trim.las"]);
      assert.ok((await container.getBlobClient("autzen_trim.las").downloadToBuffer()).equals(readFileSync(las)));
      await assert.rejects(container.getBlockBlobClient("new.bin").upload("x", 1), (e: { statusCode?: number }) => e.statusCode === 403);

      const short = await api(s.url, "POST", "/app/shares", { token, body: { realityDataId: data, iTwinId: itwin, expiresInHours: 1 } });
      assert.equal(short.status, 201);
      const shortOpened = await api(s.url, "GET", `/app/shares/${tokenOf(short.body.url)}`);
      const shortSas = Date.parse(new URL(shortOpened.body.containerUrl).searchParams.get("se")!);
      assert.ok(shortSas <= Date.parse(short.body.expiresAt), "the container URL never outlives the link");
    });

    test("only a reader of the data may share it, for 1 to 720 hours", async () => {
      const alice = await s.token(ALICE);
      const bob = await s.token(BOB);
      const notReader = await api(s.url, "POST", "/app/shares", { token: bob, body: { realityDataId: data, iTwinId: itwin } });
      assert.equal(notReader.status, 404);
      assert.equal(notReader.body.error.code, "RealityDataNotFound");
      const wrongITwin = await api(s.url, "POST", "/app/shares", { token: alice, body: { realityDataId: data, iTwinId: other } });
      assert.equal(wrongITwin.status, 404, "not through an iTwin it is not in");
      const anonymous = await api(s.url, "POST", "/app/shares", { body: { realityDataId: data, iTwinId: itwin } });
      assert.equal(anonymous.status, 401);
      for (const body of [
        { realityDataId: data, iTwinId: itwin, expiresInHours: 0 },
        { realityDataId: data, iTwinId: itwin, expiresInHours: 721 },
        { realityDataId: data, iTwinId: itwin, expiresInHours: 1.5 },
        { realityDataId: "x", iTwinId: itwin },
        { realityDataId: data },
      ]) {
        const r = await api(s.url, "POST", "/app/shares", { token: alice, body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.ok(r.body.error.code);
      }
      const longest = await api(s.url, "POST", "/app/shares", { token: alice, body: { realityDataId: data, iTwinId: itwin, expiresInHours: 720 } });
      assert.equal(longest.status, 201);
      assert.ok(Math.abs(Date.parse(longest.body.expiresAt) - Date.now() - 720 * 3600_000) < 5000);
    });

    test("tampered, foreign, expired and withdrawn share links are refused with 401 InvalidShareLink", async () => {
      const token = await s.token(ALICE);
      const made = await api(s.url, "POST", "/app/shares", { token, body: { realityDataId: data, iTwinId: itwin } });
      const share = tokenOf(made.body.url);
      const secret = loadOrCreateSecret(s.config.home, "share-secret");
      const now = Math.floor(Date.now() / 1000);
      const expired = await new HmacShareTokens(secret).sign({ realityDataId: data, iTwinId: itwin, expiresAt: now - 1 });
      const foreign = await new HmacShareTokens("another server's secret").sign({ realityDataId: data, iTwinId: itwin, expiresAt: now + 3600 });
      const refused = async (t: string, why: RegExp) => {
        const r = await api(s.url, "GET", `/app/shares/${t}`);
        assert.equal(r.status, 401, `${t}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, "InvalidShareLink");
        assert.match(r.body.error.message, why);
      };
      await refused(tampered(share), /signature/);
      await refused(`${share.slice(0, -2)}xx`, /signature/);
      await refused(foreign, /not signed by this server/);
      await refused(expired, /expired/);
      await refused("not-a-token", /malformed/);
      await refused(token, /not signed by this server/);

      // Taken out of the iTwin it was shared through, or deleted: the link stops working.
      const rd = await s.createRealityData(itwin, "LAS", [las], ALICE);
      const third = await s.createITwin("Third", [ALICE]);
      assert.equal((await api(s.url, "POST", `/reality-management/reality-data/${rd}/itwins/${third}`, { token, headers: V1 })).status, 200);
      const link = tokenOf((await api(s.url, "POST", "/app/shares", { token, body: { realityDataId: rd, iTwinId: third } })).body.url);
      assert.equal((await api(s.url, "GET", `/app/shares/${link}`)).status, 200);
      assert.equal((await api(s.url, "DELETE", `/reality-management/reality-data/${rd}/itwins/${third}`, { token, headers: V1 })).status, 204);
      await refused(link, /no longer available/);
      const again = tokenOf((await api(s.url, "POST", "/app/shares", { token, body: { realityDataId: rd, iTwinId: itwin } })).body.url);
      assert.equal((await api(s.url, "GET", `/app/shares/${again}`)).status, 200);
      assert.equal((await api(s.url, "DELETE", `/reality-management/reality-data/${rd}`, { token, headers: V1 })).status, 204);
      await refused(again, /no longer available/);
    });
  });
}

it("config.json's OAuth2 settings come from the environment when tokens come from an external issuer", async () => {
  const env = { REALCONV_AUTH_JWKS_URL: "https://login.example.com/keys", REALCONV_AUTH_ISSUER: "https://login.example.com" };
  assert.match((webAuthConfig(loadConfig(env)) as { missing: string }).missing, /REALCONV_WEB_CLIENT_ID/);
  assert.deepEqual(
    webAuthConfig(loadConfig({ ...env, REALCONV_WEB_CLIENT_ID: "c", REALCONV_AUTH_AUTHORITY: "https://ims.example.com/", REALCONV_WEB_SCOPES: "itwin-platform" })),
    { mode: "oauth", authority: "https://ims.example.com/", clientId: "c", scopes: "itwin-platform" },
  );
  const noAuthority = webAuthConfig(loadConfig({ REALCONV_AUTH_JWKS_URL: "https://login.example.com/keys", REALCONV_WEB_CLIENT_ID: "c" }));
  assert.match((noAuthority as { missing: string }).missing, /REALCONV_AUTH_AUTHORITY/);
  assert.deepEqual(webAuthConfig(loadConfig({})), { mode: "embedded" });

  const s = await startTestServer({
    auth: { jwksUrl: "https://login.example.com/keys", issuer: "https://login.example.com", audience: undefined },
    web: { clientId: "realconv-web" },
  });
  try {
    const r = await api(s.url, "GET", "/app/config.json");
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      auth: { mode: "oauth", authority: "https://login.example.com", clientId: "realconv-web", scopes: "openid email profile itwin-platform" },
    });
    const page = await fetch(`${s.url}/`);
    assert.match(page.headers.get("content-security-policy") ?? "", /connect-src 'self' data: blob: https:\/\/login\.example\.com;/, "the page may reach its authority");
    // Sign-in links are realconv's own: with an external issuer no code signs in.
    const { code } = await new SignInService(s.server.runtime.signInCodes).createCode(ALICE, 60_000);
    const signIn = await api(s.url, "POST", "/app/sign-in", { body: { code } });
    assert.equal(signIn.status, 401);
    assert.equal(signIn.body.error.code, "InvalidSignInCode");
  } finally {
    await s.close();
  }
  const unconfigured = await startTestServer({ auth: { jwksUrl: "https://login.example.com/keys", issuer: "https://login.example.com", audience: undefined } });
  try {
    const r = await api(unconfigured.url, "GET", "/app/config.json");
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, "WebAppNotConfigured");
    assert.match(r.body.error.message, /REALCONV_WEB_CLIENT_ID/);
  } finally {
    await unconfigured.close();
  }
});

it("with Azure storage, a share link's container URL is the storage account's own read SAS, and the page may reach it", async () => {
  const azurite = await startAzurite();
  const s = await startTestServer({ azureStorageConnectionString: azurite.connectionString });
  try {
    const itwin = await s.createITwin("Azure", [ALICE]);
    const las = sharedData("pointcloud", "autzen_trim.las");
    const data = await s.createRealityData(itwin, "LAS", [las], ALICE);
    const made = await api(s.url, "POST", "/app/shares", { token: await s.token(ALICE), body: { realityDataId: data, iTwinId: itwin } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const opened = await api(s.url, "GET", `/app/shares/${tokenOf(made.body.url)}`);
    assert.equal(opened.status, 200, JSON.stringify(opened.body));
    assert.ok((opened.body.containerUrl as string).startsWith(`${azurite.blobEndpoint}/`), opened.body.containerUrl);
    const container = new ContainerClient(opened.body.containerUrl);
    assert.ok((await container.getBlobClient("autzen_trim.las").downloadToBuffer()).equals(readFileSync(las)));
    await assert.rejects(container.getBlockBlobClient("new.bin").upload("x", 1), (e: { statusCode?: number }) => e.statusCode === 403);
    const page = await fetch(`${s.url}/`);
    assert.ok((page.headers.get("content-security-policy") ?? "").includes(new URL(azurite.blobEndpoint).origin), "uploads go straight to the account");
  } finally {
    await s.close();
    await azurite.stop();
  }
});
