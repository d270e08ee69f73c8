/**
 * LAS headers that lie: a point count disagreeing with the records between the point-data offset and the
 * end of the point data, impossible record lengths, out-of-range 64-bit fields, odd format bytes. Each reads
 * what the data holds with a warning, or fails with a FormatError naming the file and the byte.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource, FormatError } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import { openLasOrLaz } from "./open.js";
import { openLas } from "./reader.js";

const sample = (name: string) => new Uint8Array(readFileSync(sharedData("pointcloud", name)));
/** 1.2-with-color.las: format 3 (34-byte records), 1065 points from byte 229 to the end of the file. */
const COLOR = { name: "1.2-with-color.las", points: 1065, recordLength: 34, pointStart: 229 };

function edited(name: string, edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = sample(name);
  edit(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return bytes;
}

async function pointsOf(bytes: Uint8Array, name: string): Promise<{ count: number; given: number; warnings: string[] }> {
  const reader = await openLas(bytesSource(bytes, name));
  let given = 0;
  for await (const c of reader.chunks()) given += c.count;
  return { count: reader.pointCount, given, warnings: reader.warnings };
}

async function formatError(bytes: Uint8Array, name: string): Promise<FormatError> {
  const error = await openLasOrLaz(bytesSource(bytes, name)).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof FormatError, `${name}: expected a FormatError, got ${error}`);
  assert.equal(error.file, name);
  return error;
}

test("a header announcing fewer points than the records it has (0 included) gives every record, with a warning", async () => {
  for (const announced of [0, 1, 1000]) {
    const bytes = edited(COLOR.name, (_, v) => v.setUint32(107, announced, true));
    const { count, given, warnings } = await pointsOf(bytes, "fewer.las");
    assert.equal(count, COLOR.points);
    assert.equal(given, COLOR.points);
    assert.deepEqual(warnings, [`fewer.las: the header announces ${announced} points but the point data holds 1065 records of 34 bytes; all 1065 were read`]);
  }
});

test("a header announcing more points than fit fails where the whole records end", async () => {
  for (const announced of [1066, 2_000_000, 0xffffffff]) {
    const e = await formatError(edited(COLOR.name, (_, v) => v.setUint32(107, announced, true)), "more.las");
    assert.match(e.message, new RegExp(`announces ${announced} points of 34 bytes \\(${announced * 34} bytes\\).*hold 1065`));
    assert.equal(e.offset, COLOR.pointStart + COLOR.points * COLOR.recordLength);
  }
});

test("bytes after the last record that make no whole record are left out, with a warning", async () => {
  const whole = sample(COLOR.name);
  const padded = new Uint8Array(whole.byteLength + 5);
  padded.set(whole);
  const { given, warnings } = await pointsOf(padded, "padded.las");
  assert.equal(given, COLOR.points);
  assert.deepEqual(warnings, [`padded.las: 5 bytes after the last point record (at byte ${whole.byteLength}) make no whole record and were left out`]);
});

test("LAS 1.4: the point data ends at the first EVLR, and a huge 64-bit count is printed exactly", async () => {
  const name = "1_4_w_evlr.las";
  const clean = await pointsOf(sample(name), name);
  assert.deepEqual(clean.warnings, []);
  const e = await formatError(edited(name, (_, v) => v.setBigUint64(247, 1001n, true)), "evlr.las");
  assert.match(e.message, /announces 1001 points/);
  const huge = await formatError(edited(name, (_, v) => v.setBigUint64(247, 10n ** 19n, true)), "huge.las");
  assert.match(huge.message, /point count 10000000000000000000 /);
  assert.equal(huge.offset, 247);
  const before = await formatError(edited(name, (_, v) => v.setBigUint64(235, 300n, true)), "early.las");
  assert.match(before.message, /EVLR offset 300 is before the point data/);
});

test("impossible record lengths fail at the record-length field or where the records end", async () => {
  const short = await formatError(edited(COLOR.name, (_, v) => v.setUint16(105, 33, true)), "short.las");
  assert.match(short.message, /record length 33 is shorter than format 3 needs \(34\)/);
  assert.equal(short.offset, 105);
  // Longer records than the data holds: the announced points do not fit.
  const long = await formatError(edited(COLOR.name, (_, v) => v.setUint16(105, 60000, true)), "long.las");
  assert.match(long.message, /announces 1065 points of 60000 bytes.*hold 0/);
  assert.equal(long.offset, COLOR.pointStart);
});

test("a format byte with compression bits names both the byte and the format", async () => {
  const e = await formatError(edited(COLOR.name, (b) => (b[104] = 0x80 | 12)), "format.las");
  assert.match(e.message, /unknown point data record format 12 \(format byte 140, compression bits 0x80\)/);
  const plain = await formatError(edited(COLOR.name, (b) => (b[104] = 12)), "plain.las");
  assert.match(plain.message, /unknown point data record format 12 \(at byte 104\)$/);
});

test("a record outside the header's bounds fails naming the record and its byte; one scale step outside still reads", async () => {
  const record = 500;
  const at = COLOR.pointStart + record * COLOR.recordLength;
  const far = edited(COLOR.name, (_, v) => v.setInt32(at, 2_000_000_000, true));
  const reader = await openLas(bytesSource(far, "far.las"));
  const error = await (async () => {
    for await (const _ of reader.chunks());
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof FormatError, `expected a FormatError, got ${error}`);
  assert.equal(error.file, "far.las");
  assert.equal(error.offset, at);
  assert.match(error.message, /point record 500 \(raw X 2000000000, .*\) lies outside the header's bounds/);
  // Header bounds pulled in by one scale step (writers that round them): every point still reads.
  const rounded = edited(COLOR.name, (_, v) => {
    for (let axis = 0; axis < 3; axis++) {
      const step = v.getFloat64(131 + 8 * axis, true);
      v.setFloat64(179 + 16 * axis, v.getFloat64(179 + 16 * axis, true) - step, true);
      v.setFloat64(187 + 16 * axis, v.getFloat64(187 + 16 * axis, true) + step, true);
    }
  });
  assert.equal((await pointsOf(rounded, "rounded.las")).given, COLOR.points);
});
