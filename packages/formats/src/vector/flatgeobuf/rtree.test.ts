import { test } from "node:test";
import assert from "node:assert/strict";
import { buildIndex, levelBounds, NODE_BYTES, readNode, searchIndex, sortByKeys } from "./rtree.js";

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

test("sortByKeys orders positions by key, equal keys in their first order", () => {
  const rnd = random(3);
  for (const n of [0, 1, 17, 100000]) {
    // Few distinct low halves and high halves, so both radix passes see ties.
    const keys = Uint32Array.from({ length: n }, () => ((Math.floor(rnd() * 50) << 16) | Math.floor(rnd() * 70)) >>> 0);
    if (n > 2) keys[1] = 0xffffffff;
    const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
    assert.deepEqual([...sortByKeys(keys)], expected, `${n} keys`);
  }
});

test("the packed index: inner nodes hold the union of their children, a search finds every box it meets", async () => {
  const rnd = random(5);
  for (const count of [1, 16, 17, 300, 70000]) {
    const boxes = new Float64Array(4 * count);
    const offsets = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const x = 1000 * rnd() - 500;
      const y = 1000 * rnd() - 500;
      boxes.set([x, y, x + 5 * rnd(), y + 5 * rnd()], 4 * i);
      // Offsets past 2^32: the u64 is written whole.
      offsets[i] = i * 100 + (i % 2) * 2 ** 33;
    }
    const index = buildIndex(boxes, offsets, count, 16);
    const bounds = levelBounds(count, 16);
    assert.equal(index.byteLength, bounds[0][1] * NODE_BYTES);
    const [leafStart] = bounds[0];
    for (let i = 0; i < count; i++) {
      const n = readNode(index, (leafStart + i) * NODE_BYTES);
      assert.deepEqual([n.minX, n.minY, n.maxX, n.maxY, n.offset], [...boxes.subarray(4 * i, 4 * i + 4), offsets[i]]);
    }
    for (let level = 1; level < bounds.length; level++) {
      const [childStart, childEnd] = bounds[level - 1];
      for (let p = bounds[level][0]; p < bounds[level][1]; p++) {
        const node = readNode(index, p * NODE_BYTES);
        const children = [];
        for (let c = node.offset; c < Math.min(node.offset + 16, childEnd); c++) children.push(readNode(index, c * NODE_BYTES));
        assert.ok(node.offset >= childStart && children.length > 0);
        assert.equal(node.minX, Math.min(...children.map((c) => c.minX)));
        assert.equal(node.maxY, Math.max(...children.map((c) => c.maxY)));
      }
    }
    const rect = [-100, -50, 20, 80];
    const expected = [];
    for (let i = 0; i < count; i++) {
      const o = 4 * i;
      if (boxes[o] <= rect[2] && boxes[o + 2] >= rect[0] && boxes[o + 1] <= rect[3] && boxes[o + 3] >= rect[1]) expected.push(i);
    }
    const hits = await searchIndex(count, 16, rect, async (at, length) => index.subarray(at, at + length));
    assert.deepEqual(hits, expected, `${count} leaves`);
  }
});
