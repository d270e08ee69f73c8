import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { ConversionError } from "../../contract/runner.js";
import { dataset, MemorySink, memoryFile, runInMemory } from "../../testing/memory-io.js";
import { CAMERAS_PER_TILE } from "./run.js";
import { annotatedScene, blocksExchangeWithTiePoints } from "../../testing/scenes.js";

const validator = createRequire(import.meta.url)("gltf-validator") as {
  validateBytes(bytes: Uint8Array, options?: Record<string, unknown>): Promise<{ issues: { numErrors: number; messages: Array<{ code: string; message: string; severity: number }> } }>;
};

interface Tile {
  boundingVolume: { box: number[] };
  geometricError: number;
  content?: { uri: string };
  children?: Tile[];
}

function sceneInput(path: string, bytes: Uint8Array) {
  return { scene: [dataset("scene", [memoryFile(bytes, path)], "ContextScene")] };
}

function readGlb(bytes: Uint8Array): { json: any; bin: Uint8Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(dv.getUint32(0, true), 0x46546c67);
  assert.equal(dv.getUint32(8, true), bytes.byteLength);
  const jsonLength = dv.getUint32(12, true);
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLength)));
  const binAt = 20 + jsonLength;
  return { json, bin: bytes.subarray(binAt + 8, binAt + 8 + dv.getUint32(binAt, true)) };
}

/** Positions of a frustum GLB in the tile's z-up frame (node translation added, y-up turned back). */
function positionsOf(glb: { json: any; bin: Uint8Array }): number[][] {
  const acc = glb.json.accessors[0];
  const view = glb.json.bufferViews[acc.bufferView];
  const f = new Float32Array(glb.bin.buffer.slice(glb.bin.byteOffset + view.byteOffset, glb.bin.byteOffset + view.byteOffset + view.byteLength));
  const t = glb.json.nodes[0].translation;
  const out: number[][] = [];
  for (let i = 0; i < acc.count; i++) {
    const [x, y, z] = [f[i * 3] + t[0], f[i * 3 + 1] + t[1], f[i * 3 + 2] + t[2]];
    out.push([x, -z, y]);
  }
  return out;
}

function inBox(p: number[], box: number[], slack: number): boolean {
  return [0, 1, 2].every((k) => Math.abs(p[k] - box[k]) <= box[3 + k * 4] + slack);
}

/** Checks the tileset: URIs resolve, GLBs validate, boxes hold contents and children, errors shrink to 0. Returns the photo ids. */
async function checkCameraTileset(sink: MemorySink): Promise<string[]> {
  const tileset = JSON.parse(new TextDecoder().decode(sink.files.get("tileset.json")!));
  assert.equal(tileset.asset.version, "1.1");
  assert.equal(tileset.root.refine, "ADD");
  const photoIds: string[] = [];
  const visit = async (tile: Tile, parentError: number, parentBox: number[] | undefined): Promise<void> => {
    assert.ok(tile.geometricError < parentError || (tile.geometricError === 0 && parentError === 0), "geometric errors decrease");
    if (parentBox) for (let k = 0; k < 3; k++) assert.ok(Math.abs(tile.boundingVolume.box[k] - parentBox[k]) + tile.boundingVolume.box[3 + k * 4] <= parentBox[3 + k * 4] * (1 + 1e-9) + 1e-6, "child inside parent");
    if (!tile.children) assert.equal(tile.geometricError, 0, "leaves have error 0");
    if (tile.content) {
      const bytes = sink.files.get(tile.content.uri);
      assert.ok(bytes, `${tile.content.uri} resolves`);
      const report = await validator.validateBytes(bytes);
      assert.equal(report.issues.numErrors, 0, JSON.stringify(report.issues.messages.filter((m) => m.severity === 0)));
      const glb = readGlb(bytes);
      const scale = Math.max(1, ...tile.boundingVolume.box.slice(0, 3).map(Math.abs));
      for (const p of positionsOf(glb)) assert.ok(inBox(p, tile.boundingVolume.box, scale * 1e-6), `vertex ${p} in its tile's box`);
      const table = glb.json.extensions.EXT_structural_metadata.propertyTables[0];
      const ids = table.properties.photoId;
      const view = (i: number) => glb.json.bufferViews[i];
      const offsets = new Uint32Array(glb.bin.buffer.slice(glb.bin.byteOffset + view(ids.stringOffsets).byteOffset, glb.bin.byteOffset + view(ids.stringOffsets).byteOffset + view(ids.stringOffsets).byteLength));
      const chars = glb.bin.subarray(view(ids.values).byteOffset, view(ids.values).byteOffset + view(ids.values).byteLength);
      for (let i = 0; i < table.count; i++) photoIds.push(new TextDecoder().decode(chars.subarray(offsets[i], offsets[i + 1])));
    }
    for (const c of tile.children ?? []) await visit(c, tile.geometricError, tile.boundingVolume.box);
  };
  await visit(tileset.root, tileset.geometricError, undefined);
  return photoIds;
}

test("Cameras of OrientedPhotos: one frustum per photo with its metadata, local coordinates with a warning", async () => {
  const bytes = new Uint8Array(readFileSync(sharedData("contextscene", "OrientedPhotos/ContextScene.xml")));
  const { sink, warnings, progress } = await runInMemory("ContextSceneTiler", sceneInput("ContextScene.xml", bytes), { objectToTile: "Cameras" });
  const memory = sink as MemorySink;
  assert.equal(memory.root, "tileset.json");
  assert.deepEqual((await checkCameraTileset(memory)).sort(), ["0", "1", "2", "3"]);
  assert.ok(warnings.some((w) => /no spatial reference/.test(w.message)));
  assert.equal(progress.at(-1), 100);
});

test("thousands of photos in a projected CRS: georeferenced in EPSG:4978, split into tiles of at most CAMERAS_PER_TILE", async () => {
  const n = 5 * CAMERAS_PER_TILE + 17;
  const poses: string[] = [];
  const photos: string[] = [];
  for (let i = 0; i < n; i++) {
    // A flight grid over UTM 18N, cameras looking down (omega = pi).
    const x = 583000 + (i % 100) * 12;
    const y = 4507000 + Math.floor(i / 100) * 12;
    poses.push(`<Pose id="${i}"><Center><x>${x}</x><y>${y}</y><z>300</z></Center><Rotation><omega>3.14159265</omega><phi>0</phi><kappa>0</kappa></Rotation></Pose>`);
    photos.push(`<Photo id="${i}"><ImagePath>0:img${i}.jpg</ImagePath><DeviceId>0</DeviceId><PoseId>${i}</PoseId></Photo>`);
  }
  const xml =
    `<?xml version="1.0"?><ContextScene version="4.0"><SpatialReferenceSystems><SRS id="0"><Definition>EPSG:32618</Definition></SRS></SpatialReferenceSystems>` +
    `<PhotoCollection><SRSId>0</SRSId><Devices><Device id="0"><Type>perspective</Type><Dimensions><width>6000</width><height>4000</height></Dimensions><FocalLength>5000</FocalLength></Device></Devices>` +
    `<Poses>${poses.join("")}</Poses><Photos>${photos.join("")}</Photos></PhotoCollection><References><Reference id="0"><Path>0</Path></Reference></References></ContextScene>`;
  const sink = new MemorySink();
  await runInMemory("ContextSceneTiler", sceneInput("ContextScene.xml", new TextEncoder().encode(xml)), { objectToTile: "Cameras" }, { sink });
  const ids = await checkCameraTileset(sink);
  assert.equal(ids.length, n);
  assert.equal(new Set(ids).size, n);
  const glbs = [...sink.files.keys()].filter((k) => k.endsWith(".glb"));
  assert.ok(glbs.length >= 6, `${glbs.length} tiles`);
  for (const k of glbs) assert.ok(readGlb(sink.files.get(k)!).json.extensions.EXT_structural_metadata.propertyTables[0].count <= CAMERAS_PER_TILE);
  const root = JSON.parse(new TextDecoder().decode(sink.files.get("tileset.json")!)).root;
  const r = Math.hypot(root.boundingVolume.box[0], root.boundingVolume.box[1], root.boundingVolume.box[2]);
  assert.ok(r > 6.3e6 && r < 6.4e6, "ECEF");
  assert.equal(sink.crs, "EPSG:4978");
  const e = sink.extent!;
  assert.ok(e.southWest.longitude > -76 && e.northEast.longitude < -74 && e.southWest.latitude > 40 && e.northEast.latitude < 41.5, JSON.stringify(e));
});

test("a scene without cameras, a document that is not a scene, or no scene file fail naming the file", async () => {
  const mesh = new Uint8Array(readFileSync(sharedData("contextscene", "MeshScene/ContextScene.xml")));
  await assert.rejects(runInMemory("ContextSceneTiler", sceneInput("MeshScene/ContextScene.xml", mesh), {}), (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && e.params[0] === "MeshScene/ContextScene.xml" && /no cameras/.test(e.message));
  // BlocksExchange photos without poses (BulkPhotos): a scene, with no cameras.
  const blocks = new Uint8Array(readFileSync(sharedData("contextscene", "BlocksExchange/Orientations.xml")));
  await assert.rejects(runInMemory("ContextSceneTiler", sceneInput("Orientations.xml", blocks), {}), (e: unknown) => e instanceof ConversionError && e.params[0] === "Orientations.xml" && /no cameras/.test(e.message));
  await assert.rejects(runInMemory("ContextSceneTiler", sceneInput("not.xml", new TextEncoder().encode("<Other/>")), {}), (e: unknown) => (e as Error).name === "FormatError" && /not\.xml/.test((e as Error).message));
  await assert.rejects(runInMemory("ContextSceneTiler", { scene: [dataset("s", [memoryFile(new Uint8Array(3), "a.bin")], "ContextScene")] }, {}), (e: unknown) => e instanceof ConversionError && /no ContextScene document/.test(e.message));
});

test("the samples have no tie points and no annotations: each kind fails saying so", async () => {
  for (const path of ["OrientedPhotos/ContextScene.xml", "MeshScene/ContextScene.xml", "BlocksExchange/Orientations.xml", "cs_pc_mobile.json"]) {
    const bytes = new Uint8Array(readFileSync(sharedData("contextscene", path)));
    await assert.rejects(runInMemory("ContextSceneTiler", sceneInput(path, bytes), { objectToTile: "TiePoints" }), (e: unknown) => e instanceof ConversionError && e.params[0] === path && /no tie points/.test(e.message), path);
    await assert.rejects(runInMemory("ContextSceneTiler", sceneInput(path, bytes), { objectToTile: "Annotations" }), (e: unknown) => e instanceof ConversionError && e.params[0] === path && /no annotations/.test(e.message), path);
  }
});

test("Cameras of a BlocksExchange block: photogroup cameras, poses in degrees, georeferenced from the block's SRS", async () => {
  const { xml } = blocksExchangeWithTiePoints(10, { srs: "EPSG:32618", colour: false });
  const sink = new MemorySink();
  await runInMemory("ContextSceneTiler", sceneInput("Orientations.xml", new TextEncoder().encode(xml)), { objectToTile: "Cameras" }, { sink });
  assert.deepEqual((await checkCameraTileset(sink)).sort(), ["0", "1", "2", "3"]);
  assert.equal(sink.crs, "EPSG:4978");
  // Omega 180 degrees: the cameras look down, so every frustum's image corners lie below its apex.
  const glb = readGlb(sink.files.get([...sink.files.keys()].find((k) => k.endsWith(".glb"))!)!);
  const p = positionsOf(glb);
  const up = (q: number[]) => Math.hypot(q[0], q[1], q[2]);
  for (let c = 0; c < p.length; c += 5) for (let k = 1; k < 5; k++) assert.ok(up(p[c + k]) < up(p[c]), "corner below the apex");
});

test("outputCrs other than EPSG:4978 is reported for Cameras and Annotations, whose tilesets are in EPSG:4978", async () => {
  const { json } = annotatedScene(5, 0);
  const { warnings } = await runInMemory("ContextSceneTiler", sceneInput("ContextScene.json", new TextEncoder().encode(json)), { objectToTile: "Annotations", outputCrs: "EPSG:32618" });
  assert.ok(warnings.some((w) => /applies to tie points only/.test(w.message)), JSON.stringify(warnings));
});
