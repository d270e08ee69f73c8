/**
 * Jobs end to end over HTTP with real worker processes: upload with @azure/storage-blob, convert,
 * download the output through a read SAS, compare points; bad input fails the job with a message and
 * leaves the server up; cancel stops a running job.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { ContainerClient } from "@azure/storage-blob";
import { bytesSource, openE57, writeLasStream } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { api, startTestServer, type TestServer } from "../testing/harness.js";
import { readCloud } from "../testing/points.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

describe("job lifecycle with worker processes", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  const tmp = mkdtempSync(join(tmpdir(), "realconv-lifecycle-"));

  before(async () => {
    s = await startTestServer({ workers: 2, leaseMs: 3000 });
    token = await s.token("alice@example.com");
    itwin = await s.createITwin("Lifecycle", ["alice@example.com"]);
  });
  after(async () => {
    await s.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Creates a reality data through the API and uploads files with the Azure SDK, as a client would. */
  async function upload(type: string, files: { name: string; path: string }[]): Promise<string> {
    const rd = await api(s.url, "POST", "/reality-management/reality-data", {
      token,
      headers: V1,
      body: { iTwinId: itwin, displayName: files.map((f) => f.name).join(", "), type, classification: "Model" },
    });
    assert.equal(rd.status, 201, JSON.stringify(rd.body));
    const w = await api(s.url, "GET", `/reality-management/reality-data/${rd.body.realityData.id}/writeaccess`, { token, headers: V1 });
    const container = new ContainerClient(w.body._links.containerUrl.href);
    for (const f of files) await container.getBlockBlobClient(f.name).uploadFile(f.path, { blockSize: 4 * 1024 * 1024, concurrency: 8 });
    return rd.body.realityData.id;
  }

  async function submit(body: Record<string, unknown>): Promise<any> {
    const r = await api(s.url, "POST", "/reality-conversion/jobs", { token, body: { iTwinId: itwin, ...body } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.job;
  }

  async function waitFor(id: string, done: (p: { state: string; percentage: number }) => boolean, timeoutMs = 60_000) {
    const start = Date.now();
    for (;;) {
      const p = await api(s.url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
      assert.equal(p.status, 200);
      if (done(p.body.progress)) return p.body.progress as { state: string; percentage: number };
      if (Date.now() - start > timeoutMs) throw new Error(`job ${id} still ${JSON.stringify(p.body.progress)} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const ended = (p: { state: string }) => ["Success", "Failed", "Cancelled"].includes(p.state);

  /** Downloads an output's files through a read SAS. */
  async function download(realityDataId: string): Promise<Map<string, Buffer>> {
    const r = await api(s.url, "GET", `/reality-management/reality-data/${realityDataId}/readaccess`, { token, headers: V1 });
    assert.equal(r.status, 200);
    const container = new ContainerClient(r.body._links.containerUrl.href);
    const out = new Map<string, Buffer>();
    for await (const b of container.listBlobsFlat()) out.set(b.name, await container.getBlobClient(b.name).downloadToBuffer());
    return out;
  }

  it("LAS -> LAS ends Success with the same points, and a complete output reality data", async () => {
    const src = sharedData("pointcloud", "autzen_trim.las");
    const input = await upload("LAS", [{ name: "autzen_trim.las", path: src }]);
    const job = await submit({ type: "PointCloudConversion", name: "Autzen", specifications: { inputs: { pointCloud: input }, options: { outputFormat: "LAS" } } });
    const p = await waitFor(job.id, ended);
    const messages = (await api(s.url, "GET", `/reality-conversion/jobs/${job.id}/messages`, { token })).body.messages;
    assert.equal(p.state, "Success", JSON.stringify(messages));
    assert.equal(p.percentage, 100);
    const final = (await api(s.url, "GET", `/reality-conversion/jobs/${job.id}`, { token })).body.job;
    assert.ok(final.executionInfo.startedDateTime && final.executionInfo.endedDateTime);
    assert.ok(Date.parse(final.executionInfo.endedDateTime) >= Date.parse(final.executionInfo.startedDateTime));
    assert.equal(typeof final.executionInfo.processingUnits, "number");

    const out = (await api(s.url, "GET", `/reality-management/reality-data/${job.specifications.output}`, { token, headers: V1 })).body.realityData;
    assert.equal(out.authoring, false);
    assert.equal(out.type, "LAS");
    assert.ok(out.rootDocument, "rootDocument set");
    // Extent from the data: Autzen stadium, Eugene, Oregon.
    assert.ok(out.extent, "extent set from the points");
    assert.ok(out.extent.southWest.latitude > 44 && out.extent.northEast.latitude < 44.1, JSON.stringify(out.extent));
    assert.ok(out.extent.southWest.longitude > -123.1 && out.extent.northEast.longitude < -123, JSON.stringify(out.extent));
    assert.ok(out.crs?.id, "crs recorded");
    const files = await download(job.specifications.output);
    assert.ok(files.has(out.rootDocument));
    assert.equal(out.size, Math.ceil([...files.values()].reduce((a, b) => a + b.length, 0) / 1024));

    const expected = await readCloud(new Uint8Array(await readFile(src)));
    const actual = await readCloud(new Uint8Array(files.get(out.rootDocument)!));
    assert.equal(actual.count, 110_000);
    assert.deepEqual(actual.xyz, expected.xyz);
    assert.deepEqual(actual.columns, expected.columns);
  });

  it("LAZ -> LAS gives the points of the LAS twin; PointCloudOptimization merges inputs into one file", async () => {
    const laz = await upload("LAZ", [{ name: "autzen_trim.laz", path: sharedData("pointcloud", "autzen_trim.laz") }]);
    const small = await upload("LAS", [{ name: "1.2-with-color.las", path: sharedData("pointcloud", "1.2-with-color.las") }]);
    const conv = await submit({ type: "PointCloudConversion", specifications: { inputs: { pointCloud: laz }, options: { outputFormat: "LAS" } } });
    const merge = await submit({ type: "PointCloudOptimization", specifications: { inputs: { pointClouds: [laz, small] }, options: { outputFormat: "LAS" } } });
    assert.equal((await waitFor(conv.id, ended)).state, "Success");
    const mergeState = await waitFor(merge.id, ended);
    assert.equal(mergeState.state, "Success", JSON.stringify((await api(s.url, "GET", `/reality-conversion/jobs/${merge.id}/messages`, { token })).body));
    const convFiles = await download(conv.specifications.output);
    const expected = await readCloud(new Uint8Array(await readFile(sharedData("pointcloud", "autzen_trim.las"))));
    const converted = await readCloud(new Uint8Array([...convFiles.values()][0]));
    assert.deepEqual(converted.xyz, expected.xyz);
    const mergedFiles = await download(merge.specifications.output);
    assert.equal(mergedFiles.size, 1);
    const merged = await readCloud(new Uint8Array([...mergedFiles.values()][0]));
    assert.equal(merged.count, 110_000 + 1_065);
  });

  it("LAS -> LAZ and LAS -> E57 through the service (outputs patched after streaming) read back with every point", async () => {
    const input = await upload("LAS", [{ name: "autzen_trim.las", path: sharedData("pointcloud", "autzen_trim.las") }]);
    const expected = await readCloud(new Uint8Array(await readFile(sharedData("pointcloud", "autzen_trim.las"))));
    for (const format of ["LAZ", "E57"]) {
      const job = await submit({ type: "PointCloudConversion", specifications: { inputs: { pointCloud: input }, options: { outputFormat: format } } });
      const p = await waitFor(job.id, ended);
      assert.equal(p.state, "Success", format);
      const out = (await api(s.url, "GET", `/reality-management/reality-data/${job.specifications.output}`, { token, headers: V1 })).body.realityData;
      assert.equal(out.type, format);
      const files = await download(job.specifications.output);
      assert.equal(files.size, 1);
      const bytes = new Uint8Array(files.get(out.rootDocument)!);
      if (format === "LAZ") {
        const got = await readCloud(bytes, out.rootDocument);
        assert.deepEqual(got.xyz, expected.xyz, "LAZ keeps every point exactly");
      } else {
        const reader = await openE57(bytesSource(bytes, out.rootDocument));
        let n = 0;
        for await (const c of reader.chunks()) n += c.count;
        assert.equal(n, expected.count);
      }
    }
  });

  it("a truncated or wrong file fails the job with a message naming it; the server stays up", async () => {
    const whole = await readFile(sharedData("pointcloud", "autzen_trim.las"));
    const truncated = join(tmp, "truncated.las");
    await pipeline(Readable.from([whole.subarray(0, 1_000_000)]), createWriteStream(truncated));
    const text = join(tmp, "notes.las");
    await pipeline(Readable.from([Buffer.from("this is not a point cloud\n".repeat(20))]), createWriteStream(text));
    for (const [name, path] of [
      ["truncated.las", truncated],
      ["notes.las", text],
    ]) {
      const input = await upload("LAS", [{ name, path }]);
      const job = await submit({ type: "PointCloudConversion", specifications: { inputs: { pointCloud: input }, options: { outputFormat: "LAS" } } });
      const p = await waitFor(job.id, ended);
      assert.equal(p.state, "Failed");
      const m = (await api(s.url, "GET", `/reality-conversion/jobs/${job.id}/messages`, { token })).body.messages;
      assert.equal(m.errors.length, 1);
      const e = m.errors[0];
      assert.deepEqual(Object.keys(e).sort(), ["code", "message", "params", "title"]);
      assert.equal(e.code, "InputData_Invalid");
      assert.ok(JSON.stringify(e).includes(name), JSON.stringify(e));
      const files = await download(job.specifications.output);
      assert.equal(files.size, 0, "no half output");
    }
    assert.equal((await api(s.url, "GET", "/health")).status, 200);
  });

  it("cancel stops a running job within seconds and leaves no output", async () => {
    const big = join(tmp, "big.las");
    const points = 4_000_000;
    await pipeline(Readable.from(writeLasStream({ schema: SYNTHETIC_SCHEMA, crs: undefined }, () => syntheticCloud(points))), createWriteStream(big));
    assert.ok((await stat(big)).size > points * 30);
    const input = await upload("LAS", [{ name: "big.las", path: big }]);
    // Reprojected (three passes, every point through proj4): a job long enough to be caught running.
    const options = { outputFormat: "LAS", inputCrs: "EPSG:32631", outputCrs: "EPSG:4326" };
    const job = await submit({ type: "PointCloudConversion", specifications: { inputs: { pointCloud: input }, options } });
    const running = await waitFor(job.id, (p) => p.state === "Active" && p.percentage > 0 && p.percentage < 60);
    assert.equal(running.state, "Active");
    const cancelAt = Date.now();
    const d = await api(s.url, "DELETE", `/reality-conversion/jobs/${job.id}`, { token });
    assert.equal(d.status, 200);
    assert.equal(d.body.job.state, "TerminatingOnCancel");
    const p = await waitFor(job.id, ended, 20_000);
    assert.equal(p.state, "Cancelled");
    assert.ok(Date.now() - cancelAt < 5000, `cancelled after ${Date.now() - cancelAt} ms`);
    assert.equal((await download(job.specifications.output)).size, 0);
  });
});
