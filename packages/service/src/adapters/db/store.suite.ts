/**
 * One behaviour suite for the SQL stores, run against SQLite and PostgreSQL (store-sqlite.test.ts,
 * store-postgres.test.ts), so both engines are held to the same contract.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { Db } from "./connect.js";
import { SqlJobStore } from "./job-store.js";
import { SqlITwinRegistry } from "./itwin-registry.js";
import { SqlRealityDataStore } from "./reality-data-store.js";
import { SqlSignInCodeStore } from "./sign-in-code-store.js";
import { parseFilter } from "../../domain/filter/index.js";
import type { JobCursor, NewJob } from "../../ports/job-repository.js";

export interface SuiteTarget {
  /** Opens a fresh, empty, migrated database; or returns a reason to skip. */
  open(): Promise<Db | string>;
  cleanup?(): Promise<void>;
}

function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: randomUUID(),
    name: "job",
    type: "PointCloudConversion",
    iTwinId: "11111111-1111-4111-8111-111111111111",
    userId: "user-a",
    email: "a@example.com",
    createdDateTime: new Date().toISOString(),
    specifications: { inputs: { pointCloud: randomUUID() }, output: randomUUID(), options: { outputFormat: "LAS" } },
    ...overrides,
  };
}

export function storeSuite(name: string, target: SuiteTarget): void {
  describe(`stores on ${name}`, () => {
    let db: Db | undefined;
    let skip: string | undefined;
    before(async () => {
      const r = await target.open();
      if (typeof r === "string") skip = r;
      else db = r;
    });
    after(async () => {
      await db?.close();
      await target.cleanup?.();
    });

    const test = (title: string, fn: (db: Db) => Promise<void>) =>
      it(title, async (t) => {
        if (skip) return t.skip(skip);
        await fn(db!);
      });

    test("creates and reads a job with its exact wire shape", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      const input = newJob({ name: "Exact shape" });
      const created = await store.create(input);
      const got = await store.get(input.id);
      assert.ok(got);
      assert.deepEqual(got.job, created);
      assert.deepEqual(Object.keys(got.job).sort(), ["executionInfo", "iTwinId", "id", "name", "specifications", "state", "type", "userId"]);
      assert.equal(got.job.state, "Queued");
      assert.equal(got.email, "a@example.com");
      assert.deepEqual(got.job.specifications, input.specifications);
      assert.equal(await store.get(randomUUID()), undefined);
    });

    test("lists with a compiled $filter, the caller restriction and keyset paging", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      const itwin = randomUUID();
      const shared = randomUUID();
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const j = newJob({
          iTwinId: itwin,
          userId: i % 2 === 0 ? "even" : "odd",
          type: i % 5 === 0 ? "PointCloudOptimization" : "PointCloudConversion",
          specifications:
            i % 5 === 0
              ? { inputs: { pointClouds: [randomUUID(), shared] }, output: randomUUID() }
              : { inputs: { pointCloud: randomUUID() }, output: randomUUID() },
        });
        ids.push(j.id);
        await store.create(j);
      }
      const filter = parseFilter(`iTwinId eq ${itwin}`);
      const seen: string[] = [];
      let after: JobCursor | undefined;
      for (;;) {
        const page = await store.list({ filter, after, limit: 10 });
        seen.push(...page.jobs.map((j) => j.id));
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.deepEqual(seen, ids, "all jobs once, in creation order");
      const asJson = await store.listJson({ filter, limit: 25 });
      const asObjects = await store.list({ filter, limit: 25 });
      assert.deepEqual(JSON.parse(`[${Buffer.from(asJson.json).toString()}]`), JSON.parse(JSON.stringify(asObjects.jobs)), "wire JSON = the jobs");
      // The JSON pages cut at the same places and give the same cursors.
      for (const limit of [1, 7, 24, 26]) {
        let after: JobCursor | undefined;
        let pages = 0;
        do {
          const j = await store.listJson({ filter, after, limit });
          const o = await store.list({ filter, after, limit });
          assert.deepEqual(JSON.parse(`[${Buffer.from(j.json).toString()}]`), JSON.parse(JSON.stringify(o.jobs)), `page ${pages} of ${limit}`);
          assert.deepEqual(j.next, o.next, `cursor after page ${pages} of ${limit}`);
          after = j.next;
          pages++;
        } while (after);
        assert.equal(pages, Math.ceil(25 / limit));
      }
      const even = await store.list({ filter, userId: "even", limit: 100 });
      assert.equal(even.jobs.length, 13);
      assert.ok(even.jobs.every((j) => j.userId === "even"));
      const byInput = await store.list({ filter: parseFilter(`inputId eq ${shared}`), limit: 100 });
      assert.deepEqual(byInput.jobs.map((j) => j.id), ids.filter((_, i) => i % 5 === 0));
      const byType = await store.list({ filter: parseFilter(`iTwinId eq ${itwin} and type eq pointcloudoptimization`), limit: 100 });
      assert.equal(byType.jobs.length, 5);
    });

    test("listed wire JSON escapes names and user ids as JSON does", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      const itwin = randomUUID();
      const names = [`He said "hi" \\ back`, "line\nbreak\ttab\u0001\u001f", "ünïcødé 𝄞 \u2028", "", undefined];
      for (const name of names) await store.create(newJob({ iTwinId: itwin, name, userId: `user "${name ?? "none"}"` }));
      const filter = parseFilter(`iTwinId eq ${itwin}`);
      const json = Buffer.from((await store.listJson({ filter, limit: 10 })).json).toString();
      const objects = (await store.list({ filter, limit: 10 })).jobs;
      assert.deepEqual(JSON.parse(`[${json}]`), JSON.parse(JSON.stringify(objects)));
      assert.deepEqual(objects.map((j) => j.name), names);
    });

    test("continuation pages keep the filter's creation-time bounds, also after a hand-made cursor", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      const itwin = randomUUID();
      const base = Date.parse("2031-03-01T00:00:00Z");
      const at = (i: number) => new Date(base + i * 1000).toISOString();
      const ids: string[] = [];
      // Two jobs per second: the cursor's seq orders jobs of the same millisecond.
      for (let i = 0; i < 30; i++) {
        const j = newJob({ iTwinId: itwin, userId: "bounds", createdDateTime: at(i >> 1) });
        ids.push(j.id);
        await store.create(j);
      }
      const cases: [string, string | undefined, string[]][] = [
        [`iTwinId eq ${itwin} and createdDateTime gt ${at(3)}`, undefined, ids.slice(8)],
        [`iTwinId eq ${itwin} and createdDateTime ge ${at(3)} and createdDateTime lt ${at(12)}`, undefined, ids.slice(6, 24)],
        [`createdDateTime ge ${at(5)}`, "bounds", ids.slice(10)],
        [`iTwinId eq ${itwin} and (createdDateTime gt ${at(3)} or name eq 'none')`, undefined, ids.slice(8)],
      ];
      for (const [text, userId, expected] of cases) {
        const filter = parseFilter(text);
        for (const limit of [1, 4]) {
          const seen: string[] = [];
          let after: JobCursor | undefined;
          do {
            const j = await store.listJson({ filter, userId, after, limit });
            const o = await store.list({ filter, userId, after, limit });
            assert.deepEqual(JSON.parse(`[${Buffer.from(j.json).toString()}]`), JSON.parse(JSON.stringify(o.jobs)), `${text}: same page`);
            assert.deepEqual(j.next, o.next);
            seen.push(...o.jobs.map((x) => x.id));
            after = o.next;
          } while (after);
          assert.deepEqual(seen, expected, `${text}, pages of ${limit}`);
        }
        // A cursor from before the filter's lower bound (not one the service hands out) still gets only matching jobs.
        const early: JobCursor = { createdAt: at(0), id: ids[0] };
        for (const page of [await store.list({ filter, userId, after: early, limit: 100 })]) {
          assert.deepEqual(page.jobs.map((x) => x.id), expected.filter((id) => id !== ids[0]), `${text} after an early cursor`);
        }
        const json = await store.listJson({ filter, userId, after: early, limit: 100 });
        assert.deepEqual(JSON.parse(`[${Buffer.from(json.json).toString()}]`).map((x: { id: string }) => x.id), expected.filter((id) => id !== ids[0]));
      }
    });

    test("cancel: a queued job ends Cancelled, an active one goes TerminatingOnCancel", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      const queued = newJob();
      await store.create(queued);
      const shown = await store.requestCancel(queued.id, new Date().toISOString());
      assert.equal(shown?.state, "TerminatingOnCancel");
      assert.equal((await store.get(queued.id))?.job.state, "Cancelled");
      assert.equal((await store.requestCancel(queued.id, new Date().toISOString()))?.state, "Cancelled", "already ended: final state");

      const active = newJob();
      await store.create(active);
      let claimed;
      do claimed = await store.claim("w1", 60_000, 3, new Date());
      while (claimed && claimed.job.id !== active.id);
      assert.equal(claimed?.job.id, active.id);
      assert.equal((await store.requestCancel(active.id, new Date().toISOString()))?.state, "TerminatingOnCancel");
      assert.equal(await store.heartbeat(active.id, "w1", 60_000, 10, new Date()), "TerminatingOnCancel");
      assert.equal(await store.finish(active.id, "w1", "Cancelled", 10, new Date()), "Cancelled");
      const ended = (await store.get(active.id))!.job;
      assert.equal(ended.state, "Cancelled");
      assert.ok(ended.executionInfo.endedDateTime);
    });

    test("listed wire JSON follows every change of a job (claim, progress, cancel, finish)", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      while (await store.claim("drain", 60_000, 3, new Date()));
      const iTwinId = randomUUID();
      const jobs = [newJob({ iTwinId }), newJob({ iTwinId, name: undefined }), newJob({ iTwinId, name: 'quote " and \\ back, ünïcødé ✓' }), newJob({ iTwinId })];
      for (const j of jobs) await store.create(j);
      const filter = parseFilter(`iTwinId eq ${iTwinId}`);
      const same = async (when: string) => {
        // limit 2: the third job (non-ASCII name) is the look-ahead row cut off the JSON page
        for (const limit of [10, 2]) {
          const asJson = await store.listJson({ filter, limit });
          const asObjects = await store.list({ filter, limit });
          assert.deepEqual(JSON.parse(`[${Buffer.from(asJson.json).toString()}]`), JSON.parse(JSON.stringify(asObjects.jobs)), when);
          assert.deepEqual(asJson.next, asObjects.next, when);
        }
      };
      await same("created");
      const claimed = [];
      for (let i = 0; i < 3; i++) claimed.push((await store.claim(`w${i}`, 60_000, 3, new Date()))!);
      assert.deepEqual(claimed.map((c) => c.job.id), jobs.slice(0, 3).map((j) => j.id));
      await same("claimed");
      await store.heartbeat(jobs[0].id, "w0", 60_000, 40, new Date());
      await store.requestCancel(jobs[1].id, new Date().toISOString());
      await store.requestCancel(jobs[3].id, new Date().toISOString());
      await same("progress and cancel");
      await store.finish(jobs[0].id, "w0", "Success", 90_000, new Date());
      await store.finish(jobs[1].id, "w1", "Cancelled", 1000, new Date());
      await store.finish(jobs[2].id, "w2", "Failed", 500, new Date());
      await same("finished");
      const states = (await store.list({ filter, limit: 10 })).jobs.map((j) => j.state);
      assert.deepEqual(states, ["Success", "Cancelled", "Failed", "Cancelled"]);
    });

    test("claims hand each job to exactly one worker, oldest first", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      // Drain what earlier tests left queued.
      while (await store.claim("drain", 60_000, 3, new Date()));
      const jobs = [newJob(), newJob(), newJob(), newJob(), newJob(), newJob()];
      for (const j of jobs) await store.create(j);
      const results = await Promise.all(jobs.map((_, i) => store.claim(`w${i % 3}`, 60_000, 3, new Date())));
      const got = results.filter((r) => r !== undefined).map((r) => r!.job.id);
      assert.equal(new Set(got).size, got.length, "no job claimed twice");
      // Whatever lost a race is claimed next.
      for (;;) {
        const more = await store.claim("late", 60_000, 3, new Date());
        if (!more) break;
        got.push(more.job.id);
      }
      assert.deepEqual([...got].sort(), jobs.map((j) => j.id).sort());
      const first = (await store.get(jobs[0].id))!;
      assert.equal(first.job.state, "Active");
      assert.ok(first.job.executionInfo.startedDateTime);
    });

    test("progress is monotone; finish sets end time, units and 100 on success", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      while (await store.claim("drain", 60_000, 3, new Date()));
      const j = newJob();
      await store.create(j);
      const c = await store.claim("w", 60_000, 3, new Date());
      assert.equal(c?.job.id, j.id);
      await store.heartbeat(j.id, "w", 60_000, 40, new Date());
      await store.heartbeat(j.id, "w", 60_000, 20, new Date());
      assert.deepEqual(await store.progress(j.id), { state: "Active", percentage: 40 });
      assert.equal(await store.heartbeat(j.id, "someone-else", 60_000, 90, new Date()), undefined, "only the holder renews");
      assert.equal(await store.finish(j.id, "someone-else", "Success", 0, new Date()), undefined, "only the holder finishes");
      assert.equal(await store.finish(j.id, "w", "Success", 90_000, new Date()), "Success");
      const done = (await store.get(j.id))!.job;
      assert.equal(done.executionInfo.processingUnits, 1.5);
      assert.deepEqual(await store.progress(j.id), { state: "Success", percentage: 100 });
    });

    test("a failed job goes through TerminatingOnFailure to Failed and keeps its messages", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      while (await store.claim("drain", 60_000, 3, new Date()));
      const j = newJob();
      await store.create(j);
      await store.claim("w", 60_000, 3, new Date());
      await store.addMessages(j.id, "warning", [{ code: "W1", title: "t", message: "m %1", params: ["p"] }]);
      await store.addMessages(j.id, "error", [{ code: "InputData_Invalid", title: "Invalid input data", message: "bad", params: [] }]);
      assert.equal(await store.finish(j.id, "w", "Failed", 0, new Date()), "Failed");
      const m = await store.messages(j.id);
      assert.deepEqual(m, {
        errors: [{ code: "InputData_Invalid", title: "Invalid input data", message: "bad", params: [] }],
        warnings: [{ code: "W1", title: "t", message: "m %1", params: ["p"] }],
      });
      assert.equal(await store.messages(randomUUID()), undefined);
    });

    test("a dead worker's job is claimed again, and failed once its attempts are used up", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      while (await store.claim("drain", 60_000, 3, new Date()));
      const j = newJob();
      await store.create(j);
      const t0 = Date.now();
      assert.equal((await store.claim("w1", 1000, 2, new Date(t0)))?.job.id, j.id);
      // w1 dies: its lease expires, w2 takes over (attempt 2).
      const again = await store.claim("w2", 1000, 2, new Date(t0 + 5000));
      assert.equal(again?.job.id, j.id);
      assert.equal(again?.attempts, 2);
      assert.equal(await store.heartbeat(j.id, "w1", 1000, 50, new Date(t0 + 5000)), undefined, "w1 lost the job");
      // w2 dies too: attempts are used up, the job is not claimed again; reaping fails it with a message.
      assert.equal(await store.claim("w3", 1000, 2, new Date(t0 + 10_000)), undefined);
      const reaped = await store.reap(2, new Date(t0 + 10_000));
      assert.deepEqual(reaped, [{ id: j.id, outputId: j.specifications.output, state: "Failed" }]);
      assert.deepEqual(await store.reap(2, new Date(t0 + 11_000)), [], "reaped once");
      const failed = (await store.get(j.id))!.job;
      assert.equal(failed.state, "Failed");
      assert.equal((await store.messages(j.id))!.errors[0].code, "WorkerLost");
    });

    test("a job's finished parts are kept with their manifests, once each", async (d) => {
      const store = new SqlJobStore(d.db, d.dialect, d);
      const j = newJob();
      await store.create(j);
      assert.deepEqual(await store.finishedParts(j.id), new Map());
      await store.finishPart(j.id, "chunk-0", { files: ["r0.bin"], points: 12 }, new Date());
      await store.finishPart(j.id, "chunk-1", { files: [], extent: [1.5, -2, 3] }, new Date());
      await store.finishPart(j.id, "chunk-0", { files: ["other"] }, new Date());
      assert.deepEqual(
        await store.finishedParts(j.id),
        new Map<string, unknown>([
          ["chunk-0", { files: ["r0.bin"], points: 12 }],
          ["chunk-1", { files: [], extent: [1.5, -2, 3] }],
        ]),
      );
      const other = newJob();
      await store.create(other);
      assert.equal((await store.finishedParts(other.id)).size, 0);
    });

    test("iTwins and members", async (d) => {
      const reg = new SqlITwinRegistry(d.db);
      const t = await reg.create("Demo");
      assert.equal((await reg.get(t.id))?.name, "Demo");
      await reg.addMember(t.id, "Alice@Example.com");
      await reg.addMember(t.id, "alice@example.com");
      assert.ok(await reg.isMember(t.id, "ALICE@example.com"));
      assert.ok(!(await reg.isMember(t.id, "bob@example.com")));
      assert.deepEqual((await reg.listForMember("alice@example.com")).map((x) => x.id), [t.id]);
      await reg.removeMember(t.id, "alice@example.com");
      assert.ok(!(await reg.isMember(t.id, "alice@example.com")));
    });

    test("reality data records and associations", async (d) => {
      const store = new SqlRealityDataStore(d.db);
      const id = randomUUID();
      const itwin = randomUUID();
      const now = new Date().toISOString();
      const rd = await store.create({
        id,
        iTwinId: itwin,
        displayName: "scan",
        type: "LAS",
        classification: "Model",
        authoring: true,
        ownerId: "user-a",
        createdDateTime: now,
        tags: ["a", "b"],
      });
      assert.equal(rd.size, 0);
      assert.deepEqual((await store.get(id))?.tags, ["a", "b"]);
      const up = await store.update(id, { size: 12, authoring: false, rootDocument: "x.las" }, now);
      assert.equal(up?.rootDocument, "x.las");
      const got = await store.get(id);
      assert.equal(got?.size, 12);
      assert.equal(got?.authoring, false);
      assert.deepEqual(await store.iTwins(id), [itwin]);
      const other = randomUUID();
      assert.ok(await store.associate(id, other));
      assert.ok(!(await store.associate(id, other)));
      assert.equal((await store.iTwins(id)).length, 2);
      await store.move(id, other);
      assert.deepEqual(await store.iTwins(id), [other], "move leaves only the new iTwin");
      assert.equal((await store.get(id))?.iTwinId, other, "and makes it the reality data's own");
      assert.ok(await store.dissociate(id, other));
      assert.equal((await store.getMany([id, randomUUID()])).length, 1);
      assert.ok(await store.delete(id));
      assert.equal(await store.get(id), undefined);
    });

    test("a sign-in code is used once, by one of concurrent callers, and never after it expires", async (d) => {
      const store = new SqlSignInCodeStore(d.db);
      const now = Date.now();
      const at = (ms: number) => new Date(now + ms).toISOString();
      const hash = (n: number) => `${n}`.padStart(64, "0");
      await store.save({ hash: hash(1), email: "a@example.com", expiresAt: at(60_000), createdAt: at(0) });
      await store.save({ hash: hash(2), email: "b@example.com", expiresAt: at(1000), createdAt: at(0) });
      await store.save({ hash: hash(3), email: "c@example.com", expiresAt: at(60_000), createdAt: at(0) });
      assert.equal(await store.consume(hash(9), at(0)), undefined, "unknown");
      assert.equal(await store.consume(hash(2), at(1000)), undefined, "expired at its expiry");
      assert.equal(await store.consume(hash(1), at(10)), "a@example.com");
      assert.equal(await store.consume(hash(1), at(20)), undefined, "used");
      // Concurrent uses (PostgreSQL runs them on several connections at once): exactly one wins.
      const results = await Promise.all(Array.from({ length: 8 }, () => store.consume(hash(3), at(30))));
      assert.deepEqual(results.filter((r) => r !== undefined), ["c@example.com"]);
      // Saving clears out codes that have expired by then.
      await store.save({ hash: hash(4), email: "d@example.com", expiresAt: at(120_000), createdAt: at(2000) });
      const left = await d.db.selectFrom("sign_in_codes").select("code_hash").orderBy("code_hash").execute();
      assert.deepEqual(left.map((r) => r.code_hash), [hash(4)]);
    });
  });
}
