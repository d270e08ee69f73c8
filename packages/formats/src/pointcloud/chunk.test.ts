import { test } from "node:test";
import assert from "node:assert/strict";
import { chunkBounds, positionAt, type PointChunk } from "./chunk.js";
import { mulberry32 } from "../testing/prng.js";

/** Bounds the slow way: every position converted, as readers and writers see them. */
function boundsOneByOne(c: PointChunk, into: Float64Array): Float64Array {
  const tmp = new Float64Array(3);
  for (let i = 0; i < c.count; i++) {
    positionAt(c.positions, i, tmp);
    for (let a = 0; a < 3; a++) {
      if (tmp[a] < into[a]) into[a] = tmp[a];
      if (tmp[a] > into[a + 3]) into[a + 3] = tmp[a];
    }
  }
  return into;
}

const empty = () => new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);

test("chunkBounds of scaled integers equals converting every point, for positive and negative scales", () => {
  const rand = mulberry32(7);
  for (const scale of [[0.001, 0.01, 0.0001], [-0.001, 0.25, -1e-7]] as const) {
    const n = 5000;
    const x = new Int32Array(n), y = new Int32Array(n), z = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = Math.floor((rand() - 0.5) * 2 ** 31);
      y[i] = Math.floor((rand() - 0.5) * 1e6);
      z[i] = Math.floor(rand() * 1e4);
    }
    const c: PointChunk = { count: n, positions: { kind: "i32", x, y, z, scale, offset: [512345.678, 4e6, -12.5] } };
    assert.deepEqual([...chunkBounds(c)], [...boundsOneByOne(c, empty())]);
    // Accumulates into bounds given.
    const into = new Float64Array([-1e12, 0, 0, 1e12, 0, 0]);
    assert.deepEqual([...chunkBounds(c, into.slice())], [...boundsOneByOne(c, into.slice())]);
  }
});

test("chunkBounds of doubles skips NaN wherever it is, and leaves bounds alone for an empty chunk", () => {
  const x = new Float64Array([NaN, 3, -2, 5]), y = new Float64Array([1, NaN, 4, 0]), z = new Float64Array([2, 2, 2, NaN]);
  const c: PointChunk = { count: 4, positions: { kind: "f64", x, y, z } };
  assert.deepEqual([...chunkBounds(c)], [-2, 0, 2, 5, 4, 2]);
  assert.deepEqual([...chunkBounds({ count: 0, positions: { kind: "f64", x: new Float64Array(0), y: new Float64Array(0), z: new Float64Array(0) } })], [...empty()]);
});
