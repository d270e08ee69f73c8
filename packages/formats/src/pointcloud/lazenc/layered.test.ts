import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sharedData } from "../../testing/shared-data.js";
import { decodeWithLazPerf } from "../../testing/lazperf-decode.js";
import { writeLazFile } from "./laz-file.js";
import { LazLayeredEncoder } from "./layered.js";
import { firstDifference, lasRecords, makeLas, prng, roundTrip } from "../../testing/laz-records.js";

const BASE: Record<number, number> = { 6: 30, 7: 36, 8: 38 };

interface Gen {
  x?: (i: number) => number;
  y?: (i: number) => number;
  z?: (i: number) => number;
  intensity?: (i: number) => number;
  /** return number (low nibble) | number of returns << 4 */
  returns?: (i: number) => number;
  /** classification flags (bits 0-3), scanner channel (4-5), scan direction (6), edge (7) */
  flags?: (i: number) => number;
  cls?: (i: number) => number;
  user?: (i: number) => number;
  angle?: (i: number) => number;
  psid?: (i: number) => number;
  gps?: (i: number) => number;
  rgb?: (i: number) => [number, number, number];
  nir?: (i: number) => number;
  extra?: (i: number, k: number) => number;
}

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
    bytes[o + 14] = g.returns?.(i) ?? 0x11;
    bytes[o + 15] = g.flags?.(i) ?? 0;
    bytes[o + 16] = g.cls?.(i) ?? 0;
    bytes[o + 17] = g.user?.(i) ?? 0;
    dv.setInt16(o + 18, g.angle?.(i) ?? 0, true);
    dv.setUint16(o + 20, g.psid?.(i) ?? 0, true);
    dv.setFloat64(o + 22, g.gps?.(i) ?? 0, true);
    let p = o + 30;
    if (pf >= 7) {
      const [r, gg, b] = g.rgb?.(i) ?? [0, 0, 0];
      dv.setUint16(p, r, true);
      dv.setUint16(p + 2, gg, true);
      dv.setUint16(p + 4, b, true);
      p += 6;
    }
    if (pf === 8) {
      dv.setUint16(p, g.nir?.(i) ?? 0, true);
      p += 2;
    }
    for (let k = 0; k < extra; k++) bytes[p + k] = g.extra?.(i, k) ?? 0;
  }
  return { rl, bytes };
}

async function assertRoundTrip(pf: number, n: number, g: Gen, extra = 0, chunkSize?: number): Promise<Uint8Array> {
  const { rl, bytes } = records(pf, n, g, extra);
  const r = await roundTrip(makeLas(pf, rl, bytes), chunkSize ? { chunkSize } : {});
  assert.equal(r.count, n, "point count decoded by laz-perf");
  assert.equal(r.mismatch, -1, `first differing byte ${r.mismatch} (record ${Math.floor(r.mismatch / rl)}, field byte ${r.mismatch % rl})`);
  return r.laz;
}

for (const name of ["1_4_w_evlr.las", "file_with_both_wkt_and_geotiff_vlrs.las"]) {
  test(`${name}: LAS 1.4 → our layered LAZ → laz-perf gives the identical records`, async () => {
    const las = new Uint8Array(readFileSync(sharedData("pointcloud", name)));
    const src = lasRecords(las);
    const r = await roundTrip(las);
    assert.equal(r.count, src.count);
    assert.equal(r.mismatch, -1);
    assert.equal(r.laz[104], src.pointFormat | 0x80);
    assert.ok(r.laz.length < las.length / 2);
  });
}

test("1_4_w_evlr.las: EVLRs follow the chunk table and the header points at them", () => {
  const las = new Uint8Array(readFileSync(sharedData("pointcloud", "1_4_w_evlr.las")));
  const laz = writeLazFile(las);
  const sdv = new DataView(las.buffer, las.byteOffset);
  const dv = new DataView(laz.buffer);
  const oldEvlr = Number(sdv.getBigUint64(235, true));
  const newEvlr = Number(dv.getBigUint64(235, true));
  assert.equal(dv.getUint32(243, true), 1);
  const evlrBytes = las.subarray(oldEvlr);
  assert.equal(newEvlr, laz.length - evlrBytes.length);
  assert.equal(firstDifference(laz.subarray(newEvlr), evlrBytes), -1);
  // the chunk table ends exactly where the EVLRs start
  const off = dv.getUint32(96, true);
  const tableAt = Number(dv.getBigInt64(off, true));
  assert.ok(tableAt > off && tableAt < newEvlr);
});

test("1_4_w_evlr.las streamed in small pieces equals writeLazFile after the patches", async () => {
  const { LasToLazTransformer, lasToLazStream } = await import("./laz-file.js");
  const las = new Uint8Array(readFileSync(sharedData("pointcloud", "1_4_w_evlr.las")));
  const whole = writeLazFile(las, { chunkSize: 300 });
  const rnd = prng(2);
  const pieces: Uint8Array[] = [];
  for (let p = 0; p < las.length; ) {
    const n = Math.min(las.length - p, 1 + Math.floor(rnd() * 200));
    pieces.push(las.slice(p, p + n));
    p += n;
  }
  const t = new LasToLazTransformer({ chunkSize: 300 });
  const out: Uint8Array[] = [];
  for await (const b of lasToLazStream(pieces, t)) out.push(b);
  const file = new Uint8Array(out.reduce((s, b) => s + b.length, 0));
  let o = 0;
  for (const b of out) {
    file.set(b, o);
    o += b.length;
  }
  // chunk table offset and the EVLR start are both patched
  assert.deepEqual(
    t.patches.map((p) => p.position).sort((a, b) => a - b),
    [235, new DataView(whole.buffer).getUint32(96, true)],
  );
  for (const p of t.patches) file.set(p.bytes, p.position);
  assert.equal(firstDifference(file, whole), -1);
  const dec = await decodeWithLazPerf(file);
  assert.equal(firstDifference(dec.records, lasRecords(las).records), -1);
});

test("append-bug.laz (PF8 + 3 extra bytes, LASzip layered v3): re-encoding reproduces its chunks byte for byte", async () => {
  const ref = new Uint8Array(readFileSync(sharedData("pointcloud", "append-bug.laz")));
  const dec = await decodeWithLazPerf(ref);
  assert.equal(dec.pointFormat, 8);
  const enc = new LazLayeredEncoder(dec.pointFormat, dec.recordLength);
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
});

test("1.2-with-color.copc.laz (PF7, variable chunks): every octree node re-encodes to the identical chunk", async () => {
  const ref = new Uint8Array(readFileSync(sharedData("pointcloud", "1.2-with-color.copc.laz")));
  const dv = new DataView(ref.buffer, ref.byteOffset);
  const copc = 375 + 54; // payload of the first VLR ('copc' info, COPC requires it first)
  const nodes: { offset: number; bytes: number; points: number }[] = [];
  const page = (off: number, size: number): void => {
    for (let p = off; p < off + size; p += 32) {
      const offset = Number(dv.getBigUint64(p + 16, true));
      const bytes = dv.getInt32(p + 24, true);
      const points = dv.getInt32(p + 28, true);
      if (points === -1) page(offset, bytes);
      else if (points > 0) nodes.push({ offset, bytes, points });
    }
  };
  page(Number(dv.getBigUint64(copc + 40, true)), Number(dv.getBigUint64(copc + 48, true)));
  nodes.sort((a, b) => a.offset - b.offset);
  assert.ok(nodes.length > 10);
  const dec = await decodeWithLazPerf(ref);
  const rl = dec.recordLength;
  const enc = new LazLayeredEncoder(dec.pointFormat, rl, { variableChunks: true });
  let p = 0;
  for (const n of nodes) {
    assert.deepEqual(enc.encode(dec.records.subarray(p * rl, (p + n.points) * rl)), []);
    p += n.points;
    const [chunk] = enc.closeChunk();
    assert.equal(firstDifference(chunk, ref.subarray(n.offset, n.offset + n.bytes)), -1, `node at ${n.offset}`);
  }
  assert.equal(p, dec.count);
  const fin = enc.finish();
  const tableAt = Number(dv.getBigInt64(dv.getUint32(96, true), true));
  assert.equal(firstDifference(fin.tail, ref.subarray(tableAt, tableAt + fin.tail.length)), -1);
});

test("layered: single point and chunk boundary (chunkSize + 1), formats 6, 7, 8", async () => {
  const rnd = prng(21);
  const g: Gen = {
    x: (i) => i * 13,
    y: (i) => -i * 7,
    z: () => Math.floor(rnd() * 100),
    gps: (i) => 5e5 + i * 2e-5,
    rgb: (i) => [i & 0xffff, 77, (i * 5) & 0xffff],
    nir: (i) => (i * 11) & 0xffff,
    intensity: (i) => i % 300,
  };
  for (const pf of [6, 7, 8]) {
    await assertRoundTrip(pf, 1, g);
    await assertRoundTrip(pf, 201, g, 0, 200);
  }
  await assertRoundTrip(6, 50_001, g);
});

test("layered: all-equal points (unchanged layers are omitted)", async () => {
  const g: Gen = { x: () => 1, y: () => 2, z: () => 3, intensity: () => 4, cls: () => 5, gps: () => 6, rgb: () => [7, 8, 9], nir: () => 10, extra: () => 11 };
  const laz = await assertRoundTrip(8, 500, g, 2);
  // one chunk: raw record, count, 9 + 1 + 1 + 2 layer sizes; only xy and z layers are non-empty
  const off = new DataView(laz.buffer).getUint32(96, true);
  const chunk = off + 8 + 40; // after the raw first record (38 + 2 bytes)
  const dv = new DataView(laz.buffer);
  assert.equal(dv.getUint32(chunk, true), 500);
  const sizes = Array.from({ length: 13 }, (_, k) => dv.getUint32(chunk + 4 + 4 * k, true));
  assert.ok(sizes[0] > 0 && sizes[1] > 0);
  assert.deepEqual(sizes.slice(2), new Array(11).fill(0));
});

test("layered: every attribute varying, extreme values, all return combinations", async () => {
  const rnd = prng(33);
  const ext = [-2147483648, 2147483647, 0, -1];
  const g: Gen = {
    x: (i) => (i % 4 === 0 ? ext[i % 3] : (rnd() * 2 ** 32) | 0),
    y: (i) => ext[(i * 3) % 4],
    z: (i) => (i % 2 ? -2147483648 : 2147483647),
    intensity: () => Math.floor(rnd() * 65536),
    returns: (i) => (i % 3 === 0 ? Math.floor(rnd() * 256) : [0x11, 0x12, 0x22, 0x13, 0x23, 0x33, 0x00, 0xff][i % 8]),
    flags: () => Math.floor(rnd() * 256) & 0xcf, // scanner channel 0 here
    cls: () => Math.floor(rnd() * 256),
    user: () => Math.floor(rnd() * 256),
    angle: (i) => (i % 5 === 0 ? -32768 : i % 5 === 1 ? 32767 : Math.floor(rnd() * 65536) - 32768),
    psid: () => Math.floor(rnd() * 65536),
    gps: (i) => (i % 11 === 0 ? rnd() * 1e12 : 1e6 + i * 1e-6),
    rgb: () => [Math.floor(rnd() * 65536), Math.floor(rnd() * 65536), Math.floor(rnd() * 65536)],
    nir: (i) => (i % 2 ? 0 : Math.floor(rnd() * 65536)),
    extra: (i, k) => (k ? Math.floor(rnd() * 256) : i & 0xff),
  };
  await assertRoundTrip(6, 3000, g);
  await assertRoundTrip(8, 3000, g, 3);
});

test("layered: GPS time multipliers, repeats, interleaved and new sequences", async () => {
  const rnd = prng(4);
  const bases = [1e5, 4.5e8, -3e6, 7.77e12, 1e-3];
  const gps = (i: number): number => {
    switch (Math.floor(i / 400) % 7) {
      case 0:
        return 2e5 + i * 1e-5;
      case 1:
        return 2e5 + Math.floor(i / 3) * 1e-5 * (1 + (i % 4));
      case 2:
        return 2e5 + i * 1e-5 + (i % 7 === 0 ? i * 1e-2 : 0);
      case 3:
        return 2e5 - i * 1e-5 * (i % 3 === 0 ? 20 : 1);
      case 4:
        return bases[i % 4] + i * 1e-4;
      case 5:
        return bases[i % 5] + i * 1e-6;
      default:
        return [NaN, Infinity, -0, 0, rnd() * 1e300, -rnd()][i % 6];
    }
  };
  await assertRoundTrip(6, 3000, { gps, x: (i) => i, returns: (i) => (i % 2 ? 0x12 : 0x22) });
});

test("layered: scanner channel switches (contexts 0-3, first use and return to used channels)", async () => {
  const rnd = prng(8);
  const channel = (i: number): number => {
    if (i < 300) return 0;
    if (i < 600) return Math.floor(i / 7) % 2; // 0/1 alternating runs
    if (i < 900) return (i * 3) % 4; // every channel, quick switches
    return Math.floor(rnd() * 4);
  };
  const g: Gen = {
    x: (i) => i * 10 + channel(i) * 100000,
    y: (i) => channel(i) * 5000 + (i % 17),
    z: (i) => channel(i) * 10 + (i % 5),
    intensity: (i) => channel(i) * 1000 + (i % 9),
    flags: (i) => (channel(i) << 4) | (i % 3 === 0 ? 0x40 : 0) | (i % 2),
    cls: (i) => channel(i) + 2,
    user: (i) => channel(i),
    angle: (i) => channel(i) * 100 - 150,
    psid: (i) => 10 + channel(i),
    gps: (i) => 1e5 + channel(i) * 1000 + i * 1e-4,
    rgb: (i) => [channel(i) * 256, i & 0xff, 3],
    nir: (i) => channel(i) * 4097,
    extra: (i, k) => (k + channel(i) * 16 + i) & 0xff,
  };
  await assertRoundTrip(6, 1500, g);
  await assertRoundTrip(7, 1500, g, 0, 700);
  await assertRoundTrip(8, 1500, g, 4);
  // the first point of a chunk on a channel other than 0
  await assertRoundTrip(8, 800, { ...g, flags: (i) => (((channel(i) + 3) & 3) << 4) }, 1, 333);
});

test("layered: rejects point formats it does not handle", () => {
  assert.throws(() => new LazLayeredEncoder(3, 34), RangeError);
  assert.throws(() => new LazLayeredEncoder(9, 59), RangeError);
  assert.throws(() => new LazLayeredEncoder(6, 29), RangeError);
});
