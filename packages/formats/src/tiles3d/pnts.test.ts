import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parse } from "@loaders.gl/core";
import { Tiles3DLoader } from "@loaders.gl/3d-tiles";
import { FormatError } from "../io/byte-source.js";
import { cubeContent, tinyContent } from "../testing/point-tiles.js";
import { decodePnts, encodePnts } from "./pnts.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

interface LoadersPnts {
  pointsLength: number;
  rtcCenter?: number[];
  featureTableJson: Record<string, unknown>;
  attributes: { positions: ArrayLike<number>; colors?: { value: ArrayLike<number>; size: number } };
  batchTableJson?: Record<string, unknown>;
  batchTableBinary?: Uint8Array;
}

describe(".pnts", () => {
  it("encodes the tiny tile byte for byte (golden)", () => {
    const bytes = encodePnts(tinyContent());
    assert.equal(hex(bytes), GOLDEN_FLOAT);
    assert.equal(hex(encodePnts(tinyContent(0.001))), GOLDEN_QUANTISED);
  });

  it("writes an exact header and 8-byte aligned sections", () => {
    for (const content of [tinyContent(), tinyContent(0.001), cubeContent(7, 10), { count: 3, positions: new Float32Array(9), rtcCenter: [0, 0, 0] as [number, number, number] }]) {
      const bytes = encodePnts(content);
      const v = new DataView(bytes.buffer);
      assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "pnts");
      assert.equal(v.getUint32(4, true), 1);
      assert.equal(v.getUint32(8, true), bytes.byteLength);
      assert.equal(bytes.byteLength % 8, 0);
      const [ftj, ftb, btj, btb] = [12, 16, 20, 24].map((o) => v.getUint32(o, true));
      assert.equal((28 + ftj) % 8, 0);
      assert.equal(ftb % 8, 0);
      assert.equal(btj % 8, 0);
      assert.equal(btb % 8, 0);
      assert.equal(28 + ftj + ftb + btj + btb, bytes.byteLength);
      if (content.rgb === undefined) assert.equal(btj, 0);
    }
  });

  it("quantises only when the step stays within the precision", () => {
    assert.equal(decodePnts(encodePnts(cubeContent(100, 60, 0.001))).quantised, true); // 60/65535 = 0.9 mm
    assert.equal(decodePnts(encodePnts(cubeContent(100, 70, 0.001))).quantised, false); // 1.07 mm
    assert.equal(decodePnts(encodePnts(cubeContent(100, 1, undefined))).quantised, false);
    const c = cubeContent(500, 60, 0.001);
    const back = decodePnts(encodePnts(c));
    for (let i = 0; i < c.positions.length; i++) assert.ok(Math.abs(back.positions[i] - c.positions[i]) <= 0.0005 + 1e-5, `position ${i}`);
  });

  it("round-trips through its own reader", () => {
    const c = cubeContent(1000, 20);
    const back = decodePnts(encodePnts(c));
    assert.equal(back.count, c.count);
    assert.deepEqual(back.rtcCenter, c.rtcCenter);
    assert.deepEqual(back.positions, c.positions);
    assert.deepEqual(back.rgb, c.rgb);
    assert.deepEqual(back.intensity, c.intensity);
    assert.deepEqual(back.classification, c.classification);
  });

  it("reads back with @loaders.gl/3d-tiles the same positions, colours, intensity and classification", async () => {
    for (const precision of [undefined, 0.001]) {
      const c = cubeContent(300, 50, precision);
      const bytes = encodePnts(c);
      const tile = (await parse(bytes.slice().buffer, Tiles3DLoader, { "3d-tiles": { loadGLTF: false, decodeQuantizedPositions: true } })) as unknown as LoadersPnts;
      assert.equal(tile.pointsLength, c.count);
      assert.deepEqual(Array.from(tile.rtcCenter ?? []), c.rtcCenter);
      assert.equal("POSITION_QUANTIZED" in tile.featureTableJson, precision !== undefined);
      for (let i = 0; i < c.count * 3; i++) {
        const p = tile.attributes.positions[i];
        assert.ok(Math.abs(p - c.positions[i]) <= (precision ?? 0) / 2 + 1e-5, `position ${i}: ${p} vs ${c.positions[i]}`);
      }
      const colors = tile.attributes.colors!;
      assert.equal(colors.size, 3);
      assert.deepEqual(Array.from(colors.value), Array.from(c.rgb!));
      const bt = tile.batchTableJson as Record<string, { byteOffset: number; componentType: string }>;
      const binary = tile.batchTableBinary!;
      const intensity = new Uint16Array(binary.buffer, binary.byteOffset + bt.Intensity.byteOffset, c.count);
      const classification = new Uint8Array(binary.buffer, binary.byteOffset + bt.Classification.byteOffset, c.count);
      assert.deepEqual(Array.from(intensity), Array.from(c.intensity!));
      assert.deepEqual(Array.from(classification), Array.from(c.classification!));
    }
  });

  it("rejects a wrong length, a misaligned section and a bad magic, naming the file", () => {
    const good = encodePnts(tinyContent());
    const shorter = good.slice(0, good.byteLength - 8);
    assert.throws(() => decodePnts(shorter, "a/b.pnts"), (e: unknown) => e instanceof FormatError && /a\/b\.pnts.*byteLength/.test(e.message));
    // JSON one byte shorter: the binary no longer starts 8-aligned.
    const misaligned = good.slice();
    const v = new DataView(misaligned.buffer);
    v.setUint32(12, v.getUint32(12, true) - 1, true);
    v.setUint32(16, v.getUint32(16, true) + 1, true);
    assert.throws(() => decodePnts(misaligned), /not 8-aligned|multiple of 8/);
    const magic = good.slice();
    magic[0] = 0x62;
    assert.throws(() => decodePnts(magic), /magic/);
    assert.throws(() => encodePnts({ count: 2, positions: new Float32Array(3), rtcCenter: [0, 0, 0] }), /positions has 3 values/);
  });
});

/* Checked by hand: header lengths 124+64+168+16 (+28) = 400, JSON padded with spaces, RGB at 48, Classification at 8. */
const GOLDEN_FLOAT =
  "706e747301000000900100007c00000040000000a8000000100000007b22504f494e54535f4c454e475448223a342c22" +
  "5254435f43454e544552223a5b343030303030302e352c3330303030302e32352c343930303030302e3132355d2c2250" +
  "4f534954494f4e223a7b22627974654f6666736574223a307d2c22524742223a7b22627974654f6666736574223a3438" +
  "7d7d2020202020200000000000000000000000000000c03f000000c00000803e000040c0000080400000204100000040" +
  "0000004000000040ff000000ff000000ff0a80fa000000007b22496e74656e73697479223a7b22627974654f66667365" +
  "74223a302c22636f6d706f6e656e7454797065223a22554e5349474e45445f53484f5254222c2274797065223a225343" +
  "414c4152227d2c22436c617373696669636174696f6e223a7b22627974654f6666736574223a382c22636f6d706f6e65" +
  "6e7454797065223a22554e5349474e45445f42595445222c2274797065223a225343414c4152227d7d20202020202020" +
  "0000e803ffff2a000206090200000000";
/* Volume offset (-3,-2,0) scale (5,6,10): point (0,0,0) -> (39321, 21845, 0) = 9999 5555 0000. */
const GOLDEN_QUANTISED =
  "706e747301000000c8010000cc00000028000000a8000000100000007b22504f494e54535f4c454e475448223a342c22" +
  "5254435f43454e544552223a5b343030303030302e352c3330303030302e32352c343930303030302e3132355d2c2250" +
  "4f534954494f4e5f5155414e54495a4544223a7b22627974654f6666736574223a307d2c225155414e54495a45445f56" +
  "4f4c554d455f4f4646534554223a5b2d332c2d322c305d2c225155414e54495a45445f564f4c554d455f5343414c4522" +
  "3a5b352c362c31305d2c22524742223a7b22627974654f6666736574223a32347d7d20202020202099995555000066e6" +
  "000066060000ffffffffffffaaaa3333ff000000ff000000ff0a80fa000000007b22496e74656e73697479223a7b2262" +
  "7974654f6666736574223a302c22636f6d706f6e656e7454797065223a22554e5349474e45445f53484f5254222c2274" +
  "797065223a225343414c4152227d2c22436c617373696669636174696f6e223a7b22627974654f6666736574223a382c" +
  "22636f6d706f6e656e7454797065223a22554e5349474e45445f42595445222c2274797065223a225343414c4152227d" +
  "7d202020202020200000e803ffff2a000206090200000000";
