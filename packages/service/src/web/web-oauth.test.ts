/**
 * The web app signing in at an external OAuth2 issuer (authorization code with PKCE), in Chromium against a real
 * `realconv serve` that takes that issuer's tokens. The issuer is a small OpenID provider on a loopback port that
 * checks what a real one does: the client id, the redirect URI, one use per code, and that the verifier hashes
 * (S256) to the challenge sent with the authorization request.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ChildProcess } from "node:child_process";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import type { Browser } from "playwright-core";
import { CLI_PATH } from "../testing/harness.js";
import { startServe } from "../testing/serve.js";
import { browserUnavailable, launchChromium } from "./browser.js";

const run = promisify(execFile);
const EMAIL = "grace@example.com";
const CLIENT_ID = "realconv-web";
const WEB_DIST = resolve(fileURLToPath(import.meta.url), "../../../../web/dist/index.html");

interface Issuer {
  url: string;
  server: Server;
  /** Token requests answered, and why the others were refused. */
  granted: number;
  refused: string[];
}

async function startIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  const codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
  const issuer: Issuer = { url: "", server: undefined as unknown as Server, granted: 0, refused: [] };
  const server = createServer(async (req, res) => {
    const u = new URL(req.url ?? "/", issuer.url);
    const json = (status: number, body: unknown) => {
      // Discovery and the token request are cross-origin fetches from the page.
      res.writeHead(status, { "content-type": "application/json", "access-control-allow-origin": "*" });
      res.end(JSON.stringify(body));
    };
    if (u.pathname === "/.well-known/openid-configuration") {
      return json(200, { issuer: issuer.url, authorization_endpoint: `${issuer.url}/authorize`, token_endpoint: `${issuer.url}/token`, jwks_uri: `${issuer.url}/jwks` });
    }
    if (u.pathname === "/jwks") return json(200, { keys: [jwk] });
    if (u.pathname === "/authorize") {
      const q = u.searchParams;
      if (q.get("response_type") !== "code" || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge") || q.get("client_id") !== CLIENT_ID) {
        res.writeHead(400).end("bad authorization request");
        return;
      }
      // The user signs in here; this provider knows one user and consents at once.
      const code = randomBytes(16).toString("hex");
      codes.set(code, { challenge: q.get("code_challenge")!, redirectUri: q.get("redirect_uri")!, clientId: q.get("client_id")! });
      const back = new URL(q.get("redirect_uri")!);
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state") ?? "");
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (u.pathname === "/token" && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const f = new URLSearchParams(body);
      const saved = codes.get(f.get("code") ?? "");
      codes.delete(f.get("code") ?? "");
      const refuse = (why: string) => {
        issuer.refused.push(why);
        json(400, { error: "invalid_grant", error_description: why });
      };
      if (f.get("grant_type") !== "authorization_code") return refuse("grant_type");
      if (!saved) return refuse("unknown or used code");
      if (f.get("client_id") !== saved.clientId || f.get("redirect_uri") !== saved.redirectUri) return refuse("client or redirect URI differ");
      const verifier = f.get("code_verifier") ?? "";
      if (createHash("sha256").update(verifier).digest("base64url") !== saved.challenge) return refuse("the verifier does not match the challenge");
      issuer.granted++;
      const accessToken = await new SignJWT({ email: EMAIL, scope: "openid email itwin-platform" })
        .setProtectedHeader({ alg: "RS256", kid: "test-key" })
        .setIssuer(issuer.url)
        .setSubject("grace-subject")
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey);
      return json(200, { access_token: accessToken, token_type: "Bearer", expires_in: 3600 });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  issuer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer.server = server;
  return issuer;
}

describe("web app sign-in at an external issuer (OAuth2 + PKCE)", () => {
  let skip: string | undefined;
  let home: string;
  let issuer: Issuer;
  let child: ChildProcess | undefined;
  let url: string;
  let browser: Browser;

  before(async () => {
    skip = browserUnavailable();
    if (skip) return;
    assert.ok(existsSync(WEB_DIST), `the web app is not built (${WEB_DIST}); npm run build:web`);
    home = mkdtempSync(join(tmpdir(), "realconv-web-oauth-"));
    issuer = await startIssuer();
    const env = { REALCONV_AUTH_JWKS_URL: `${issuer.url}/jwks`, REALCONV_AUTH_ISSUER: issuer.url, REALCONV_WEB_CLIENT_ID: CLIENT_ID };
    ({ child, url } = await startServe(home, ["--workers", "0", "--api-processes", "1"], env));
    await run(process.execPath, [CLI_PATH, "itwins", "create", "--name", "Harbour", "--member", EMAIL, "--home", home], { timeout: 30_000, env: { ...process.env, ...env } });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    child?.kill();
    issuer?.server.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("signs in with authorization code and PKCE, and the code leaves the URL", async (t) => {
    if (skip) return t.skip(skip);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${url}/#/itwins`);
    await page.getByRole("button", { name: "Sign in with your organisation" }).click();
    await page.getByRole("heading", { name: "Your iTwins" }).waitFor({ timeout: 30_000 });
    await page.getByRole("link", { name: /Harbour/ }).waitFor();
    await page.locator("header").getByText(EMAIL).waitFor();
    assert.equal(issuer.granted, 1, `token requests refused: ${issuer.refused.join("; ")}`);
    assert.doesNotMatch(page.url(), /code=|state=/);
    assert.match(page.url(), /#\/itwins$/);
    const stored = JSON.parse((await page.evaluate(`sessionStorage.getItem("realconv.session")`)) as string);
    assert.match(stored.accessToken, /^ey/);
    assert.equal(await page.evaluate(`sessionStorage.getItem("realconv.pkce")`), null, "the verifier is dropped once used");
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("refuses an answer whose state is not the one sent", async (t) => {
    if (skip) return t.skip(skip);
    const page = await browser.newPage();
    await page.goto(`${url}/?code=forged&state=forged#/itwins`);
    await page.getByText(/does not match the request made/).waitFor();
    assert.equal(await page.evaluate(`sessionStorage.getItem("realconv.session")`), null);
    assert.doesNotMatch(page.url(), /code=/);
    await page.close();
  });
});
