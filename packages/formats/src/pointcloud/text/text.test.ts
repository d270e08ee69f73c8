import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource, FormatError } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import { fileSource, gather } from "./test-util.js";
import { openPts, ptsIntensityToU16 } from "./pts.js";
import { openXyz } from "./xyz.js";
import { parseNumber } from "./number.js";

const enc = new TextEncoder();
const src = (text: string, name = "t.txt") => bytesSource(enc.encode(text), name);

async function expectFormatError(p: Promise<unknown>, re: RegExp, name: string): Promise<FormatError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof FormatError, `expected FormatError, got ${String(err)}`);
  assert.match(err.message, re);
  assert.equal(err.file, name);
  return err;
}

test("number parsing from bytes matches Number()", () => {
  const cases = [
    "0", "-0", "1", "-1", "3.980972", "-25.050461", "665187.522077", "5648349.895035", "1e3", "-2.5E-1", "+7",
    ".5", "5.", "0.1", "0.30000000000000004", "123456789012345678", "1.7976931348623157e308", "4.9e-324",
    "123456789.123456789", "0.000001", "1e22", "1e23", "9007199254740993",
  ];
  for (const c of cases) {
    const b = enc.encode(` ${c} `);
    assert.equal(Object.is(parseNumber(b, 1, b.length - 1), Number(c)), true, c);
  }
  for (const c of ["", "-", "abc", "1.2.3", "1e", "1e+", "--1", "0x10", "1,5"]) {
    const b = enc.encode(c);
    assert.ok(Number.isNaN(parseNumber(b, 0, b.length)), c);
  }
  // Random decimals: the fast path must agree exactly with Number().
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 20000; i++) {
    const s = ((rnd() - 0.5) * 10 ** Math.floor(rnd() * 12)).toFixed(Math.floor(rnd() * 9));
    const b = enc.encode(s);
    assert.equal(parseNumber(b, 0, b.length), Number(s), s);
  }
});

test("PTS intensity mapping is linear from -2048..2047 onto 0..65535", () => {
  assert.equal(ptsIntensityToU16(-2048), 0);
  assert.equal(ptsIntensityToU16(2047), 65535);
  assert.equal(ptsIntensityToU16(0), Math.round((2048 * 65535) / 4095));
  assert.equal(ptsIntensityToU16(-5000), 0);
  assert.equal(ptsIntensityToU16(9999), 65535);
});

test("PTS golden: count line, x y z i r g b, comma separated, lines across reads", async () => {
  const text = "3\r\n1.5,2.5,3.5,-2048,255,0,1\r\n-1 -2 -3 2047 0 128 255\n\n10, 20, 30, 0, 1, 2, 3";
  for (const blockBytes of [5, 1 << 20]) {
    const r = await openPts(src(text, "g.pts"), { chunkPoints: 2, blockBytes });
    assert.equal(r.pointCount, 3);
    assert.deepEqual(r.schema.columns, ["intensity", "red", "green", "blue"]);
    const g = await gather(r);
    assert.deepEqual(g.chunkSizes, [2, 1]);
    assert.deepEqual(g.x, [1.5, -1, 10]);
    assert.deepEqual(g.y, [2.5, -2, 20]);
    assert.deepEqual(g.z, [3.5, -3, 30]);
    assert.deepEqual(g.columns.intensity, [0, 65535, ptsIntensityToU16(0)]);
    assert.deepEqual(g.columns.red, [65535, 0, 257]);
    assert.deepEqual(g.columns.green, [0, 128 * 257, 514]);
    assert.deepEqual(g.columns.blue, [257, 65535, 771]);
  }
  // No count line, x y z r g b.
  const r6 = await openPts(src("1 2 3 4 5 6\n7 8 9 10 11 12\n", "six.pts"));
  assert.equal(r6.pointCount, undefined);
  assert.deepEqual(r6.schema.columns, ["red", "green", "blue"]);
  const g6 = await gather(r6);
  assert.deepEqual(g6.columns.blue, [6 * 257, 12 * 257]);
  // x y z i.
  const r4 = await openPts(src("2\n1 2 3 -2048\n4 5 6 2047\n", "four.pts"));
  assert.deepEqual(r4.schema.columns, ["intensity"]);
  assert.deepEqual((await gather(r4)).columns.intensity, [0, 65535]);
  // Multi-scan PTS: each block starts with its own count.
  const multi = await openPts(src("2\n1 2 3\n4 5 6\n1\n7 8 9\n", "multi.pts"));
  const gm = await gather(multi);
  assert.deepEqual(gm.z, [3, 6, 9]);
  assert.equal(multi.pointCount, 3);
});

test("PTS samples: test.pts (7 columns) and bunnyData.pts (3 columns)", async () => {
  const t = await openPts(bytesSource(readFileSync(sharedData("pointcloud", "test.pts")), "test.pts"));
  assert.equal(t.pointCount, 19);
  assert.deepEqual(t.schema.columns, ["intensity", "red", "green", "blue"]);
  const gt = await gather(t);
  assert.equal(gt.count, 19);
  // First data line: 3.980972 -2.006119 -0.010086 -1035 97 59 38
  assert.deepEqual([gt.x[0], gt.y[0], gt.z[0]], [3.980972, -2.006119, -0.010086]);
  assert.equal(gt.columns.intensity[0], ptsIntensityToU16(-1035));
  assert.deepEqual([gt.columns.red[0], gt.columns.green[0], gt.columns.blue[0]], [97 * 257, 59 * 257, 38 * 257]);
  assert.equal(Math.min(...gt.x), -25.050461);

  const path = sharedData("pointcloud", "bunnyData.pts");
  const fs = await fileSource(path);
  try {
    const b = await openPts(fs, { blockBytes: 65536 });
    assert.equal(b.pointCount, 30_571);
    assert.deepEqual(b.schema, { columns: [], extra: [] });
    const gb = await gather(b);
    assert.equal(gb.count, 30_571);
    assert.ok(fs.maxRead <= 65536);
    // Independent: count the non-empty lines after the first, and compare a few values.
    const lines = readFileSync(path, "latin1").split(/\r?\n/).filter((l) => l.trim() !== "");
    assert.equal(lines.length - 1, 30_571);
    for (const i of [0, 15_000, 30_570]) {
      const v = lines[i + 1].trim().split(/\s+/).map(Number);
      assert.deepEqual([gb.x[i], gb.y[i], gb.z[i]], v);
    }
  } finally {
    await fs.close();
  }
});

test("XYZ golden: separators, comments, header names, column-count layouts", async () => {
  const text = "# exported\n// another comment\n1.5\t2.5\t3.5\t255\t0\t1\n  4;5;6;1;2;3 \r\n\n7,8,9,10,20,30\n# trailing comment\n";
  const r = await openXyz(src(text, "g.xyz"), { chunkPoints: 2, blockBytes: 9 });
  assert.equal(r.pointCount, undefined);
  assert.deepEqual(r.schema.columns, ["red", "green", "blue"]);
  const g = await gather(r);
  assert.deepEqual(g.chunkSizes, [2, 1]);
  assert.deepEqual(g.x, [1.5, 4, 7]);
  assert.deepEqual(g.z, [3.5, 6, 9]);
  assert.deepEqual(g.columns.red, [65535, 257, 2570]);
  assert.deepEqual(g.columns.blue, [257, 771, 7710]);

  // Header line of names: mapped by name, unknown names become extra attributes.
  const h = await openXyz(src("X Y Z Intensity nx ny nz Deviation\n1 2 3 70000 0 0 1 0.25\n", "h.txt"));
  assert.deepEqual(h.schema.columns, ["intensity", "normalX", "normalY", "normalZ"]);
  assert.deepEqual(h.schema.extra, [{ name: "Deviation", type: "f64" }]);
  const gh = await gather(h);
  assert.deepEqual(gh.columns.intensity, [65535]);
  assert.deepEqual(gh.columns.normalZ, [1]);
  assert.deepEqual(gh.extra.Deviation, [0.25]);

  // Column counts without a header.
  assert.deepEqual((await openXyz(src("1 2 3\n"))).schema.columns, []);
  assert.deepEqual((await openXyz(src("1 2 3 9\n"))).schema.columns, ["intensity"]);
  assert.deepEqual((await openXyz(src("1 2 3 9 9 9 9\n"))).schema.columns, ["red", "green", "blue", "intensity"]);
  assert.deepEqual((await openXyz(src("1 2 3 9 9 9 0 0 1\n"))).schema.columns, ["red", "green", "blue", "normalX", "normalY", "normalZ"]);
  const five = await openXyz(src("1 2 3 4 5\n"));
  assert.deepEqual(five.schema.extra.map((e) => e.name), ["column4", "column5"]);
  assert.deepEqual((await gather(five)).extra.column5, [5]);
  // Empty file: an empty cloud.
  assert.equal((await gather(await openXyz(src("# nothing\n")))).count, 0);
});

test("XYZ sample: points_agisoft.xyz (x y z r g b)", async () => {
  const bytes = readFileSync(sharedData("pointcloud", "points_agisoft.xyz"));
  const r = await openXyz(bytesSource(bytes, "points_agisoft.xyz"));
  assert.deepEqual(r.schema.columns, ["red", "green", "blue"]);
  const g = await gather(r);
  const lines = bytes.toString("latin1").split("\n").filter((l) => l.trim() !== "");
  assert.equal(lines.length, 100);
  assert.equal(g.count, 100);
  const last = lines[99].trim().split(/\s+/).map(Number);
  assert.deepEqual([g.x[99], g.y[99], g.z[99]], last.slice(0, 3));
  assert.deepEqual([g.columns.red[99], g.columns.green[99], g.columns.blue[99]], last.slice(3).map((v) => v * 257));
  // Bounds from SOURCES.md (rounded to 3 decimals there).
  assert.ok(Math.abs(Math.min(...g.x) - 665171.375) < 1e-3);
  assert.ok(Math.abs(Math.max(...g.z) - 245.903) < 1e-3);
});

test("text readers: malformed input gives FormatError with file and offset", async () => {
  const bad = "1 2 3\n4 x 6\n";
  const e1 = await expectFormatError(gather(await openXyz(src(bad, "a.xyz"))), /not a number: "x"/, "a.xyz");
  assert.equal(e1.offset, bad.indexOf("x"));
  const e2 = await expectFormatError(gather(await openXyz(src("1 2 3\n4 5\n", "b.xyz"))), /expected 3 columns but found 2/, "b.xyz");
  assert.equal(e2.offset, 6);
  await expectFormatError(openXyz(src("a b c\nd e f\n1 2 3\n", "c.xyz")), /not a number: "d"/, "c.xyz");
  await expectFormatError(openXyz(src("x y\n1 2\n", "d.xyz")), /no "z" column/, "d.xyz");
  await expectFormatError(openXyz(src("x y z\n1 2 3 4\n", "e.xyz")), /names 3 columns but the first point has 4/, "e.xyz");
  await expectFormatError(openXyz(src("1 2\n", "f.xyz")), /at least 3 columns/, "f.xyz");
  // PTS count mismatches, both ways.
  const e3 = await expectFormatError(gather(await openPts(src("3\n1 2 3\n4 5 6\n", "g.pts"))), /states 3 points but holds 2/, "g.pts");
  assert.equal(e3.offset, "3\n1 2 3\n4 5 6\n".length);
  await expectFormatError(gather(await openPts(src("1\n1 2 3\n4 5 6\n", "h.pts"))), /states 1 points but holds 2/, "h.pts");
  await expectFormatError(gather(await openPts(src("2\n1 2 3\n1\n4 5 6\n", "i.pts"))), /precede the next count line/, "i.pts");
  await expectFormatError(openPts(src("abc\n1 2 3\n", "j.pts")), /neither a point count nor a point/, "j.pts");
  await expectFormatError(openPts(src("5\n", "k.pts")), /states 5 points but holds none/, "k.pts");
  // A line without newline longer than the limit must stop, not buffer forever.
  const huge = new Uint8Array(3 << 20).fill(0x31);
  huge[huge.length - 1] = 10;
  await expectFormatError(openXyz(bytesSource(huge, "l.xyz")), /line longer than/, "l.xyz");
});
