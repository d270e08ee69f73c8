import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import type { PointChunk, PointSchema } from "../chunk.js";
import { lazPerf } from "../../testing/lazperf-decode.js";
import { openLasOrLaz } from "./open.js";
import type { LasReader } from "./reader.js";
import { chooseLasFormat, chooseScaleOffset, encodeLas, LasWriter, writeLasOnePass, writeLasStream } from "./writer.js";

const file = (name: string) => bytesSource(new Uint8Array(readFileSync(sharedData("pointcloud", name))), name);

function tinyCloud(): { schema: PointSchema; chunk: PointChunk } {
  return {
    schema: {
      columns: ["intensity", "returnNumber", "numberOfReturns", "classification", "gpsTime", "red", "green", "blue"],
      extra: [{ name: "range", type: "f32" }],
    },
    chunk: {
      count: 3,
      positions: { kind: "i32", x: Int32Array.of(0, 150, -20), y: Int32Array.of(0, 75, 1000), z: Int32Array.of(100, 250, -5), scale: [0.01, 0.01, 0.01], offset: [1000, 2000, 0] },
      intensity: Uint16Array.of(10, 2000, 65535),
      returnNumber: Uint8Array.of(1, 1, 2),
      numberOfReturns: Uint8Array.of(1, 2, 2),
      classification: Uint8Array.of(2, 5, 6),
      gpsTime: Float64Array.of(1.5, 2.25, 3.125),
      red: Uint16Array.of(256, 512, 65535),
      green: Uint16Array.of(0, 1, 2),
      blue: Uint16Array.of(7, 8, 9),
      extra: { range: Float64Array.of(0.5, 12.25, -3) },
    },
  };
}

/**
 * The expected file: LAS 1.2, format 3 + 4 extra bytes (f32 "range"), WKT VLR, extra-bytes VLR, 3 points.
 * Verified when it was checked in: read back by this reader (all values above, bounds 999.8..1001.5,
 * 2000..2010, -0.05..2.5, returns [2, 1]) and by laz-perf's LASZip (3 points, format 3, 38-byte records,
 * same record bytes); the test below repeats both checks.
 */
const GOLDEN = "TEFTRgAAAAAAAAAAAAAAAAAAAAAAAAAAAQJPVEhFUgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAHJlYWxjb252AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgDoB+MAKQIAAAIAAAADJgADAAAAAgAAAAEAAAAAAAAAAAAAAAAAAAB7FK5H4XqEP3sUrkfheoQ/exSuR+F6hD8AAAAAAECPQAAAAAAAQJ9AAAAAAAAAAAAAAAAAAEyPQGZmZmZmPo9AAAAAAABon0AAAAAAAECfQAAAAAAAAARAmpmZmZmZqb8AAExBU0ZfUHJvamVjdGlvbgBACBoAT0dDIFdLVCBjb29yZGluYXRlIHN5c3RlbQAAAAAAAABMT0NBTF9DU1sicmVhbGNvbnYgdGVzdCJdAAAATEFTRl9TcGVjAAAAAAAAAAQAwABFeHRyYSBieXRlcwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACQByYW5nZQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAZAAAAAoACQIAAAAAAAAAAAAA+D8AAQAABwAAAAA/lgAAAEsAAAD6AAAA0AcRBQAAAAAAAAAAAAACQAACAQAIAAAAREHs////6AMAAPv//////xIGAAAAAAAAAAAAAAlA//8CAAkAAABAwA==";

test("golden file: a tiny known cloud encodes to the checked-in bytes", async () => {
  const { schema, chunk } = tinyCloud();
  const bytes = await encodeLas({ schema, crs: 'LOCAL_CS["realconv test"]', creationDate: new Date(Date.UTC(2024, 0, 2)) }, [chunk]);
  assert.equal(Buffer.from(bytes).toString("base64"), GOLDEN);

  const r = await openLasOrLaz(bytesSource(bytes, "golden.las"));
  assert.equal(r.header.pdrf, 3);
  assert.equal(r.header.recordLength, 38);
  assert.equal(r.crs, 'LOCAL_CS["realconv test"]');
  assert.deepEqual(r.header.bounds, [999.8, 2000, -0.05, 1001.5, 2010, 2.5]);
  assert.deepEqual(r.header.pointsByReturn.slice(0, 5), [2, 1, 0, 0, 0]);
  assert.deepEqual(r.schema.extra, [{ name: "range", type: "f32" }]);
  const chunks: PointChunk[] = [];
  for await (const c of r.chunks()) chunks.push(c);
  const c = chunks[0];
  assert.deepEqual(c.positions, chunk.positions);
  for (const col of schema.columns) assert.deepEqual(c[col], chunk[col], col);
  assert.deepEqual(c.extra, chunk.extra);

  // An independent reader: laz-perf's LASZip on the uncompressed bytes gives the same records.
  const m = await lazPerf();
  const p = m._malloc(bytes.byteLength);
  m.HEAPU8.set(bytes, p);
  const z = new m.LASZip();
  try {
    z.open(p, bytes.byteLength);
    assert.equal(z.getCount(), 3);
    assert.equal(z.getPointFormat(), 3);
    assert.equal(z.getPointLength(), 38);
    const pt = m._malloc(38);
    for (let i = 0; i < 3; i++) {
      z.getPoint(pt);
      assert.deepEqual(m.HEAPU8.slice(pt, pt + 38), bytes.slice(553 + 38 * i, 553 + 38 * (i + 1)), `record ${i}`);
    }
    m._free(pt);
  } finally {
    z.delete();
    m._free(p);
  }
});

async function roundTrip(r: LasReader, bytesOut: Uint8Array, label: string) {
  const back = await openLasOrLaz(bytesSource(bytesOut, label), { chunkPoints: r.chunkPoints });
  assert.deepEqual(back.schema, r.schema, label);
  assert.equal(back.pointCount, r.pointCount, label);
  assert.equal(back.header.pdrf, r.header.pdrf, label);
  const a = r.chunks()[Symbol.asyncIterator]();
  const b = back.chunks()[Symbol.asyncIterator]();
  for (;;) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    assert.equal(x.done, y.done, label);
    if (x.done || y.done) break;
    assert.deepEqual(y.value.positions, x.value.positions, label);
    for (const col of r.schema.columns) assert.deepEqual(y.value[col], x.value[col], `${label} ${col}`);
    assert.deepEqual(y.value.extra, x.value.extra, label);
  }
  // Header bounds are recomputed from the points; they must enclose them exactly.
  for (let k = 0; k < 6; k++) assert.ok(Math.abs(back.header.bounds[k] - r.header.bounds[k]) < 0.011, `${label} bound ${k}`);
  assert.equal(back.crs, r.crs, label);
}

test("round trip read -> write -> read on every shared LAS/LAZ file keeps every column and position", async () => {
  for (const name of ["1.2-with-color.las", "autzen_trim.las", "epsg_4326.las", "mvk-thin.las", "1_4_w_evlr.las", "file_with_both_wkt_and_geotiff_vlrs.las", "append-bug.laz", "1.2-with-color.copc.laz"]) {
    const r = await openLasOrLaz(file(name), { chunkPoints: 20_000 });
    const opts = {
      schema: r.schema,
      pdrf: r.header.pdrf,
      scale: r.header.scale,
      offset: r.header.offset,
      crs: r.crs,
      extraBytes: r.extraBytes.map((e) => ({ name: e.name, type: e.type, scale: e.scale, valueOffset: e.valueOffset })),
    };
    const parts: Uint8Array[] = [];
    for await (const part of writeLasStream(opts, () => r.chunks())) parts.push(part);
    const out = Buffer.concat(parts);
    await roundTrip(r, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), name);
    // The same file in one pass (header statistics patched at the end), encoding the points or copying
    // the source's records as they are.
    for (const source of [{ chunks: () => r.chunks() }, { records: () => r.records() }]) {
      const one = writeLasOnePass(opts, r.pointCount, source);
      const parts: Uint8Array[] = [];
      for await (const part of one.stream) parts.push(part);
      const file = Buffer.concat(parts);
      for (const p of one.patches()) file.set(p.bytes, p.offset);
      assert.ok(file.equals(out), `${name}: one pass (${"records" in source ? "copied" : "encoded"}) = two passes`);
      assert.deepEqual([...one.bounds()!], [...(await boundsOf(r))], `${name}: bounds`);
    }
  }
});

async function boundsOf(r: LasReader): Promise<Float64Array> {
  const b = new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
  for await (const c of r.chunks()) {
    const p = c.positions;
    if (p.kind !== "i32") throw new Error("LAS positions are integers");
    const axes = [p.x, p.y, p.z];
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < c.count; i++) {
        const v = axes[a][i] * p.scale[a] + p.offset[a];
        if (v < b[a]) b[a] = v;
        if (v > b[a + 3]) b[a + 3] = v;
      }
    }
  }
  return b;
}

test("one pass: a source giving another number of points than announced fails", async () => {
  const r = await openLasOrLaz(file("autzen_trim.las"), { chunkPoints: 20_000 });
  const opts = { schema: r.schema, pdrf: r.header.pdrf, scale: r.header.scale, offset: r.header.offset };
  const one = writeLasOnePass(opts, r.pointCount + 1, { records: () => r.records() });
  await assert.rejects(async () => {
    for await (const part of one.stream) void part;
  }, /announced 110001 points and gave 110000/);
  assert.throws(() => one.patches(), /once the stream has ended/);
});

test("format choice and 1.4 output with WKT bit, counts by return", async () => {
  assert.equal(chooseLasFormat({ columns: ["intensity"], extra: [] }), 0);
  assert.equal(chooseLasFormat({ columns: ["gpsTime"], extra: [] }), 1);
  assert.equal(chooseLasFormat({ columns: ["red", "green", "blue"], extra: [] }), 2);
  assert.equal(chooseLasFormat({ columns: ["red", "green", "blue", "gpsTime"], extra: [] }), 3);
  assert.equal(chooseLasFormat({ columns: ["scannerChannel"], extra: [] }), 6);
  assert.equal(chooseLasFormat({ columns: ["scannerChannel", "red"], extra: [] }), 7);
  assert.equal(chooseLasFormat({ columns: ["nir", "red"], extra: [] }), 8);

  const r = await openLasOrLaz(file("1_4_w_evlr.las"));
  const w = new LasWriter({ schema: r.schema, crs: r.crs });
  assert.equal(w.pdrf, 6);
  const parts: Uint8Array[] = [];
  for await (const c of r.chunks()) parts.push(w.encode(c));
  const head = w.header();
  assert.equal(head.byteLength, w.headerLength);
  const back = await openLasOrLaz(bytesSource(new Uint8Array(Buffer.concat([head, ...parts])), "14.las"));
  assert.equal(back.header.version, "1.4");
  assert.equal(back.header.globalEncoding & 0x10, 0x10);
  assert.equal(back.pointCount, 1000);
  assert.equal(back.header.legacyPointCount, 0);
  assert.deepEqual(back.header.pointsByReturn, r.header.pointsByReturn);
  assert.equal(back.crs, r.crs);
});

test("double positions get a scale that keeps their precision", async () => {
  assert.deepEqual(chooseScaleOffset([636001.76, 848935.2, 406.26, 637179.22, 849497.9, 520.51]).scale, [0.001, 0.001, 0.001]);
  const small = chooseScaleOffset([-0.095, 0.04, -0.062, 0.061, 0.187, 0.059]);
  assert.ok(small.scale[0] <= 1e-6);
  const huge = chooseScaleOffset([-2e7, 0, 0, 2e7, 1, 1]);
  assert.ok(4e7 / huge.scale[0] < 2 ** 31);

  const n = 1000;
  const x = new Float64Array(n), y = new Float64Array(n), z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = 500000 + i * 0.001;
    y[i] = 4000000 - i * 0.123;
    z[i] = Math.sin(i) * 10;
  }
  const chunk: PointChunk = { count: n, positions: { kind: "f64", x, y, z } };
  const bytes = await encodeLas({ schema: { columns: [], extra: [] } }, [chunk]);
  const r = await openLasOrLaz(bytesSource(bytes, "f64.las"));
  for await (const c of r.chunks()) {
    const p = c.positions;
    assert.equal(p.kind, "i32");
    if (p.kind !== "i32") break;
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(p.x[i] * p.scale[0] + p.offset[0] - x[i]) <= p.scale[0] / 2 + 1e-9);
      assert.ok(Math.abs(p.z[i] * p.scale[2] + p.offset[2] - z[i]) <= p.scale[2] / 2 + 1e-9);
    }
  }
  assert.throws(() => new LasWriter({ schema: { columns: [], extra: [] }, scale: [0.001, 0.001, 0.001], offset: [0, 0, 0] }).encode({ count: 1, positions: { kind: "f64", x: Float64Array.of(1e9), y: Float64Array.of(0), z: Float64Array.of(0) } }), /does not fit/);
});

test("extra bytes keep their storage type, scale and offset", async () => {
  const chunk: PointChunk = {
    count: 3,
    positions: { kind: "i32", x: Int32Array.of(1, 2, 3), y: Int32Array.of(4, 5, 6), z: Int32Array.of(7, 8, 9), scale: [0.01, 0.01, 0.01], offset: [0, 0, 0] },
    extra: { temp: Float64Array.of(20, 25.5, -3.2), id: Float64Array.of(0, 2 ** 40, 7) },
  };
  const schema: PointSchema = { columns: [], extra: [{ name: "temp", type: "i16" }, { name: "id", type: "u64" }] };
  const bytes = await encodeLas({ schema, extraBytes: [{ name: "temp", type: "i16", scale: 0.1, valueOffset: 20, description: "temperature" }] }, [chunk]);
  const r = await openLasOrLaz(bytesSource(bytes, "eb.las"));
  assert.equal(r.header.recordLength, 20 + 2 + 8);
  assert.deepEqual(
    r.extraBytes.map((e) => [e.name, e.type, e.offset, e.scale, e.valueOffset, e.description]),
    [["temp", "i16", 20, 0.1, 20, "temperature"], ["id", "u64", 22, 1, 0, ""]],
  );
  for await (const c of r.chunks()) {
    const t = c.extra!.temp;
    assert.ok(Math.abs(t[0] - 20) < 1e-9 && Math.abs(t[1] - 25.5) < 1e-9 && Math.abs(t[2] + 3.2) < 1e-9, `${t}`);
    assert.deepEqual(c.extra!.id, Float64Array.of(0, 2 ** 40, 7));
    // Raw storage: (25.5 - 20) / 0.1 = 55 in the record's int16.
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getInt16(r.header.offsetToPointData + 30 + 20, true), 55);
  }
});
