import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FormatError } from "../io/byte-source.js";
import { sharedData } from "../testing/shared-data.js";
import { parseContextScene, resolveScenePath, rotationFromOpk } from "./context-scene.js";
import { FRUSTUM_VERTICES, writeFrustum } from "./frustums.js";

const sample = (path: string) => new Uint8Array(readFileSync(sharedData("contextscene", path)));

test("XML v3: devices, poses and photos of OrientedPhotos", () => {
  const s = parseContextScene(sample("OrientedPhotos/ContextScene.xml"), "ContextScene.xml");
  assert.equal(s.version, "3.0");
  assert.equal(s.photos.length, 4);
  assert.equal(s.poses.size, 24);
  const d = s.devices.get("0")!;
  assert.deepEqual([d.type, d.width, d.height], ["perspective", 2736, 1824]);
  assert.equal(d.focalLength, 1867.61618386316);
  assert.deepEqual(d.principalPoint, [1377.48459472449, 923.636627754048]);
  assert.deepEqual(d.radialDistortion, [-0.127702904779512, 0.0776340608468484, -0.00748606890428466]);
  assert.deepEqual(s.photos[1], { id: "1", imagePath: "0:image003.jpg", deviceId: "0", poseId: "1" });
  assert.deepEqual(s.poses.get("1")!.center, [3.38657934826682, -9.58265688056178, -0.449257188104056]);
  assert.deepEqual(resolveScenePath(s, "0:image003.jpg"), { reference: "0", path: "image003.jpg" });
});

test("poses: the rotation is orthonormal, and the orbit's cameras look at the object they circle", () => {
  const s = parseContextScene(sample("OrientedPhotos/ContextScene.xml"), "ContextScene.xml");
  const poses = [...s.poses.values()];
  const centroid = [0, 1, 2].map((k) => poses.reduce((a, p) => a + p.center[k], 0) / poses.length);
  for (const p of poses) {
    const m = p.rotation;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const dot = m[i * 3] * m[j * 3] + m[i * 3 + 1] * m[j * 3 + 1] + m[i * 3 + 2] * m[j * 3 + 2];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12);
    }
    // The viewing axis (camera z in world axes) points, seen from above, at the orbit's centre.
    const azimuth = Math.atan2(m[7], m[6]) - Math.atan2(centroid[1] - p.center[1], centroid[0] - p.center[0]);
    const degrees = Math.abs((((azimuth * 180) / Math.PI + 540) % 360) - 180);
    assert.ok(degrees < 15, `pose ${p.id} looks ${degrees.toFixed(1)} degrees away from the centre`);
  }
  assert.deepEqual(rotationFromOpk(0, 0, 0), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

test("a frustum's apex is the camera centre and its corners lie at the depth along the viewing axis", () => {
  const s = parseContextScene(sample("OrientedPhotos/ContextScene.xml"), "ContextScene.xml");
  const pose = s.poses.get("3")!;
  const out = new Float64Array(FRUSTUM_VERTICES * 3);
  writeFrustum(s.devices.get("0")!, pose, 2, out, 0);
  assert.deepEqual([...out.subarray(0, 3)], pose.center);
  const axis = pose.rotation.slice(6, 9);
  for (let k = 1; k < FRUSTUM_VERTICES; k++) {
    const d = [0, 1, 2].map((j) => out[k * 3 + j] - pose.center[j]);
    assert.ok(Math.abs(d[0] * axis[0] + d[1] * axis[1] + d[2] * axis[2] - 2) < 1e-9);
  }
});

test("XML and JSON scenes without photos: meshes, point clouds and references", () => {
  const mesh = parseContextScene(sample("MeshScene/ContextScene.xml"), "m.xml");
  assert.deepEqual(mesh.meshes, [{ id: "0", name: undefined, path: "0:Production_6.3mx" }]);
  assert.equal(mesh.spatialReferenceSystems.get("0"), "Local:unit=meter");
  assert.equal(mesh.photos.length, 0);
  for (const name of ["cs_pc_location_in_file.json", "cs_pc_mobile.json"]) {
    const s = parseContextScene(sample(name), name);
    assert.equal(s.version, "6.0");
    assert.equal(s.spatialReferenceSystems.get("0"), "EPSG:4978");
    assert.equal(s.pointClouds.length, 1);
    assert.match(s.references.get("0")!, /^rds:[0-9a-f-]{36}$/);
    assert.equal(resolveScenePath(s, s.pointClouds[0].path).reference, s.references.get("0"));
  }
});

test("what is not a ContextScene, or is damaged, fails with FormatError naming the file", () => {
  const cases: Array<[string, Uint8Array]> = [
    ["Orientations.xml", sample("BlocksExchange/Orientations.xml")],
    ["cut.xml", sample("OrientedPhotos/ContextScene.xml").subarray(0, 3000)],
    ["cut.json", sample("cs_pc_mobile.json").subarray(0, 200)],
    ["v9.json", new TextEncoder().encode('{"version":"9.0"}')],
    ["text.xml", new TextEncoder().encode("hello")],
    ["badpose.xml", new TextEncoder().encode('<ContextScene version="4.0"><PhotoCollection><Poses><Pose id="0"><Center><x>a</x><y>0</y><z>0</z></Center><Rotation><omega>0</omega><phi>0</phi><kappa>0</kappa></Rotation></Pose></Poses></PhotoCollection></ContextScene>')],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => parseContextScene(bytes, name), (e: unknown) => e instanceof FormatError && e.file === name, name);
  }
});
