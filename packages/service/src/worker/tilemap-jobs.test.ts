/**
 * TileMapOptimization end to end over HTTP with real worker processes: every shared raster uploaded with
 * @azure/storage-blob becomes an XYZ pyramid whose TileJSON is the output's root document; a mosaic of two
 * reality data; a damaged raster fails its job naming the file, and the server stays up.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerClient } from "@azure/storage-blob";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { api, startTestServer, type TestServer } from "../testing/harness.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

describe("tile map jobs with worker processes", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  const tmp = mkdtempSync(join(tmpdir(), "realconv-tilemaps-"));

  before(async () => {
    // No worker is killed here, so the service's default lease: a 3-s one can expire while a
    // worker is starved of CPU on an oversubscribed machine, and the job then ends WorkerLost.
    s = await startTestServer({ workers: 2, leaseMs: 15_000 });
    token = await s.token("alice@example.com");
    itwin = await s.createITwin("Tiles", ["alice@example.com"]);
  });
  after(async () => {
    await s.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function upload(type: string, files: { name: string; path: string }[]): Promise<string> {
    const rd = await api(s.url, "POST", "/reality-management/reality-data", {
      token,
      headers: V1,
      body: { iTwinId: itwin, displayName: files.map((f) => f.name).join(", "), type, classification: "Imagery" },
    });
    assert.equal(rd.status, 201, JSON.stringify(rd.body));
    const w = await api(s.url, "GET", `/reality-management/reality-data/${rd.body.realityData.id}/writeaccess`, { token, headers: V1 });
    const container = new ContainerClient(w.body._links.containerUrl.href);
    for (const f of files) await container.getBlockBlobClient(f.name).uploadFile(f.path);
    return rd.body.realityData.id;
  }

  async function submit(inputs: string[], options: Record<string, unknown>): Promise<any> {
    const r = await api(s.url, "POST", "/reality-conversion/jobs", {
      token,
      body: { iTwinId: itwin, type: "TileMapOptimization", specifications: { inputs: { tileMaps: inputs }, options: { outputFormat: "XYZTileMap", ...options } } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.job;
  }

  async function finished(id: string, timeoutMs = 120_000): Promise<{ state: string; percentage: number }> {
    const start = Date.now();
    for (;;) {
      const p = (await api(s.url, "GET", `/reality-conversion/jobs/${id}/progress`, { token })).body.progress;
      if (["Success", "Failed", "Cancelled"].includes(p.state)) return p;
      if (Date.now() - start > timeoutMs) throw new Error(`job ${id} still ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function download(id: string): Promise<Map<string, Buffer>> {
    const r = await api(s.url, "GET", `/reality-management/reality-data/${id}/readaccess`, { token, headers: V1 });
    const container = new ContainerClient(r.body._links.containerUrl.href);
    const out = new Map<string, Buffer>();
    for await (const b of container.listBlobsFlat()) out.set(b.name, await container.getBlobClient(b.name).downloadToBuffer());
    return out;
  }

  it("every shared raster becomes a pyramid with a TileJSON root, an extent and Web Mercator as CRS", async () => {
    const raster = (f: string) => ({ name: f.slice(f.lastIndexOf("/") + 1), path: sharedData("raster", f) });
    const cases: { files: string[]; options: Record<string, unknown>; levels: [number, number] }[] = [
      { files: ["RGB.byte.tif"], options: {}, levels: [7, 8] },
      { files: ["world.rgb.tif"], options: { imageFormat: "PNG" }, levels: [0, 0] },
      { files: ["cogeo.tif"], options: { jpgQuality: 60 }, levels: [16, 18] },
      { files: ["wf_100m_klas.tif"], options: { imageFormat: "PNG", topLevel: -1, bottomLevel: -1 }, levels: [6, 9] },
      { files: ["autzen-jpg/autzen.jpg", "autzen-jpg/autzen.wld"], options: { inputCrs: "EPSG:2994", bottomLevel: 16 }, levels: [14, 16] },
    ];
    const jobs = [];
    for (const c of cases) jobs.push({ c, job: await submit([await upload("Unstructured", c.files.map(raster))], c.options) });
    for (const { c, job } of jobs) {
      const p = await finished(job.id);
      const messages = (await api(s.url, "GET", `/reality-conversion/jobs/${job.id}/messages`, { token })).body.messages;
      assert.equal(p.state, "Success", `${c.files[0]}: ${JSON.stringify(messages)}`);
      const out = (await api(s.url, "GET", `/reality-management/reality-data/${job.specifications.output}`, { token, headers: V1 })).body.realityData;
      assert.equal(out.type, "Unstructured");
      assert.equal(out.rootDocument, "tilemap.json");
      assert.ok(out.extent && out.extent.southWest.latitude < out.extent.northEast.latitude, JSON.stringify(out.extent));
      const files = await download(job.specifications.output);
      const doc = JSON.parse(files.get("tilemap.json")!.toString("utf8"));
      assert.deepEqual([doc.minzoom, doc.maxzoom], c.levels, c.files[0]);
      const ext = c.options.imageFormat === "PNG" ? "png" : "jpg";
      const tiles = [...files.keys()].filter((k) => k !== "tilemap.json");
      assert.ok(tiles.length > 0 && tiles.every((t) => /^\d+\/\d+\/\d+\.(jpg|png)$/.test(t) && t.endsWith(`.${ext}`)), `${c.files[0]}: ${tiles.slice(0, 5)}`);
      for (let z = c.levels[0]; z <= c.levels[1]; z++) assert.ok(tiles.some((t) => t.startsWith(`${z}/`)), `${c.files[0]} level ${z}`);
    }
  });

  it("two reality data are mosaicked into one pyramid; a damaged raster fails naming it; the server stays up", async () => {
    const a = await upload("Unstructured", [{ name: "RGB.byte.tif", path: sharedData("raster", "RGB.byte.tif") }]);
    const b = await upload("Unstructured", [{ name: "cogeo.tif", path: sharedData("raster", "cogeo.tif") }]);
    const mosaic = await submit([a, b], { topLevel: 5, bottomLevel: 7 });
    const cut = join(tmp, "cut.tif");
    writeFileSync(cut, readFileSync(sharedData("raster", "cogeo.tif")).subarray(0, 150_000));
    const bad = await submit([await upload("Unstructured", [{ name: "cut.tif", path: cut }])], {});
    assert.equal((await finished(mosaic.id)).state, "Success");
    const files = await download(mosaic.specifications.output);
    const doc = JSON.parse(files.get("tilemap.json")!.toString("utf8"));
    // Bahamas and Japan: the bounds span both.
    assert.ok(doc.bounds[0] < -78 && doc.bounds[2] > 128, JSON.stringify(doc.bounds));
    assert.ok([...files.keys()].some((k) => k.startsWith("7/")));
    assert.equal((await finished(bad.id)).state, "Failed");
    const e = (await api(s.url, "GET", `/reality-conversion/jobs/${bad.id}/messages`, { token })).body.messages.errors[0];
    assert.equal(e.code, "InputData_Invalid");
    assert.ok(JSON.stringify(e).includes("cut.tif") && /truncated/.test(JSON.stringify(e)), JSON.stringify(e));
    assert.equal((await download(bad.specifications.output)).size, 0);
    assert.equal((await api(s.url, "GET", "/health")).status, 200);
  });
});
