import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { cycles, importGraph } from "./import-graph.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

test("no import cycles between the packages' modules", () => {
  const graph = importGraph(root);
  assert.ok(graph.size > 100, `read ${graph.size} modules`);
  assert.deepEqual(cycles(graph), []);
});

test("the cycle finder finds a cycle", () => {
  const g = new Map([
    ["a", new Set(["b"])],
    ["b", new Set(["c"])],
    ["c", new Set(["a"])],
    ["d", new Set(["a"])],
  ]);
  assert.deepEqual(cycles(g), [["a", "b", "c"]]);
});
