/**
 * Every method of the SDK against a real realconv server with a worker process: reality data, uploads,
 * jobs from creation to their output, waiting on a running job, cancelling, and errors carrying the service's
 * codes. Real answers are checked against the route schemas with TypeBox.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { randomUUID } from "node:crypto";
import { Value } from "@sinclair/typebox/value";
import { writeLasStream } from "@realconv/formats";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { startTestServer, type TestServer } from "@realconv/service/testing/harness";
import { JobSchema, JobsResponse, MessagesResponse, ProgressResponse } from "@realconv/service/http/schemas";
import { createClient, RealconvError, type JobProgress, type RealconvClient } from "@realconv/sdk";

describe("@realconv/sdk against a server", () => {
  let s: TestServer;
  let client: RealconvClient;
  let itwin: string;
  const tmp = mkdtempSync(join(tmpdir(), "realconv-sdk-"));

  before(async () => {
    s = await startTestServer({ workers: 1 });
    const token = await s.token("sdk@example.com");
    itwin = await s.createITwin("SDK", ["sdk@example.com"]);
    client = createClient({ baseUrl: s.url, getToken: () => token });
  });
  after(async () => {
    await s.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function rejectsWith(p: Promise<unknown>, status: number, code: string, detail?: string): Promise<RealconvError> {
    let caught: unknown;
    await p.then(
      () => assert.fail(`expected ${status} ${code}`),
      (e) => (caught = e),
    );
    assert.ok(caught instanceof RealconvError, String(caught));
    assert.equal(caught.status, status, caught.message);
    assert.equal(caught.code, code);
    if (detail) assert.ok(caught.details.some((d) => d.code === detail), JSON.stringify(caught.details));
    return caught;
  }

  it("realityData: create, get, update, list page by page, container URLs, delete", async () => {
    const created = [];
    for (let i = 0; i < 3; i++) {
      created.push(await client.realityData.create({ iTwinId: itwin, displayName: `Listed ${i}`, type: "LAS", classification: "Model", tags: ["sdk"] }));
    }
    const rd = created[0];
    assert.equal(rd.displayName, "Listed 0");
    assert.equal(rd.type, "LAS");
    assert.deepEqual((await client.realityData.get(rd.id)).tags, ["sdk"]);
    const updated = await client.realityData.update(rd.id, { description: "Autzen stadium", rootDocument: "autzen.laz" });
    assert.equal(updated.description, "Autzen stadium");
    assert.equal((await client.realityData.get(rd.id, { iTwinId: itwin })).rootDocument, "autzen.laz");

    const listed = [];
    for await (const x of client.realityData.list({ iTwinId: itwin, tag: "sdk", top: 2 })) listed.push(x);
    assert.deepEqual(listed.map((x) => x.id), created.map((x) => x.id), "three items over two pages");
    assert.deepEqual(Object.keys(listed[0]).sort(), ["displayName", "id", "type"]);
    const full = [];
    for await (const x of client.realityData.list({ iTwinId: itwin, tag: "sdk", full: true, orderBy: "displayName desc" })) full.push(x);
    assert.deepEqual(full.map((x) => x.displayName), ["Listed 2", "Listed 1", "Listed 0"]);
    assert.equal(full[0].ownerId, rd.ownerId);

    assert.match(await client.realityData.containerUrl(rd.id, "Read"), /[?&]sig=/);
    assert.match(await client.realityData.containerUrl(rd.id, "Write"), /sp=racwdl/);
    for (const x of created) await client.realityData.delete(x.id);
    await rejectsWith(client.realityData.get(rd.id), 404, "RealityDataNotFound");
  });

  it("realityData errors carry the service's code, target and details", async () => {
    const e = await rejectsWith(client.realityData.create({ iTwinId: itwin, displayName: "x", type: "NotAType" }), 422, "InvalidRealityDataRequest", "InvalidProperty");
    assert.equal(e.details.find((d) => d.code === "InvalidProperty")?.target, "type");
    assert.match(e.describe(), /type: Invalid value 'NotAType'/);
    await rejectsWith(client.realityData.create({ iTwinId: randomUUID(), displayName: "x", type: "LAS" }), 403, "InsufficientPermissions");
    await rejectsWith(client.realityData.upload(randomUUID(), [{ name: "a.txt", data: new Uint8Array(1) }]), 404, "RealityDataNotFound");
  });

  it("upload, files, readFile and download round-trip small files and folders", async () => {
    const rd = await client.realityData.create({ iTwinId: itwin, displayName: "Files", type: "Unstructured" });
    const folder = join(tmp, "folder");
    await import("node:fs/promises").then(async (fs) => {
      await fs.mkdir(join(folder, "sub"), { recursive: true });
      await fs.writeFile(join(folder, "a.txt"), "alpha");
      await fs.writeFile(join(folder, "sub", "b.json"), '{"b":1}');
    });
    const progress: number[] = [];
    const uploaded = await client.realityData.upload(
      rd.id,
      [folder, { name: "bytes.bin", data: new Uint8Array([1, 2, 3]) }, new File(["from a File"], "file.txt", { type: "text/plain" })],
      { onProgress: (p) => progress.push(p.loadedBytes) },
    );
    assert.deepEqual(uploaded.map((f) => f.name), ["a.txt", "sub/b.json", "bytes.bin", "file.txt"]);
    assert.equal(progress.at(-1), 5 + 7 + 3 + 11);

    const files = [];
    for await (const f of client.realityData.files(rd.id)) files.push(f);
    assert.deepEqual(files.map((f) => [f.name, f.size]), [["a.txt", 5], ["bytes.bin", 3], ["file.txt", 11], ["sub/b.json", 7]]);
    assert.equal(files.find((f) => f.name === "file.txt")?.contentType, "text/plain");
    assert.equal(await (await client.realityData.readFile(files[0])).text(), "alpha");
    assert.equal(await (await fetch(files[3].url)).text(), '{"b":1}', "a file's URL opens with a plain GET");

    const dest = join(tmp, "down");
    const written = await client.realityData.download(rd.id, dest);
    assert.equal(written.length, 4);
    assert.equal(readFileSync(join(dest, "sub", "b.json"), "utf8"), '{"b":1}');
    assert.deepEqual(readdirSync(dest).sort(), ["a.txt", "bytes.bin", "file.txt", "sub"], "no partial files left");
  });

  it("jobs: create, wait on the running job with progress, get, messages, list pages, download the output", async () => {
    // Reprojected (every point through proj4): a job that runs long enough to be watched.
    const big = join(tmp, "cloud.las");
    await pipeline(Readable.from(writeLasStream({ schema: SYNTHETIC_SCHEMA, crs: undefined }, () => syntheticCloud(250_000))), createWriteStream(big));
    const input = await client.realityData.create({ iTwinId: itwin, displayName: "Synthetic", type: "LAS" });
    await client.realityData.upload(input.id, [big]);
    const job = await client.jobs.create({
      type: "PointCloudConversion",
      iTwinId: itwin,
      name: "SDK conversion",
      specifications: { inputs: { pointCloud: input.id }, options: { outputFormat: "LAZ", inputCrs: "EPSG:32631", outputCrs: "EPSG:4326" } },
    });
    assert.ok(Value.Check(JobSchema, job), JSON.stringify([...Value.Errors(JobSchema, job)].slice(0, 3)));
    assert.equal(job.name, "SDK conversion");

    const seen: JobProgress[] = [];
    const done = await client.jobs.wait(job.id, { intervalMs: 50, maxIntervalMs: 200, onProgress: (p) => seen.push(p) });
    assert.equal(done.state, "Success");
    assert.ok(Value.Check(JobSchema, done));
    assert.ok(seen.some((p) => p.state === "Active" || p.state === "Queued"), `waited on the job while it ran: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.at(-1), { state: "Success", percentage: 100 });
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].percentage >= seen[i - 1].percentage);
    assert.ok(done.executionInfo.endedDateTime);

    const progress = await client.jobs.progress(job.id);
    assert.ok(Value.Check(ProgressResponse, { progress }));
    const messages = await client.jobs.messages(job.id);
    assert.ok(Value.Check(MessagesResponse, { messages }));
    assert.deepEqual(messages.errors, []);
    assert.equal((await client.jobs.get(job.id)).state, "Success");

    const pages = [];
    for await (const page of client.jobs.pages(`iTwinId eq ${itwin} and id eq ${job.id}`)) pages.push(page);
    assert.equal(pages.length, 1);
    assert.ok(Value.Check(JobsResponse, pages[0]));
    assert.deepEqual(pages[0].jobs.map((j) => j.id), [job.id]);

    const out = join(tmp, "out");
    const written = await client.realityData.download(done.specifications.output, out);
    assert.equal(written.length, 1);
    assert.match(written[0], /\.laz$/);
    assert.equal(readFileSync(written[0]).subarray(0, 4).toString("latin1"), "LASF");
  });

  it("jobs: cancel, and the service's errors (422 UnsupportedFormat, 400 details, 404, 401)", async () => {
    const input = await client.realityData.create({ iTwinId: itwin, displayName: "Autzen", type: "LAZ" });
    await client.realityData.upload(input.id, [sharedData("pointcloud", "autzen_trim.laz")]);
    const job = await client.jobs.create({
      type: "PointCloudConversion",
      iTwinId: itwin,
      specifications: { inputs: { pointCloud: input.id }, options: { outputFormat: "LAS" } },
    });
    const cancelled = await client.jobs.cancel(job.id);
    assert.ok(["TerminatingOnCancel", "Cancelled", "Success"].includes(cancelled.state), cancelled.state);
    const ended = await client.jobs.wait(job.id, { intervalMs: 50 });
    assert.ok(["Cancelled", "Success"].includes(ended.state), "cancelled, or it had already finished");

    await rejectsWith(
      client.jobs.create({ type: "PointCloudConversion", iTwinId: itwin, specifications: { inputs: { pointCloud: input.id }, options: { outputFormat: "POD" } } }),
      422,
      "InvalidRealityConversionRequest",
      "UnsupportedFormat",
    );
    const bad = await rejectsWith(
      client.jobs.create({ type: "TileMapOptimization", iTwinId: itwin, specifications: { inputs: { tileMaps: [input.id] }, options: { outputFormat: "XYZTileMap", jpgQuality: 5 } } }),
      400,
      "InvalidRealityConversionRequest",
    );
    assert.ok(bad.details.some((d) => d.target?.includes("jpgQuality")), JSON.stringify(bad.details));
    await rejectsWith(client.jobs.get(randomUUID()), 404, "JobNotFound");
    await rejectsWith(client.jobs.messages(randomUUID()), 404, "JobNotFound");
    const listed = client.jobs.list("state eq Nonsense");
    await rejectsWith(listed.next(), 400, "InvalidRealityConversionRequest", "InvalidParameter");
    const anonymous = createClient({ baseUrl: s.url, getToken: () => "not-a-token" });
    const e = await rejectsWith(anonymous.jobs.get(job.id), 401, "InvalidToken");
    assert.ok(e.correlationId, "the correlation id of the request");
  });

  it("an unreachable server is a RealconvError with status 0; an aborted wait rejects with the signal's reason", async () => {
    const nowhere = createClient({ baseUrl: "http://127.0.0.1:9", getToken: () => "t" });
    await rejectsWith(nowhere.jobs.get(randomUUID()), 0, "NetworkError");
    const input = await client.realityData.create({ iTwinId: itwin, displayName: "Abort", type: "LAZ" });
    const controller = new AbortController();
    const reason = new Error("stop waiting");
    const job = await client.jobs.create({ type: "PointCloudConversion", iTwinId: itwin, specifications: { inputs: { pointCloud: input.id }, options: { outputFormat: "LAS" } } });
    const waiting = client.jobs.wait(job.id, { intervalMs: 20, signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    await client.jobs.wait(job.id, { intervalMs: 50 });
  });
});
