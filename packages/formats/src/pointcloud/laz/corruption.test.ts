/**
 * Damaged LAZ never reads as garbage: every LAZ sample, damaged in deterministic ways (random bytes over
 * chunk data, truncation, a header count or chunk table that lies), either fails with a FormatError
 * naming the file and an offset, or reads exactly the clean records.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource, FormatError } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import { firstDifference, lazRecords, prng } from "../../testing/laz-records.js";
import { openLaz } from "./reader.js";

const SAMPLES = ["autzen_trim.laz", "indoor.laz", "append-bug.laz", "1.2-with-color.copc.laz"];

interface Damage {
  label: string;
  bytes: Uint8Array;
}

function damages(name: string, clean: Uint8Array, dataStart: number, tableAt: number): Damage[] {
  const rnd = prng(name.length * 7919);
  const out: Damage[] = [];
  // 4 KiB of random bytes at several places inside the chunk data
  for (const at of [0.02, 0.25, 0.5, 0.75, 0.97]) {
    const b = clean.slice();
    const start = dataStart + 8 + Math.floor(at * (tableAt - dataStart - 8 - 4096));
    for (let i = 0; i < 4096 && start + i < tableAt; i++) b[start + i] = Math.floor(rnd() * 256);
    out.push({ label: `4 KiB overwritten at ${start}`, bytes: b });
  }
  // a single flipped byte in the middle of the point data
  const flipped = clean.slice();
  flipped[dataStart + 8 + Math.floor((tableAt - dataStart) / 2)] ^= 0x5a;
  out.push({ label: "one byte flipped", bytes: flipped });
  // truncated inside the chunks, inside the chunk table, one byte short
  for (const end of [dataStart + Math.floor((tableAt - dataStart) / 3), Math.floor((dataStart + tableAt) / 2), tableAt - 1, tableAt + 12, clean.length - 1]) {
    out.push({ label: `truncated at ${end}`, bytes: clean.subarray(0, end) });
  }
  // the header's point count lies (legacy count, and the 64-bit count of LAS 1.4 headers)
  const v = new DataView(clean.buffer, clean.byteOffset, clean.byteLength);
  const minor = clean[25];
  const count = minor >= 4 && v.getBigUint64(247, true) > 0n ? Number(v.getBigUint64(247, true)) : v.getUint32(107, true);
  for (const lie of [count - 1, count + 1, Math.floor(count / 2), count * 2]) {
    const b = clean.slice();
    const bv = new DataView(b.buffer);
    if (v.getUint32(107, true) !== 0) bv.setUint32(107, lie, true);
    if (minor >= 4) bv.setBigUint64(247, BigInt(lie), true);
    out.push({ label: `header count ${lie} for ${count}`, bytes: b });
  }
  // the chunk table lies: its offset, its chunk count, its coded entries
  const lies: [string, (b: Uint8Array, bv: DataView) => void][] = [
    ["table offset past the end", (_, bv) => bv.setBigInt64(dataStart, BigInt(clean.length + 100), true)],
    ["table offset into the chunks", (_, bv) => bv.setBigInt64(dataStart, BigInt(tableAt - 1000), true)],
    ["chunk count + 1", (_, bv) => bv.setUint32(tableAt + 4, bv.getUint32(tableAt + 4, true) + 1, true)],
    ["chunk count - 1", (_, bv) => bv.setUint32(tableAt + 4, bv.getUint32(tableAt + 4, true) - 1, true)],
    ["coded entries changed", (b) => (b[tableAt + 9] ^= 0x10)],
    ["table version", (_, bv) => bv.setUint32(tableAt, 1, true)],
  ];
  for (const [label, lie] of lies) {
    const b = clean.slice();
    lie(b, new DataView(b.buffer));
    out.push({ label, bytes: b });
  }
  return out;
}

for (const name of SAMPLES) {
  test(`${name}: damaged copies fail with FormatError (file, offset) or read the clean records exactly`, async () => {
    const clean = new Uint8Array(readFileSync(sharedData("pointcloud", name)));
    const reader = await openLaz(bytesSource(clean, name));
    const cleanRecords = await lazRecords(clean, name);
    const dataStart = reader.header.offsetToPointData;
    const tableAt = Number(new DataView(clean.buffer, clean.byteOffset).getBigInt64(dataStart, true));
    let failures = 0;
    for (const d of damages(name, clean, dataStart, tableAt)) {
      try {
        const records = await lazRecords(d.bytes, name);
        assert.equal(firstDifference(records, cleanRecords), -1, `${d.label}: read without an error, so the records must be the clean ones`);
      } catch (e) {
        assert.ok(e instanceof FormatError, `${d.label}: ${e}`);
        assert.equal(e.file, name, d.label);
        assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= clean.length, `${d.label}: offset ${e.offset}`);
        failures++;
      }
    }
    // nearly every damage is detected (a single flipped byte may land in a layer a reader skips)
    assert.ok(failures >= 18, `${failures} damaged copies failed`);
  });
}

test("a damaged chunk names the chunk and its offset; points beyond the header's bounds are refused", async () => {
  const clean = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.laz")));
  const r = await openLaz(bytesSource(clean, "autzen_trim.laz"));
  const ch = r.lazChunks[1];
  const damaged = clean.slice();
  const rnd = prng(5);
  for (let i = 0; i < 4096; i++) damaged[ch.start + 2000 + i] = Math.floor(rnd() * 256);
  await assert.rejects(lazRecords(damaged, "damaged.laz"), (e: unknown) => e instanceof FormatError && e.file === "damaged.laz" && /^damaged\.laz: LAZ chunk 1 is corrupt/.test(e.message) && e.offset > ch.start && e.offset <= ch.start + ch.byteLength);
  // header bounds shrunk below the points: the first chunk's points lie outside
  const shrunk = clean.slice();
  const v = new DataView(shrunk.buffer);
  v.setFloat64(179, v.getFloat64(187, true) + (v.getFloat64(179, true) - v.getFloat64(187, true)) / 2, true); // max X halfway
  await assert.rejects(lazRecords(shrunk, "bounds.laz"), (e: unknown) => e instanceof FormatError && /LAZ chunk 0 is corrupt: its point \d+ .* lies outside the header's bounds/.test(e.message));
});

test("header bounds rounded by the writer: points one scale step outside them still read", async () => {
  const clean = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.laz")));
  const r = await openLaz(bytesSource(clean, "autzen_trim.laz"));
  const rounded = clean.slice();
  const v = new DataView(rounded.buffer);
  // bounds pulled in by one scale step on every side (max at 179/195/211, min at 187/203/219)
  for (let axis = 0; axis < 3; axis++) {
    const step = r.header.scale[axis];
    v.setFloat64(179 + 16 * axis, v.getFloat64(179 + 16 * axis, true) - step, true);
    v.setFloat64(187 + 16 * axis, v.getFloat64(187 + 16 * axis, true) + step, true);
  }
  assert.equal(firstDifference(await lazRecords(rounded, "rounded.laz"), await lazRecords(clean, "clean.laz")), -1);
});

test("a chunk table offset inside the header, before the chunks or past the end is named as such", async () => {
  const clean = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.laz")));
  const { header } = await openLaz(bytesSource(clean, "autzen_trim.laz"));
  const at = header.offsetToPointData;
  const cases: [bigint, RegExp][] = [
    [100n, /offset 100 is inside the header \(\d+ bytes\)/],
    [BigInt(at + 4), new RegExp(`offset ${at + 4} is before the chunk data \\(which starts at byte ${at + 8}\\)`)],
    [BigInt(clean.length + 100), new RegExp(`offset ${clean.length + 100} is past the end of the file \\(${clean.length} bytes\\)`)],
  ];
  for (const [offset, message] of cases) {
    const b = clean.slice();
    new DataView(b.buffer).setBigInt64(at, offset, true);
    await assert.rejects(lazRecords(b, "table.laz"), (e: unknown) => e instanceof FormatError && e.file === "table.laz" && e.offset === at && message.test(e.message));
  }
});
