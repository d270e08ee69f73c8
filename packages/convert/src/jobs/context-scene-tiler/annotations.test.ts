import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { ConversionError } from "../../contract/runner.js";
import { dataset, MemorySink, memoryFile, runInMemory } from "../../testing/memory-io.js";
import { annotatedScene } from "../../testing/scenes.js";
import { OBJECTS_PER_TILE } from "./run.js";

const validator = createRequire(import.meta.url)("gltf-validator") as {
  validateBytes(bytes: Uint8Array): Promise<{ issues: { numErrors: number; messages: Array<{ code: string; message: string; severity: number; pointer?: string }> } }>;
};

interface Tile {
  boundingVolume: { box: number[] };
  geometricError: number;
  refine?: string;
  content?: { uri: string };
  children?: Tile[];
}

const input = (path: string, text: string) => ({ scene: [dataset("scene", [memoryFile(new TextEncoder().encode(text), path)], "ContextScene")] });

function readGlb(bytes: Uint8Array): { json: any; bin: Uint8Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(dv.getUint32(0, true), 0x46546c67);
  const jsonLength = dv.getUint32(12, true);
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLength)));
  const binAt = 20 + jsonLength;
  return { json, bin: bytes.subarray(binAt + 8, binAt + 8 + dv.getUint32(binAt, true)) };
}

function view(glb: { json: any; bin: Uint8Array }, index: number): Uint8Array {
  const v = glb.json.bufferViews[index];
  return glb.bin.slice(v.byteOffset, v.byteOffset + v.byteLength);
}

function strings(glb: { json: any; bin: Uint8Array }, property: { values: number; stringOffsets: number }, count: number): string[] {
  const offsets = new Uint32Array(view(glb, property.stringOffsets).buffer);
  const chars = view(glb, property.values);
  return Array.from({ length: count }, (_, i) => new TextDecoder().decode(chars.subarray(offsets[i], offsets[i + 1])));
}

interface Feature { objectId: string; label: string; labelId: string; confidence: number; corners: number[][] }

/** Walks the tileset: URIs resolve, GLBs validate, every box corner inside its tile's box, errors shrink to 0. */
async function annotationFeatures(sink: MemorySink): Promise<Feature[]> {
  const tileset = JSON.parse(new TextDecoder().decode(sink.files.get("tileset.json")!));
  assert.equal(tileset.asset.version, "1.1");
  assert.equal(tileset.root.refine, "ADD");
  const out: Feature[] = [];
  const visit = async (tile: Tile, parentError: number): Promise<void> => {
    assert.ok(tile.geometricError < parentError || (tile.geometricError === 0 && parentError === 0), "geometric errors decrease");
    if (!tile.children) assert.equal(tile.geometricError, 0, "leaves have error 0");
    if (tile.content) {
      const bytes = sink.files.get(tile.content.uri);
      assert.ok(bytes, `${tile.content.uri} resolves`);
      const report = await validator.validateBytes(bytes);
      assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.filter((m) => m.severity === 0)));
      const glb = readGlb(bytes);
      const table = glb.json.extensions.EXT_structural_metadata.propertyTables[0];
      const primitives = glb.json.meshes[0].primitives;
      assert.deepEqual(primitives.map((p: any) => p.mode), [4, 1], "faces and edges");
      for (const p of primitives) assert.deepEqual(p.extensions.EXT_mesh_features.featureIds[0], { featureCount: table.count, attribute: 0, propertyTable: 0 });
      const positions = new Float32Array(view(glb, glb.json.accessors[primitives[0].attributes.POSITION].bufferView).buffer);
      const ids = new Float32Array(view(glb, glb.json.accessors[primitives[0].attributes._FEATURE_ID_0].bufferView).buffer);
      const t = glb.json.nodes[0].translation;
      const box = tile.boundingVolume.box;
      const objectIds = strings(glb, table.properties.objectId, table.count);
      const labels = strings(glb, table.properties.label, table.count);
      const labelIds = strings(glb, table.properties.labelId, table.count);
      const confidence = new Float32Array(view(glb, table.properties.confidence.values).buffer);
      const features: Feature[] = objectIds.map((objectId, i) => ({ objectId, label: labels[i], labelId: labelIds[i], confidence: confidence[i], corners: [] }));
      for (let v = 0; v < ids.length; v++) {
        // y-up back to the tile's z-up frame.
        const p = [positions[v * 3] + t[0], -(positions[v * 3 + 2] + t[2]), positions[v * 3 + 1] + t[1]];
        for (let k = 0; k < 3; k++) assert.ok(Math.abs(p[k] - box[k]) <= box[3 + k * 4] + 1e-3, `vertex ${p} in its tile's box`);
        features[ids[v]].corners.push(p);
      }
      out.push(...features);
    }
    for (const c of tile.children ?? []) await visit(c, tile.geometricError);
  };
  await visit(tileset.root, tileset.geometricError);
  return out;
}

const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

test("ContextScene JSON v6 with 3D objects and 2D detections: one box feature per 3D object with its label, 2D ones in a warning", async () => {
  const n = 2 * OBJECTS_PER_TILE + 40;
  const { json, objects } = annotatedScene(n, 12);
  const boxes = JSON.parse(json).Annotations.Objects3D;
  const sink = new MemorySink();
  const { warnings } = await runInMemory("ContextSceneTiler", input("ContextScene.json", json), { objectToTile: "Annotations" }, { sink });
  const features = await annotationFeatures(sink);
  assert.equal(features.length, n, "one feature per 3D object");
  const byId = new Map(features.map((f) => [f.objectId, f]));
  assert.equal(byId.size, n);
  for (const o of objects) {
    const f = byId.get(o.id)!;
    assert.equal(f.label, o.label);
    assert.ok(Math.abs(f.confidence - o.confidence) < 1e-6);
    assert.equal(f.corners.length, 8);
    // A box stays a box on the globe: opposite corners as far apart as the box's diagonal in UTM (to its scale factor), edges straight.
    const b = boxes[o.id].Box3D;
    const expected = b.Center ? Math.hypot(b.Dimensions.x, b.Dimensions.y, b.Dimensions.z) : Math.hypot(b.xmax - b.xmin, b.ymax - b.ymin, b.zmax - b.zmin);
    const diagonal = dist(f.corners[0], f.corners[7]);
    assert.ok(Math.abs(diagonal / expected - 1) < 1e-3, `diagonal ${diagonal}, ${expected} in the scene`);
    assert.ok(Math.abs(dist(f.corners[0], f.corners[1]) - dist(f.corners[6], f.corners[7])) < 1e-2, "parallel edges of equal length");
  }
  assert.ok([...sink.files.keys()].filter((k) => k.endsWith(".glb")).length >= 3);
  assert.equal(sink.crs, "EPSG:4978");
  const e = sink.extent!;
  assert.ok(e.southWest.longitude > -74.1 && e.northEast.longitude < -73.9 && e.southWest.latitude > 40.6 && e.northEast.latitude < 40.8, JSON.stringify(e));
  const w = warnings.find((m) => /2D annotations/.test(m.message));
  assert.ok(w, JSON.stringify(warnings));
  assert.deepEqual(w.params, ["24", "ContextScene.json", String(n)]);
});

test("v5 scene in local coordinates: boxes where the scene puts them, with a warning; oriented boxes keep their dimensions", async () => {
  const { json, objects } = annotatedScene(9, 0, "5.0", "Local:unit=meter");
  const parsed = JSON.parse(json);
  const sink = new MemorySink();
  const { warnings } = await runInMemory("ContextSceneTiler", input("ContextScene.json", json), { objectToTile: "Annotations" }, { sink });
  assert.ok(warnings.some((m) => /local coordinates/.test(m.message)));
  assert.equal(sink.crs, undefined);
  const features = await annotationFeatures(sink);
  assert.equal(features.length, objects.length);
  for (const f of features) {
    const box = parsed.Annotations.Objects3D[f.objectId].Box3D;
    const corners = f.corners;
    const centre = [0, 1, 2].map((k) => corners.reduce((a, c) => a + c[k], 0) / 8);
    if (box.Center) {
      assert.ok(dist(centre, [box.Center.x, box.Center.y, box.Center.z]) < 1e-3);
      // Corner 0 -> 1 runs along the box's x axis, 0 -> 2 along y, 0 -> 4 along z.
      assert.ok(Math.abs(dist(corners[0], corners[1]) - box.Dimensions.x) < 1e-3);
      assert.ok(Math.abs(dist(corners[0], corners[2]) - box.Dimensions.y) < 1e-3);
      assert.ok(Math.abs(dist(corners[0], corners[4]) - box.Dimensions.z) < 1e-3);
    } else {
      assert.ok(dist(corners[0], [box.xmin, box.ymin, box.zmin]) < 1e-3 && dist(corners[7], [box.xmax, box.ymax, box.zmax]) < 1e-3);
    }
  }
});

test("a scene with only 2D annotations fails saying so", async () => {
  const { json } = annotatedScene(0, 5);
  await assert.rejects(
    runInMemory("ContextSceneTiler", input("ContextScene.json", json), { objectToTile: "Annotations" }),
    (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && e.params[0] === "ContextScene.json" && /only 2D annotations/.test(e.message) && e.params[1] === "10",
  );
});
