/**
 * A 429 is waited out after its retry-after, by every call, within bounds. The server's rate limit window is
 * shortened to 2 s so that a retry-after is a second or two.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startTestServer } from "@realconv/service/testing/harness";
import { createClient, RealconvError } from "@realconv/sdk";

it("429 RateLimitExceeded is retried after retry-after; past the retries it is thrown with its code", async () => {
  const s = await startTestServer({ rateLimitPerMinute: 3, rateLimitWindowMs: 2000 });
  try {
    const email = "busy@example.com";
    const token = await s.token(email);
    const itwin = await s.createITwin("Busy", [email]);
    const answers: { status: number; retryAfter: string | null; at: number }[] = [];
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      answers.push({ status: res.status, retryAfter: res.headers.get("retry-after"), at: Date.now() });
      return res;
    };
    const client = createClient({ baseUrl: s.url, getToken: () => token, fetch: counting });
    const start = Date.now();
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await client.realityData.create({ iTwinId: itwin, displayName: `rd ${i}`, type: "LAS" }));
    assert.equal(created.length, 5, "every call succeeded");
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length >= 1, "the server answered 429");
    for (const a of limited) {
      assert.ok(Number(a.retryAfter) >= 1);
      const next = answers[answers.indexOf(a) + 1];
      assert.ok(next.at - a.at >= Number(a.retryAfter) * 1000 - 50, `waited ${next.at - a.at} ms for retry-after ${a.retryAfter}`);
    }
    assert.ok(Date.now() - start < 15_000);

    // Without retries the 429 surfaces as a RealconvError.
    const impatient = createClient({ baseUrl: s.url, getToken: () => token, retry: { maxRetries: 0 } });
    let error: unknown;
    for (let i = 0; i < 10 && !error; i++) await impatient.jobs.get(randomUUID()).catch((e) => (e instanceof RealconvError && e.status === 429 ? (error = e) : undefined));
    assert.ok(error instanceof RealconvError);
    assert.equal(error.code, "RateLimitExceeded");
    // A retry-after longer than the client accepts is thrown at once.
    const hasty = createClient({ baseUrl: s.url, getToken: () => token, retry: { maxWaitSeconds: 0.5 } });
    error = undefined;
    for (let i = 0; i < 10 && !error; i++) await hasty.jobs.get(randomUUID()).catch((e) => (e instanceof RealconvError && e.status === 429 ? (error = e) : undefined));
    assert.ok(error instanceof RealconvError, "thrown instead of waiting");
  } finally {
    await s.close();
  }
});
