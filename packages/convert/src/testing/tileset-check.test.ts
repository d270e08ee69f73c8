import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  boxFromBounds,
  buildImplicitSubtrees,
  buildExplicitTileset,
  childSubtreeCount,
  createAvailability,
  encodePnts,
  encodePointGlb,
  encodeSubtree,
  encodeTilesetJson,
  enuToEcef,
  geodeticToEcef,
  implicitOctreeRoot,
  implicitTileBounds,
  mortonIndex3,
  setAvailable,
  subtreeTileCount,
  subtreeTileIndex,
  tilesetOf,
  transformPoint,
  type PointTileContent,
  type Tileset,
  type Vec3,
} from "@realconv/formats";
import { checkTileset } from "./tileset-check.js";

const scratch = await mkdtemp(join(tmpdir(), "realconv-tileset-check-"));
after(() => rm(scratch, { recursive: true, force: true }));
let folders = 0;

async function writeFolder(files: Record<string, Uint8Array | Tileset>): Promise<string> {
  const dir = join(scratch, String(folders++));
  for (const [name, value] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), value instanceof Uint8Array ? value : encodeTilesetJson(value));
  }
  return dir;
}

/** n points spread over [min, max], as content relative to the box centre. */
function pointsIn(min: Vec3, max: Vec3, n: number, seed: number): PointTileContent {
  const centre: Vec3 = [0, 1, 2].map((a) => (min[a] + max[a]) / 2) as Vec3;
  const positions = new Float32Array(3 * n);
  const rgb = new Uint8Array(3 * n);
  const intensity = new Uint16Array(n);
  const classification = new Uint8Array(n);
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) positions[3 * i + a] = Math.fround(min[a] + next() * (max[a] - min[a]) - centre[a]);
    rgb.set([i % 256, (7 * i) % 256, 200], 3 * i);
    intensity[i] = i;
    classification[i] = i % 10;
  }
  return { count: n, positions, rtcCenter: centre, rgb, intensity, classification, precision: 0.001 };
}

const ROOT_TRANSFORM = enuToEcef(7.44, 46.95, 540);
const options = { version: "1.1" as const, refine: "ADD" as const, transform: ROOT_TRANSFORM };

/** A good explicit tree: root 0..40 with 2 children (0..20, 20..40 along x), .pnts and .glb contents. */
async function explicitFiles() {
  const root = pointsIn([0, 0, 0], [40, 40, 10], 50, 1);
  const left = pointsIn([0, 0, 0], [20, 40, 10], 40, 2);
  const right = pointsIn([20, 0, 0], [40, 40, 10], 30, 3);
  const tileset = buildExplicitTileset(
    {
      min: [0, 0, 0], max: [40, 40, 10], geometricError: 2, contentUri: "r.pnts",
      children: [
        { min: [0, 0, 0], max: [20, 40, 10], geometricError: 0, contentUri: "c/0.pnts" },
        { min: [20, 0, 0], max: [40, 40, 10], geometricError: 0, contentUri: "c/1.glb" },
      ],
    },
    options,
  );
  return { contents: [root, left, right], files: { "tileset.json": tileset, "r.pnts": encodePnts(root), "c/0.pnts": encodePnts(left), "c/1.glb": await encodePointGlb(right) } as Record<string, Uint8Array | Tileset> };
}

/** World (ECEF) coordinates of every input point, sorted, for order-free comparison. */
function worldOf(contents: PointTileContent[]): number[][] {
  const out: number[][] = [];
  for (const c of contents) for (let i = 0; i < c.count; i++) out.push(transformPoint(ROOT_TRANSFORM, [0, 1, 2].map((a) => c.positions[3 * i + a] + c.rtcCenter[a])));
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

function sortedTriples(p: Float64Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < p.length; i += 3) out.push([p[i], p[i + 1], p[i + 2]]);
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

/** Implicit octree, subtreeLevels 2, availableLevels 3: root subtree (levels 0-1) and one child subtree at level 2. */
async function implicitFiles() {
  const min: Vec3 = [0, 0, 0];
  const max: Vec3 = [16, 16, 16];
  const tiles: Array<[number, number, number, number]> = [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0], [2, 3, 3, 1]];
  const files: Record<string, Uint8Array | Tileset> = {};
  const contents: PointTileContent[] = [];
  for (const [l, x, y, z] of tiles) {
    const b = implicitTileBounds(min, max, l, x, y, z);
    const c = pointsIn(b.min, b.max, 20 + l, 10 + l + x);
    contents.push(c);
    files[`content/${l}/${x}/${y}/${z}.glb`] = await encodePointGlb(c);
  }
  const rootTiles = createAvailability(subtreeTileCount(2));
  const rootContent = createAvailability(subtreeTileCount(2));
  for (const [l, x, y, z] of tiles.slice(0, 3)) {
    setAvailable(rootTiles, subtreeTileIndex(l, x, y, z));
    setAvailable(rootContent, subtreeTileIndex(l, x, y, z));
  }
  const rootChildren = createAvailability(childSubtreeCount(2));
  setAvailable(rootChildren, mortonIndex3(3, 3, 1)); // under level-1 tile (1,1,0)
  files["subtrees/0/0/0/0.subtree"] = encodeSubtree({ subtreeLevels: 2, tileAvailability: rootTiles, contentAvailability: [rootContent], childSubtreeAvailability: rootChildren });
  const childTiles = createAvailability(subtreeTileCount(2));
  setAvailable(childTiles, 0);
  files["subtrees/2/3/3/1.subtree"] = encodeSubtree({ subtreeLevels: 2, tileAvailability: childTiles, contentAvailability: [childTiles], childSubtreeAvailability: createAvailability(childSubtreeCount(2)) });
  const root = { boundingVolume: boxFromBounds(min, max), geometricError: 4, content: { uri: "content/{level}/{x}/{y}/{z}.glb" }, implicitTiling: { subdivisionScheme: "OCTREE" as const, subtreeLevels: 2, availableLevels: 3, subtrees: { uri: "subtrees/{level}/{x}/{y}/{z}.subtree" } } };
  files["tileset.json"] = tilesetOf(root, 8, { ...options, version: "1.1" });
  return { files, contents };
}

describe("tileset checker", () => {
  it("passes a good explicit tileset and returns every point in ECEF", async () => {
    const { files, contents } = await explicitFiles();
    const r = await checkTileset(await writeFolder(files), { collectPositions: true, loadersGl: true });
    assert.deepEqual(r.errors, []);
    assert.equal(r.tiles, 3);
    assert.equal(r.contents, 3);
    assert.equal(r.points, 120);
    const expected = worldOf(contents);
    const got = sortedTriples(r.positions!);
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) for (let a = 0; a < 3; a++) assert.ok(Math.abs(got[i][a] - expected[i][a]) < 0.001, `point ${i} axis ${a}: ${got[i][a]} vs ${expected[i][a]}`);
    assert.ok(Math.hypot(...got[0]) > 6.3e6, "positions are geocentric");
  });

  it("passes a good implicit octree", async () => {
    const { files, contents } = await implicitFiles();
    const r = await checkTileset(await writeFolder(files), { collectPositions: true, loadersGl: true });
    assert.deepEqual(r.errors, []);
    assert.equal(r.tiles, 4);
    assert.equal(r.points, contents.reduce((s, c) => s + c.count, 0));
  });

  it("passes an implicit octree made by buildImplicitSubtrees, .pnts contents, 5 levels", async () => {
    const min: Vec3 = [-50, -50, -10];
    const max: Vec3 = [50, 50, 90];
    const keys: Array<{ level: number; x: number; y: number; z: number }> = [];
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let i = 0; i < 25; i++) {
      const level = next(5);
      keys.push({ level, x: next(2 ** level), y: next(2 ** level), z: next(2 ** level) });
    }
    const unique = [...new Map(keys.map((k) => [`${k.level}/${k.x}/${k.y}/${k.z}`, k])).values()];
    const files: Record<string, Uint8Array | Tileset> = {};
    let points = 0;
    for (const k of unique) {
      const b = implicitTileBounds(min, max, k.level, k.x, k.y, k.z);
      const c = pointsIn(b.min, b.max, 10 + k.level, k.x + 3 * k.y + 5 * k.z);
      points += c.count;
      files[`content/${k.level}/${k.x}/${k.y}/${k.z}.pnts`] = encodePnts(c);
    }
    const { subtrees, availableLevels } = buildImplicitSubtrees(unique, 2);
    for (const s of subtrees) files[`subtrees/${s.level}/${s.x}/${s.y}/${s.z}.subtree`] = s.bytes;
    const root = implicitOctreeRoot({ min, max, geometricError: 8, subtreeLevels: 2, availableLevels, contentUri: "content/{level}/{x}/{y}/{z}.pnts" });
    const r = await checkTileset(await writeFolder({ ...files, "tileset.json": tilesetOf(root, 16, { ...options, version: "1.1" }) }));
    assert.deepEqual(r.errors, []);
    assert.equal(r.contents, unique.length);
    assert.equal(r.points, points);
    assert.ok(r.tiles >= unique.length);
  });

  it("catches a bounding volume that does not hold its points or its child", async () => {
    const { files } = await explicitFiles();
    const tileset = structuredClone(files["tileset.json"]) as Tileset;
    tileset.root.children![1].boundingVolume = boxFromBounds([20, 0, 0], [39, 40, 10]); // right tile 1 m short
    tileset.root.children![0].boundingVolume = boxFromBounds([0, 0, 0], [20, 40, 12]); // sticks out of the root
    const r = await checkTileset(await writeFolder({ ...files, "tileset.json": tileset }));
    assert.ok(r.errors.some((e) => /root\/children\[1\]: \d+ of 30 points of c\/1\.glb lie outside/.test(e)), r.errors.join("\n"));
    assert.ok(r.errors.some((e) => /root\/children\[0\]: bounding volume .* is not inside its parent's/.test(e)), r.errors.join("\n"));
  });

  it("checks region and sphere volumes in ECEF (no root transform)", async () => {
    // Points 100 m around a place, content RTC centre in ECEF; root region, child sphere.
    const centre = geodeticToEcef(7.44, 46.95, 540);
    const local = pointsIn([-50, -50, -5], [50, 50, 5], 60, 4);
    const enu = enuToEcef(7.44, 46.95, 540);
    const ecef = new Float32Array(3 * local.count);
    for (let i = 0; i < local.count; i++) {
      const w = transformPoint(enu, [0, 1, 2].map((a) => local.positions[3 * i + a]));
      for (let a = 0; a < 3; a++) ecef[3 * i + a] = w[a] - centre[a];
    }
    const content: PointTileContent = { ...local, positions: ecef, rtcCenter: centre };
    const rad = Math.PI / 180;
    const dLon = 80 / (6378137 * Math.cos(46.95 * rad));
    const dLat = 80 / 6378137;
    const region = [7.44 * rad - dLon, 46.95 * rad - dLat, 7.44 * rad + dLon, 46.95 * rad + dLat, 460, 620];
    const tileset = (regionValue: number[], radius: number): Tileset => ({
      asset: { version: "1.0" },
      geometricError: 4,
      root: { boundingVolume: { region: regionValue }, geometricError: 2, refine: "ADD", children: [{ boundingVolume: { sphere: [...centre, radius] }, geometricError: 0, content: { uri: "p.pnts" } }] },
    });
    const good = await checkTileset(await writeFolder({ "tileset.json": tileset(region, 75), "p.pnts": encodePnts(content) }), { collectPositions: true });
    assert.deepEqual(good.errors, []);
    assert.equal(good.points, 60);
    const narrow = [region[0], region[1], region[2], region[3], 530, 541];
    const bad = await checkTileset(await writeFolder({ "tileset.json": tileset(narrow, 60), "p.pnts": encodePnts(content) }));
    assert.ok(bad.errors.some((e) => /root\/children\[0\]: \d+ of 60 points of p\.pnts lie outside the sphere/.test(e)), bad.errors.join("\n"));
    const withRootContent = tileset(narrow, 75);
    withRootContent.root.content = { uri: "p.pnts" };
    const badRegion = await checkTileset(await writeFolder({ "tileset.json": withRootContent, "p.pnts": encodePnts(content) }));
    assert.ok(badRegion.errors.some((e) => /root: \d+ of 60 points of p\.pnts lie outside the region/.test(e)), badRegion.errors.join("\n"));
    assert.ok(bad.errors.some((e) => /root\/children\[0\]: bounding volume \(sphere .*\) is not inside its parent's \(region/.test(e)), bad.errors.join("\n"));
  });

  it("catches a missing file", async () => {
    const { files } = await explicitFiles();
    delete files["c/0.pnts"];
    const r = await checkTileset(await writeFolder(files));
    assert.deepEqual(r.errors, ["tileset.json root/children[0]: uri c/0.pnts does not resolve (c/0.pnts missing)"]);
    assert.equal(r.points, 80);
  });

  it("catches a wrong padding and a wrong length in a .pnts", async () => {
    const { files, contents } = await explicitFiles();
    // The same tile with its feature table JSON unpadded: the binary starts off 8-byte alignment.
    const good = files["c/0.pnts"] as Uint8Array;
    const v = new DataView(good.buffer, good.byteOffset);
    const jsonLength = v.getUint32(12, true);
    const json = new TextDecoder().decode(good.subarray(28, 28 + jsonLength)).trimEnd();
    const jsonBytes = new TextEncoder().encode(json);
    const rest = good.subarray(28 + jsonLength);
    const bad = new Uint8Array(28 + jsonBytes.byteLength + rest.byteLength);
    bad.set(good.subarray(0, 28));
    bad.set(jsonBytes, 28);
    bad.set(rest, 28 + jsonBytes.byteLength);
    const bv = new DataView(bad.buffer);
    bv.setUint32(8, bad.byteLength, true);
    bv.setUint32(12, jsonBytes.byteLength, true);
    assert.notEqual(jsonBytes.byteLength, jsonLength);
    const longer = new Uint8Array(good.byteLength + 8);
    longer.set(good);
    const r = await checkTileset(await writeFolder({ ...files, "c/0.pnts": bad, "r.pnts": longer }));
    assert.ok(r.errors.some((e) => /children\[0\]: c\/0\.pnts: .*(not 8-aligned|not a multiple of 8)/.test(e)), r.errors.join("\n"));
    assert.ok(r.errors.some((e) => /root: r\.pnts: header byteLength \d+ differs/.test(e)), r.errors.join("\n"));
    assert.equal(r.points, contents[2].count);
  });

  it("catches a GLB whose header length is wrong and a subtree whose JSON is not padded", async () => {
    const { files } = await explicitFiles();
    const glb = (files["c/1.glb"] as Uint8Array).slice();
    new DataView(glb.buffer).setUint32(8, glb.byteLength + 4, true);
    const r = await checkTileset(await writeFolder({ ...files, "c/1.glb": glb }));
    assert.deepEqual(r.errors, [`tileset.json root/children[1]: c/1.glb: header length ${glb.byteLength + 4} differs from the file's ${glb.byteLength} bytes (at byte 8)`]);

    const implicit = (await implicitFiles()).files;
    const subtree = implicit["subtrees/2/3/3/1.subtree"] as Uint8Array;
    const v = new DataView(subtree.buffer, subtree.byteOffset);
    const jsonLength = Number(v.getBigUint64(8, true));
    const json = new TextDecoder().decode(subtree.subarray(24, 24 + jsonLength)) + " "; // one space too many
    const unpadded = new Uint8Array(24 + json.length + (subtree.byteLength - 24 - jsonLength));
    unpadded.set(subtree.subarray(0, 24));
    unpadded.set(new TextEncoder().encode(json), 24);
    unpadded.set(subtree.subarray(24 + jsonLength), 24 + json.length);
    new DataView(unpadded.buffer).setBigUint64(8, BigInt(json.length), true);
    assert.notEqual(json.length % 8, 0);
    const r2 = await checkTileset(await writeFolder({ ...implicit, "subtrees/2/3/3/1.subtree": unpadded }));
    assert.ok(r2.errors.some((e) => /subtree 2\/3\/3\/1: subtrees\/2\/3\/3\/1\.subtree: JSON length \d+ leaves the binary chunk unaligned/.test(e)), r2.errors.join("\n"));
  });

  it("catches geometric errors that grow or do not reach 0 at leaves, GLB in 1.0, no root refine", async () => {
    const { files } = await explicitFiles();
    const tileset = structuredClone(files["tileset.json"]) as Tileset;
    tileset.root.children![0].geometricError = 3;
    tileset.root.children![1].geometricError = 0.5;
    tileset.asset.version = "1.0";
    delete tileset.root.refine;
    const r = await checkTileset(await writeFolder({ ...files, "tileset.json": tileset }));
    assert.ok(r.errors.includes('tileset.json root/children[1]: GLB content c/1.glb needs asset.version "1.1" (or 3DTILES_content_gltf in extensionsUsed)'), r.errors.join("\n"));
    assert.ok(r.errors.includes("tileset.json: the root tile has no refine (required at the root)"), r.errors.join("\n"));
    assert.ok(r.errors.some((e) => /children\[0\]: geometricError 3 exceeds its parent's 2/.test(e)), r.errors.join("\n"));
    assert.ok(r.errors.some((e) => /children\[1\]: leaf geometricError is 0.5, expected 0/.test(e)), r.errors.join("\n"));
  });

  it("catches implicit availability that disagrees with the files", async () => {
    const { files } = await implicitFiles();
    // Content announced but its file gone; a content file for a tile whose content is unavailable; a stray subtree.
    const missing = { ...files };
    delete missing["content/1/1/1/0.glb"];
    missing["content/1/0/1/0.glb"] = files["content/1/0/0/0.glb"];
    missing["subtrees/2/0/0/0.subtree"] = files["subtrees/2/3/3/1.subtree"];
    const r = await checkTileset(await writeFolder(missing));
    assert.deepEqual(r.errors, [
      "tileset.json root tile 1/1/1/0: uri content/1/1/1/0.glb does not resolve (content/1/1/1/0.glb missing)",
      "tileset.json root subtree 0/0/0/0: child subtree 2/0/0/0 unavailable but subtrees/2/0/0/0.subtree exists",
      "content/1/0/1/0.glb: file matches an implicit template but no available tile or subtree names it",
    ]);
    // A child subtree announced whose file is missing.
    const noChild = { ...files };
    delete noChild["subtrees/2/3/3/1.subtree"];
    const r2 = await checkTileset(await writeFolder(noChild));
    assert.ok(r2.errors.some((e) => /subtree 2\/3\/3\/1: uri subtrees\/2\/3\/3\/1\.subtree does not resolve/.test(e)), r2.errors.join("\n"));
    // Content available on a tile that is not.
    const contentOnly = createAvailability(subtreeTileCount(2));
    setAvailable(contentOnly, 0);
    setAvailable(contentOnly, subtreeTileIndex(1, 1, 0, 0));
    const tilesOnly = createAvailability(subtreeTileCount(2));
    setAvailable(tilesOnly, 0);
    const r3 = await checkTileset(await writeFolder({ ...files, "subtrees/0/0/0/0.subtree": encodeSubtree({ subtreeLevels: 2, tileAvailability: tilesOnly, contentAvailability: [contentOnly], childSubtreeAvailability: createAvailability(childSubtreeCount(2)) }) }));
    assert.ok(r3.errors.some((e) => /tile 1\/1\/0\/0: content available but the tile is not/.test(e)), r3.errors.join("\n"));
  });
});
