/**
 * `realconv login-link`, as the real binary (a child process with a time limit): the link it prints signs
 * in once at a running server, on SQLite and on PostgreSQL; `realconv serve` says at start how to get one,
 * and the command it prints works.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { api, CLI_PATH, startTestServer } from "../testing/harness.js";
import { dropSchema, postgresSchemaUrl, postgresUnavailable, uniqueSchema } from "../testing/postgres.js";

function run(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI_PATH, ...args],
      { timeout: timeoutMs, killSignal: "SIGKILL", env: { ...process.env, REALCONV_DATABASE_URL: "", REALCONV_AUTH_JWKS_URL: "", REALCONV_PUBLIC_URL: "", ...env } },
      (error, stdout, stderr) => {
        if (error && error.killed) return reject(new Error(`realconv ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stderr}`));
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, out: stdout, err: stderr });
      },
    );
  });
}

const LINK = /^(http:\/\/\S+)\/#\/sign-in\?code=([A-Za-z0-9_-]{43})$/;

describe("realconv login-link", () => {
  const homes: string[] = [];
  after(() => {
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  for (const engine of ["SQLite", "PostgreSQL"] as const) {
    it(`prints a link whose code signs in once at the server (${engine})`, async (t) => {
      let databaseUrl: string | undefined;
      const schema = uniqueSchema("login_link");
      if (engine === "PostgreSQL") {
        const why = await postgresUnavailable();
        if (why) return t.skip(why);
        databaseUrl = await postgresSchemaUrl(schema);
      }
      const s = await startTestServer({ databaseUrl });
      try {
        const env: Record<string, string> = databaseUrl ? { REALCONV_DATABASE_URL: databaseUrl } : {};
        const r = await run(["login-link", "--email", "Carol@Example.com", "--home", s.config.home, "--base-url", `${s.url}/`], env);
        assert.equal(r.code, 0, r.err);
        const m = LINK.exec(r.out.trim());
        assert.ok(m, `one link on stdout: ${r.out}`);
        assert.equal(m[1], s.url);
        assert.match(r.err, /carol@example\.com, usable once, until \d{4}-\d\d-\d\dT/);
        const until = Date.parse(/until (\S+)/.exec(r.err)![1]);
        assert.ok(Math.abs(until - Date.now() - 15 * 60_000) < 10_000, "15 minutes by default");

        const signIn = await api(s.url, "POST", "/app/sign-in", { body: { code: m[2] } });
        assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
        assert.equal(signIn.body.email, "carol@example.com");
        assert.equal((await api(s.url, "GET", "/itwins", { token: signIn.body.accessToken })).status, 200);
        const again = await api(s.url, "POST", "/app/sign-in", { body: { code: m[2] } });
        assert.equal(again.status, 401);
        assert.equal(again.body.error.code, "InvalidSignInCode");

        const short = await run(["login-link", "--email", "carol@example.com", "--home", s.config.home, "--ttl-minutes", "2"], {
          ...env,
          REALCONV_PUBLIC_URL: "https://realconv.example.com",
        });
        assert.equal(short.code, 0, short.err);
        assert.match(short.out.trim(), /^https:\/\/realconv\.example\.com\/#\/sign-in\?code=[A-Za-z0-9_-]{43}$/, "the public URL by default");
        assert.ok(Math.abs(Date.parse(/until (\S+)/.exec(short.err)![1]) - Date.now() - 2 * 60_000) < 10_000);
      } finally {
        await s.close();
        if (databaseUrl) await dropSchema(schema);
      }
    });
  }

  it("refuses a bad e-mail, a zero lifetime, and an external issuer", async () => {
    const home = mkdtempSync(join(tmpdir(), "realconv-login-"));
    homes.push(home);
    const bad = await run(["login-link", "--email", "carol", "--home", home]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /not an e-mail address/);
    assert.equal(bad.out, "");
    const zero = await run(["login-link", "--email", "carol@example.com", "--ttl-minutes", "0", "--home", home]);
    assert.notEqual(zero.code, 0);
    assert.match(zero.err, /ttl-minutes/);
    const external = await run(["login-link", "--email", "carol@example.com", "--home", home], { REALCONV_AUTH_JWKS_URL: "https://login.example.com/keys" });
    assert.equal(external.code, 1);
    assert.match(external.err, /identity provider/);
    assert.equal(external.out, "");
  });

  it("realconv serve says how to get a link, and the command it prints works", async () => {
    const home = mkdtempSync(join(tmpdir(), "realconv-login-serve-"));
    homes.push(home);
    const child = spawn(process.execPath, [CLI_PATH, "serve", "--port", "0", "--home", home, "--workers", "0", "--api-processes", "1"], {
      env: { ...process.env, REALCONV_LOG_LEVEL: "warn", REALCONV_DATABASE_URL: "", REALCONV_AUTH_JWKS_URL: "", REALCONV_PUBLIC_URL: "", REALCONV_WEB_ROOT: join(home, "no-app") },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let err = "";
        child.stderr!.on("data", (d) => {
          err += d;
          if (/sign in: .*\n/.test(err)) resolve(err);
        });
        child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
      });
      const url = /listening on (http:\/\/\S+)/.exec(banner)![1];
      assert.match(banner, new RegExp(`web app: +${url.replace(/[.]/g, "\\.")}/ +\\(not built`));
      const command = /sign in: +npx realconv (login-link .*)$/m.exec(banner);
      assert.ok(command, banner);
      // The printed arguments, as a shell would split them (the home folder is quoted).
      const args = [...command[1].matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2]).map((a) => (a === "you@example.com" ? "dave@example.com" : a));
      const r = await run(args);
      assert.equal(r.code, 0, r.err);
      const m = LINK.exec(r.out.trim());
      assert.ok(m, r.out);
      assert.equal(m[1], url, "the link names the address the server listens on");
      const signIn = await api(url, "POST", "/app/sign-in", { body: { code: m[2] } });
      assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
      assert.equal(signIn.body.email, "dave@example.com");
    } finally {
      clearTimeout(killer);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
