import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource } from "../../io/byte-source.js";
import { readLasHeader } from "../las/header.js";
import { parseLaszipVlr, readChunkTable, type LazChunk } from "../laz/chunk-table.js";
import { decodeChunkWithLazPerf } from "../../testing/lazperf-decode.js";
import { writeLazFile } from "../lazenc/laz-file.js";
import { firstDifference, makeLas, prng } from "../../testing/laz-records.js";
import { sharedData } from "../../testing/shared-data.js";
import { LazChunkError } from "./chunk-decoder.js";
import { chunkDecoder, decodeChunk } from "./chunk.js";

interface LazFile {
  pdrf: number;
  recordLength: number;
  chunks: LazChunk[];
}

async function openLazBytes(laz: Uint8Array): Promise<LazFile> {
  const src = bytesSource(laz, "test.laz");
  const h = await readLasHeader(src);
  const vlr = h.vlrs.find((r) => r.userId === "laszip encoded" && r.recordId === 22204);
  assert.ok(vlr, "laszip VLR");
  const lz = parseLaszipVlr(vlr.data, "test.laz", vlr.dataOffset);
  return { pdrf: h.pdrf, recordLength: h.recordLength, chunks: await readChunkTable(src, h, lz) };
}

const chunkBytes = (laz: Uint8Array, ch: LazChunk) => laz.subarray(ch.start, ch.start + ch.byteLength);

/** Every chunk (up to `maxChunks`) decoded by us and by laz-perf: they must agree byte for byte. */
async function checkFile(laz: Uint8Array, maxChunks = Infinity): Promise<{ chunks: number; points: number; pdrf: number }> {
  const f = await openLazBytes(laz);
  let points = 0;
  const n = Math.min(f.chunks.length, maxChunks);
  for (let c = 0; c < n; c++) {
    const ch = f.chunks[c];
    const ref = await decodeChunkWithLazPerf(chunkBytes(laz, ch), f.pdrf, f.recordLength, ch.pointCount);
    const ours = decodeChunk(chunkBytes(laz, ch), f.pdrf, f.recordLength, ch.pointCount);
    const d = firstDifference(ours, ref);
    assert.equal(d, -1, `chunk ${c}: first difference at byte ${d} (record ${Math.floor(d / f.recordLength)}, field byte ${d % f.recordLength})`);
    points += ch.pointCount;
  }
  return { chunks: n, points, pdrf: f.pdrf };
}

const read = (name: string) => new Uint8Array(readFileSync(sharedData("pointcloud", name)));

for (const [name, pdrf] of [
  ["autzen_trim.laz", 3],
  ["indoor.laz", 3],
  ["append-bug.laz", 8],
  ["1.2-with-color.copc.laz", 7],
] as const) {
  test(`LASzip-written ${name} (PDRF ${pdrf}): every chunk matches laz-perf, every stream ends at its chunk's end`, async () => {
    const laz = read(name);
    const r = await checkFile(laz);
    assert.equal(r.pdrf, pdrf);
    // where the streams end, exactly (decodeChunk allows a little slack; LASzip needs none)
    const f = await openLazBytes(laz);
    for (const ch of f.chunks) {
      const d = chunkDecoder(chunkBytes(laz, ch), f.pdrf, f.recordLength, ch.pointCount);
      d.decode(new Uint8Array(ch.pointCount * f.recordLength), 0, ch.pointCount);
      for (const e of d.streamEnds()) assert.equal(e.end, e.expected, `${e.stream} of the chunk at ${ch.start}`);
    }
  });
}

for (const [name, pdrf] of [
  ["1.2-with-color.las", 3],
  ["epsg_4326.las", 0],
  ["mvk-thin.las", 1],
  ["1_4_w_evlr.las", 6],
  ["file_with_both_wkt_and_geotiff_vlrs.las", 6],
] as const) {
  test(`our encoder's LAZ of ${name} (PDRF ${pdrf}): every chunk matches laz-perf`, async () => {
    // small chunks so that several chunks and chunk restarts are covered
    const laz = writeLazFile(read(name), { chunkSize: 5000 });
    const r = await checkFile(laz);
    assert.equal(r.pdrf, pdrf);
    assert.ok(r.chunks >= 1 && r.points > 0);
  });
}

test("synthetic PDRF 0-3 with extra bytes, GPS jumps and wide coordinates match laz-perf and the originals", async () => {
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
    const f = await openLazBytes(laz);
    const all = new Uint8Array(n * rl);
    let at = 0;
    for (const ch of f.chunks) {
      all.set(decodeChunk(chunkBytes(laz, ch), pdrf, rl, ch.pointCount), at);
      at += ch.pointCount * rl;
    }
    assert.equal(firstDifference(all, rec), -1, `PDRF ${pdrf}`);
  }
});

test("piecewise decoding equals whole-chunk decoding; a caller's buffer is used when large enough", async () => {
  for (const name of ["autzen_trim.laz", "append-bug.laz"]) {
    const laz = read(name);
    const f = await openLazBytes(laz);
    const ch = f.chunks[0];
    const rl = f.recordLength;
    const whole = decodeChunk(chunkBytes(laz, ch), f.pdrf, rl, ch.pointCount);
    const d = chunkDecoder(chunkBytes(laz, ch), f.pdrf, rl, ch.pointCount);
    const pieces = new Uint8Array(ch.pointCount * rl);
    for (let at = 0, step = 1; at < ch.pointCount; at += step, step = step * 3 + 1) d.decode(pieces, at * rl, Math.min(step, ch.pointCount - at));
    assert.equal(firstDifference(pieces, whole), -1, name);
    const into = new Uint8Array(ch.pointCount * rl + 7);
    assert.equal(decodeChunk(chunkBytes(laz, ch), f.pdrf, rl, ch.pointCount, undefined, into).buffer, into.buffer);
  }
});

/** A PDRF 8 chunk re-laid as PDRF 10: an empty wave packet layer after NIR, 29 bytes more per record. */
function asWaveformChunk(chunk: Uint8Array, extraBytes: number): Uint8Array {
  const layersBefore = 9 + 2;
  const head = 38 + extraBytes + 4 + 4 * layersBefore;
  const out = new Uint8Array(chunk.length + 29 + 4);
  out.set(chunk.subarray(0, 38), 0);
  out.set(chunk.subarray(38, 38 + extraBytes), 67);
  out.set(chunk.subarray(38 + extraBytes, head), 67 + extraBytes);
  // wave packet layer size 0, then the extra-byte layer sizes and all layer bytes as they were
  out.set(chunk.subarray(head), 67 + extraBytes + 4 + 4 * layersBefore + 4);
  return out;
}

test("waveform formats: the wave packet layer is skipped, every other field decodes (PDRF 10 from PDRF 8)", async () => {
  const laz = read("append-bug.laz");
  const f = await openLazBytes(laz);
  const extra = f.recordLength - 38;
  const ch = f.chunks[0];
  const pf8 = decodeChunk(chunkBytes(laz, ch), 8, f.recordLength, ch.pointCount);
  const rl10 = 67 + extra;
  const pf10 = decodeChunk(asWaveformChunk(chunkBytes(laz, ch), extra), 10, rl10, ch.pointCount);
  for (let i = 0; i < ch.pointCount; i++) {
    const a = pf8.subarray(i * f.recordLength, (i + 1) * f.recordLength);
    const b = pf10.subarray(i * rl10, (i + 1) * rl10);
    assert.equal(firstDifference(b.subarray(0, 38), a.subarray(0, 38)), -1, `record ${i}`);
    assert.ok(b.subarray(38, 67).every((v) => v === 0), `record ${i} wave packet`);
    assert.equal(firstDifference(b.subarray(67), a.subarray(38)), -1, `record ${i} extra bytes`);
  }
});

test("garbage, truncated and cut chunks terminate: a LazChunkError or records, never a hang", () => {
  const rnd = prng(99);
  for (const [pdrf, rl] of [
    [0, 20],
    [1, 28],
    [3, 34 + 4],
    [4, 57],
    [6, 30],
    [8, 38 + 3],
    [10, 67],
  ] as const) {
    for (let trial = 0; trial < 20; trial++) {
      const len = trial === 0 ? 0 : (rnd() * 3000) | 0;
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = trial % 5 === 1 ? 0xff : (rnd() * 256) | 0;
      try {
        assert.equal(decodeChunk(bytes, pdrf, rl, 5000).length, 5000 * rl);
      } catch (e) {
        assert.ok(e instanceof LazChunkError, String(e));
      }
    }
  }
});

test("a chunk cut short or followed by bytes it does not use is reported with the stream and offset", async () => {
  const laz = read("autzen_trim.laz");
  const f = await openLazBytes(laz);
  const ch = f.chunks[1];
  const bytes = chunkBytes(laz, ch);
  assert.throws(() => decodeChunk(bytes.subarray(0, bytes.length - 100), 3, 34, ch.pointCount), (e: unknown) => e instanceof LazChunkError && /point stream needs \d+ bytes more than it holds/.test(e.message) && e.at === bytes.length - 100);
  // the same chunk decoded as fewer points stops well before its end
  assert.throws(() => decodeChunk(bytes, 3, 34, ch.pointCount - 1000), (e: unknown) => e instanceof LazChunkError && /before its end/.test(e.message));
});

test("rejects formats and record lengths it cannot decode", () => {
  assert.throws(() => chunkDecoder(new Uint8Array(100), 11, 30, 1), RangeError);
  assert.throws(() => chunkDecoder(new Uint8Array(100), 3, 30, 1), RangeError);
  assert.throws(() => chunkDecoder(new Uint8Array(100), 6, 29, 1), RangeError);
});
