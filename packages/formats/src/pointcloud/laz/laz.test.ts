import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource, FormatError, type ByteSource } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import type { ColumnName, PointChunk } from "../chunk.js";
import { openLasOrLaz } from "../las/open.js";
import { decodeRecords } from "../las/records.js";
import type { LasReader } from "../las/reader.js";
import { decodeWithLazPerf } from "../../testing/lazperf-decode.js";
import { openLaz } from "./reader.js";

const bytesOf = (name: string) => new Uint8Array(readFileSync(sharedData("pointcloud", name)));
const file = (name: string) => bytesSource(bytesOf(name), name);

/** Concatenates a reader's chunks into one chunk (small files only). */
async function readWhole(r: LasReader): Promise<PointChunk> {
  const parts: PointChunk[] = [];
  for await (const c of r.chunks()) parts.push(c);
  const count = parts.reduce((n, c) => n + c.count, 0);
  const cat = <T extends { length: number; set(a: ArrayLike<number>, o: number): void }>(get: (c: PointChunk) => T, make: (n: number) => T) => {
    const out = make(count);
    let at = 0;
    for (const p of parts) {
      out.set(get(p) as unknown as ArrayLike<number>, at);
      at += p.count;
    }
    return out;
  };
  const first = parts[0];
  const out: PointChunk = {
    count,
    positions: {
      kind: "i32",
      x: cat((c) => (c.positions as { x: Int32Array }).x, (n) => new Int32Array(n)),
      y: cat((c) => (c.positions as { y: Int32Array }).y, (n) => new Int32Array(n)),
      z: cat((c) => (c.positions as { z: Int32Array }).z, (n) => new Int32Array(n)),
      scale: (first.positions as { scale: readonly [number, number, number] }).scale,
      offset: (first.positions as { offset: readonly [number, number, number] }).offset,
    },
  };
  for (const col of r.schema.columns) {
    const ctor = (first[col] as unknown as { constructor: new (n: number) => never }).constructor;
    (out as unknown as Record<string, unknown>)[col] = cat((c) => c[col] as never, (n) => new ctor(n));
  }
  if (r.schema.extra.length) {
    out.extra = {};
    for (const e of r.schema.extra) out.extra[e.name] = cat((c) => c.extra![e.name], (n) => new Float64Array(n));
  }
  return out;
}

function assertSamePoints(a: PointChunk, b: PointChunk, columns: ColumnName[], label: string) {
  assert.equal(a.count, b.count, label);
  assert.deepEqual(a.positions, b.positions, `${label} positions`);
  for (const c of columns) assert.deepEqual(a[c], b[c], `${label} ${c}`);
  assert.deepEqual(a.extra, b.extra, `${label} extra`);
}

test("LAZ and LAS twins give identical points (autzen_trim)", async () => {
  const las = await openLasOrLaz(file("autzen_trim.las"));
  const laz = await openLasOrLaz(file("autzen_trim.laz"));
  assert.equal(laz.compression, "laz");
  assert.equal(las.compression, "las");
  assert.deepEqual(laz.schema, las.schema);
  assert.equal(laz.crs, las.crs);
  assertSamePoints(await readWhole(laz), await readWhole(las), las.schema.columns, "autzen_trim");
});

test("chunk-table decoding matches laz-perf's whole-file reader (point-wise 1.2, layered 1.4 with extra bytes, COPC)", async () => {
  for (const [name, count, pdrf] of [
    ["append-bug.laz", 37_805, 8],
    ["1.2-with-color.copc.laz", 1065, 7],
    ["autzen_trim.laz", 110_000, 3],
  ] as const) {
    const bytes = bytesOf(name);
    const r = await openLaz(bytesSource(bytes, name), { chunkPoints: 7000 });
    assert.equal(r.pointCount, count, name);
    assert.equal(r.header.pdrf, pdrf, name);
    const ref = await decodeWithLazPerf(bytes);
    assert.equal(ref.count, count);
    assertSamePoints(await readWhole(r), decodeRecords(ref.records, ref.count, r.layout), r.schema.columns, name);
  }
});

test("indoor.laz reads all 808,042 points with bounded reads", async () => {
  const inner = file("indoor.laz");
  let maxRead = 0;
  const src: ByteSource = { size: inner.size, name: inner.name, read: (o, l) => ((maxRead = Math.max(maxRead, l)), inner.read(o, l)) };
  const r = await openLasOrLaz(src);
  let n = 0;
  let maxChunk = 0;
  for await (const c of r.chunks()) {
    n += c.count;
    maxChunk = Math.max(maxChunk, c.count);
  }
  assert.equal(n, 808_042);
  assert.equal(maxChunk, 65_536);
  // The largest read is one compressed LAZ chunk (50,000 points), far below the 1.6 MB file.
  assert.ok(maxRead < inner.size / 4, `largest read ${maxRead} of ${inner.size}`);
});

test("append-bug.laz exposes both extra-bytes attributes and the WKT CRS", async () => {
  const r = await openLasOrLaz(file("append-bug.laz"));
  assert.deepEqual(
    r.schema.extra.map((e) => [e.name, e.type]),
    [["Deviation", "u16"], ["confidence", "u8"]],
  );
  assert.ok(r.schema.columns.includes("nir"));
  assert.match(r.crs!, /Lambert-93/);
  assert.ok(!r.warnings.some((w) => /disagree/.test(w)));
});

test("truncated LAZ and waveform LAZ formats fail with FormatError naming the file", async () => {
  const full = bytesOf("autzen_trim.laz");
  await assert.rejects(
    async () => {
      const r = await openLasOrLaz(bytesSource(full.subarray(0, 300_000), "cut.laz"));
      for await (const c of r.chunks()) void c;
    },
    (e: unknown) => e instanceof FormatError && e.file === "cut.laz" && /chunk table/.test(e.message),
  );
  // Format 4 (waveform) marked compressed: laz-perf has no decompressor for it.
  const wave = full.slice();
  wave[104] = 0x80 | 4;
  new DataView(wave.buffer).setUint16(105, 57, true);
  await assert.rejects(openLasOrLaz(bytesSource(wave, "wave.laz")), (e: unknown) => e instanceof FormatError && e.file === "wave.laz" && /format 4/.test(e.message));
  // A chunk table entry pointing past the table: corrupt chunk table.
  const ptr = Number(new DataView(full.buffer).getBigInt64(new DataView(full.buffer).getUint32(96, true), true));
  const badTable = full.slice();
  new DataView(badTable.buffer).setUint32(ptr + 4, 5_000_000, true);
  await assert.rejects(openLasOrLaz(bytesSource(badTable, "table.laz")), (e: unknown) => e instanceof FormatError && e.file === "table.laz");
});

test("corrupted bytes never crash or hang: either a complete read or a FormatError", async () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const name of ["1.2-with-color.copc.laz", "1.2-with-color.las", "1_4_w_evlr.las"]) {
    const full = bytesOf(name);
    for (let t = 0; t < 24; t++) {
      let b: Uint8Array;
      if (t % 3 === 0) b = full.subarray(0, Math.floor(rnd() * full.length));
      else {
        b = full.slice();
        // Either a few bytes of the header/VLR area, or a 64-byte run anywhere.
        const run = t % 3 === 1 ? 1 : 64;
        for (let k = 0; k < (run === 1 ? 4 : 1); k++) {
          const at = Math.floor(rnd() * (run === 1 ? Math.min(b.length, 1500) : b.length));
          for (let j = 0; j < run && at + j < b.length; j++) b[at + j] = Math.floor(rnd() * 256);
        }
      }
      try {
        const r = await openLasOrLaz(bytesSource(b, name));
        let n = 0;
        for await (const c of r.chunks()) n += c.count;
        assert.equal(n, r.pointCount, `${name} case ${t}`);
      } catch (e) {
        assert.ok(e instanceof FormatError, `${name} case ${t}: ${e}`);
        assert.equal(e.file, name);
      }
    }
  }
});

test("a chunk table offset of -1 is found in the last 8 bytes of the file", async () => {
  const full = bytesOf("1.2-with-color.copc.laz");
  const v = new DataView(full.buffer, full.byteOffset);
  const pointStart = v.getUint32(96, true);
  const tableAt = v.getBigInt64(pointStart, true);
  const patched = new Uint8Array(full.byteLength + 8);
  patched.set(full);
  const pv = new DataView(patched.buffer);
  pv.setBigInt64(pointStart, -1n, true);
  pv.setBigInt64(full.byteLength, tableAt, true);
  const a = await openLaz(bytesSource(patched, "tail.laz"));
  const b = await openLaz(bytesSource(full, "orig.laz"));
  assert.deepEqual(a.lazChunks, b.lazChunks);
  assertSamePoints(await readWhole(a), await readWhole(b), b.schema.columns, "tail");
});
