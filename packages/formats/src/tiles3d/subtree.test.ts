import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parse } from "@loaders.gl/core";
import { Tile3DSubtreeLoader } from "@loaders.gl/3d-tiles";
import { FormatError } from "../io/byte-source.js";
import {
  buildImplicitSubtrees,
  childSubtreeCount,
  createAvailability,
  decodeSubtree,
  encodeSubtree,
  expandTemplate,
  implicitTileBounds,
  isAvailable,
  mortonDecode3,
  mortonIndex3,
  setAvailable,
  subtreeTileCount,
  subtreeTileIndex,
  type SubtreeInput,
} from "./subtree.js";

/** Two-level subtree: root, children 0 (x0 y0 z0) and 7 (x1 y1 z1); content on root and child 7; child subtree under level-2 tile (3,3,3). */
function smallSubtree(): SubtreeInput {
  const tiles = createAvailability(subtreeTileCount(2));
  const content = createAvailability(subtreeTileCount(2));
  const children = createAvailability(childSubtreeCount(2));
  for (const [l, x, y, z] of [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]]) setAvailable(tiles, subtreeTileIndex(l, x, y, z));
  for (const [l, x, y, z] of [[0, 0, 0, 0], [1, 1, 1, 1]]) setAvailable(content, subtreeTileIndex(l, x, y, z));
  setAvailable(children, mortonIndex3(3, 3, 3));
  return { subtreeLevels: 2, tileAvailability: tiles, contentAvailability: [content], childSubtreeAvailability: children };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const loaderContext = { baseUrl: "file:///tileset", fetch: (() => Promise.reject(new Error("no external buffers"))) as unknown as typeof fetch };

describe("implicit octree subtrees", () => {
  it("interleaves Morton indices x first and inverts them", () => {
    assert.equal(mortonIndex3(1, 0, 0), 1);
    assert.equal(mortonIndex3(0, 1, 0), 2);
    assert.equal(mortonIndex3(0, 0, 1), 4);
    assert.equal(mortonIndex3(3, 3, 3), 63);
    assert.equal(mortonIndex3(2, 0, 0), 8);
    // x=0101 y=1001 z=0011: per level (z y x) 111, 100, 001, 010 -> 7 + 4*8 + 1*64 + 2*512.
    assert.equal(mortonIndex3(5, 9, 3), 1127);
    for (const [x, y, z] of [[0, 0, 0], [5, 9, 3], [131071, 0, 77], [65535, 65535, 65535]]) assert.deepEqual(mortonDecode3(mortonIndex3(x, y, z)), [x, y, z]);
    // Past 32 bits the index stays exact.
    assert.equal(mortonIndex3(1 << 16, 0, 0), 2 ** 48);
    assert.equal(subtreeTileCount(3), 73);
    assert.equal(subtreeTileIndex(2, 1, 0, 0), 10);
    assert.equal(expandTemplate("content/{level}/{x}/{y}/{z}.glb", 3, 1, 2, 7), "content/3/1/2/7.glb");
    assert.deepEqual(implicitTileBounds([0, 0, 0], [8, 8, 16], 2, 1, 3, 0), { min: [2, 6, 0], max: [4, 8, 4] });
  });

  it("encodes the small subtree byte for byte (golden)", () => {
    assert.equal(hex(encodeSubtree(smallSubtree())), GOLDEN_SUBTREE);
  });

  it("writes constants when every bit is equal, bitstreams otherwise, 8-aligned", () => {
    const full = createAvailability(subtreeTileCount(3));
    for (let i = 0; i < subtreeTileCount(3); i++) setAvailable(full, i);
    const bytes = encodeSubtree({ subtreeLevels: 3, tileAvailability: full, contentAvailability: [full], childSubtreeAvailability: createAvailability(childSubtreeCount(3)) });
    const decoded = decodeSubtree(bytes, 3);
    assert.deepEqual(decoded.json.tileAvailability, { constant: 1 });
    assert.deepEqual(decoded.json.childSubtreeAvailability, { constant: 0 });
    assert.equal(decoded.json.buffers, undefined);
    assert.equal(bytes.byteLength % 8, 0);
    assert.ok(isAvailable(decoded.tileAvailability, 72));
    const small = encodeSubtree(smallSubtree());
    const v = new DataView(small.buffer);
    assert.equal(v.getUint32(0, true), 0x74627573);
    assert.equal((24 + Number(v.getBigUint64(8, true))) % 8, 0);
    assert.equal(Number(v.getBigUint64(16, true)) % 8, 0);
    assert.equal(24 + Number(v.getBigUint64(8, true)) + Number(v.getBigUint64(16, true)), small.byteLength);
  });

  it("round-trips through its own reader and through @loaders.gl/3d-tiles", async () => {
    const input = smallSubtree();
    const bytes = encodeSubtree(input);
    const ours = decodeSubtree(bytes, 2);
    assert.deepEqual(ours.tileAvailability, input.tileAvailability);
    assert.deepEqual(ours.contentAvailability, input.contentAvailability);
    assert.deepEqual(ours.childSubtreeAvailability, input.childSubtreeAvailability);
    const theirs = (await parse(bytes.slice().buffer, Tile3DSubtreeLoader, {}, loaderContext as never)) as unknown as {
      tileAvailability: { explicitBitstream: Uint8Array; availableCount: number };
      contentAvailability: Array<{ explicitBitstream: Uint8Array }>;
      childSubtreeAvailability: { explicitBitstream: Uint8Array };
    };
    assert.deepEqual(Array.from(theirs.tileAvailability.explicitBitstream), Array.from(input.tileAvailability));
    assert.equal(theirs.tileAvailability.availableCount, 3);
    assert.deepEqual(Array.from(theirs.contentAvailability[0].explicitBitstream), Array.from(input.contentAvailability[0]));
    assert.deepEqual(Array.from(theirs.childSubtreeAvailability.explicitBitstream), Array.from(input.childSubtreeAvailability));
  });

  it("builds every subtree of an octree from its content tiles", () => {
    const { subtrees, availableLevels } = buildImplicitSubtrees(
      [
        { level: 3, x: 5, y: 2, z: 7 },
        { level: 1, x: 1, y: 0, z: 0 },
      ],
      2,
    );
    assert.equal(availableLevels, 4);
    assert.deepEqual(subtrees.map((s) => [s.level, s.x, s.y, s.z]), [[0, 0, 0, 0], [2, 2, 1, 3]]);
    const root = decodeSubtree(subtrees[0].bytes, 2);
    const available = (bits: Uint8Array) => Array.from({ length: subtreeTileCount(2) }, (_, i) => i).filter((i) => isAvailable(bits, i));
    // Root, (1,1,0,0) with content, (1,1,0,1) on the way to the level-3 tile.
    assert.deepEqual(available(root.tileAvailability), [0, subtreeTileIndex(1, 1, 0, 0), subtreeTileIndex(1, 1, 0, 1)]);
    assert.deepEqual(available(root.contentAvailability[0]), [subtreeTileIndex(1, 1, 0, 0)]);
    assert.deepEqual(Array.from({ length: childSubtreeCount(2) }, (_, i) => i).filter((i) => isAvailable(root.childSubtreeAvailability, i)), [mortonIndex3(2, 1, 3)]);
    const child = decodeSubtree(subtrees[1].bytes, 2);
    assert.deepEqual(available(child.tileAvailability), [0, subtreeTileIndex(1, 1, 0, 1)]);
    assert.deepEqual(available(child.contentAvailability[0]), [subtreeTileIndex(1, 1, 0, 1)]);
    assert.deepEqual(child.json.childSubtreeAvailability, { constant: 0 });
    // Same tiles in another order: same bytes.
    const again = buildImplicitSubtrees([{ level: 1, x: 1, y: 0, z: 0 }, { level: 3, x: 5, y: 2, z: 7 }], 2);
    assert.deepEqual(again.subtrees, subtrees);
    assert.throws(() => buildImplicitSubtrees([{ level: 2, x: 4, y: 0, z: 0 }], 2), /outside the octree/);
  });

  it("rejects wrong lengths, paddings and counts, naming the file", () => {
    const good = encodeSubtree(smallSubtree());
    assert.throws(() => decodeSubtree(good.slice(0, good.byteLength - 8), 2, "subtrees/0.0.0.0.subtree"), (e: unknown) => e instanceof FormatError && /subtrees\/0\.0\.0\.0\.subtree.*header lengths/.test(e.message));
    const unpadded = good.slice();
    const v = new DataView(unpadded.buffer);
    v.setBigUint64(8, v.getBigUint64(8, true) - 1n, true);
    v.setBigUint64(16, v.getBigUint64(16, true) + 1n, true);
    assert.throws(() => decodeSubtree(unpadded, 2), /unaligned|multiple of 8/);
    const wrongCount = Buffer.from(good);
    wrongCount[wrongCount.indexOf('"availableCount":3') + '"availableCount":'.length] = 0x34; // "4", same length
    assert.throws(() => decodeSubtree(wrongCount, 2), /availableCount is 4, the bitstream has 3/);
    assert.throws(() => encodeSubtree({ ...smallSubtree(), subtreeLevels: 3 }), /expected 10 for 73 bits/);
  });
});

/* Checked by hand: JSON 352 B (24 + 352 aligned), binary 24 B; tiles bits 0, 1, 8 = 03 01; content bits 0, 8 = 01 01; child subtree bit 63 = byte 7 0x80. */
const GOLDEN_SUBTREE =
  "7375627401000000600100000000000018000000000000007b2262756666657273223a5b7b22627974654c656e677468" +
  "223a32347d5d2c226275666665725669657773223a5b7b22627566666572223a302c22627974654f6666736574223a30" +
  "2c22627974654c656e677468223a327d2c7b22627566666572223a302c22627974654f6666736574223a382c22627974" +
  "654c656e677468223a327d2c7b22627566666572223a302c22627974654f6666736574223a31362c22627974654c656e" +
  "677468223a387d5d2c2274696c65417661696c6162696c697479223a7b2262697473747265616d223a302c2261766169" +
  "6c61626c65436f756e74223a337d2c22636f6e74656e74417661696c6162696c697479223a5b7b226269747374726561" +
  "6d223a312c22617661696c61626c65436f756e74223a327d5d2c226368696c6453756274726565417661696c6162696c" +
  "697479223a7b2262697473747265616d223a322c22617661696c61626c65436f756e74223a317d7d0301000000000000" +
  "01010000000000000000000000000080";
