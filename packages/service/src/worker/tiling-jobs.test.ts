/**
 * The streamable point-cloud outputs through the API with a worker process: every sample of
 * shared/data/pointcloud to OPC, COPC, 3DTilesPnts and 3DTilesGlbc (PointCloudConversion), and the samples
 * merged (PointCloudOptimization); the output reality data typed and rooted as declared, and read back by
 * independent readers with every input point in it.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ContainerClient } from "@azure/storage-blob";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { api, startTestServer, waitForJob, type TestServer } from "../testing/harness.js";
import { fileBytes, inputCounts, readCopc, readOpc, readTileset } from "../testing/streamable.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };
const SAMPLES = readdirSync(sharedData("pointcloud")).filter((f) => /\.(las|laz|e57|ply|pts|xyz)$/i.test(f)).sort();
const TYPE = { OPC: "OPC", COPC: "LAZ", "3DTilesPnts": "Cesium3DTiles", "3DTilesGlbc": "Cesium3DTiles" } as const;
type Format = keyof typeof TYPE;

/** Every blob of an output container, downloaded into a fresh folder. */
async function download(s: TestServer, token: string, id: string): Promise<string> {
  const r = await api(s.url, "GET", `/reality-management/reality-data/${id}/readaccess`, { token, headers: V1 });
  const container = new ContainerClient(r.body._links.containerUrl.href);
  const dir = mkdtempSync(join(tmpdir(), "realconv-tiling-api-"));
  for await (const b of container.listBlobsFlat()) {
    const path = join(dir, b.name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await container.getBlobClient(b.name).downloadToBuffer());
  }
  return dir;
}

/** Points in the output (every root document found in it). */
async function pointsIn(dir: string, format: Format): Promise<number> {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
  let total = 0;
  for (const f of files) {
    if (format === "COPC" && f.endsWith(".copc.laz")) {
      const c = await readCopc(fileBytes(join(dir, f)));
      assert.equal(c.nodeCount, c.headerCount);
      total += c.headerCount;
    } else if (format === "OPC" && f.endsWith(".opc")) {
      total += (await readOpc(fileBytes(join(dir, f)))).levels[0].pointCount;
    } else if ((format === "3DTilesPnts" || format === "3DTilesGlbc") && f.endsWith("tileset.json")) {
      total += (await readTileset(dir, f)).points;
    }
  }
  return total;
}

describe("streamable point-cloud jobs", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  const counts = new Map<string, number>();
  before(async () => {
    s = await startTestServer({ workers: 1 });
    token = await s.token("alice@example.com");
    itwin = await s.createITwin("Clouds", ["alice@example.com"]);
    for (const f of SAMPLES) counts.set(f, (await inputCounts(sharedData("pointcloud", f))).reduce((a, b) => a + b, 0));
  });
  after(() => s.close());

  const run = async (type: string, inputs: Record<string, string | string[]>, format: Format) => {
    const r = await api(s.url, "POST", "/reality-conversion/jobs", { token, body: { type, iTwinId: itwin, specifications: { inputs, options: { outputFormat: format } } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const end = await waitForJob(s.url, token, r.body.job.id, undefined, 120_000);
    const messages = await api(s.url, "GET", `/reality-conversion/jobs/${r.body.job.id}/messages`, { token });
    assert.equal(end.state, "Success", JSON.stringify(messages.body));
    const out = r.body.job.specifications.output as string;
    const rd = await api(s.url, "GET", `/reality-management/reality-data/${out}`, { token, headers: V1 });
    assert.equal(rd.body.realityData.type, TYPE[format]);
    assert.ok(rd.body.realityData.rootDocument, "a root document");
    return { out, rootDocument: rd.body.realityData.rootDocument as string };
  };

  for (const format of Object.keys(TYPE) as Format[]) {
    it(`every sample to ${format} (PointCloudConversion)`, { timeout: 900_000 }, async () => {
      for (const sample of SAMPLES) {
        const type = /\.laz$/i.test(sample) ? "LAZ" : /\.las$/i.test(sample) ? "LAS" : /\.e57$/i.test(sample) ? "E57" : "Unstructured";
        const input = await s.createRealityData(itwin, type, [sharedData("pointcloud", sample)]);
        const { out } = await run("PointCloudConversion", { pointCloud: input }, format);
        const dir = await download(s, token, out);
        try {
          assert.equal(await pointsIn(dir, format), counts.get(sample), `${sample} to ${format}: every input point`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    });
  }

  it("LAS and LAZ samples merged into one tree of each format (PointCloudOptimization)", { timeout: 600_000 }, async () => {
    const merged = ["autzen_trim.laz", "1.2-with-color.las", "mvk-thin.las"];
    const inputs = await Promise.all(merged.map((f) => s.createRealityData(itwin, /\.laz$/.test(f) ? "LAZ" : "LAS", [sharedData("pointcloud", f)])));
    for (const format of Object.keys(TYPE) as Format[]) {
      const { out, rootDocument } = await run("PointCloudOptimization", { pointClouds: inputs }, format);
      assert.equal(rootDocument, { OPC: "merged.opc", COPC: "merged.copc.laz", "3DTilesPnts": "tileset.json", "3DTilesGlbc": "tileset.json" }[format]);
      const dir = await download(s, token, out);
      try {
        assert.equal(await pointsIn(dir, format), merged.reduce((n, f) => n + counts.get(f)!, 0), format);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
