/**
 * Paging through 2 500 jobs with $top 1000 while other jobs are being created: every job that existed
 * when paging began comes back exactly once, in order, and new jobs never duplicate or hide old ones.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { api, startTestServer } from "../testing/harness.js";

it("pages 2 500 jobs with $top=1000 while jobs are created concurrently", async () => {
  const s = await startTestServer();
  try {
    const email = "pager@example.com";
    const token = await s.token(email);
    const itwin = await s.createITwin("Paging", [email]);
    const input = await s.createRealityData(itwin, "LAS", [sharedData("pointcloud", "1.2-with-color.las")]);
    const seeded = await s.seedJobs(itwin, email, input, 2500);

    let creating = true;
    const created: string[] = [];
    const creator = (async () => {
      while (creating) {
        const r = await api(s.url, "POST", "/reality-conversion/jobs", {
          token,
          body: { type: "PointCloudConversion", iTwinId: itwin, name: "concurrent", specifications: { inputs: { pointCloud: input }, options: { outputFormat: "LAS" } } },
        });
        assert.equal(r.status, 201);
        created.push(r.body.job.id);
      }
    })();

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let href: string | undefined = `${s.url}/reality-conversion/jobs?$filter=${encodeURIComponent(`iTwinId eq ${itwin}`)}&$top=1000`;
    while (href) {
      const res = await fetch(href, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { jobs: { id: string }[]; _links?: { next: { href: string } } };
      seen.push(...body.jobs.map((j) => j.id));
      pageSizes.push(body.jobs.length);
      href = body._links?.next.href;
      // Let creation interleave with paging.
      await new Promise((r) => setTimeout(r, 20));
      if (pageSizes.length > 20) break;
    }
    creating = false;
    await creator;

    assert.ok(created.length > 0, "jobs were created during paging");
    assert.equal(new Set(seen).size, seen.length, "no job twice");
    assert.deepEqual(seen.slice(0, 2500), seeded, "every seeded job once, in creation order");
    assert.ok(seen.slice(2500).every((id) => created.includes(id)), "anything after them is a new job");
    assert.ok(pageSizes.slice(0, 2).every((n) => n === 1000));
  } finally {
    await s.close();
  }
});
