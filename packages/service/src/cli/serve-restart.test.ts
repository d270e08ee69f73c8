/**
 * `realconv serve` killed with SIGKILL in the middle of a job: after a restart on the same home folder
 * the job is picked up again and finishes; nothing stays Active.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { ContainerClient } from "@azure/storage-blob";
import { bytesSource, readLasHeader, writeLasStream } from "@realconv/formats";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { api, CLI_PATH } from "../testing/harness.js";
import { startServe } from "../testing/serve.js";
import { issueToken, loadOrCreateKeys } from "../adapters/auth/local-issuer.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

it("a job interrupted by SIGKILL of the service finishes after a restart", async () => {
  const home = mkdtempSync(join(tmpdir(), "realconv-restart-"));
  let serve = await startServe(home, ["--workers", "1"], { REALCONV_LEASE_MS: "1500" });
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
    assert.match(itwin, /^[0-9a-f-]{36}$/);

    const big = join(home, "big.las");
    const points = 3_000_000;
    await pipeline(Readable.from(writeLasStream({ schema: SYNTHETIC_SCHEMA }, () => syntheticCloud(points))), createWriteStream(big));
    const rd = await api(serve.url, "POST", "/reality-management/reality-data", {
      token,
      headers: V1,
      body: { iTwinId: itwin, displayName: "big", type: "LAS" },
    });
    const w = await api(serve.url, "GET", `/reality-management/reality-data/${rd.body.realityData.id}/writeaccess`, { token, headers: V1 });
    await new ContainerClient(w.body._links.containerUrl.href).getBlockBlobClient("big.las").uploadFile(big, { blockSize: 4 << 20, concurrency: 8 });

    const created = await api(serve.url, "POST", "/reality-conversion/jobs", {
      token,
      body: { type: "PointCloudConversion", iTwinId: itwin, specifications: { inputs: { pointCloud: rd.body.realityData.id }, options: { outputFormat: "LAS" } } },
    });
    assert.equal(created.status, 201);
    const id = created.body.job.id;
    for (;;) {
      const p = await api(serve.url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
      if (p.body.progress.state === "Active") break;
      assert.equal(p.body.progress.state, "Queued");
      await new Promise((r) => setTimeout(r, 20));
    }

    serve.child.kill("SIGKILL");
    await new Promise((r) => serve.child.once("exit", r));
    // Its workers notice the API process is gone and exit too.
    await new Promise((r) => setTimeout(r, 500));

    serve = await startServe(home, ["--workers", "1"], { REALCONV_LEASE_MS: "1500" });
    const start = Date.now();
    let state = "";
    while (Date.now() - start < 90_000) {
      const p = await api(serve.url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
      state = p.body.progress.state;
      if (["Success", "Failed", "Cancelled"].includes(state)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const messages = await api(serve.url, "GET", `/reality-conversion/jobs/${id}/messages`, { token });
    assert.equal(state, "Success", JSON.stringify(messages.body));
    const out = created.body.job.specifications.output;
    const r = await api(serve.url, "GET", `/reality-management/reality-data/${out}/readaccess`, { token, headers: V1 });
    const container = new ContainerClient(r.body._links.containerUrl.href);
    const names: string[] = [];
    for await (const b of container.listBlobsFlat()) names.push(b.name);
    assert.equal(names.length, 1);
    // The header's count, and a blob exactly as long as the records that count announces.
    const blob = container.getBlobClient(names[0]);
    const head = await blob.downloadToBuffer(0, 4096);
    const header = await readLasHeader(bytesSource(new Uint8Array(head), names[0]));
    assert.equal(header.pointCount, points);
    const { contentLength } = await blob.getProperties();
    const recordsEnd = header.offsetToPointData + points * header.recordLength;
    assert.equal(header.evlrCount > 0 ? header.evlrOffset : contentLength, recordsEnd);
  } finally {
    serve.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    rmSync(home, { recursive: true, force: true });
  }
});
