/**
 * 3DTilesGlbc as 3D Tiles 1.1 implicit octree tiling: a cloud deep enough for three levels of subtree
 * files, checked by the tileset checker (subtrees, availability against the files, contents inside their
 * implicit tiles), by @loaders.gl/3d-tiles (its expansion of the implicit tree, every content parsed) and
 * gltf-validator; damaged copies of it the checker must reject; a one-node cloud as one explicit tile.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  decodeSubtree,
  encodeSubtree,
  isAvailable,
  mortonDecode3,
  setAvailable,
  subtreeTileCount,
  subtreeTileIndex,
  writeLasStream,
  type PointChunk,
  type Tileset,
} from "@realconv/formats";
import { mulberry32 } from "@realconv/formats/testing/prng";
import { checkTileset } from "../testing/tileset-check.js";
import { dataset, MemorySink, memoryFile, runInMemory } from "../testing/memory-io.js";
import { SUBTREE_LEVELS } from "./tiled-output.js";

const validator = createRequire(import.meta.url)("gltf-validator") as {
  validateBytes(bytes: Uint8Array): Promise<{ issues: { numErrors: number; messages: Array<{ code: string; message: string; severity: number }> } }>;
};

const SCALE = 0.001;

/** Positions in metres: `background` points over 1000 x 1000 x 20 m and `cluster` points in a 10 cm cube in its middle. */
function cloudPositions(background: number, cluster: number): Float64Array {
  const next = mulberry32(42);
  const p = new Float64Array(3 * (background + cluster));
  for (let i = 0; i < background + cluster; i++) {
    const [lo, size] = i < background ? [[0, 0, 0], [1000, 1000, 20]] : [[500.3, 500.3, 10.3], [0.1, 0.1, 0.1]];
    for (let a = 0; a < 3; a++) p[3 * i + a] = Math.round((lo[a] + next() * size[a]) / SCALE) * SCALE;
  }
  return p;
}

async function lasOf(p: Float64Array): Promise<Uint8Array> {
  const n = p.length / 3;
  async function* chunks(): AsyncIterable<PointChunk> {
    const x = new Int32Array(n), y = new Int32Array(n), z = new Int32Array(n);
    const red = new Uint16Array(n), green = new Uint16Array(n), blue = new Uint16Array(n), intensity = new Uint16Array(n);
    const classification = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = Math.round(p[3 * i] / SCALE);
      y[i] = Math.round(p[3 * i + 1] / SCALE);
      z[i] = Math.round(p[3 * i + 2] / SCALE);
      red[i] = (i % 256) << 8;
      green[i] = ((7 * i) % 256) << 8;
      blue[i] = 200 << 8;
      intensity[i] = i % 65536;
      classification[i] = i % 10;
    }
    yield { count: n, positions: { kind: "i32", x, y, z, scale: [SCALE, SCALE, SCALE], offset: [0, 0, 0] }, red, green, blue, intensity, classification };
  }
  const parts: Uint8Array[] = [];
  for await (const b of writeLasStream({ schema: { columns: ["intensity", "classification", "red", "green", "blue"], extra: [] }, scale: [SCALE, SCALE, SCALE], offset: [0, 0, 0] }, chunks)) parts.push(b);
  return new Uint8Array(Buffer.concat(parts));
}

const scratch = await mkdtemp(join(tmpdir(), "realconv-implicit-"));
after(() => rm(scratch, { recursive: true, force: true }));

/** Runs PointCloudConversion to 3DTilesGlbc and writes the output into a folder. */
async function convertToFolder(name: string, positions: Float64Array): Promise<{ dir: string; sink: MemorySink }> {
  const sink = new MemorySink();
  await runInMemory("PointCloudConversion", { pointCloud: [dataset("d", [memoryFile(await lasOf(positions), `${name}.las`)], "LAS")] }, { outputFormat: "3DTilesGlbc" }, { sink });
  const dir = join(scratch, name);
  for (const [path, bytes] of sink.files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  return { dir, sink };
}

/** One axis of the positions, sorted: perturbing each point by at most e moves each sorted value by at most e. */
const axis = (p: Float64Array, a: number) => Float64Array.from({ length: p.length / 3 }, (_, i) => p[3 * i + a]).sort();

describe("3DTilesGlbc implicit octree tiling", () => {
  const input = cloudPositions(20_000, 70_000);
  const count = input.length / 3;
  let dir: string;
  let sink: MemorySink;
  let tileset: Tileset;
  before(async () => {
    ({ dir, sink } = await convertToFolder("deep", input));
    tileset = JSON.parse(new TextDecoder().decode(sink.files.get("tileset.json")!)) as Tileset;
  });

  it("writes tileset.json with an OCTREE implicit root over the root cube, subtrees every 5 levels", () => {
    assert.equal(sink.root, "tileset.json");
    assert.equal(tileset.asset.version, "1.1");
    const root = tileset.root;
    const it = root.implicitTiling!;
    assert.equal(it.subdivisionScheme, "OCTREE");
    assert.equal(it.subtreeLevels, SUBTREE_LEVELS);
    assert.equal(it.subtrees.uri, "subtrees/{level}/{x}/{y}/{z}.subtree");
    assert.equal(root.content?.uri, "content/{level}/{x}/{y}/{z}.glb");
    assert.equal(root.refine, "ADD");
    assert.equal(root.children, undefined);
    const box = (root.boundingVolume as { box: number[] }).box;
    assert.deepEqual([box[4], box[5], box[6], box[8], box[9], box[10]], [0, 0, 0, 0, 0, 0], "axis-aligned");
    assert.ok(box[3] === box[7] && box[7] === box[11], `a cube: ${box}`);
    // The spacing of level 0 (edge / 128), halved per level by the implicit tiling.
    assert.equal(root.geometricError, (2 * box[3]) / 128);
    assert.equal(tileset.geometricError, 2 * root.geometricError);
    const files = [...sink.files.keys()];
    const deepest = Math.max(...files.filter((f) => f.startsWith("content/")).map((f) => Number(f.split("/")[1])));
    assert.equal(it.availableLevels, deepest + 1);
    assert.ok(it.availableLevels > 2 * SUBTREE_LEVELS, `${it.availableLevels} levels`);
    const subtreeLevels = new Set(files.filter((f) => f.endsWith(".subtree")).map((f) => Number(f.split("/")[1])));
    assert.deepEqual([...subtreeLevels].sort((a, b) => a - b), [0, 5, 10]);
    assert.ok(files.every((f) => f === "tileset.json" || /^content\/\d+\/\d+\/\d+\/\d+\.glb$/.test(f) || /^subtrees\/\d+\/\d+\/\d+\/\d+\.subtree$/.test(f)), files.join(" "));
  });

  it("passes the checker and loaders.gl with every input point once, in its implicit tile", { timeout: 300_000 }, async () => {
    const r = await checkTileset(dir, { collectPositions: true, loadersGl: true });
    assert.deepEqual(r.errors, []);
    assert.equal(r.points, count);
    assert.equal(r.contents, [...sink.files.keys()].filter((f) => f.endsWith(".glb")).length);
    for (let a = 0; a < 3; a++) {
      const got = axis(r.positions!, a);
      const want = axis(input, a);
      for (let i = 0; i < count; i++) if (Math.abs(got[i] - want[i]) > 1e-3) assert.fail(`axis ${a}, sorted value ${i}: ${got[i]} vs ${want[i]}`);
    }
  });

  it("GLB contents without gltf-validator errors", { timeout: 120_000 }, async () => {
    for (const [path, bytes] of sink.files) {
      if (!path.endsWith(".glb")) continue;
      const report = await validator.validateBytes(bytes);
      assert.equal(report.issues.numErrors, 0, `${path}: ${JSON.stringify(report.issues.messages.filter((m) => m.severity === 0))}`);
    }
  });

  /** A copy of the good output with `damage` applied, checked. */
  const damaged = async (name: string, damage: (d: string) => Promise<void>) => {
    const copy = join(scratch, `damaged-${name}`);
    await cp(dir, copy, { recursive: true });
    await damage(copy);
    return (await checkTileset(copy)).errors;
  };
  const expectError = (errors: string[], pattern: RegExp) => assert.ok(errors.some((e) => pattern.test(e)), `${pattern} not in:\n${errors.join("\n")}`);

  /** The root subtree's tiles at local level `l`: [bit, x, y, z, has content, has an available child]. */
  const rootSubtreeTiles = (l: number) => {
    const s = decodeSubtree(sink.files.get("subtrees/0/0/0/0.subtree")!, SUBTREE_LEVELS);
    const out: Array<{ bit: number; x: number; y: number; z: number; content: boolean; child: boolean }> = [];
    for (let m = 0; m < 8 ** l; m++) {
      const bit = subtreeTileCount(l) + m;
      if (!isAvailable(s.tileAvailability, bit)) continue;
      const [x, y, z] = mortonDecode3(m);
      let child = false;
      for (let k = 0; k < 8; k++) child ||= isAvailable(s.tileAvailability, subtreeTileIndex(l + 1, 2 * x + (k & 1), 2 * y + ((k >> 1) & 1), 2 * z + (k >> 2)));
      out.push({ bit, x, y, z, content: isAvailable(s.contentAvailability[0], bit), child });
    }
    return { subtree: s, tiles: out };
  };

  it("the checker fails a removed content file, a removed child subtree and a stray content file", async () => {
    const deepest = [...sink.files.keys()].filter((f) => f.startsWith(`content/${tileset.root.implicitTiling!.availableLevels - 1}/`))[0];
    expectError(await damaged("content", (d) => rm(join(d, deepest))), new RegExp(`uri ${deepest.replace(/\./g, "\\.")} does not resolve`));
    const child = [...sink.files.keys()].filter((f) => f.startsWith("subtrees/10/"))[0];
    expectError(await damaged("subtree", (d) => rm(join(d, child))), new RegExp(`uri ${child.replace(/\./g, "\\.")} does not resolve`));
    const level2 = rootSubtreeTiles(2).tiles;
    const free = Array.from({ length: 64 }, (_, m) => mortonDecode3(m)).find(([x, y, z]) => !level2.some((t) => t.x === x && t.y === y && t.z === z))!;
    assert.ok(free, "an unavailable level-2 tile (the background is flat)");
    const stray = `content/2/${free.join("/")}.glb`;
    expectError(await damaged("stray", async (d) => {
      await mkdir(dirname(join(d, stray)), { recursive: true });
      await writeFile(join(d, stray), sink.files.get("content/0/0/0/0.glb")!);
    }), new RegExp(`${stray.replace(/\./g, "\\.")}: file matches an implicit template but no available tile`));
  });

  it("the checker fails a subtree bit cleared, a bitstream byte changed under its availableCount, a wrong availableLevels, a content in another tile", async () => {
    // A leaf with content at level 1 made content-unavailable: its file is then unannounced and the tile leads to nothing.
    const { subtree, tiles } = rootSubtreeTiles(1);
    const leaf = tiles.find((t) => t.content && !t.child)!;
    assert.ok(leaf, "a level-1 leaf (a part of the background)");
    const content = subtree.contentAvailability[0].slice();
    setAvailable(content, leaf.bit, false);
    const cleared = encodeSubtree({ subtreeLevels: SUBTREE_LEVELS, tileAvailability: subtree.tileAvailability, contentAvailability: [content], childSubtreeAvailability: subtree.childSubtreeAvailability });
    const errors = await damaged("bit", (d) => writeFile(join(d, "subtrees/0/0/0/0.subtree"), cleared));
    const key = `1/${leaf.x}/${leaf.y}/${leaf.z}`;
    expectError(errors, new RegExp(`tile ${key}: content unavailable but content/${key}\\.glb exists`));
    expectError(errors, new RegExp(`tile ${key}: available with neither content nor an available child`));

    // One bit of the tile availability bitstream flipped in place: its availableCount no longer holds.
    const bytes = sink.files.get("subtrees/0/0/0/0.subtree")!.slice();
    const view = subtree.json.bufferViews as Array<{ byteOffset: number }>;
    const at = 24 + Number(new DataView(bytes.buffer).getBigUint64(8, true)) + view[(subtree.json.tileAvailability as { bitstream: number }).bitstream].byteOffset;
    bytes[at + 1] ^= 1;
    expectError(await damaged("count", (d) => writeFile(join(d, "subtrees/0/0/0/0.subtree"), bytes)), /subtrees\/0\/0\/0\/0\.subtree: tileAvailability\.availableCount is \d+, the bitstream has \d+/);

    const more = structuredClone(tileset);
    more.root.implicitTiling!.availableLevels++;
    expectError(await damaged("levels", (d) => writeFile(join(d, "tileset.json"), JSON.stringify(more))), /availableLevels is \d+ but the deepest available tile is at level \d+/);

    // The root's content moved into a level-1 tile: most of its points lie outside that tile.
    const other = tiles.find((t) => t.content)!;
    const target = `content/1/${other.x}/${other.y}/${other.z}.glb`;
    expectError(await damaged("moved", (d) => writeFile(join(d, target), sink.files.get("content/0/0/0/0.glb")!)), new RegExp(`tile 1/${other.x}/${other.y}/${other.z}: \\d+ of \\d+ points of ${target.replace(/\./g, "\\.")} lie outside`));
  });

  it("a one-node cloud is one explicit tile, read by loaders.gl too", async () => {
    const small = cloudPositions(1000, 0);
    const { dir: one, sink: s } = await convertToFolder("one", small);
    const t = JSON.parse(await readFile(join(one, "tileset.json"), "utf8")) as Tileset;
    assert.equal(t.asset.version, "1.1");
    assert.equal(t.root.implicitTiling, undefined);
    assert.deepEqual(t.root.content, { uri: "content/0/0/0/0.glb" });
    assert.equal(t.root.geometricError, 0);
    assert.deepEqual([...s.files.keys()].sort(), ["content/0/0/0/0.glb", "tileset.json"]);
    const r = await checkTileset(one, { loadersGl: true });
    assert.deepEqual(r.errors, []);
    assert.equal(r.points, 1000);
  });
});
