/**
 * Scale-out setup: the API and several worker processes sharing one PostgreSQL database (the jobs
 * table is the queue). Jobs submitted together are each run once, by some worker, to Success.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { api, startTestServer } from "../testing/harness.js";
import { dropSchema, PG_URL, postgresUnavailable, uniqueSchema } from "../testing/postgres.js";

it("runs jobs with the API and 2 worker processes on PostgreSQL", async (t) => {
  const why = await postgresUnavailable();
  if (why) return t.skip(why);
  const schema = uniqueSchema("service_pg");
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`create schema "${schema}"`);
  await client.end();
  const url = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const s = await startTestServer({ workers: 2, databaseUrl: url });
  try {
    assert.equal(s.server.runtime.db.dialect, "postgres");
    const token = await s.token("pg@example.com");
    const itwin = await s.createITwin("PG", ["pg@example.com"]);
    const input = await s.createRealityData(itwin, "LAZ", [sharedData("pointcloud", "autzen_trim.laz")]);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(s.url, "POST", "/reality-conversion/jobs", {
        token,
        body: { type: "PointCloudConversion", iTwinId: itwin, name: `pg ${i}`, specifications: { inputs: { pointCloud: input }, options: { outputFormat: "LAS" } } },
      });
      assert.equal(r.status, 201);
      ids.push(r.body.job.id);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const list = await api(s.url, "GET", `/reality-conversion/jobs?$filter=${encodeURIComponent(`iTwinId eq ${itwin}`)}`, { token });
      const states = list.body.jobs.map((j: { state: string }) => j.state);
      if (states.every((st: string) => st === "Success")) {
        assert.deepEqual(list.body.jobs.map((j: { id: string }) => j.id), ids);
        break;
      }
      assert.ok(!states.includes("Failed"), JSON.stringify(list.body));
      assert.ok(Date.now() < deadline, `still ${states.join(", ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await s.close();
    await dropSchema(schema);
  }
});
