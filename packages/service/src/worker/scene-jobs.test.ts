/**
 * ContextSceneTiler through the API with a worker process: a scene's cameras, tie points and annotations
 * become tilesets in the output reality data (2D-only annotations reported in /messages); a scene without
 * the asked kind fails naming it.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { annotatedScene, blocksExchangeWithTiePoints } from "@realconv/convert/testing/scenes";
import { api, startTestServer, waitForJob, type TestServer } from "../testing/harness.js";

const V1 = { accept: "application/vnd.bentley.itwin-platform.v1+json" };

describe("ContextSceneTiler jobs", () => {
  let s: TestServer;
  let token: string;
  let itwin: string;
  before(async () => {
    s = await startTestServer({ workers: 1 });
    token = await s.token("alice@example.com");
    itwin = await s.createITwin("Scenes", ["alice@example.com"]);
  });
  after(() => s.close());

  const submit = (scene: string, options: Record<string, unknown>) =>
    api(s.url, "POST", "/reality-conversion/jobs", { token, body: { type: "ContextSceneTiler", iTwinId: itwin, specifications: { inputs: { scene }, options } } });

  it("Cameras of a scene become a Cesium3DTiles output with tileset.json as root", async () => {
    const scene = await s.createRealityData(itwin, "ContextScene", [sharedData("contextscene", "OrientedPhotos/ContextScene.xml")]);
    const r = await submit(scene, { objectToTile: "Cameras" });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await waitForJob(s.url, token, r.body.job.id)).state, "Success");
    const out = await api(s.url, "GET", `/reality-management/reality-data/${r.body.job.specifications.output}`, { token, headers: V1 });
    assert.equal(out.body.realityData.type, "Cesium3DTiles");
    assert.equal(out.body.realityData.rootDocument, "tileset.json");
    const messages = await api(s.url, "GET", `/reality-conversion/jobs/${r.body.job.id}/messages`, { token });
    assert.ok(messages.body.messages.warnings.some((w: { message: string }) => /no spatial reference/.test(w.message)));
  });

  it("TiePoints and Annotations of generated scenes become Cesium3DTiles outputs; 2D annotations are a warning in /messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realconv-scene-api-"));
    try {
      writeFileSync(join(dir, "Orientations.xml"), blocksExchangeWithTiePoints(3000, { srs: "EPSG:32618", colour: true }).xml);
      writeFileSync(join(dir, "ContextScene.json"), annotatedScene(50, 3).json);
      const tieScene = await s.createRealityData(itwin, "ContextScene", [join(dir, "Orientations.xml")]);
      const annotationScene = await s.createRealityData(itwin, "ContextScene", [join(dir, "ContextScene.json")]);
      const tie = await submit(tieScene, { objectToTile: "TiePoints", outputCrs: "EPSG:32618" });
      const ann = await submit(annotationScene, { objectToTile: "Annotations" });
      assert.equal(tie.status, 201, JSON.stringify(tie.body));
      assert.equal(ann.status, 201, JSON.stringify(ann.body));
      for (const r of [tie, ann]) {
        assert.equal((await waitForJob(s.url, token, r.body.job.id)).state, "Success");
        const out = await api(s.url, "GET", `/reality-management/reality-data/${r.body.job.specifications.output}`, { token, headers: V1 });
        assert.equal(out.body.realityData.type, "Cesium3DTiles");
        assert.equal(out.body.realityData.rootDocument, "tileset.json");
      }
      const messages = await api(s.url, "GET", `/reality-conversion/jobs/${ann.body.job.id}/messages`, { token });
      const warning = messages.body.messages.warnings.find((w: { message: string }) => /2D annotations/.test(w.message));
      assert.ok(warning, JSON.stringify(messages.body));
      assert.equal(warning.params[0], "6");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a scene with only 2D annotations, or without tie points, fails saying so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "realconv-scene-api-"));
    try {
      writeFileSync(join(dir, "ContextScene.json"), annotatedScene(0, 2).json);
      const only2D = await s.createRealityData(itwin, "ContextScene", [join(dir, "ContextScene.json")]);
      const photos = await s.createRealityData(itwin, "ContextScene", [sharedData("contextscene", "OrientedPhotos/ContextScene.xml")]);
      for (const [scene, objectToTile, why] of [[only2D, "Annotations", /only 2D annotations/], [photos, "TiePoints", /no tie points/]] as const) {
        const r = await submit(scene, { objectToTile });
        assert.equal(r.status, 201);
        assert.equal((await waitForJob(s.url, token, r.body.job.id)).state, "Failed");
        const messages = await api(s.url, "GET", `/reality-conversion/jobs/${r.body.job.id}/messages`, { token });
        const error = messages.body.messages.errors[0];
        assert.match(error.message, why);
        assert.match(error.params.join(" "), /ContextScene\.(json|xml)/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a scene without cameras fails with a message naming it", async () => {
    const scene = await s.createRealityData(itwin, "ContextScene", [sharedData("contextscene", "MeshScene/ContextScene.xml")]);
    const r = await submit(scene, {});
    assert.equal(r.status, 201);
    assert.equal((await waitForJob(s.url, token, r.body.job.id)).state, "Failed");
    const messages = await api(s.url, "GET", `/reality-conversion/jobs/${r.body.job.id}/messages`, { token });
    assert.match(messages.body.messages.errors[0].params.join(" "), /ContextScene\.xml/);
  });
});
