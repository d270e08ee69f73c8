import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource } from "../../io/byte-source.js";
import type { PointChunk, PointSchema } from "../chunk.js";
import { sharedData } from "../../testing/shared-data.js";
import { openE57 } from "./reader.js";
import { E57Writer, writeE57ToBytes, applyE57Patches, type E57ScanInput } from "./writer.js";
import { PagedReader, physicalToLogical } from "./paged.js";
import { webE57Points } from "./web-e57-oracle.js";

const load = (name: string): Uint8Array => new Uint8Array(readFileSync(sharedData("pointcloud", name)));

async function all(it: AsyncIterable<PointChunk>): Promise<PointChunk[]> {
  const out: PointChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

/** Reads every scan of a file into memory as writer input. */
async function scansOf(name: string): Promise<{ schema: PointSchema; scans: { name: string; chunks: PointChunk[] }[] }> {
  const r = await openE57(bytesSource(load(name), name));
  const scans = [];
  for (let i = 0; i < r.scans.length; i++) scans.push({ name: r.scans[i].name ?? `scan${i}`, chunks: await all(r.scanChunks(i)) });
  return { schema: r.schema, scans };
}

function flat(chunks: PointChunk[], key: string): number[] {
  const out: number[] = [];
  for (const c of chunks) {
    const p = c.positions;
    const arr =
      key === "x" || key === "y" || key === "z"
        ? (p[key] as ArrayLike<number>)
        : ((c as unknown as Record<string, ArrayLike<number>>)[key] ?? c.extra![key]);
    for (let i = 0; i < c.count; i++) out.push(arr[i]);
  }
  return out;
}

for (const file of ["bunnyInt32.e57", "A_B.e57", "pumpAVisualReferenceImage.e57"]) {
  for (const twoPass of [false, true]) {
    test(`round trip ${file} (${twoPass ? "two-pass" : "single-pass"}): same points, colours, intensities; web-e57 agrees`, async () => {
      const { schema, scans } = await scansOf(file);
      const input: E57ScanInput[] = scans.map((s) => ({
        name: s.name,
        schema,
        chunks: twoPass ? () => s.chunks : s.chunks,
      }));
      const bytes = await writeE57ToBytes(input);
      const r = await openE57(bytesSource(bytes, "out.e57"));
      assert.deepEqual(r.scans.map((s) => [s.name, s.pointCount]), scans.map((s) => [s.name, flat(s.chunks, "x").length]));
      assert.deepEqual(r.schema.columns, schema.columns);
      // Extra attributes (pumpA's rowIndex/columnIndex) keep their standard E57 names and types.
      assert.deepEqual(r.schema.extra.map((e) => [e.name, e.type]), schema.extra.map((e) => [e.name, e.type]));
      const expected = scans.flatMap((s) => s.chunks);
      const got = await all(r.chunks());
      const keys = ["x", "y", "z", ...schema.columns, ...schema.extra.map((e) => e.name)];
      for (const k of keys) assert.deepEqual(flat(got, k), flat(expected, k), k);
      // Independent reader: same count, same coordinates (f64 written as Float double: exact), same 8-bit colours.
      const oracle = await webE57Points(bytes);
      const xs = flat(expected, "x");
      const ys = flat(expected, "y");
      const zs = flat(expected, "z");
      assert.equal(oracle.length, xs.length);
      const red = schema.columns.includes("red") ? flat(expected, "red") : undefined;
      for (let i = 0; i < oracle.length; i++) {
        assert.deepEqual(oracle[i].slice(0, 3), [xs[i], ys[i], zs[i]]);
        if (red) assert.equal(oracle[i][3], Math.round(red[i] / 257));
      }
    });
  }
}

/** bunny as LAS-style scaled integers: raw = round((x - offset) / scale). */
async function bunnyI32(scale: number, offset: [number, number, number]): Promise<PointChunk[]> {
  const { scans } = await scansOf("bunnyInt32.e57");
  return scans[0].chunks.map((c) => {
    const q = (a: Float64Array, o: number): Int32Array => Int32Array.from(a, (v) => Math.round((v - o) / scale));
    const p = c.positions as { x: Float64Array; y: Float64Array; z: Float64Array };
    return {
      count: c.count,
      positions: { kind: "i32", x: q(p.x, offset[0]), y: q(p.y, offset[1]), z: q(p.z, offset[2]), scale: [scale, scale, scale], offset },
    } satisfies PointChunk;
  });
}

test("i32 positions are written as ScaledInteger with their scale/offset, read back within the scale", async () => {
  const offset: [number, number, number] = [100, -200, 5];
  const chunks = await bunnyI32(1e-5, offset);
  const raw = flat(chunks, "x");
  const rawMin = Math.min(...raw.slice(0, 10000), ...raw.slice(10000));
  for (const twoPass of [false, true]) {
    const bytes = await writeE57ToBytes([
      { name: "bunny", schema: { columns: [], extra: [] }, chunks: twoPass ? () => chunks : chunks },
    ]);
    const r = await openE57(bytesSource(bytes, "i32.e57"));
    const fx = r.scans[0].fields[0];
    assert.equal(fx.type, "ScaledInteger");
    assert.equal(fx.scale, 1e-5);
    assert.equal(fx.offset, 100);
    if (twoPass) {
      // Bounds from the data: fewer bits than the 32 of the single-pass range.
      assert.equal(fx.minimum, rawMin);
      assert.ok(fx.bits < 32);
    } else {
      assert.deepEqual([fx.minimum, fx.maximum, fx.bits], [-2147483648, 2147483647, 32]);
    }
    const got = await all(r.chunks());
    const gx = flat(got, "x");
    const gz = flat(got, "z");
    const rz = flat(chunks, "z");
    assert.equal(gx.length, raw.length);
    for (let i = 0; i < raw.length; i++) {
      assert.equal(gx[i], raw[i] * 1e-5 + 100);
      assert.equal(gz[i], rz[i] * 1e-5 + 5);
    }
    const oracle = await webE57Points(bytes);
    assert.equal(oracle.length, raw.length);
    for (let i = 0; i < raw.length; i += 97) assert.ok(Math.abs(oracle[i][0] - (raw[i] * 1e-5 + 100)) < 1e-9);
    // cartesianBounds come from the written values.
    const b = r.scans[0].cartesianBounds!;
    assert.ok(Math.abs(b[0] - (rawMin * 1e-5 + 100)) < 1e-12);
  }
});

test("CRS, pose, gpsTime and returns are written and read back", async () => {
  const n = 1000;
  const chunk: PointChunk = {
    count: n,
    positions: {
      kind: "f64",
      x: Float64Array.from({ length: n }, (_, i) => i * 0.5),
      y: Float64Array.from({ length: n }, (_, i) => -i),
      z: Float64Array.from({ length: n }, (_, i) => Math.sin(i)),
    },
    intensity: Uint16Array.from({ length: n }, (_, i) => (i * 131) % 65536),
    gpsTime: Float64Array.from({ length: n }, (_, i) => 1e9 + i / 7),
    returnNumber: Uint8Array.from({ length: n }, (_, i) => 1 + (i % 3)),
    numberOfReturns: Uint8Array.from({ length: n }, () => 3),
    classification: Uint8Array.from({ length: n }, (_, i) => (i * 11) % 32),
    normalX: new Float32Array(n).fill(1),
    normalY: new Float32Array(n),
    normalZ: new Float32Array(n),
  };
  const columns = ["intensity", "classification", "returnNumber", "numberOfReturns", "gpsTime", "normalX", "normalY", "normalZ"] as const;
  const schema: PointSchema = { columns: [...columns], extra: [] };
  const wkt = 'PROJCS["Test & <one>",GEOGCS["WGS 84"]]';
  // 90° about +Z, then translate.
  const s = Math.SQRT1_2;
  const pose = { rotation: [s, 0, 0, s] as [number, number, number, number], translation: [10, 20, 30] as [number, number, number] };
  const bytes = await writeE57ToBytes([{ name: "synthetic", schema, chunks: [chunk], options: { crs: wkt, pose } }]);
  const r = await openE57(bytesSource(bytes, "pose.e57"));
  assert.equal(r.crs, wkt);
  assert.deepEqual(r.schema.columns, columns);
  assert.deepEqual(r.scans[0].fields.slice(3).map((f) => f.name), [
    "intensity", "timeStamp", "returnIndex", "returnCount", "realconv:classification", "nor:normalX", "nor:normalY", "nor:normalZ",
  ]);
  const got = (await all(r.chunks()))[0];
  for (let i = 0; i < n; i++) {
    // R(90° z): (x, y) → (-y, x)
    assert.ok(Math.abs(got.positions.x[i] - (i + 10)) < 1e-9);
    assert.ok(Math.abs(got.positions.y[i] - (i * 0.5 + 20)) < 1e-9);
    assert.ok(Math.abs(got.positions.z[i] - (Math.sin(i) + 30)) < 1e-9);
  }
  assert.deepEqual(got.intensity, chunk.intensity);
  assert.deepEqual(got.gpsTime, chunk.gpsTime);
  assert.deepEqual(got.returnNumber, chunk.returnNumber);
  assert.deepEqual(got.numberOfReturns, chunk.numberOfReturns);
  assert.deepEqual(got.classification, chunk.classification);
  // Normals turn with the pose's rotation: +X becomes +Y.
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(got.normalX![i]) < 1e-6 && Math.abs(got.normalY![i] - 1) < 1e-6 && Math.abs(got.normalZ![i]) < 1e-6);
  }
  assert.equal((await webE57Points(bytes)).length, n);

  const w = new E57Writer(() => {}, { crs: "EPSG:4326" });
  await assert.rejects(w.addScan("a", schema, [chunk], { crs: wkt }), /one CRS/);
});

test("the writer streams: blocks of at most 64 KiB, whole-page patches, packets of at most 64 KiB", async () => {
  const { schema, scans } = await scansOf("pumpAVisualReferenceImage.e57");
  const pieces: Uint8Array[] = [];
  const w = new E57Writer((b) => {
    pieces.push(b);
  });
  await w.addScan("pumpA", { columns: schema.columns, extra: [] }, scans[0].chunks);
  await w.addScan("empty", { columns: [], extra: [] }, []);
  const { patches, fileLength } = await w.finish();
  assert.ok(pieces.every((p) => p.length <= 65536 && p.length % 1024 === 0));
  assert.equal(pieces.reduce((a, p) => a + p.length, 0), fileLength);
  assert.ok(patches.length >= 1 && patches.length <= 5);
  assert.ok(patches.every((p) => p.bytes.length === 1024 && p.offset % 1024 === 0));
  const file = new Uint8Array(fileLength);
  let o = 0;
  for (const p of pieces) (file.set(p, o), (o += p.length));
  applyE57Patches(file, patches);

  const r = await openE57(bytesSource(file, "stream.e57"));
  assert.deepEqual(r.scans.map((s) => s.pointCount), [155_201, 0]);
  assert.deepEqual((await all(r.scanChunks(1))).length, 0);
  // Walk the data packets of scan 0.
  const paged = new PagedReader(bytesSource(file, "stream.e57"), fileLength / 1024);
  const sec = physicalToLogical(r.scans[0].sectionOffset)!;
  const head = (await paged.read(sec, 32)).slice();
  const dv = new DataView(head.buffer);
  const end = sec + Number(dv.getBigUint64(8, true));
  let pos = physicalToLogical(Number(dv.getBigUint64(16, true)))!;
  let packets = 0;
  while (pos < end) {
    const h = await paged.read(pos, 4);
    const len = (h[2] | (h[3] << 8)) + 1;
    assert.equal(h[0], 1);
    assert.ok(len <= 65536 && len % 4 === 0);
    pos += len;
    packets++;
  }
  assert.equal(pos, end);
  assert.ok(packets > 10);
  assert.equal((await webE57Points(file)).length, 155_201);
});

test("extra attributes: standard names stay, others become realconv: extension fields and come back", async () => {
  const n = 300;
  const chunk: PointChunk = {
    count: n,
    positions: { kind: "f64", x: new Float64Array(n).map((_, i) => i), y: new Float64Array(n), z: new Float64Array(n) },
    extra: {
      rowIndex: Float64Array.from({ length: n }, (_, i) => i % 17),
      "Amplitude (dB)": Float64Array.from({ length: n }, (_, i) => Math.fround(i / 3)),
      "3rd": Float64Array.from({ length: n }, (_, i) => 5 - i),
      big: Float64Array.from({ length: n }, (_, i) => i * 1e12),
    },
  };
  const schema: PointSchema = {
    columns: [],
    extra: [
      { name: "rowIndex", type: "u32" },
      { name: "Amplitude (dB)", type: "f32" },
      { name: "3rd", type: "i16" },
      { name: "big", type: "i64" },
    ],
  };
  for (const twoPass of [false, true]) {
    const bytes = await writeE57ToBytes([{ name: "x", schema, chunks: twoPass ? () => [chunk] : [chunk] }]);
    const r = await openE57(bytesSource(bytes, "extra.e57"));
    assert.deepEqual(r.scans[0].fields.slice(3).map((f) => f.name), [
      "rowIndex", "realconv:Amplitude__dB_", "realconv:_3rd", "realconv:big",
    ]);
    assert.deepEqual(r.schema.extra.map((e) => e.name), ["rowIndex", "Amplitude__dB_", "_3rd", "big"]);
    const got = (await all(r.chunks()))[0];
    assert.deepEqual(got.extra!.rowIndex, chunk.extra!.rowIndex);
    assert.deepEqual(got.extra!.Amplitude__dB_, chunk.extra!["Amplitude (dB)"]);
    assert.deepEqual(got.extra!._3rd, chunk.extra!["3rd"]);
    assert.deepEqual(got.extra!.big, chunk.extra!.big);
    assert.equal((await webE57Points(bytes)).length, n);
  }
});

test("i32 chunks with another scale/offset are requantized; NaN coordinates leave no bounds", async () => {
  const a: PointChunk = {
    count: 2,
    positions: { kind: "i32", x: Int32Array.of(0, 100), y: Int32Array.of(0, 0), z: Int32Array.of(0, 0), scale: [0.01, 0.01, 0.01], offset: [0, 0, 0] },
  };
  const b: PointChunk = {
    count: 2,
    positions: { kind: "i32", x: Int32Array.of(5, 7), y: Int32Array.of(1, 2), z: Int32Array.of(0, 0), scale: [0.1, 0.1, 0.1], offset: [10, 0, 0] },
  };
  const r = await openE57(bytesSource(await writeE57ToBytes([{ name: "q", schema: { columns: [], extra: [] }, chunks: [a, b] }]), "q.e57"));
  const got = (await all(r.chunks()))[0];
  assert.deepEqual(Array.from(got.positions.x), [0, 1, 10.5, 10.700000000000001]);
  assert.deepEqual(Array.from(got.positions.y), [0, 0, 0.1, 0.2]);

  const nan: PointChunk = { count: 1, positions: { kind: "f64", x: Float64Array.of(NaN), y: Float64Array.of(1), z: Float64Array.of(2) } };
  const rn = await openE57(bytesSource(await writeE57ToBytes([{ name: "n", schema: { columns: [], extra: [] }, chunks: [nan] }]), "n.e57"));
  assert.equal(rn.scans[0].cartesianBounds, undefined);
  assert.ok(Number.isNaN((await all(rn.chunks()))[0].positions.x[0]));
});

test("a section header that straddles two pages is patched in both", async () => {
  const mk = (k: number): PointChunk => ({
    count: k,
    positions: { kind: "f64", x: new Float64Array(k).map((_, i) => i), y: new Float64Array(k), z: new Float64Array(k) },
  });
  const none: PointSchema = { columns: [], extra: [] };
  // 38 points of 24 bytes put the second section header 16 bytes before the end of page 0's payload.
  const bytes = await writeE57ToBytes([
    { name: "a", schema: none, chunks: [mk(38)] },
    { name: "b", schema: none, chunks: [mk(3)] },
  ]);
  const r = await openE57(bytesSource(bytes, "straddle.e57"));
  assert.equal(r.scans[1].sectionOffset, 1004);
  assert.deepEqual((await all(r.chunks())).map((c) => c.count), [38, 3]);
  assert.equal((await webE57Points(bytes)).length, 41);
});
