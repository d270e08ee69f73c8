/**
 * The worker host's housekeeping, on a real SQLite runtime: a job whose worker died leaves no output once
 * it is failed, and a starting worker removes the temporary files of workers that are gone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, scratchRoot } from "../config.js";
import { createLogger } from "../logger.js";
import { openRuntime } from "../runtime.js";
import { WorkerHost } from "./host.js";

test("a job whose worker died is failed with WorkerLost and its partial output removed; dead workers' scratch is swept", async () => {
  const home = mkdtempSync(join(tmpdir(), "realconv-host-"));
  const config = loadConfig({}, { home, databaseUrl: undefined, azureStorageConnectionString: undefined, leaseMs: 200, maxAttempts: 1, threads: 1 });
  const rt = await openRuntime(config);
  try {
    const output = randomUUID();
    await rt.blobs.createContainer(output);
    const job = await rt.jobs.create({
      id: randomUUID(),
      type: "PointCloudConversion",
      iTwinId: randomUUID(),
      userId: "u",
      email: "u@example.com",
      createdDateTime: new Date().toISOString(),
      specifications: { inputs: { pointCloud: randomUUID() }, output, options: { outputFormat: "LAS" } },
    });
    // A worker claims it, writes half an output, and dies (its lease is never renewed).
    assert.equal((await rt.queue.claim("dead-worker", 200, 1, new Date()))?.job.id, job.id);
    await rt.blobs.put(output, "half.las", new Uint8Array(1000));
    // A process that has ended left its scratch folder behind; a live one (this process) keeps its own.
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    const dead = join(scratchRoot(config), `${deadPid}-abc`);
    const alive = join(scratchRoot(config), `${process.pid}-def`);
    for (const dir of [dead, alive]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "tmp.bin"), "x");
    }
    await new Promise((r) => setTimeout(r, 300));

    const host = new WorkerHost(rt, { logger: createLogger("silent"), pollMs: 50 });
    const stop = new AbortController();
    const running = host.run(stop.signal);
    const until = Date.now() + 5000;
    while ((await rt.jobs.get(job.id))?.job.state !== "Failed" && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await running;

    assert.equal((await rt.jobs.get(job.id))?.job.state, "Failed");
    assert.equal((await rt.jobs.messages(job.id))?.errors[0].code, "WorkerLost");
    assert.deepEqual((await rt.blobs.list(output, {})).blobs, [], "no partial output");
    assert.equal(existsSync(dead), false, "the dead worker's scratch is removed");
    assert.equal(existsSync(alive), true, "a live process's scratch is kept");
  } finally {
    await rt.close();
    rmSync(home, { recursive: true, force: true });
  }
});
