/**
 * The per-user rate limit of a real `realconv serve` with 2 API processes holds per user across them:
 * one keep-alive connection (always served by one process) gets the whole budget, and many concurrent
 * connections (spread over both processes) get no more than the budget, less at most what the processes
 * were granted and did not use.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServe } from "../testing/serve.js";
import { issueToken, loadOrCreateKeys } from "../adapters/auth/local-issuer.js";
import { GRANT_SHARE } from "../http/rate-limit.js";

const LIMIT = 200;
const PROCESSES = 2;
/** Grants a process holds unused when the budget runs out. */
const UNUSED = PROCESSES * Math.ceil(LIMIT * GRANT_SHARE);
/** The sliding minute weighs the previous window less as time passes: a few more requests fit meanwhile. */
const SLIDE = 2;

function get(url: string, token: string, agent: Agent): Promise<{ status: number; retryAfter?: string; pid?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined }));
    });
    req.on("error", reject);
    req.end();
  });
}

it("2 API processes share each user's budget", async () => {
  const home = mkdtempSync(join(tmpdir(), "realconv-rate-"));
  const serve = await startServe(home, ["--workers", "0", "--api-processes", String(PROCESSES)], { REALCONV_RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  try {
    const { keys } = await loadOrCreateKeys(home);
    const url = `${serve.url}/reality-conversion/jobs/${randomUUID()}`;

    // One connection: before the budget was shared, this process allowed only its half.
    const single = new Agent({ keepAlive: true, maxSockets: 1 });
    const alice = await issueToken(keys, { email: "alice@example.com" });
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 60; i++) {
      const r = await get(url, alice, single);
      statuses.push(r.status);
      if (r.status === 429) assert.ok(Number(r.retryAfter) >= 1, "retry-after");
    }
    single.destroy();
    const allowed = statuses.filter((s) => s === 404).length;
    assert.ok(allowed >= LIMIT && allowed <= LIMIT + SLIDE, `one connection: ${allowed} allowed`);
    assert.equal(statuses.at(-1), 429);

    // Many connections over both processes, concurrently: the budget is not doubled.
    const spread = new Agent({ keepAlive: false, maxSockets: 16 });
    const bob = await issueToken(keys, { email: "bob@example.com" });
    const results = await Promise.all(Array.from({ length: LIMIT + 100 }, () => get(url, bob, spread)));
    spread.destroy();
    const bobAllowed = results.filter((r) => r.status === 404).length;
    assert.ok(bobAllowed >= LIMIT - UNUSED && bobAllowed <= LIMIT + SLIDE, `many connections: ${bobAllowed} allowed`);
    assert.ok(results.every((r) => r.status === 404 || r.status === 429));
  } finally {
    serve.child.kill("SIGTERM");
    await new Promise((r) => serve.child.once("exit", r));
    rmSync(home, { recursive: true, force: true });
  }
});
