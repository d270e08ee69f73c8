/**
 * A COPC job whose worker process is killed (SIGKILL) in the middle of the chunk phase: the supervisor
 * starts a new worker, the job's lease expires, and the next attempt resumes from the chunks already
 * built (their files kept in the job's parts folder) and ends Success with the bytes `realconv convert`
 * writes for the same file.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { ContainerClient } from "@azure/storage-blob";
import { writeLasStream } from "@realconv/formats";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { api, CLI_PATH } from "../testing/harness.js";
import { startServe } from "../testing/serve.js";
import { issueToken, loadOrCreateKeys } from "../adapters/auth/local-issuer.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
/** A small budget: many chunks, so the chunk phase lasts long enough to be interrupted. */
const ENV = { REALCONV_LEASE_MS: "1500", REALCONV_MEMORY_MB: "64", REALCONV_THREADS: "1" };

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The worker processes `realconv serve` (pid) started (`realconv.js worker`; its API processes are left alone). */
function workerPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .filter((l) => /realconv\.js worker\b/.test(l))
      .map((l) => Number(l.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

it("a tiling job whose worker is killed mid chunk phase resumes and ends with the same bytes", { timeout: 300_000 }, async () => {
  const home = mkdtempSync(join(tmpdir(), "realconv-tiling-restart-"));
  const serve = await startServe(home, ["--workers", "1"], ENV);
  try {
    const { keys } = await loadOrCreateKeys(home);
    const token = await issueToken(keys, { email: "ops@example.com" });
    const itwin = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [CLI_PATH, "itwins", "create", "--name", "Ops", "--member", "ops@example.com", "--home", home], {
        env: { ...process.env, REALCONV_DATABASE_URL: "" },
      });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`itwins create: ${code}`))));
    });

    const big = join(home, "big.las");
    await pipeline(Readable.from(writeLasStream({ schema: SYNTHETIC_SCHEMA }, () => syntheticCloud(2_000_000))), createWriteStream(big));
    const rd = await api(serve.url, "POST", "/reality-management/reality-data", { token, headers: V1, body: { iTwinId: itwin, displayName: "big", type: "LAS" } });
    const w = await api(serve.url, "GET", `/reality-management/reality-data/${rd.body.realityData.id}/writeaccess`, { token, headers: V1 });
    await new ContainerClient(w.body._links.containerUrl.href).getBlockBlobClient("big.las").uploadFile(big, { blockSize: 4 << 20, concurrency: 8 });

    const created = await api(serve.url, "POST", "/reality-conversion/jobs", {
      token,
      body: { type: "PointCloudConversion", iTwinId: itwin, specifications: { inputs: { pointCloud: rd.body.realityData.id }, options: { outputFormat: "COPC" } } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.job.id;
    const partsDir = join(home, "scratch", `job-${id}`);
    // The chunk phase: the distribution part is done (45 %) and some chunk files are written.
    const chunkFiles = () => (existsSync(join(partsDir, "tree-0")) ? readdirSync(join(partsDir, "tree-0")).filter((f) => f.startsWith("chunk-")) : []);
    const start = Date.now();
    for (;;) {
      const p = await api(serve.url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
      assert.ok(!["Success", "Failed", "Cancelled"].includes(p.body.progress.state), `the job ended (${p.body.progress.state}) before it could be interrupted`);
      if (p.body.progress.percentage >= 45 && chunkFiles().length >= 2) break;
      assert.ok(Date.now() - start < 120_000, "the chunk phase did not start");
      await new Promise((r) => setTimeout(r, 25));
    }
    const workers = workerPids(serve.child.pid!);
    assert.ok(workers.length >= 1, "a worker process");
    for (const pid of workers) process.kill(pid, "SIGKILL");
    const builtBefore = chunkFiles().length;
    assert.ok(builtBefore >= 2, "chunks built before the kill stay on disk");

    let state = "";
    for (const t = Date.now(); Date.now() - t < 180_000; ) {
      const p = await api(serve.url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
      state = p.body.progress.state;
      if (["Success", "Failed", "Cancelled"].includes(state)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const messages = await api(serve.url, "GET", `/reality-conversion/jobs/${id}/messages`, { token });
    assert.equal(state, "Success", JSON.stringify(messages.body));
    assert.ok(!existsSync(partsDir), "the parts folder is removed when the job ends");

    const r = await api(serve.url, "GET", `/reality-management/reality-data/${created.body.job.specifications.output}/readaccess`, { token, headers: V1 });
    const container = new ContainerClient(r.body._links.containerUrl.href);
    const names: string[] = [];
    for await (const b of container.listBlobsFlat()) names.push(b.name);
    assert.deepEqual(names, ["big.copc.laz"]);
    const served = new Uint8Array(await container.getBlobClient(names[0]).downloadToBuffer());

    const out = join(home, "local");
    const local = spawn(process.execPath, [CLI_PATH, "convert", "PointCloudConversion", big, "-f", "COPC", "-o", out], {
      env: { ...process.env, REALCONV_DATABASE_URL: "", ...ENV, REALCONV_THREADS: "2" },
      stdio: "ignore",
    });
    assert.equal(await new Promise((r) => local.on("exit", r)), 0);
    assert.equal(sha256(served), sha256(new Uint8Array(readFileSync(join(out, "big.copc.laz")))), "the resumed job wrote the bytes of an uninterrupted conversion");
  } finally {
    serve.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    rmSync(home, { recursive: true, force: true });
  }
});
