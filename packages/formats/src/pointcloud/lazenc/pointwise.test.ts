import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sharedData } from "../../testing/shared-data.js";
import { decodeWithLazPerf } from "../../testing/lazperf-decode.js";
import { LasToLazTransformer, lasToLazStream, writeLazFile } from "./laz-file.js";
import { LazPointwiseEncoder } from "./encoder.js";
import { firstDifference, lasRecords, makeLas, prng, roundTrip } from "../../testing/laz-records.js";

const BASE: Record<number, number> = { 0: 20, 1: 28, 2: 26, 3: 34 };

interface Gen {
  x?: (i: number) => number;
  y?: (i: number) => number;
  z?: (i: number) => number;
  intensity?: (i: number) => number;
  bits?: (i: number) => number;
  cls?: (i: number) => number;
  angle?: (i: number) => number;
  user?: (i: number) => number;
  psid?: (i: number) => number;
  gps?: (i: number) => number;
  /** GPS time as a raw 64-bit pattern (overrides gps) */
  gpsBits?: (i: number) => bigint;
  rgb?: (i: number) => [number, number, number];
  extra?: (i: number, k: number) => number;
}

/** Records of point format 0-3 (+ extra bytes) from per-field generators (default: zero). */
function records(pf: number, n: number, g: Gen, extra = 0): { rl: number; bytes: Uint8Array } {
  const rl = BASE[pf] + extra;
  const bytes = new Uint8Array(n * rl);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * rl;
    dv.setInt32(o, g.x?.(i) ?? 0, true);
    dv.setInt32(o + 4, g.y?.(i) ?? 0, true);
    dv.setInt32(o + 8, g.z?.(i) ?? 0, true);
    dv.setUint16(o + 12, g.intensity?.(i) ?? 0, true);
    bytes[o + 14] = g.bits?.(i) ?? 0x09;
    bytes[o + 15] = g.cls?.(i) ?? 0;
    dv.setInt8(o + 16, g.angle?.(i) ?? 0);
    bytes[o + 17] = g.user?.(i) ?? 0;
    dv.setUint16(o + 18, g.psid?.(i) ?? 0, true);
    let p = o + 20;
    if (pf === 1 || pf === 3) {
      if (g.gpsBits) dv.setBigInt64(p, g.gpsBits(i), true);
      else dv.setFloat64(p, g.gps?.(i) ?? 0, true);
      p += 8;
    }
    if (pf === 2 || pf === 3) {
      const [r, gg, b] = g.rgb?.(i) ?? [0, 0, 0];
      dv.setUint16(p, r, true);
      dv.setUint16(p + 2, gg, true);
      dv.setUint16(p + 4, b, true);
      p += 6;
    }
    for (let k = 0; k < extra; k++) bytes[p + k] = g.extra?.(i, k) ?? 0;
  }
  return { rl, bytes };
}

async function assertRoundTrip(pf: number, n: number, g: Gen, extra = 0, chunkSize?: number): Promise<Uint8Array> {
  const { rl, bytes } = records(pf, n, g, extra);
  const las = makeLas(pf, rl, bytes);
  const r = await roundTrip(las, chunkSize ? { chunkSize } : {});
  assert.equal(r.count, n, "point count decoded by laz-perf");
  assert.equal(r.mismatch, -1, `first differing byte ${r.mismatch} (record ${Math.floor(r.mismatch / rl)}, field byte ${r.mismatch % rl})`);
  return r.laz;
}

const SHARED = ["1.2-with-color.las", "autzen_trim.las", "epsg_4326.las", "mvk-thin.las"];

for (const name of SHARED) {
  test(`${name}: LAS → our LAZ → laz-perf gives the identical records`, async () => {
    const las = new Uint8Array(readFileSync(sharedData("pointcloud", name)));
    const src = lasRecords(las);
    const r = await roundTrip(las);
    assert.equal(r.count, src.count);
    assert.equal(r.mismatch, -1);
    // header: compressed bit, one more VLR, points moved by the 22204 VLR (54 + 34 + 6 × items)
    const dv = new DataView(r.laz.buffer);
    const sdv = new DataView(las.buffer, las.byteOffset);
    assert.equal(r.laz[104], src.pointFormat | 0x80);
    assert.equal(dv.getUint32(100, true), sdv.getUint32(100, true) + 1);
    const items = 1 + (src.pointFormat & 1) + (src.pointFormat >= 2 ? 1 : 0) + (src.recordLength > [20, 28, 26, 34][src.pointFormat] ? 1 : 0);
    assert.equal(dv.getUint32(96, true), sdv.getUint32(96, true) + 54 + 34 + 6 * items);
    assert.ok(r.laz.length < las.length / 2, "compresses");
  });
}

test("autzen_trim: point data is byte-identical to LASzip's own autzen_trim.laz", () => {
  // autzen_trim.laz was written by LASzip 2.2 (point-wise v2, chunk size 50000) from the same points
  const las = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.las")));
  const ref = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.laz")));
  const ours = writeLazFile(las);
  const refOff = new DataView(ref.buffer, ref.byteOffset).getUint32(96, true);
  const ourOff = new DataView(ours.buffer).getUint32(96, true);
  // after the 8-byte chunk table offset: chunks + chunk table
  assert.equal(firstDifference(ours.subarray(ourOff + 8), ref.subarray(refOff + 8)), -1);
});

test("indoor.laz: re-encoding its decoded records reproduces LASzip's chunks and chunk table", async () => {
  const ref = new Uint8Array(readFileSync(sharedData("pointcloud", "indoor.laz")));
  const dec = await decodeWithLazPerf(ref);
  const enc = new LazPointwiseEncoder(dec.pointFormat, dec.recordLength);
  const parts = enc.encode(dec.records);
  const fin = enc.finish();
  parts.push(...fin.chunks, fin.tail);
  const off = new DataView(ref.buffer, ref.byteOffset).getUint32(96, true);
  let pos = off + 8;
  for (const p of parts) {
    assert.equal(firstDifference(p, ref.subarray(pos, pos + p.length)), -1, `part at ${pos}`);
    pos += p.length;
  }
  assert.equal(pos, ref.length);
  assert.equal(fin.pointCount, dec.count);
});

test("single point, every point format", async () => {
  for (const pf of [0, 1, 2, 3]) {
    await assertRoundTrip(pf, 1, { x: () => 123456, y: () => -7, z: () => 99, intensity: () => 500, gps: () => 1234.5, rgb: () => [1, 2, 3] });
  }
});

test("chunk boundaries: chunkSize + 1 points (default 50 000 and small chunks)", async () => {
  const rnd = prng(7);
  const g: Gen = {
    x: (i) => i * 10 + Math.floor(rnd() * 5),
    y: (i) => i * 3,
    z: (i) => Math.floor(rnd() * 1000),
    gps: (i) => 1000 + i * 1e-5,
    rgb: (i) => [i & 0xffff, (i * 3) & 0xffff, (i * 7) & 0xffff],
  };
  const laz = await assertRoundTrip(3, 50_001, g);
  // two chunks in the table: the file's last bytes decode as an 8-byte header with count 2
  const off = new DataView(laz.buffer).getUint32(96, true);
  const tableAt = Number(new DataView(laz.buffer).getBigInt64(off, true));
  assert.equal(new DataView(laz.buffer).getUint32(tableAt + 4, true), 2);
  await assertRoundTrip(1, 301, g, 0, 100);
  await assertRoundTrip(0, 100, g, 0, 100);
  await assertRoundTrip(2, 99, g, 0, 100);
});

test("all-equal points", async () => {
  const g: Gen = { x: () => 5, y: () => 6, z: () => 7, intensity: () => 8, cls: () => 2, gps: () => 3.25, rgb: () => [9, 9, 9] };
  for (const pf of [0, 1, 2, 3]) await assertRoundTrip(pf, 2000, g);
});

test("extreme coordinates: int32 min/max and full-range random deltas", async () => {
  const rnd = prng(11);
  const ext = [-2147483648, 2147483647, 0, -1, 1, 2147483647, -2147483648];
  const g: Gen = {
    x: (i) => (i % 3 === 0 ? ext[i % ext.length] : (rnd() * 2 ** 32) | 0),
    y: (i) => ext[(i * 5) % ext.length],
    z: (i) => (i % 2 ? -2147483648 : 2147483647),
    intensity: (i) => (i % 2 ? 0 : 65535),
    bits: () => Math.floor(rnd() * 256),
    cls: () => Math.floor(rnd() * 256),
    angle: () => Math.floor(rnd() * 256) - 128,
    user: () => Math.floor(rnd() * 256),
    psid: (i) => (i % 5 ? 65535 : 0),
  };
  await assertRoundTrip(0, 3000, g);
  await assertRoundTrip(1, 3000, { ...g, gps: () => rnd() * 1e9 });
});

test("GPS time: regular pulses, multipliers, negative steps, jumps between 1-5 interleaved sequences", async () => {
  const rnd = prng(3);
  const bases = [1e5, 4.5e8, -3e6, 7.77e12, 1e-3];
  const gps = (i: number): number => {
    const phase = Math.floor(i / 500) % 8;
    switch (phase) {
      case 0: // regular spacing
        return 2e5 + i * 1e-5;
      case 1: // repeated times and small multipliers
        return 2e5 + Math.floor(i / 3) * 1e-5 * (1 + (i % 4));
      case 2: // large multipliers (> 500 × last difference) and zero multiplier
        return 2e5 + i * 1e-5 + (i % 7 === 0 ? i * 1e-2 : 0);
      case 3: // negative steps (small and extreme)
        return 2e5 - i * 1e-5 * (i % 3 === 0 ? 20 : 1);
      case 4: // interleaved sequences with huge jumps between them
        return bases[i % 4] + i * 1e-4;
      case 5: // five sequences (more than the 4 tracked)
        return bases[i % 5] + i * 1e-6;
      case 6: // random doubles including special values
        return [NaN, Infinity, -0, 0, rnd() * 1e300, -rnd()][i % 6];
      default:
        return rnd() * 1e6;
    }
  };
  await assertRoundTrip(1, 4000, { gps, x: (i) => i });
  await assertRoundTrip(3, 4000, { gps, rgb: (i) => [i, i, i] });
});

test("GPS time bit patterns: 32-bit boundary differences and multiplier overflow", async () => {
  // differences of exactly ±(2^31 - 1), -2^31, 2^31 (does not fit) after a difference of 1, so that
  // the float32 multiplier overflows the int32 range; and 4-sequence rotation with exact patterns
  const steps = [1n, 2147483647n, 1n, -2147483648n, 1n, 2147483648n, -1n, 1n, 0n, 0n, 1n, 1n, 3n, -2147483647n];
  const bits: bigint[] = [0x4100000000000000n];
  for (let i = 1; i < 3000; i++) {
    const s = i < 600 ? steps[i % steps.length] : i < 1200 ? BigInt(i % 7) * 1000003n : BigInt.asIntN(32, BigInt(i) * 2654435761n);
    bits.push(BigInt.asIntN(64, bits[i - 1] + s));
  }
  await assertRoundTrip(1, 3000, { gpsBits: (i) => bits[i] });
});

test("colour: grey, unequal channels, single-byte and double-byte changes", async () => {
  const rnd = prng(5);
  const rgb = (i: number): [number, number, number] => {
    switch (Math.floor(i / 300) % 5) {
      case 0:
        return [i & 0xff, i & 0xff, i & 0xff];
      case 1:
        return [(i * 257) & 0xffff, (i * 257) & 0xffff, (i * 257) & 0xffff];
      case 2:
        return [Math.floor(rnd() * 65536), Math.floor(rnd() * 65536), Math.floor(rnd() * 65536)];
      case 3:
        return [255, i % 2 ? 0 : 255, 65535];
      default:
        return [i & 0xff00, (i * 3) & 0xff, 1000];
    }
  };
  await assertRoundTrip(2, 1500, { rgb });
  await assertRoundTrip(3, 1500, { rgb, gps: (i) => i * 0.5 });
});

test("extra bytes (BYTE v2) after the core record", async () => {
  const rnd = prng(9);
  const extra = (i: number, k: number) => (k === 0 ? i & 0xff : k === 1 ? 7 : Math.floor(rnd() * 256));
  await assertRoundTrip(0, 800, { x: (i) => i, extra }, 3);
  await assertRoundTrip(3, 800, { x: (i) => i, gps: (i) => i, rgb: () => [1, 2, 3], extra }, 5);
});

test("streaming: any input piece sizes give the same LAZ, header patched at the end", async () => {
  const las = new Uint8Array(readFileSync(sharedData("pointcloud", "mvk-thin.las")));
  const whole = writeLazFile(las, { chunkSize: 1000 });
  const rnd = prng(1);
  const pieces: Uint8Array[] = [];
  for (let p = 0; p < las.length; ) {
    const n = Math.min(las.length - p, 1 + Math.floor(rnd() * (rnd() < 0.5 ? 40 : 5000)));
    pieces.push(las.slice(p, p + n));
    p += n;
  }
  const t = new LasToLazTransformer({ chunkSize: 1000 });
  const out: Uint8Array[] = [];
  for await (const b of lasToLazStream(pieces, t)) out.push(b);
  const total = out.reduce((s, b) => s + b.length, 0);
  const file = new Uint8Array(total);
  let o = 0;
  for (const b of out) {
    file.set(b, o);
    o += b.length;
  }
  // before the patches the chunk table offset is the -1 placeholder
  const off = new DataView(file.buffer).getUint32(96, true);
  assert.equal(new DataView(file.buffer).getBigInt64(off, true), -1n);
  for (const p of t.patches) file.set(p.bytes, p.position);
  assert.equal(firstDifference(file, whole), -1);
  // and the input buffer was not modified
  assert.equal(las[104], 1);
});

test("variable-size chunks closed by the caller decode with laz-perf", async () => {
  const { rl, bytes } = records(3, 1000, { x: (i) => i * 7, gps: (i) => i, rgb: (i) => [i, 0, 0] });
  const enc = new LazPointwiseEncoder(3, rl, { variableChunks: true });
  const parts: Uint8Array[] = [];
  const sizes = [1, 250, 49, 700];
  let p = 0;
  for (const s of sizes) {
    parts.push(...enc.encode(bytes.subarray(p * rl, (p + s) * rl)));
    parts.push(...enc.closeChunk());
    p += s;
  }
  const fin = enc.finish();
  assert.deepEqual(fin.chunkEntries.map((e) => e.points), sizes);
  assert.equal(new DataView(fin.vlr.buffer).getUint32(12, true), 0xffffffff);
  // assemble a file by hand the way a COPC/LAZ writer would
  const las = makeLas(3, rl, new Uint8Array(0));
  const hdr = new DataView(las.buffer);
  const vlrLen = 54 + fin.vlr.length;
  const pointOffset = las.length + vlrLen;
  hdr.setUint32(96, pointOffset, true);
  hdr.setUint32(100, 1, true);
  hdr.setUint32(107, 1000, true);
  las[104] = 3 | 0x80;
  const { lazVlrRecord } = await import("./laszip-format.js");
  const chunkBytes = parts.reduce((s, b) => s + b.length, 0);
  const file = new Uint8Array(pointOffset + 8 + chunkBytes + fin.tail.length);
  file.set(las);
  file.set(lazVlrRecord(fin.vlr), las.length);
  new DataView(file.buffer).setBigInt64(pointOffset, BigInt(pointOffset + 8 + chunkBytes), true);
  let o = pointOffset + 8;
  for (const b of parts) {
    file.set(b, o);
    o += b.length;
  }
  file.set(fin.tail, o);
  const dec = await decodeWithLazPerf(file);
  assert.equal(dec.count, 1000);
  assert.equal(firstDifference(dec.records, bytes), -1);
});

test("zero points: header, VLR and an empty chunk table that laz-perf accepts", async () => {
  for (const [pf, rl] of [
    [0, 20],
    [3, 34],
  ]) {
    const laz = await assertRoundTrip(pf, 0, {});
    const dv = new DataView(laz.buffer);
    const off = dv.getUint32(96, true);
    // offset slot points right behind itself, at a table of version 0 with 0 chunks
    assert.equal(Number(dv.getBigInt64(off, true)), off + 8);
    assert.equal(laz.length, off + 16);
    assert.equal(dv.getUint32(off + 12, true), 0);
    assert.equal(rl, BASE[pf]);
  }
});

test("rejects unsupported input", () => {
  assert.throws(() => new LazPointwiseEncoder(4, 57), RangeError);
  assert.throws(() => new LazPointwiseEncoder(3, 30), RangeError);
  const enc = new LazPointwiseEncoder(0, 20);
  assert.throws(() => enc.encode(new Uint8Array(30)), RangeError);
  const las = makeLas(0, 20, new Uint8Array(40));
  las[104] = 0x80;
  assert.throws(() => writeLazFile(las), /already compressed/);
  const short = makeLas(0, 20, new Uint8Array(40));
  assert.throws(() => writeLazFile(short.subarray(0, short.length - 5)), /missing/);
});
