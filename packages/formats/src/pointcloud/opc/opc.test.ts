import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { bytesSource } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import { rng } from "../../testing/synthetic.js";
import { positionAt } from "../chunk.js";
import { openLasOrLaz } from "../las/open.js";
import { compareOpcTiles, type OpcLayout, opcLayout, type OpcPoints, opcTileSize } from "./layout.js";
import { readWithOrbitGt } from "../../testing/orbitgt-oracle.js";
import { buildOpcLevels } from "./pyramid.js";
import { thinOpcTile } from "./thin.js";
import { encodeOpc, OpcWriter, type OpcAttribute, type OpcWriterOptions } from "./writer.js";

function syntheticPoints(n: number, extent: [number, number, number], origin: [number, number, number], seed = 7): OpcPoints {
  const rand = rng(seed);
  const p: OpcPoints = { count: n, xyz: new Float64Array(3 * n), rgb: new Uint8Array(3 * n), intensity: new Uint16Array(n), classification: new Uint8Array(n) };
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) p.xyz[3 * i + a] = origin[a] + Math.round(rand() * extent[a] * 1000) / 1000;
    for (let k = 0; k < 3; k++) p.rgb![3 * i + k] = Math.floor(rand() * 256);
    p.intensity![i] = Math.floor(rand() * 65536);
    p.classification![i] = 1 + Math.floor(rand() * 6);
  }
  return p;
}

function boundsOf(p: OpcPoints): number[] {
  const b = [Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity];
  for (let i = 0; i < p.count; i++) {
    for (let a = 0; a < 3; a++) {
      b[a] = Math.min(b[a], p.xyz[3 * i + a]);
      b[a + 3] = Math.max(b[a + 3], p.xyz[3 * i + a]);
    }
  }
  return b;
}

/** The level-0 point order the format needs, computed independently of the writer: stable sort by tile. */
function fileOrder(layout: OpcLayout, p: OpcPoints): Uint32Array {
  const tile = (i: number, a: number) => Math.floor((p.xyz[3 * i + a] - layout.origin[a]) / layout.tileSize[a]);
  const order = Uint32Array.from({ length: p.count }, (_, i) => i);
  return order.sort((a, b) => compareOpcTiles(tile(a, 0), tile(a, 1), tile(a, 2), tile(b, 0), tile(b, 1), tile(b, 2)) || a - b);
}

async function writeAll(options: OpcWriterOptions, p: OpcPoints): Promise<Uint8Array> {
  const levels = buildOpcLevels(options.layout, p);
  return encodeOpc(options, (level) => levels[level]);
}

/** Checks an OPC file with Bentley's reader against its level-0 input. */
async function checkWithOrbitGt(bytes: Uint8Array, options: OpcWriterOptions, p: OpcPoints): Promise<void> {
  const { layout } = options;
  const file = await readWithOrbitGt(bytes);
  assert.equal(file.levelCount, layout.levelCount);
  assert.ok(file.levelCount >= 2);
  assert.equal(file.crs, options.epsg === undefined ? "" : String(options.epsg));
  const names = file.attributes.map((a) => a.name);
  const expectedNames = options.attributes.map((a) => ({ color: "Color", intensity: "Intensity", classification: "Classification", weight: "Weight" })[a]);
  assert.deepEqual(names, expectedNames);

  const l0 = file.levels[0];
  assert.equal(l0.pointCount, p.count);
  const order = fileOrder(layout, p);
  // Worst position error per axis, in level-0 steps.
  let worst = 0;
  for (let k = 0; k < p.count; k++) {
    const i = order[k];
    for (let a = 0; a < 3; a++) worst = Math.max(worst, (Math.abs(l0.xyz[3 * k + a] - p.xyz[3 * i + a]) / layout.tileSize[a]) * 65536);
    if (p.rgb && l0.values.Color) {
      const rgb = (p.rgb[3 * i] << 16) | (p.rgb[3 * i + 1] << 8) | p.rgb[3 * i + 2];
      if (l0.values.Color[k] !== rgb) assert.fail(`point ${k}: colour ${l0.values.Color[k].toString(16)}, expected ${rgb.toString(16)}`);
    }
    if (p.intensity && l0.values.Intensity && l0.values.Intensity[k] !== p.intensity[i]) assert.fail(`point ${k}: intensity ${l0.values.Intensity[k]}, expected ${p.intensity[i]}`);
    if (p.classification && l0.values.Classification && l0.values.Classification[k] !== p.classification[i]) assert.fail(`point ${k}: class differs`);
  }
  assert.ok(worst <= 1, `level-0 positions within one step of tileSize/65536 (worst ${worst} steps)`);

  for (let level = 1; level < file.levelCount; level++) {
    const lv = file.levels[level];
    assert.ok(lv.pointCount >= 1 && lv.pointCount <= file.levels[level - 1].pointCount, `level ${level} is a thinner copy`);
    // Every point of a coarser level sits at the centre of a 256³ cell of its tile.
    const size = opcTileSize(layout, level);
    let at = 0;
    for (const [tx, ty, tz, count] of lv.tiles) {
      for (let i = 0; i < count; i++, at++) {
        [tx, ty, tz].forEach((t, a) => {
          const f = ((lv.xyz[3 * at + a] - layout.origin[a] - t * size[a]) / size[a]) * 256;
          assert.ok(Math.abs(f - Math.floor(f) - 0.5) < 1e-6 && f > 0 && f < 256, `level ${level}: cell centre`);
        });
      }
    }
    if (lv.values.Weight) assert.equal(lv.values.Weight.reduce((s, w) => s + w, 0), p.count, `level ${level}: the weights add up to the level-0 points`);
  }
  assert.equal(file.levels[file.levelCount - 1].tiles.length, 1, "the top level is one tile");
}

describe("OPC writer", () => {
  it("writes a synthetic cloud over several blocks that Bentley's reader reads back", async () => {
    // 1/16384 precision: 4 m tiles, so 140 m spans 35 tiles, two blocks along x.
    const p = syntheticPoints(20_000, [140, 7, 3], [500_000.5, 4_000_000.25, 80]);
    const layout = opcLayout(boundsOf(p), 1 / 16384);
    assert.deepEqual(layout.tileSize, [4, 4, 4]);
    const options: OpcWriterOptions = { layout, attributes: ["color", "intensity", "classification", "weight"], epsg: 32633 };
    const bytes = await writeAll(options, p);
    await checkWithOrbitGt(bytes, options, p);
    const file = await readWithOrbitGt(bytes, 1);
    const blocks = new Set(file.levels[0].tiles.map(([x, y, z]) => `${Math.floor(x / 32)},${Math.floor(y / 32)},${Math.floor(z / 32)}`));
    assert.equal(blocks.size, 2, `level 0 spans ${blocks.size} blocks`);
    const intensity = file.attributes.find((a) => a.name === "Intensity")!;
    assert.equal(intensity.min, Math.min(...p.intensity!));
    assert.equal(intensity.max, Math.max(...p.intensity!));
  });

  it("writes geometry only, and a single-point cloud, without a CRS", async () => {
    const p = syntheticPoints(1, [1, 1, 1], [10, 20, 30]);
    const layout = opcLayout(boundsOf(p), 0.001);
    assert.equal(layout.levelCount, 2);
    const options: OpcWriterOptions = { layout, attributes: [] };
    await checkWithOrbitGt(await writeAll(options, p), options, { count: 1, xyz: p.xyz });
  });

  it("is deterministic and matches the golden hash", async () => {
    const p = syntheticPoints(300, [9, 5, 3], [1000, 2000, 10], 3);
    const layout = opcLayout(boundsOf(p), 1 / 4096);
    const options: OpcWriterOptions = { layout, attributes: ["color", "intensity", "classification", "weight"], epsg: 2056, creationTime: 1_700_000_000_000 };
    const a = await writeAll(options, p);
    const b = await writeAll(options, p);
    assert.deepEqual(a, b);
    assert.equal(a.length, 10_713);
    assert.equal(createHash("sha256").update(a).digest("hex"), "bf7b255691c515b3b72aaa85a998571ea2459887bcb60a1d869b34ace3a92386");
    await checkWithOrbitGt(a, options, p);
  });

  it("refuses tiles out of order, passes out of order and points outside their tile", () => {
    const layout = opcLayout([0, 0, 0, 100, 100, 100], 1 / 1024);
    const w = new OpcWriter({ layout, attributes: ["intensity"] });
    w.header();
    const one = (x: number, y: number, z: number): OpcPoints => ({ count: 1, xyz: new Float64Array([x, y, z]), intensity: new Uint16Array([5]) });
    w.addTile(0, "geometry", 1, 0, 0, one(65, 1, 1));
    assert.throws(() => w.addTile(0, "geometry", 0, 0, 0, one(1, 1, 1)), /block then tile order/);
    assert.throws(() => w.addTile(0, "geometry", 1, 1, 0, one(1, 1, 1)), /outside tile/);
    assert.throws(() => w.endLevel(0), /before every pass/);
    assert.throws(() => w.addTile(1, "geometry", 0, 0, 0, one(1, 1, 1)), /before level 0 ended/);
    w.addTile(0, "intensity", 1, 0, 0, one(65, 1, 1));
    assert.throws(() => w.addTile(0, "intensity", 2, 0, 0, one(129, 1, 1)), /not the geometry pass's tile/);
    w.endLevel(0);
    assert.throws(() => w.finish(), /level 1 was not ended/);
  });

  it("thins a tile to one weighted point per occupied cell", () => {
    const layout: OpcLayout = { origin: [0, 0, 0], tileSize: [256, 256, 256], levelCount: 3, blockSize: 32 };
    // Level 1: 512-unit tiles, 2-unit cells. Three points in cell (0,0,0), one in cell (3,0,0).
    const a: OpcPoints = { count: 2, xyz: new Float64Array([0.1, 0.1, 0.1, 1.0, 1.0, 1.0]), rgb: new Uint8Array([0, 0, 0, 30, 60, 90]), intensity: new Uint16Array([10, 20]), classification: new Uint8Array([2, 5]) };
    const b: OpcPoints = { count: 2, xyz: new Float64Array([1.9, 0.2, 0.3, 7.5, 1, 1]), rgb: new Uint8Array([90, 0, 0, 1, 2, 3]), intensity: new Uint16Array([30, 7]), classification: new Uint8Array([3, 9]), weight: undefined };
    const t = thinOpcTile(layout, 1, 0, 0, 0, [a, b]);
    assert.equal(t.count, 2);
    assert.deepEqual([...t.xyz], [1, 1, 1, 7, 1, 1]);
    assert.deepEqual([...t.weight!], [3, 1]);
    assert.deepEqual([...t.rgb!], [40, 20, 30, 1, 2, 3]);
    assert.deepEqual([...t.intensity!], [20, 7]);
    assert.deepEqual([...t.classification!], [5, 9], "the class of the point nearest the centre");
    // Weights carry up: level 2 from level 1.
    const up = thinOpcTile(layout, 2, 0, 0, 0, [t]);
    assert.deepEqual([...up.weight!], [3, 1]);
    assert.throws(() => thinOpcTile(layout, 1, 0, 0, 0, [{ count: 1, xyz: new Float64Array([600, 0, 0]) }]), /outside level-1 tile/);
  });
});

const SAMPLES = ["1.2-with-color.las", "1_4_w_evlr.las", "autzen_trim.las", "epsg_4326.las", "file_with_both_wkt_and_geotiff_vlrs.las", "mvk-thin.las", "1.2-with-color.copc.laz"];

/** A sample's points as OPC columns (colours to 8 bits), its precision (LAS scale) and EPSG code. */
async function loadSample(name: string): Promise<{ points: OpcPoints; precision: [number, number, number]; epsg?: number; attributes: OpcAttribute[] }> {
  const reader = await openLasOrLaz(bytesSource(new Uint8Array(readFileSync(sharedData("pointcloud", name))), name));
  const n = reader.pointCount!;
  const has = (c: string) => reader.schema.columns.includes(c as never);
  const points: OpcPoints = { count: n, xyz: new Float64Array(3 * n) };
  if (has("red")) points.rgb = new Uint8Array(3 * n);
  if (has("intensity")) points.intensity = new Uint16Array(n);
  if (has("classification")) points.classification = new Uint8Array(n);
  let at = 0;
  let precision: [number, number, number] = [0.001, 0.001, 0.001];
  const xyz = new Float64Array(3);
  for await (const c of reader.chunks()) {
    if (c.positions.kind === "i32") precision = [...c.positions.scale];
    for (let i = 0; i < c.count; i++, at++) {
      positionAt(c.positions, i, xyz);
      points.xyz.set(xyz, 3 * at);
      if (points.rgb) {
        points.rgb[3 * at] = c.red![i] >> 8;
        points.rgb[3 * at + 1] = c.green![i] >> 8;
        points.rgb[3 * at + 2] = c.blue![i] >> 8;
      }
      if (points.intensity) points.intensity[at] = c.intensity![i];
      if (points.classification) points.classification[at] = c.classification![i];
    }
  }
  assert.equal(at, n);
  const m = /^EPSG:(\d+)/.exec(reader.crs ?? "");
  // The files' scales as the precision, but no finer than 1 mm (1_4_w_evlr and epsg_4326 store
  // micro-units), except across in degrees.
  const geographic = m?.[1] === "4326";
  precision = precision.map((s, a) => (geographic && a < 2 ? s : Math.max(s, 0.001))) as [number, number, number];
  const attributes: OpcAttribute[] = [];
  if (points.rgb) attributes.push("color");
  if (points.intensity) attributes.push("intensity");
  if (points.classification) attributes.push("classification");
  return { points, precision, epsg: m ? Number(m[1]) : undefined, attributes };
}

describe("OPC writer on the shared LAS/LAZ samples", () => {
  for (const name of SAMPLES) {
    it(`${name}: Bentley's reader reads back every point within the LAS scale`, async () => {
      const s = await loadSample(name);
      const layout = opcLayout(boundsOf(s.points), s.precision);
      const options: OpcWriterOptions = { layout, attributes: s.attributes, epsg: s.epsg };
      await checkWithOrbitGt(await writeAll(options, s.points), options, s.points);
    });
  }
});
