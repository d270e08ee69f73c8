import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource } from "../../io/byte-source.js";
import { readLasHeader } from "../las/header.js";
import { parseLaszipVlr, readChunkTable, type LazChunk } from "../laz/chunk-table.js";
import { lazPerf } from "../laz/reader.js";
import { writeLazFile } from "../lazenc/laz-file.js";
import { prng } from "../lazenc/test-support.js";
import { sharedData } from "../../testing/shared-data.js";
import { decodePointwiseChunk, PointwiseChunkDecoder } from "./decoder.js";

interface LazFile {
  pdrf: number;
  recordLength: number;
  compressor: number;
  chunks: LazChunk[];
}

async function openLazBytes(laz: Uint8Array): Promise<LazFile> {
  const src = bytesSource(laz, "test.laz");
  const h = await readLasHeader(src);
  const vlr = h.vlrs.find((r) => r.userId === "laszip encoded" && r.recordId === 22204);
  assert.ok(vlr, "laszip VLR");
  const lz = parseLaszipVlr(vlr.data, "test.laz", vlr.dataOffset);
  return { pdrf: h.pdrf, recordLength: h.recordLength, compressor: lz.compressor, chunks: await readChunkTable(src, h, lz) };
}

/** The reference: laz-perf's ChunkDecoder (LASzip's C++ decoder in WASM) on one chunk. */
async function lazPerfChunk(bytes: Uint8Array, pdrf: number, rl: number, count: number): Promise<Uint8Array> {
  const m = await lazPerf();
  const cptr = m._malloc(bytes.length + 64);
  const optr = m._malloc(rl);
  const decoder = new m.ChunkDecoder();
  try {
    m.HEAPU8.fill(0, cptr, cptr + bytes.length + 64);
    m.HEAPU8.set(bytes, cptr);
    decoder.open(pdrf, rl, cptr);
    const out = new Uint8Array(count * rl);
    for (let i = 0; i < count; i++) {
      decoder.getPoint(optr);
      out.set(m.HEAPU8.subarray(optr, optr + rl), i * rl);
    }
    return out;
  } finally {
    decoder.delete();
    m._free(optr);
    m._free(cptr);
  }
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Decodes chunks of a LAZ file with our decoder and laz-perf; they must agree byte for byte. */
async function checkFile(laz: Uint8Array, maxChunks = Infinity): Promise<{ chunks: number; points: number; pdrf: number }> {
  const f = await openLazBytes(laz);
  assert.equal(f.compressor, 2, "point-wise chunked");
  let points = 0;
  const n = Math.min(f.chunks.length, maxChunks);
  for (let c = 0; c < n; c++) {
    const ch = f.chunks[c];
    const bytes = laz.subarray(ch.start, ch.start + ch.byteLength);
    const ref = await lazPerfChunk(bytes, f.pdrf, f.recordLength, ch.pointCount);
    const ours = decodePointwiseChunk(bytes, f.pdrf, f.recordLength, ch.pointCount);
    const d = firstDiff(ours, ref);
    assert.equal(d, -1, `chunk ${c}: first difference at byte ${d} (record ${Math.floor(d / f.recordLength)}, field byte ${d % f.recordLength})`);
    points += ch.pointCount;
  }
  return { chunks: n, points, pdrf: f.pdrf };
}

function read(name: string): Uint8Array {
  return new Uint8Array(readFileSync(sharedData("pointcloud", name)));
}

test("LASzip-written autzen_trim.laz: every chunk matches laz-perf", async () => {
  const r = await checkFile(read("autzen_trim.laz"));
  assert.equal(r.pdrf, 3);
  assert.ok(r.points > 100_000);
});

test("LASzip-written indoor.laz: first 3 chunks match laz-perf", async () => {
  const r = await checkFile(read("indoor.laz"), 3);
  assert.equal(r.chunks, 3);
});

for (const [name, pdrf] of [
  ["1.2-with-color.las", 3],
  ["epsg_4326.las", 0],
  ["mvk-thin.las", 1],
] as const) {
  test(`our encoder's LAZ of ${name} (PDRF ${pdrf}): every chunk matches laz-perf`, async () => {
    // small chunks so that several chunks and chunk restarts are covered
    const laz = writeLazFile(read(name), { chunkSize: 5000 });
    const r = await checkFile(laz);
    assert.equal(r.pdrf, pdrf);
    assert.ok(r.chunks >= 1 && r.points > 0);
  });
}

/** A LAS 1.2 file around raw records (only what the encoder reads). */
function makeLas(pointFormat: number, recordLength: number, records: Uint8Array): Uint8Array {
  const n = records.length / recordLength;
  const out = new Uint8Array(227 + records.length);
  const dv = new DataView(out.buffer);
  out.set([0x4c, 0x41, 0x53, 0x46], 0);
  out[24] = 1;
  out[25] = 2;
  dv.setUint16(94, 227, true);
  dv.setUint32(96, 227, true);
  out[104] = pointFormat;
  dv.setUint16(105, recordLength, true);
  dv.setUint32(107, n, true);
  for (let i = 0; i < 3; i++) dv.setFloat64(131 + 8 * i, 0.01, true);
  out.set(records, 227);
  return out;
}

test("synthetic PDRF 2 and 3 with extra bytes, GPS jumps and wide coordinates match laz-perf", async () => {
  const rnd = prng(7);
  for (const [pdrf, rl] of [
    [2, 26 + 3],
    [3, 34 + 5],
    [1, 28],
    [0, 20 + 1],
  ] as const) {
    const n = 3000;
    const rec = new Uint8Array(n * rl);
    const dv = new DataView(rec.buffer);
    let t = 1e9;
    for (let i = 0; i < n; i++) {
      const o = i * rl;
      // mostly smooth, sometimes huge jumps (k up to 32) and repeats
      const jump = rnd() < 0.05;
      dv.setInt32(o, jump ? (rnd() * 4294967296) | 0 : 1000 + i * 3 + ((rnd() * 20) | 0), true);
      dv.setInt32(o + 4, jump ? (rnd() * 4294967296) | 0 : -2000 + i, true);
      dv.setInt32(o + 8, (rnd() < 0.1 ? rnd() * 4294967296 : rnd() * 500) | 0, true);
      dv.setUint16(o + 12, rnd() < 0.5 ? 100 : (rnd() * 65536) | 0, true);
      const nret = 1 + ((rnd() * 7) | 0);
      rec[o + 14] = (1 + ((rnd() * nret) | 0)) | (nret << 3) | (rnd() < 0.3 ? 0x40 : 0) | (rnd() < 0.1 ? 0x80 : 0);
      rec[o + 15] = rnd() < 0.8 ? 2 : (rnd() * 256) | 0;
      rec[o + 16] = rnd() < 0.7 ? 5 : (rnd() * 256) | 0;
      rec[o + 17] = rnd() < 0.9 ? 0 : (rnd() * 256) | 0;
      dv.setUint16(o + 18, rnd() < 0.9 ? 7 : (rnd() * 65536) | 0, true);
      let p = 20;
      if (pdrf === 1 || pdrf === 3) {
        const u = rnd();
        if (u < 0.02) t = rnd() * 1e12;
        else if (u < 0.04) t = -t;
        else if (u < 0.5) t += 0.00001 * ((rnd() * 5) | 0);
        else if (u < 0.52) t += 1e6 * rnd();
        dv.setFloat64(o + p, t, true);
        p += 8;
      }
      if (pdrf === 2 || pdrf === 3) {
        const grey = rnd() < 0.3;
        const r = (rnd() * 65536) | 0;
        dv.setUint16(o + p, r, true);
        dv.setUint16(o + p + 2, grey ? r : (rnd() * 65536) | 0, true);
        dv.setUint16(o + p + 4, grey ? r : rnd() < 0.5 ? r ^ 0xff : (rnd() * 65536) | 0, true);
        p += 6;
      }
      for (; p < rl; p++) rec[o + p] = rnd() < 0.5 ? i & 0xff : (rnd() * 256) | 0;
    }
    const laz = writeLazFile(makeLas(pdrf, rl, rec), { chunkSize: 1000 });
    const r = await checkFile(laz);
    assert.equal(r.points, n);
    // and the records are the originals
    const f = await openLazBytes(laz);
    const all = new Uint8Array(n * rl);
    let at = 0;
    for (const ch of f.chunks) {
      decodePointwiseChunk(laz.subarray(ch.start, ch.start + ch.byteLength), pdrf, rl, ch.pointCount).forEach((b, i) => (all[at + i] = b));
      at += ch.pointCount * rl;
    }
    assert.equal(firstDiff(all, rec), -1, `PDRF ${pdrf}`);
  }
});

test("decodes into a caller's buffer and accepts a 1-point chunk", async () => {
  const laz = writeLazFile(read("1.2-with-color.las"), { chunkSize: 1 });
  const f = await openLazBytes(laz);
  const ch = f.chunks[1];
  const out = new Uint8Array(f.recordLength * 2);
  const got = decodePointwiseChunk(laz.subarray(ch.start, ch.start + ch.byteLength), f.pdrf, f.recordLength, 1, out);
  assert.equal(got, out);
  const ref = await lazPerfChunk(laz.subarray(ch.start, ch.start + ch.byteLength), f.pdrf, f.recordLength, 1);
  assert.deepEqual(got.subarray(0, f.recordLength), ref);
});

test("random and truncated chunks terminate (garbage out, no hang, no crash)", () => {
  const rnd = prng(99);
  for (const [pdrf, rl] of [
    [0, 20],
    [1, 28],
    [2, 26],
    [3, 34 + 4],
  ] as const) {
    for (let trial = 0; trial < 20; trial++) {
      const len = trial === 0 ? 0 : (rnd() * 3000) | 0;
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = trial % 5 === 1 ? 0xff : (rnd() * 256) | 0;
      const out = decodePointwiseChunk(bytes, pdrf, rl, 5000);
      assert.equal(out.length, 5000 * rl);
    }
  }
});

test("rejects formats and record lengths it cannot decode", () => {
  assert.throws(() => new PointwiseChunkDecoder(6, 30), RangeError);
  assert.throws(() => new PointwiseChunkDecoder(3, 30), RangeError);
  assert.throws(() => decodePointwiseChunk(new Uint8Array(40), 0, 20, -1), RangeError);
});
