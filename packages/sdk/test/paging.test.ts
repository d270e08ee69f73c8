/**
 * `jobs.list` walks every page of a listing: 2 500 jobs with $top 1000 come back once each, in creation order,
 * over three pages.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer } from "@realconv/service/testing/harness";
import { createClient } from "@realconv/sdk";

it("jobs.list iterates 2 500 jobs over every page, following _links.next", async () => {
  const s = await startTestServer();
  try {
    const email = "pager@example.com";
    const token = await s.token(email);
    const itwin = await s.createITwin("Paging", [email]);
    const input = await s.createRealityData(itwin, "LAS", []);
    // Seeded in the job store directly: 2 500 creations through the API would take most of the test's time.
    const seeded = await s.seedJobs(itwin, email, input, 2500);
    const client = createClient({ baseUrl: s.url, getToken: () => token });
    const ids: string[] = [];
    for await (const job of client.jobs.list(`iTwinId eq ${itwin}`, { top: 1000 })) ids.push(job.id);
    assert.equal(ids.length, 2500);
    assert.deepEqual(ids, seeded);
    const sizes: number[] = [];
    for await (const page of client.jobs.pages(`iTwinId eq ${itwin}`, { top: 1000 })) sizes.push(page.jobs.length);
    assert.deepEqual(sizes, [1000, 1000, 500]);
    // Stopping early reads no further page.
    let n = 0;
    for await (const _ of client.jobs.list(`iTwinId eq ${itwin}`, { top: 10 })) if (++n === 15) break;
    assert.equal(n, 15);
  } finally {
    await s.close();
  }
});
