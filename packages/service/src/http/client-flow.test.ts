/**
 * The whole client flow with the official @azure/storage-blob client, against realconv's embedded
 * blob endpoint and against Azure Blob Storage (azurite): create a reality data, get write access,
 * upload a 200 MB file (4 MB blocks, concurrency 8), list, ranged download, run a job on it, download
 * its output through a read SAS, delete.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { ContainerClient } from "@azure/storage-blob";
import { bytesSource, readLasHeader, writeLasStream } from "@realconv/formats";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { api, startTestServer, type TestServer } from "../testing/harness.js";
import { startAzurite, type Azurite } from "../adapters/blob/azurite-helper.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const POINTS = 6_000_000; // ~204 MB as LAS 1.2 format 3

describe("client flow with @azure/storage-blob", () => {
  const tmp = mkdtempSync(join(tmpdir(), "realconv-flow-"));
  const input = join(tmp, "synthetic.las");
  let azurite: Azurite;

  before(async () => {
    await pipeline(Readable.from(writeLasStream({ schema: SYNTHETIC_SCHEMA }, () => syntheticCloud(POINTS))), createWriteStream(input));
    azurite = await startAzurite();
  });
  after(async () => {
    await azurite?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const mode of ["embedded endpoint", "Azure Blob Storage (azurite)"] as const) {
    it(`upload, list, ranged read, convert, download, delete: ${mode}`, async () => {
      const s: TestServer = await startTestServer({
        workers: 1,
        azureStorageConnectionString: mode === "embedded endpoint" ? undefined : azurite.connectionString,
      });
      try {
        const token = await s.token("flow@example.com");
        const itwin = await s.createITwin("Flow", ["flow@example.com"]);
        const created = await api(s.url, "POST", "/reality-management/reality-data", {
          token,
          headers: V1,
          body: { iTwinId: itwin, displayName: "Synthetic survey", type: "LAS", classification: "Model", rootDocument: "synthetic.las" },
        });
        assert.equal(created.status, 201);
        const id = created.body.realityData.id as string;
        const w = await api(s.url, "GET", `/reality-management/reality-data/${id}/writeaccess?iTwinId=${itwin}`, { token, headers: V1 });
        assert.equal(w.status, 200);
        const writable = new ContainerClient(w.body._links.containerUrl.href);
        if (mode !== "embedded endpoint") assert.ok(w.body._links.containerUrl.href.startsWith(azurite.blobEndpoint), "an Azure SAS URL");

        const size = (await stat(input)).size;
        assert.ok(size > 200_000_000);
        await writable.getBlockBlobClient("synthetic.las").uploadFile(input, { blockSize: 4 * 1024 * 1024, concurrency: 8 });
        await writable.getBlockBlobClient("notes/readme.txt").upload("survey notes", 12);
        const listed: Record<string, number> = {};
        for await (const b of writable.listBlobsFlat()) listed[b.name] = b.properties.contentLength ?? -1;
        assert.deepEqual(listed, { "notes/readme.txt": 12, "synthetic.las": size });

        // A ranged read returns exactly those bytes of the file.
        const fh = await open(input, "r");
        const expected = Buffer.alloc(1000);
        await fh.read(expected, 0, 1000, 150_000_000);
        await fh.close();
        const ranged = await writable.getBlobClient("synthetic.las").downloadToBuffer(150_000_000, 1000);
        assert.ok(ranged.equals(expected));
        await writable.deleteBlob("notes/readme.txt");
        // The reality data's size (kilobytes) follows what was uploaded, whichever storage holds it.
        let sizeKb = 0;
        for (let i = 0; i < 50 && sizeKb !== Math.ceil(size / 1024); i++) {
          await new Promise((r) => setTimeout(r, 100));
          sizeKb = (await api(s.url, "GET", `/reality-management/reality-data/${id}`, { token, headers: V1 })).body.realityData.size;
        }
        assert.equal(sizeKb, Math.ceil(size / 1024));

        const job = await api(s.url, "POST", "/reality-conversion/jobs", {
          token,
          body: { type: "PointCloudConversion", iTwinId: itwin, specifications: { inputs: { pointCloud: id }, options: { outputFormat: "LAS" } } },
        });
        assert.equal(job.status, 201, JSON.stringify(job.body));
        let state = "";
        for (let i = 0; i < 1200 && !["Success", "Failed", "Cancelled"].includes(state); i++) {
          await new Promise((r) => setTimeout(r, 100));
          state = (await api(s.url, "GET", `/reality-conversion/jobs/${job.body.job.id}/progress`, { token })).body.progress.state;
        }
        const messages = await api(s.url, "GET", `/reality-conversion/jobs/${job.body.job.id}/messages`, { token });
        assert.equal(state, "Success", JSON.stringify(messages.body));

        const outId = job.body.job.specifications.output;
        const out = (await api(s.url, "GET", `/reality-management/reality-data/${outId}`, { token, headers: V1 })).body.realityData;
        assert.equal(out.authoring, false);
        const r = await api(s.url, "GET", `/reality-management/reality-data/${outId}/readaccess`, { token, headers: V1 });
        const readable = new ContainerClient(r.body._links.containerUrl.href);
        const target = join(tmp, `out-${mode.length}.las`);
        await readable.getBlobClient(out.rootDocument).downloadToFile(target);
        const head = Buffer.alloc(4096);
        const oh = await open(target, "r");
        await oh.read(head, 0, 4096, 0);
        await oh.close();
        // The header alone (the reader would check the records against the 4 KiB read).
        const reader = await readLasHeader(bytesSource(new Uint8Array(head), out.rootDocument));
        assert.equal(reader.pointCount, POINTS);
        assert.equal((await stat(target)).size, size, "LAS -> LAS with the same format and scale: same size");
        await assert.rejects(readable.getBlockBlobClient("x").upload("x", 1), (e: { statusCode?: number }) => e.statusCode === 403);

        await writable.deleteBlob("synthetic.las");
        const left: string[] = [];
        for await (const b of writable.listBlobsFlat()) left.push(b.name);
        assert.deepEqual(left, []);
      } finally {
        await s.close();
      }
    });
  }
});
