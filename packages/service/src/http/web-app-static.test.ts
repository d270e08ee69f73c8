/**
 * The built web app at `/`, from a real server over HTTP: index.html never cached, hashed assets cached for
 * good, security headers, nothing outside the folder, the API routes never shadowed, and a page saying the
 * app is not built while the folder is missing (picked up without a restart once it is built).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, startTestServer, type TestServer } from "../testing/harness.js";
import { contentSecurityPolicy } from "./web-app-static.js";

const INDEX = `<!doctype html><html><head><script type="module" src="/assets/index-3f2a9c1b.js"></script></head><body><div id="app"></div></body></html>`;
const SCRIPT = `console.log("realconv web");`;

function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
}

describe("the web app served at /", () => {
  let s: TestServer;
  const tmp = mkdtempSync(join(tmpdir(), "realconv-web-"));
  const root = join(tmp, "dist");

  before(async () => {
    s = await startTestServer({ web: { root } });
  });
  after(async () => {
    await s.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("answers a page saying the app is not built while its folder is missing, and keeps the API", async () => {
    const page = await fetch(`${s.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.match(await page.text(), /web app is not built/);
    assert.equal(page.headers.get("cache-control"), "no-cache");
    const missing = await api(s.url, "GET", "/assets/index-3f2a9c1b.js");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "ResourceNotFound");
    assert.equal((await api(s.url, "GET", "/health")).body.status, "ok");
  });

  it("serves index.html and the assets once built, without a restart", async () => {
    mkdirSync(join(root, "assets"), { recursive: true });
    writeFileSync(join(root, "index.html"), INDEX);
    writeFileSync(join(root, "assets", "index-3f2a9c1b.js"), SCRIPT);
    writeFileSync(join(root, "favicon.svg"), `<svg xmlns="http://www.w3.org/2000/svg"/>`);

    for (const path of ["/", "/index.html"]) {
      const page = await fetch(`${s.url}${path}`);
      assert.equal(page.status, 200, path);
      assert.equal(await page.text(), INDEX);
      assert.match(page.headers.get("content-type")!, /^text\/html/);
      assert.equal(page.headers.get("cache-control"), "no-cache", "a new build is seen at once");
      const csp = directives(page.headers.get("content-security-policy") ?? "");
      assert.deepEqual(csp.get("script-src"), ["'self'", "'wasm-unsafe-eval'"], "no inline scripts");
      assert.deepEqual(csp.get("worker-src"), ["'self'", "blob:"]);
      assert.ok(csp.get("img-src")!.includes("data:") && csp.get("img-src")!.includes("blob:"));
      assert.deepEqual(csp.get("frame-ancestors"), ["'none'"]);
      assert.equal(page.headers.get("x-content-type-options"), "nosniff");
      assert.equal(page.headers.get("referrer-policy"), "no-referrer");
    }
    const script = await fetch(`${s.url}/assets/index-3f2a9c1b.js`);
    assert.equal(script.status, 200);
    assert.equal(await script.text(), SCRIPT);
    assert.match(script.headers.get("content-type")!, /javascript/);
    assert.equal(script.headers.get("cache-control"), "public, max-age=31536000, immutable", "hashed assets are cached for good");
    const icon = await fetch(`${s.url}/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get("cache-control"), "no-cache");
    const head = await fetch(`${s.url}/assets/index-3f2a9c1b.js`, { method: "HEAD" });
    assert.equal(head.status, 200);
  });

  it("serves nothing outside its folder", async () => {
    writeFileSync(join(tmp, "secret.txt"), "outside");
    writeFileSync(join(root, ".env"), "hidden");
    for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/.env", "/assets/missing.js"]) {
      const r = await fetch(`${s.url}${path}`);
      const text = await r.text();
      assert.ok(r.status === 404 || r.status === 400 || r.status === 403, `${path}: ${r.status}`);
      assert.ok(!text.includes("outside") && !text.includes("hidden"), path);
    }
    const keys = await fetch(`${s.url}/keys/signing-key.json`);
    assert.equal(keys.status, 404);
  });

  it("never shadows the API: its routes answer as before, unknown API paths get the API's 404", async () => {
    mkdirSync(join(root, "reality-conversion"), { recursive: true });
    writeFileSync(join(root, "reality-conversion", "jobs"), "shadow");
    writeFileSync(join(root, "health"), "shadow");
    const jobs = await api(s.url, "GET", "/reality-conversion/jobs");
    assert.equal(jobs.status, 401);
    assert.equal(jobs.body.error.code, "HeaderNotFound");
    assert.equal((await api(s.url, "GET", "/health")).body.status, "ok");
    assert.equal((await api(s.url, "GET", "/reality-conversion/openapi.json")).body.openapi, "3.0.3");
    assert.equal((await api(s.url, "GET", "/itwins")).status, 401);
    assert.equal((await api(s.url, "GET", "/app/config.json")).body.auth.mode, "embedded");
    const unknown = await api(s.url, "GET", "/reality-management/nothing-here");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "ResourceNotFound");
    assert.equal(unknown.headers.get("content-security-policy"), null, "API answers carry no page headers");
    for (const path of ["/blobs/00000000-0000-4000-8000-000000000000/x", "/blobs/", "/blobs/x.js"]) {
      const blob = await fetch(`${s.url}${path}`);
      assert.match(blob.headers.get("content-type") ?? "", /xml/, `the blob endpoint answers ${path} in its own dialect`);
    }
    const docs = await fetch(`${s.url}/reality-conversion/docs/`);
    assert.equal(docs.status, 200, "the API reference still has its own static files");
  });

  it("lets the page reach only the origins it is given besides its own", () => {
    const csp = directives(contentSecurityPolicy(["https://login.example.com", "https://acct.blob.core.windows.net"]));
    assert.deepEqual(csp.get("connect-src"), ["'self'", "data:", "blob:", "https://login.example.com", "https://acct.blob.core.windows.net"]);
    assert.deepEqual(csp.get("default-src"), ["'self'"]);
    assert.deepEqual(csp.get("object-src"), ["'none'"]);
  });
});
