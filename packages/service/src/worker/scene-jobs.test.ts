/**
 * ContextSceneTiler through the API with a worker process: a scene's cameras become a tileset in the output
 * reality data; an object kind not tiled yet is refused at creation; a scene without cameras fails naming it.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { sharedData } from "@realconv/formats/testing/shared-data";
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

  it("TiePoints and Annotations are refused at creation with 422 UnsupportedOption", async () => {
    const scene = await s.createRealityData(itwin, "ContextScene", [sharedData("contextscene", "OrientedPhotos/ContextScene.xml")]);
    for (const objectToTile of ["TiePoints", "Annotations"]) {
      const r = await submit(scene, { objectToTile });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.error.details[0].code, "UnsupportedOption");
      assert.equal(r.body.error.details[0].target, "specifications.options.objectToTile");
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
