import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FormatError } from "../io/byte-source.js";
import { sharedData } from "../testing/shared-data.js";
import { bytesSource } from "../io/byte-source.js";
import { parseContextScene, resolveScenePath, rotationFromOpk } from "./context-scene.js";
import { streamTiePoints, type TiePointBatch } from "./tie-points.js";
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
    ["other.xml", new TextEncoder().encode("<Scene version='4.0'/>")],
    ["badbox.json", new TextEncoder().encode('{"version":"6.0","Annotations":{"Objects3D":{"0":{"Box3D":{"xmin":1,"ymin":0,"zmin":0,"xmax":0,"ymax":1,"zmax":1}}}}}')],
    ["badtie.json", new TextEncoder().encode('{"version":"6.0","PhotoCollection":{"TiePoints":{"0":{"Position":{"x":1,"y":"z","z":0}}}}}')],
    ["badtie.xml", new TextEncoder().encode('<ContextScene version="4.0"><PhotoCollection><TiePoints><TiePoint><Position><x>1</x></TiePoint></TiePoints></PhotoCollection></ContextScene>')],
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

test("BlocksExchange: SRS, photogroup cameras with poses in degrees, bulk photos, tie points with Red/Green/Blue colours", async () => {
  const sampleScene = parseContextScene(sample("BlocksExchange/Orientations.xml"), "Orientations.xml");
  assert.equal(sampleScene.version, "BlocksExchange 3.2");
  assert.equal(sampleScene.photos.length, 7);
  assert.equal(sampleScene.poses.size, 0);
  assert.equal(sampleScene.tiePoints, undefined);
  const xml =
    `<?xml version="1.0" encoding="utf-8"?><BlocksExchange version="2.1"><SpatialReferenceSystems><SRS><Id>3</Id><Name>Lambert 93</Name><Definition>EPSG:2154</Definition></SRS></SpatialReferenceSystems>` +
    `<Block><SRSId>3</SRSId><Photogroups><Photogroup><ImageDimensions><Width>6000</Width><Height>4000</Height></ImageDimensions><FocalLength>24</FocalLength><SensorSize>36</SensorSize>` +
    `<Photo><Id>12</Id><ImagePath>D:/img/12.jpg</ImagePath><Pose><Rotation><Omega>90</Omega><Phi>0</Phi><Kappa>0</Kappa></Rotation><Center><x>652000</x><y>6862000</y><z>80</z></Center></Pose></Photo></Photogroup></Photogroups>` +
    `<TiePoints><SRSId>3</SRSId><TiePoint><Name>corner</Name><id>0</id><Color><Red>0.59</Red><Green>1.0</Green><Blue>0.0</Blue></Color><Position><x>652119.88</x><y>6863304.30</y><z>87.79</z></Position>` +
    `<Measurement><PhotoId>12</PhotoId><x>3324.2</x><y>993.2</y></Measurement></TiePoint><TiePoint><Position><x>1</x><y>2</y><z>3</z></Position></TiePoint></TiePoints></Block></BlocksExchange>`;
  const s = parseContextScene(new TextEncoder().encode(xml), "Orientations.xml");
  assert.equal(s.spatialReferenceSystems.get("3"), "EPSG:2154");
  assert.equal(s.photoSrsId, "3");
  const device = s.devices.get("0:0")!;
  assert.equal(device.focalLength, 4000);
  assert.deepEqual(s.photos, [{ id: "12", imagePath: "D:/img/12.jpg", deviceId: "0:0", poseId: "0:12" }]);
  const pose = s.poses.get("0:12")!;
  assert.deepEqual(pose.center, [652000, 6862000, 80]);
  const expected = rotationFromOpk(Math.PI / 2, 0, 0);
  pose.rotation.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12));
  // The tie points are counted, not kept: they are streamed from the document.
  assert.equal(s.tiePoints!.inDocument, 2);
  assert.equal(s.tiePoints!.positions.length, 0);
  assert.equal(s.tiePoints!.srsId, "3");
  const [points] = await allBatches(xml, "Orientations.xml");
  assert.deepEqual([...points.positions], [652119.88, 6863304.3, 87.79, 1, 2, 3]);
  assert.deepEqual([...points.colors], [150, 255, 0, 0, 0, 0]);
  assert.deepEqual([...points.colored], [1, 0]);
});

test("JSON tie points are read into typed arrays with their colours", () => {
  const json = { version: "6.0", PhotoCollection: { TiePoints: { SRSId: "0", "0": { Position: { x: 1, y: 2, z: 3 }, Color: { red: 1, green: 0.5, blue: 0 } }, "1": { Position: { x: 4, y: 5, z: 6 } } } } };
  const s = parseContextScene(new TextEncoder().encode(JSON.stringify(json)), "ContextScene.json");
  assert.deepEqual([...s.tiePoints!.positions], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...s.tiePoints!.colors!], [255, 128, 0, 0, 0, 0]);
  assert.equal(s.tiePoints!.srsId, "0");
});

async function allBatches(text: string, name: string, batch?: number): Promise<TiePointBatch[]> {
  const out: TiePointBatch[] = [];
  for await (const b of streamTiePoints(bytesSource(new TextEncoder().encode(text), name), batch)) out.push(b);
  return out;
}

test("tie points in their own file: <TiePoints><Path> in the scene, the points streamed in batches", async () => {
  const s = parseContextScene(new TextEncoder().encode("<BlocksExchange version='3.2'><Block><TiePoints><Path>tie.xml</Path></TiePoints></Block></BlocksExchange>"), "o.xml");
  assert.equal(s.tiePoints!.path, "tie.xml");
  assert.equal(s.tiePoints!.positions.length, 0);
  const file = '<?xml version="1.0"?>\n<TiePoint><Position><x>-34.5</x><y>1.25</y><z>-8</z></Position><Color><Red>0.5</Red><Green>0.5</Green><Blue>0.25</Blue></Color></TiePoint>\n<TiePoint><Position><x>1</x><y>2</y><z>3</z></Position></TiePoint>';
  const [points] = await allBatches(file, "tie.xml");
  assert.deepEqual([...points.positions], [-34.5, 1.25, -8, 1, 2, 3]);
  assert.deepEqual([...points.colors], [128, 128, 64, 0, 0, 0]);
  assert.deepEqual([...points.colored], [1, 0]);
  // In batches of 2, with a root around them and measurements (x/y outside Position) ignored.
  const many = Array.from({ length: 5 }, (_, i) => `<TiePoint><Position><x>${i}</x><y>${i * 2}</y><z>${i * 3}</z></Position><Measurement><PhotoId>0</PhotoId><x>99</x><y>98</y></Measurement></TiePoint>`).join("\n");
  const batches = await allBatches(`\uFEFF<?xml version="1.0"?><TiePoints>${many}</TiePoints>`, "many.xml", 2);
  assert.deepEqual(batches.map((b) => b.count), [2, 2, 1]);
  assert.deepEqual([...batches[2].positions], [4, 8, 12]);
  for (const [bad, why] of [
    ["<TiePoint><Position><x>1</x>", /ends inside a TiePoint/],
    ["<TiePoint><Position><x>1</x><y>a</y><z>0</z></Position></TiePoint>", /tie point 0: Position y is not a number/],
    ["<TiePoint><Position><x>1</x><z>0</z></Position></TiePoint>", /no complete Position/],
    ["<TiePoint><Position></TiePoint>", /not well-formed/],
  ] as const) {
    await assert.rejects(allBatches(bad, "bad.xml"), (e: unknown) => e instanceof FormatError && e.file === "bad.xml" && why.test(e.message), bad);
  }
});

test("JSON annotations: labels, axis-aligned and oriented 3D boxes with confidence, 2D objects and masks counted", () => {
  const json = {
    version: "5.0",
    Annotations: {
      SRSId: "1",
      Labels: { "1": { Name: "car" }, "2": { Name: "pole" } },
      Objects3D: {
        a: { LabelInfo: { Confidence: 0.75, LabelId: 1 }, Box3D: { xmin: 0, ymin: 0, zmin: 0, xmax: 4, ymax: 2, zmax: 1.5 } },
        b: { LabelInfo: { LabelId: 2 }, Box3D: { Center: { x: 10, y: 20, z: 3 }, Dimensions: { x: 2, y: 1, z: 6 }, Rotation: { omega: 0, phi: 0, kappa: Math.PI / 2 } } },
      },
      Objects2D: { "0": { "0": { LabelInfo: { Confidence: 0.9, LabelId: 1 }, Box2D: { xmin: 1, ymin: 2, xmax: 3, ymax: 4 } } }, "1": { "0": {}, "1": {} } },
      Segmentation2D: { "0": { Path: "0:masks/0.png" } },
    },
  };
  const s = parseContextScene(new TextEncoder().encode(JSON.stringify(json)), "ContextScene.json");
  const a = s.annotations!;
  assert.equal(a.srsId, "1");
  assert.deepEqual([...a.labels], [["1", "car"], ["2", "pole"]]);
  assert.equal(a.objects2DCount, 4);
  assert.deepEqual(a.objects3D[0], { id: "a", labelId: "1", confidence: 0.75, center: [2, 1, 0.75], halfAxes: [2, 0, 0, 0, 1, 0, 0, 0, 0.75] });
  const b = a.objects3D[1];
  assert.deepEqual([b.id, b.labelId, b.confidence, b.center], ["b", "2", undefined, [10, 20, 3]]);
  // kappa = 90 degrees turns the box's x axis onto the world's -y or y: half-lengths 1, 0.5, 3 along the turned axes.
  const lengths = [0, 1, 2].map((k) => Math.hypot(b.halfAxes[k * 3], b.halfAxes[k * 3 + 1], b.halfAxes[k * 3 + 2]));
  lengths.forEach((l, k) => assert.ok(Math.abs(l - [1, 0.5, 3][k]) < 1e-12));
  assert.ok(Math.abs(b.halfAxes[0]) < 1e-12 && Math.abs(Math.abs(b.halfAxes[1]) - 1) < 1e-12);
});

test("XML tie points without any other child of their container are still found (ContextScene v4)", () => {
  const xml = '<ContextScene version="4.0"><PhotoCollection><TiePoints><TiePoint><Position><x>1</x><y>2</y><z>3</z></Position></TiePoint></TiePoints></PhotoCollection></ContextScene>';
  assert.equal(parseContextScene(new TextEncoder().encode(xml), "c.xml").tiePoints!.inDocument, 1);
});
