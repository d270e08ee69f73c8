/**
 * The octree engine on a synthetic cloud split into several chunks: each input point in exactly one node
 * of an additive tree and inside its node's box, coarser levels thinner than their spacing allows, the same
 * tree with 1 and 2 threads, and a second build on the same job parts reusing every part (its source is
 * then never read). OPC trees: level 0 holds every point.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { opcLayout, type PointChunk } from "@realconv/formats";
import { SYNTHETIC_OFFSET, SYNTHETIC_SCALE, SYNTHETIC_SCHEMA, syntheticCloud } from "@realconv/formats/testing/synthetic";
import { MemoryParts } from "../testing/memory-io.js";
import { LazWorkerPool } from "../parallel/laz-pool.js";
import type { RunnerResources } from "../contract/runner.js";
import { buildOctree, type Octree, type OctreeOptions } from "./engine.js";
import { nodeBox, levelSpacing, type TreeFrame } from "./frame.js";
import type { AttributeSpec } from "./block.js";

const POINTS = 400_000;
const SPECS: AttributeSpec[] = SYNTHETIC_SCHEMA.columns.map((c) => ({ name: c, kind: c === "gpsTime" ? "f64" : ["classification", "returnNumber", "numberOfReturns"].includes(c) ? "u8" : "u16" }));

async function boundsOf(n: number): Promise<Float64Array> {
  const b = new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
  for await (const c of syntheticCloud(n)) {
    const p = c.positions;
    if (p.kind !== "i32") throw new Error("synthetic clouds are i32");
    for (let i = 0; i < c.count; i++) {
      const v = [p.x[i] * p.scale[0] + p.offset[0], p.y[i] * p.scale[1] + p.offset[1], p.z[i] * p.scale[2] + p.offset[2]];
      for (let a = 0; a < 3; a++) {
        b[a] = Math.min(b[a], v[a]);
        b[a + 3] = Math.max(b[a + 3], v[a]);
      }
    }
  }
  return b;
}

function cubeFrame(b: Float64Array): TreeFrame {
  const half = Math.max(b[3] - b[0], b[4] - b[1], b[5] - b[2]) / 2;
  const min = [0, 1, 2].map((a) => (b[a] + b[a + 3]) / 2 - half) as [number, number, number];
  return { scale: SYNTHETIC_SCALE, offset: SYNTHETIC_OFFSET, min, edge: [2 * half, 2 * half, 2 * half] };
}

function resources(dir: string, threads: number): RunnerResources {
  // 32 MiB: chunks of ~50 000 points, so the cloud is split into several.
  return { scratch: { dir, budgetBytes: 1 << 30 }, threads: threads > 1 ? new LazWorkerPool(threads) : undefined, memoryBudgetBytes: 32 << 20, partsDir: join(dir, "parts") };
}

async function build(source: AsyncIterable<PointChunk>, options: OctreeOptions, res: RunnerResources, parts = new MemoryParts()): Promise<Octree> {
  return buildOctree(source, options, { resources: res, parts, signal: new AbortController().signal, progress: () => undefined });
}

/** A digest of every node: key, count, and its points' bytes. */
function digest(tree: Octree): string {
  const h = createHash("sha256");
  for (const n of tree.nodes) {
    const b = n.read();
    h.update(`${n.key.level}-${n.key.x}-${n.key.y}-${n.key.z}:${n.count};`);
    for (const a of [b.x, b.y, b.z, ...b.attributes]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest("hex");
}

describe("octree engine", () => {
  it("additive: every point in exactly one node, inside its box; the same tree with 1 and 2 threads; resumed from its parts", { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "realconv-engine-"));
    try {
      const bounds = await boundsOf(POINTS);
      const frame = cubeFrame(bounds);
      const options: OctreeOptions = { frame, specs: SPECS, mode: { kind: "additive", maxLeaf: 20_000 }, expectedPoints: POINTS, name: "t" };
      const parts = new MemoryParts();
      const one = await build(syntheticCloud(POINTS), options, resources(join(dir, "a"), 1), parts);
      const chunkParts = [...parts.done.keys()].filter((k) => k.startsWith("t/chunk-"));
      assert.ok(chunkParts.length >= 4, `several chunks (${chunkParts.length})`);
      assert.equal(one.pointCount, POINTS);
      let total = 0;
      let sumX = 0;
      const levels = new Map<number, number>();
      for (const n of one.nodes) {
        const b = n.read();
        assert.equal(b.count, n.count);
        assert.ok(n.count > 0);
        total += n.count;
        const box = nodeBox(frame, n.key);
        const step = frame.scale[0];
        for (let i = 0; i < b.count; i++) {
          const x = b.x[i] * frame.scale[0] + frame.offset[0];
          const y = b.y[i] * frame.scale[1] + frame.offset[1];
          const z = b.z[i] * frame.scale[2] + frame.offset[2];
          assert.ok(x >= box[0] - step && x <= box[3] + step && y >= box[1] - step && y <= box[4] + step && z >= box[2] - step && z <= box[5] + step, `point in node ${JSON.stringify(n.key)}`);
          sumX += b.x[i];
        }
        levels.set(n.key.level, (levels.get(n.key.level) ?? 0) + n.count);
      }
      assert.equal(total, POINTS, "every point once");
      let inputSumX = 0;
      for await (const c of syntheticCloud(POINTS)) if (c.positions.kind === "i32") for (let i = 0; i < c.count; i++) inputSumX += c.positions.x[i];
      assert.equal(sumX, inputSumX, "the same points");
      // The root holds at most one point per cell of its 128³ grid, and the cloud is a surface: ~128² points.
      const root = one.nodes.find((n) => n.key.level === 0)!;
      assert.ok(root.count <= 128 * 128 * 4, `root count ${root.count}`);
      assert.ok(levelSpacing(frame, 1) * 2 === levelSpacing(frame, 0), "spacing halves per level");

      const two = await build(syntheticCloud(POINTS), options, resources(join(dir, "b"), 2));
      assert.equal(digest(two), digest(one), "same tree with 2 threads");

      // Every part finished: a second build reads nothing from its source.
      async function* nothing(): AsyncIterable<PointChunk> {
        throw new Error("the source was read although every part was finished");
      }
      const again = await build(nothing(), options, resources(join(dir, "a"), 1), parts);
      assert.equal(digest(again), digest(one), "resumed from its parts");
      await one.dispose();
      await two.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("opc: level 0 holds every point; each coarser level is thinner", { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "realconv-engine-"));
    try {
      const bounds = await boundsOf(POINTS);
      const layout = opcLayout(bounds, [0.016, 0.016, 0.016]);
      const top = layout.levelCount - 1;
      const edge = layout.tileSize.map((t) => t * 2 ** top) as [number, number, number];
      const frame: TreeFrame = { scale: SYNTHETIC_SCALE, offset: SYNTHETIC_OFFSET, min: layout.origin, edge };
      const specs = SPECS.filter((s) => ["red", "green", "blue", "intensity", "classification"].includes(s.name));
      const tree = await build(syntheticCloud(POINTS), { frame, specs, mode: { kind: "opc", layout }, expectedPoints: POINTS, name: "o" }, resources(dir, 2));
      const perLevel = tree.opcLevels.map((tiles) => tiles.reduce((n, t) => n + t.count, 0));
      assert.equal(perLevel[0], POINTS);
      for (let l = 1; l < perLevel.length; l++) assert.ok(perLevel[l] <= perLevel[l - 1], `level ${l} not above level ${l - 1}`);
      assert.equal(tree.opcLevels[top].length, 1, `one top tile (${perLevel.join(",")}; ${tree.opcLevels.map((l) => l.length).join(",")})`);
      await tree.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
