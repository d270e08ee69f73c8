/**
 * MeshSampling through the API with a worker process: a textured OBJ (with its MTL and texture in the same
 * reality data) becomes a LAZ reality data; tiled outputs are refused at creation; a damaged mesh fails the
 * job with a message naming it.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerClient } from "@azure/storage-blob";
import { bytesSource, openLasOrLaz } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { api, startTestServer, waitForJob, type TestServer } from "../testing/harness.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

describe("MeshSampling jobs", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  const dir = mkdtempSync(join(tmpdir(), "realconv-mesh-api-"));
  before(async () => {
    s = await startTestServer({ workers: 1 });
    token = await s.token("alice@example.com");
    itwin = await s.createITwin("Meshes", ["alice@example.com"]);
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const submit = (meshes: string[], options: Record<string, unknown>) =>
    api(s.url, "POST", "/reality-conversion/jobs", { token, body: { type: "MeshSampling", iTwinId: itwin, specifications: { inputs: { meshes }, options } } });

  it("a textured OBJ becomes a LAZ point cloud with colours", async () => {
    const obj = await s.createRealityData(itwin, "OBJ", ["fuze.obj", "fuze.obj.mtl", "fuze uv.jpg"].map((f) => sharedData("mesh", "fuze", f)));
    const glb = await s.createRealityData(itwin, "GLB", [sharedData("mesh", "Box.glb")]);
    const r = await submit([obj, glb], { outputFormat: "LAZ", sampling: 0.01 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await waitForJob(s.url, token, r.body.job.id)).state, "Success");
    const out = await api(s.url, "GET", `/reality-management/reality-data/${r.body.job.specifications.output}`, { token, headers: V1 });
    assert.equal(out.body.realityData.rootDocument, "merged.laz");
    const access = await api(s.url, "GET", `/reality-management/reality-data/${r.body.job.specifications.output}/readaccess`, { token, headers: V1 });
    const bytes = await new ContainerClient(access.body._links.containerUrl.href).getBlobClient("merged.laz").downloadToBuffer();
    const cloud = await openLasOrLaz(bytesSource(new Uint8Array(bytes), "merged.laz"));
    // Both meshes merged: the box alone has 6 m² / 1e-4 m² = 60 000 points.
    assert.ok(cloud.pointCount > 60_000 * 0.95, `${cloud.pointCount}`);
    assert.ok(cloud.schema.columns.includes("red"));
  });

  it("a mesh becomes a 3D Tiles tileset through the octree engine; POD is refused at creation", async () => {
    const glb = await s.createRealityData(itwin, "GLB", [sharedData("mesh", "Box.glb")]);
    const r = await submit([glb], { outputFormat: "3DTilesGlbc", sampling: 0.02 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await waitForJob(s.url, token, r.body.job.id)).state, "Success");
    const out = await api(s.url, "GET", `/reality-management/reality-data/${r.body.job.specifications.output}`, { token, headers: V1 });
    assert.equal(out.body.realityData.type, "Cesium3DTiles");
    assert.equal(out.body.realityData.rootDocument, "tileset.json");
    const access = await api(s.url, "GET", `/reality-management/reality-data/${r.body.job.specifications.output}/readaccess`, { token, headers: V1 });
    const container = new ContainerClient(access.body._links.containerUrl.href);
    const tileset = JSON.parse((await container.getBlobClient("tileset.json").downloadToBuffer()).toString());
    assert.equal(tileset.asset.version, "1.1");
    let contents = 0;
    for await (const b of container.listBlobsFlat()) if (b.name.endsWith(".glb")) contents++;
    assert.ok(contents > 0);
    const pod = await submit([glb], { outputFormat: "POD" });
    assert.equal(pod.status, 422, JSON.stringify(pod.body));
    assert.equal(pod.body.error.details[0].code, "UnsupportedFormat");
  });

  it("a damaged mesh fails the job with a message naming it", async () => {
    const bad = join(dir, "broken.glb");
    writeFileSync(bad, readFileSync(sharedData("mesh", "Box.glb")).subarray(0, 700));
    const glb = await s.createRealityData(itwin, "GLB", [bad]);
    const r = await submit([glb], { outputFormat: "LAS", sampling: 0.05 });
    assert.equal(r.status, 201);
    assert.equal((await waitForJob(s.url, token, r.body.job.id)).state, "Failed");
    const messages = await api(s.url, "GET", `/reality-conversion/jobs/${r.body.job.id}/messages`, { token });
    assert.match(messages.body.messages.errors[0].params.join(" "), /broken\.glb/);
  });
});
