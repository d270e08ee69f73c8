import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesSource } from "../../io/byte-source.js";
import { openE57 } from "./reader.js";
import { writeE57ToBytes } from "./writer.js";
import { GOLDEN_10_E57_BASE64 } from "./fixtures/golden-10.js";
import { GOLDEN_OPTIONS, goldenChunk, goldenScans } from "./fixtures/golden-input.js";
import { webE57Points } from "./web-e57-oracle.js";

const golden = (): Uint8Array => new Uint8Array(Buffer.from(GOLDEN_10_E57_BASE64, "base64"));

test("the writer reproduces the checked-in golden file byte for byte", async () => {
  const bytes = await writeE57ToBytes(goldenScans(), GOLDEN_OPTIONS);
  const expected = golden();
  assert.equal(bytes.length, expected.length);
  const firstDiff = bytes.findIndex((v, i) => v !== expected[i]);
  assert.equal(firstDiff, -1, `first differing byte at ${firstDiff}`);
});

test("the golden file reads back with our reader and with web-e57", async () => {
  const c = goldenChunk();
  const p = c.positions as { x: Int32Array; y: Int32Array; z: Int32Array };
  const r = await openE57(bytesSource(golden(), "golden-10.e57"));
  assert.equal(r.crs, "EPSG:32633");
  assert.equal(r.pointCount, 10);
  const chunks = [];
  for await (const ch of r.chunks()) chunks.push(ch);
  assert.equal(chunks.length, 1);
  const g = chunks[0];
  for (let i = 0; i < 10; i++) {
    assert.equal(g.positions.x[i], p.x[i] * 0.001 + 500000);
    assert.equal(g.positions.y[i], p.y[i] * 0.001 + 4000000);
    assert.equal(g.positions.z[i], p.z[i] * 0.001 + 100);
  }
  assert.deepEqual(g.intensity, c.intensity);
  assert.deepEqual([g.red, g.green, g.blue], [c.red, c.green, c.blue]);
  const w = await webE57Points(golden());
  assert.equal(w.length, 10);
  for (let i = 0; i < 10; i++) {
    assert.ok(Math.abs(w[i][0] - g.positions.x[i]) < 1e-9 && Math.abs(w[i][1] - g.positions.y[i]) < 1e-9);
    assert.ok(Math.abs(w[i][2] - g.positions.z[i]) < 1e-9);
    assert.deepEqual(w[i].slice(3), [c.red![i] / 257, c.green![i] / 257, c.blue![i] / 257]);
  }
});
