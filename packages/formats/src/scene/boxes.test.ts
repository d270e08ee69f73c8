import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { NodeIO } from "@gltf-transform/core";
import { BOX_VERTICES, encodeBoxGlb, writeBox, type AnnotationFeature } from "./boxes.js";
import type { SceneObject3D } from "./context-scene.js";

const validator = createRequire(import.meta.url)("gltf-validator") as {
  validateBytes(bytes: Uint8Array): Promise<{ issues: { numErrors: number; numWarnings: number; messages: Array<{ code: string; severity: number }> } }>;
};

const OBJECTS: SceneObject3D[] = [
  { id: "7", labelId: "1", confidence: 0.5, center: [10, 20, 1], halfAxes: [2, 0, 0, 0, 1, 0, 0, 0, 0.5] },
  // Turned 90 degrees about z.
  { id: "8", labelId: "2", center: [-5, 4, 2], halfAxes: [0, 1, 0, -0.25, 0, 0, 0, 0, 3] },
];
const FEATURES: AnnotationFeature[] = [
  { objectId: "7", label: "car", labelId: "1", confidence: 0.5 },
  { objectId: "8", label: "pole", labelId: "2", confidence: -1 },
];

function encoded(): { bytes: Uint8Array; vertices: Float64Array } {
  const vertices = new Float64Array(OBJECTS.length * BOX_VERTICES * 3);
  OBJECTS.forEach((o, i) => writeBox(o, vertices, i * BOX_VERTICES * 3));
  return { bytes: encodeBoxGlb(vertices, FEATURES, [2, 12, 1.5]), vertices };
}

test("two boxes encode to the checked-in GLB (golden), which gltf-validator passes", async () => {
  const { bytes } = encoded();
  const golden = readFileSync(new URL("../../src/scene/golden/two-boxes.glb", import.meta.url));
  assert.ok(Buffer.from(bytes).equals(golden), "bytes equal the checked-in GLB");
  const report = await validator.validateBytes(bytes);
  assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages));
});

test("read back by @gltf-transform: 8 corners per box (y-up around the node's translation), 12 faces, 12 edges, a feature id per box", async () => {
  const { bytes, vertices } = encoded();
  const doc = await new NodeIO().readBinary(bytes);
  const node = doc.getRoot().listNodes()[0];
  const t = node.getTranslation();
  const [faces, edges] = node.getMesh()!.listPrimitives();
  assert.equal(faces.getMode(), 4);
  assert.equal(edges.getMode(), 1);
  assert.equal(faces.getIndices()!.getCount(), OBJECTS.length * 36);
  assert.equal(edges.getIndices()!.getCount(), OBJECTS.length * 24);
  const position = faces.getAttribute("POSITION")!;
  const ids = faces.getAttribute("_FEATURE_ID_0")!;
  assert.equal(position.getCount(), OBJECTS.length * BOX_VERTICES);
  for (let v = 0; v < position.getCount(); v++) {
    const [x, y, z] = position.getElement(v, [0, 0, 0]);
    const world = [x + t[0], -(z + t[2]), y + t[1]];
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(world[k] - vertices[v * 3 + k]) < 1e-5);
    assert.equal(ids.getScalar(v), Math.floor(v / BOX_VERTICES));
  }
  // Every face's normal points away from its box's centre (outward winding, y-up frame).
  const index = faces.getIndices()!.getArray()!;
  for (let f = 0; f < index.length; f += 3) {
    const [a, b, c] = [0, 1, 2].map((k) => position.getElement(index[f + k], [0, 0, 0]));
    const n = [(b[1] - a[1]) * (c[2] - a[2]) - (b[2] - a[2]) * (c[1] - a[1]), (b[2] - a[2]) * (c[0] - a[0]) - (b[0] - a[0]) * (c[2] - a[2]), (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])];
    const box = Math.floor(index[f] / BOX_VERTICES);
    const centre = [0, 1, 2].map((k) => [...Array(BOX_VERTICES).keys()].reduce((s, v) => s + position.getElement(box * BOX_VERTICES + v, [0, 0, 0])[k], 0) / BOX_VERTICES);
    const out = [a[0] - centre[0], a[1] - centre[1], a[2] - centre[2]];
    assert.ok(n[0] * out[0] + n[1] * out[1] + n[2] * out[2] > 0, `face ${f / 3} of box ${box} faces outward`);
  }
});

test("a vertex count that does not match the features is refused", () => {
  assert.throws(() => encodeBoxGlb(new Float64Array(5), FEATURES, [0, 0, 0]), RangeError);
});
