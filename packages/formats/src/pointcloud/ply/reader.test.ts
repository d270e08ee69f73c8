import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource, FormatError } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import { fileSource, gather } from "../text/test-util.js";
import { openPly } from "./reader.js";
import { readPlyHeader } from "./header.js";

const enc = new TextEncoder();

/** Concatenates text and binary parts into one file image. */
function bytesOf(...parts: (string | Uint8Array)[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** Little helper to write binary records field by field. */
class Writer {
  private buf = new DataView(new ArrayBuffer(4096));
  private n = 0;
  constructor(private le: boolean) {}
  f64(v: number) { this.buf.setFloat64(this.n, v, this.le); this.n += 8; return this; }
  f32(v: number) { this.buf.setFloat32(this.n, v, this.le); this.n += 4; return this; }
  i32(v: number) { this.buf.setInt32(this.n, v, this.le); this.n += 4; return this; }
  u16(v: number) { this.buf.setUint16(this.n, v, this.le); this.n += 2; return this; }
  i8(v: number) { this.buf.setInt8(this.n, v); this.n += 1; return this; }
  u8(v: number) { this.buf.setUint8(this.n, v); this.n += 1; return this; }
  bytes() { return new Uint8Array(this.buf.buffer, 0, this.n).slice(); }
}

async function expectFormatError(p: Promise<unknown>, re: RegExp, name = "bad.ply"): Promise<FormatError> {
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

test("PLY golden: binary little and big endian, faces before vertices, types and mappings", async () => {
  for (const le of [true, false]) {
    const fmt = le ? "binary_little_endian" : "binary_big_endian";
    const header =
      `ply\nformat ${fmt} 1.0\ncomment golden\nobj_info test\n` +
      "element face 2\nproperty list uchar int vertex_indices\nproperty uchar flag\n" +
      "element vertex 3\nproperty double x\nproperty double y\nproperty float z\n" +
      "property ushort red\nproperty ushort green\nproperty ushort blue\nproperty uchar alpha\n" +
      "property char quality\nproperty int32 label\nproperty float nx\nproperty float ny\nproperty float nz\n" +
      "element edge 1\nproperty int vertex1\nproperty int vertex2\nend_header\n";
    const w = new Writer(le);
    w.u8(3).i32(0).i32(1).i32(2).u8(7); // face 0
    w.u8(4).i32(0).i32(1).i32(2).i32(0).u8(9); // face 1
    const rows = [
      [1.5, -2.25, 3.75, 65535, 0, 1000, 255, -5, 123456, 0, 0, 1],
      [1e6 + 0.125, 2e6, -0.5, 1, 2, 3, 0, 127, -7, 1, 0, 0],
      [0, 0, 0, 40000, 30000, 20000, 10, -128, 0, 0, 1, 0],
    ];
    for (const r of rows) w.f64(r[0]).f64(r[1]).f32(r[2]).u16(r[3]).u16(r[4]).u16(r[5]).u8(r[6]).i8(r[7]).i32(r[8]).f32(r[9]).f32(r[10]).f32(r[11]);
    w.i32(0).i32(1); // edge after the vertices: never read
    const reader = await openPly(bytesSource(bytesOf(header, w.bytes()), "golden.ply"), { chunkPoints: 2 });
    assert.equal(reader.pointCount, 3);
    assert.deepEqual(reader.header.comments, ["golden"]);
    assert.deepEqual(reader.header.objInfo, ["test"]);
    assert.deepEqual(reader.schema.columns, ["red", "green", "blue", "normalX", "normalY", "normalZ"]);
    assert.deepEqual(reader.schema.extra, [
      { name: "quality", type: "i8" },
      { name: "label", type: "i32" },
    ]);
    const g = await gather(reader);
    assert.deepEqual(g.chunkSizes, [2, 1]);
    assert.deepEqual(g.x, [1.5, 1e6 + 0.125, 0]);
    assert.deepEqual(g.y, [-2.25, 2e6, 0]);
    assert.deepEqual(g.z, [3.75, -0.5, 0]);
    assert.deepEqual(g.columns.red, [65535, 1, 40000]);
    assert.deepEqual(g.columns.green, [0, 2, 30000]);
    assert.deepEqual(g.columns.blue, [1000, 3, 20000]);
    assert.deepEqual(g.columns.normalX, [0, 1, 0]);
    assert.deepEqual(g.columns.normalZ, [1, 0, 0]);
    assert.deepEqual(g.extra.quality, [-5, 127, -128]);
    assert.deepEqual(g.extra.label, [123456, -7, 0]);
  }
});

test("PLY golden: ASCII with a face element first, uchar colours x257, float intensity, lines split across reads", async () => {
  const text =
    "ply\r\nformat ascii 1.0\r\ncomment crlf file\r\nelement face 1\r\nproperty list uchar int vertex_indices\r\n" +
    "element vertex 4\r\nproperty float x\r\nproperty float y\r\nproperty float z\r\nproperty uchar r\r\nproperty uchar g\r\n" +
    "property uchar b\r\nproperty float intensity\r\nproperty list uchar float texcoord\r\nproperty double weight\r\nend_header\r\n" +
    "3 0 1 2\r\n" +
    "0.5 1.25 -3 255 0 128 0.5 2 0.1 0.2 7\r\n" +
    "1e3  -2.5e-1\t4 1 2 3 1 0 -1.5\r\n" +
    "\r\n" +
    "-0 0 0 0 0 0 0 1 9 nan\r\n" +
    "10 20 30 10 20 30 2 3 1 2 3 123456789.123456789";
  for (const blockBytes of [7, 64, 1 << 20]) {
    const reader = await openPly(bytesSource(enc.encode(text), "ascii.ply"), { chunkPoints: 3, blockBytes });
    assert.deepEqual(reader.schema.columns, ["red", "green", "blue", "intensity"]);
    assert.deepEqual(reader.schema.extra, [{ name: "weight", type: "f64" }]);
    const g = await gather(reader);
    assert.deepEqual(g.chunkSizes, [3, 1]);
    assert.deepEqual(g.x, [0.5, 1000, -0, 10]);
    assert.deepEqual(g.y, [1.25, -0.25, 0, 20]);
    assert.deepEqual(g.z, [-3, 4, 0, 30]);
    assert.deepEqual(g.columns.red, [65535, 257, 0, 2570]);
    assert.deepEqual(g.columns.green, [0, 514, 0, 5140]);
    assert.deepEqual(g.columns.blue, [128 * 257, 771, 0, 7710]);
    assert.deepEqual(g.columns.intensity, [32768, 65535, 0, 65535]);
    assert.deepEqual(g.extra.weight.slice(0, 2), [7, -1.5]);
    assert.ok(Number.isNaN(g.extra.weight[2]));
    assert.equal(g.extra.weight[3], 123456789.123456789);
  }
});

test("PLY golden: binary vertices with a list property (variable-size records), read through a small window", async () => {
  const header =
    "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty list uchar ushort ids\n" +
    "property float y\nproperty float z\nproperty uchar intensity\nend_header\n";
  const w = new Writer(true);
  w.f32(1).u8(2).u16(7).u16(8).f32(2).f32(3).u8(255);
  w.f32(4).u8(0).f32(5).f32(6).u8(1);
  w.f32(7).u8(1).u16(9).f32(8).f32(9).u8(0);
  const bytes = bytesOf(header, w.bytes(), new Uint8Array([1, 2]));
  const reader = await openPly(bytesSource(bytes, "var.ply"), { chunkPoints: 2 });
  assert.deepEqual(reader.schema.columns, ["intensity"]);
  assert.deepEqual(reader.schema.extra, []);
  const g = await gather(reader);
  assert.deepEqual(g.x, [1, 4, 7]);
  assert.deepEqual(g.y, [2, 5, 8]);
  assert.deepEqual(g.z, [3, 6, 9]);
  assert.deepEqual(g.columns.intensity, [65535, 257, 0]);
  // Two stray bytes after the last vertex: read fine, but noted.
  assert.equal(reader.warnings.length, 1);
  assert.match(reader.warnings[0], /2 bytes after the last vertex/);
  // Truncated inside the last record.
  await expectFormatError(gather(await openPly(bytesSource(bytes.subarray(0, bytes.length - 6), "bad.ply"))), /ends inside vertex 2 of 3/);
});

test("PLY reading stops when aborted", async () => {
  const src = await fileSource(sharedData("pointcloud", "fragment_002.ply"));
  try {
    const reader = await openPly(src, { chunkPoints: 1000 });
    const ac = new AbortController();
    let chunks = 0;
    await assert.rejects(async () => {
      for await (const _ of reader.chunks(ac.signal)) {
        if (++chunks === 2) ac.abort();
      }
    });
    assert.equal(chunks, 2);
  } finally {
    await src.close();
  }
});

test("PLY samples: fragment_002.ply (binary, double xyz + uchar rgb) against an independent decode", async () => {
  const path = sharedData("pointcloud", "fragment_002.ply");
  const src = await fileSource(path);
  try {
    const reader = await openPly(src);
    assert.equal(reader.pointCount, 112_698);
    assert.deepEqual(reader.schema.columns, ["red", "green", "blue"]);
    assert.deepEqual(reader.schema.extra, []);
    const g = await gather(reader);
    assert.equal(g.count, 112_698);
    assert.deepEqual(g.chunkSizes, [65_536, 112_698 - 65_536]);
    assert.ok(src.maxRead < src.size, "reads in ranges, not the whole file");
    // Independent decode: records of 27 bytes right after "end_header\n".
    const raw = readFileSync(path);
    const start = raw.indexOf("end_header\n") + "end_header\n".length;
    assert.equal(raw.length - start, 112_698 * 27);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let minX = Infinity;
    let maxZ = -Infinity;
    for (const i of [0, 1, 65_535, 65_536, 112_697]) {
      const o = start + i * 27;
      assert.equal(g.x[i], dv.getFloat64(o, true));
      assert.equal(g.y[i], dv.getFloat64(o + 8, true));
      assert.equal(g.z[i], dv.getFloat64(o + 16, true));
      assert.equal(g.columns.red[i], raw[o + 24] * 257);
      assert.equal(g.columns.blue[i], raw[o + 26] * 257);
    }
    for (let i = 0; i < g.count; i++) {
      minX = Math.min(minX, g.x[i]);
      maxZ = Math.max(maxZ, g.z[i]);
    }
    // Bounds stated in SOURCES.md (rounded to 4 decimals there).
    assert.ok(Math.abs(minX - -1.4492) < 1e-4);
    assert.ok(Math.abs(maxZ - 2.8542) < 1e-4);
  } finally {
    await src.close();
  }
});

test("PLY samples: train-1000.ply (gaussian splats: normals and 56 float extras)", async () => {
  const reader = await openPly(bytesSource(readFileSync(sharedData("pointcloud", "train-1000.ply")), "train-1000.ply"));
  assert.equal(reader.pointCount, 1000);
  assert.deepEqual(reader.schema.columns, ["normalX", "normalY", "normalZ"]);
  assert.equal(reader.schema.extra.length, 62 - 6);
  assert.ok(reader.schema.extra.every((e) => e.type === "f32"));
  assert.equal(reader.schema.extra[0].name, "f_dc_0");
  const g = await gather(reader);
  assert.equal(g.count, 1000);
  const minX = Math.min(...g.x);
  const maxZ = Math.max(...g.z);
  assert.ok(Math.abs(minX - -13.021) < 1e-3 && Math.abs(maxZ - 13.8217) < 1e-4);
  assert.equal(g.extra.rot_3.length, 1000);
});

test("PLY samples: mesh PLYs read as points, faces ignored", async () => {
  // bunny.ply: ASCII, float intensity (0..1) and confidence; 8,171 vertices then 16,301 faces.
  const bunnyText = readFileSync(sharedData("mesh", "bunny.ply"), "latin1");
  const bunny = await openPly(bytesSource(enc.encode(bunnyText), "bunny.ply"));
  assert.deepEqual(bunny.schema.columns, ["intensity"]);
  assert.deepEqual(bunny.schema.extra, [{ name: "confidence", type: "f32" }]);
  const gb = await gather(bunny);
  const lines = bunnyText.split("end_header\n")[1].split("\n");
  assert.equal(gb.count, 8171);
  // Independent count: vertex lines have 5 values, face lines start with "3 ".
  assert.equal(lines.filter((l) => l.trim().split(/\s+/).length === 5).length, 8171);
  const last = lines[8170].trim().split(/\s+/).map(Number);
  assert.equal(gb.x[8170], last[0]);
  assert.equal(gb.extra.confidence[8170], last[3]);
  assert.equal(gb.columns.intensity[0], 32768);

  // fuze.ply: binary, RGBA vertices (alpha ignored) then faces with lists.
  const fuze = await openPly(bytesSource(readFileSync(sharedData("mesh", "fuze.ply")), "fuze.ply"));
  assert.deepEqual(fuze.schema.columns, ["red", "green", "blue"]);
  assert.deepEqual(fuze.schema.extra, []);
  const gf = await gather(fuze);
  assert.equal(gf.count, 502);
  assert.ok(Math.abs(Math.max(...gf.z) - 0.2191) < 1e-4);
  assert.ok(gf.columns.red.every((v) => v % 257 === 0));

  // ankylosaurus_mesh.ply: ASCII 3.5 MB, rgb + normals; read by ranges.
  const path = sharedData("mesh", "ankylosaurus_mesh.ply");
  const src = await fileSource(path);
  try {
    const anky = await openPly(src);
    assert.deepEqual(anky.schema.columns, ["red", "green", "blue", "normalX", "normalY", "normalZ"]);
    const ga = await gather(anky);
    assert.equal(ga.count, 34_820);
    assert.ok(src.maxRead <= 1 << 20);
    const text = readFileSync(path, "latin1");
    const vlines = text.split("end_header\n")[1].split("\n").filter((l) => l.trim().split(/\s+/).length === 9);
    assert.equal(vlines.length, 34_820);
    for (const i of [0, 20_000, 34_819]) {
      const v = vlines[i].trim().split(/\s+/).map(Number);
      assert.equal(ga.x[i], v[0]);
      assert.equal(ga.z[i], v[2]);
      assert.equal(ga.columns.green[i], v[4] * 257);
      assert.equal(ga.columns.normalZ[i], Math.fround(v[8]));
    }
  } finally {
    await src.close();
  }
});

test("PLY header is read from small ranges", async () => {
  const src = await fileSource(sharedData("pointcloud", "fragment_002.ply"));
  try {
    const h = await readPlyHeader(src);
    assert.equal(h.format, "binary_little_endian");
    assert.equal(h.elements[0].count, 112_698);
    assert.ok(src.maxRead <= 16384);
  } finally {
    await src.close();
  }
});

test("PLY malformed input: FormatError with file name and offset", async () => {
  const vhead = "element vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
  // Truncated binary: 2 vertices announced, 1.5 present.
  const w = new Writer(true).f32(1).f32(2).f32(3).f32(4).f32(5);
  const trunc = bytesOf("ply\nformat binary_little_endian 1.0\n" + vhead, w.bytes());
  const e1 = await expectFormatError(gather(await openPly(bytesSource(trunc, "bad.ply"))), /ends inside vertex 1 of 2/);
  assert.equal(e1.offset, trunc.length);
  // Truncated binary inside a list element before the vertices.
  const lhead = "ply\nformat binary_big_endian 1.0\nelement face 2\nproperty list uchar int idx\n" + vhead;
  const lw = new Writer(false).u8(3).i32(1).i32(2).i32(3).u8(200).i32(1);
  await expectFormatError(gather(await openPly(bytesSource(bytesOf(lhead, lw.bytes()), "bad.ply"))), /ends inside face 1 of 2/);
  // ASCII: a non-numeric token, reported at its byte offset.
  const asciiHead = "ply\nformat ascii 1.0\n" + vhead;
  const bad = asciiHead + "1 2 3\n4 five 6\n";
  const e2 = await expectFormatError(gather(await openPly(bytesSource(enc.encode(bad), "bad.ply"))), /not a number: "five"/);
  assert.equal(e2.offset, bad.indexOf("five"));
  // ASCII: wrong value count, and fewer vertices than announced.
  await expectFormatError(gather(await openPly(bytesSource(enc.encode(asciiHead + "1 2 3\n4 5\n"), "bad.ply"))), /has 2 values, expected 3/);
  await expectFormatError(gather(await openPly(bytesSource(enc.encode(asciiHead + "1 2 3\n"), "bad.ply"))), /after 1 of 2 vertices/);
  const extra = asciiHead + "1 2 3\n4 5 6\n7 8 9\n";
  const e3 = await expectFormatError(gather(await openPly(bytesSource(enc.encode(extra), "bad.ply"))), /more data than the 2 vertices/);
  assert.equal(e3.offset, extra.indexOf("7 8 9"));
  // Header problems.
  await expectFormatError(openPly(bytesSource(enc.encode("plx\nformat ascii 1.0\nend_header\n"), "bad.ply")), /not a PLY/);
  await expectFormatError(openPly(bytesSource(enc.encode("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"), "bad.ply")), /no end_header/);
  await expectFormatError(openPly(bytesSource(enc.encode("ply\nformat ascii 1.0\nelement vertex 1\nproperty quad x\nend_header\n"), "bad.ply")), /unknown property type/);
  await expectFormatError(openPly(bytesSource(enc.encode("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n1 2\n"), "bad.ply")), /no scalar "z"/);
  await expectFormatError(openPly(bytesSource(enc.encode("ply\nformat ascii 1.0\nelement face 1\nproperty float x\nend_header\n"), "bad.ply")), /no vertex element/);
});
