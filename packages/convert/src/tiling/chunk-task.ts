/**
 * One spatial chunk built: its points read from the distribution file, its subtree built (additive nodes
 * or OPC tiles), every node written to the chunk's own output file. Runs on a worker thread
 * (chunk-worker.ts) or in the calling thread; the same bytes either way.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import type { OpcLayout } from "@realconv/formats";
import { decodeBlockInto, encodeBlock, type AttributeSpec, type PointBlock } from "./block.js";
import type { NodeKey, TreeFrame } from "./frame.js";
import { buildAdditive } from "./lod.js";
import { buildOpcChunk, encodeOpcPoints, opcColumns } from "./opc-build.js";
import { scratchBlock, scratchU8 } from "./scratch.js";

/** A range of bytes in a file. */
export interface FileRange {
  offset: number;
  length: number;
}

export interface ChunkTask {
  specs: AttributeSpec[];
  frame: TreeFrame;
  root: NodeKey;
  /** The distribution file and the blocks of this chunk's points in it, in order. */
  input: string;
  ranges: FileRange[];
  /** Points in those blocks. */
  count: number;
  output: string;
  mode: { kind: "additive"; maxLeaf: number } | { kind: "opc"; layout: OpcLayout; colorShift: number };
}

/** A node (additive: an octree node) or a tile (OPC: `level` is the OPC level) in a chunk's output file. */
export interface StoredNode extends NodeKey, FileRange {
  count: number;
}

export interface ChunkResult {
  nodes: StoredNode[];
  bytes: number;
}

export function readRanges(path: string, ranges: readonly FileRange[]): Uint8Array[] {
  const fd = openSync(path, "r");
  try {
    return ranges.map((r) => {
      const buf = new Uint8Array(r.length);
      let got = 0;
      while (got < r.length) {
        const n = readSync(fd, buf, got, r.length - got, r.offset + got);
        if (n <= 0) throw new Error(`tiling: ${path} ends before byte ${r.offset + r.length}`);
        got += n;
      }
      return buf;
    });
  } finally {
    closeSync(fd);
  }
}

/** Reads `ranges` of `path` one after the other into one reused buffer (each valid during its call). */
function eachRange(path: string, ranges: readonly FileRange[], use: (bytes: Uint8Array) => void): void {
  const fd = openSync(path, "r");
  try {
    for (const r of ranges) {
      const buf = scratchU8("read", r.length);
      let got = 0;
      while (got < r.length) {
        const n = readSync(fd, buf, got, r.length - got, r.offset + got);
        if (n <= 0) throw new Error(`tiling: ${path} ends before byte ${r.offset + r.length}`);
        got += n;
      }
      use(buf);
    }
  } finally {
    closeSync(fd);
  }
}

export function runChunkTask(task: ChunkTask): ChunkResult {
  // The chunk's points straight into this thread's scratch block (no per-range copies kept).
  const block: PointBlock = scratchBlock("chunk", task.specs, task.count);
  let filled = 0;
  eachRange(task.input, task.ranges, (bytes) => {
    filled += decodeBlockInto(task.specs, bytes, block, filled);
  });
  if (filled !== task.count) throw new Error(`tiling: chunk ${task.root.level}-${task.root.x}-${task.root.y}-${task.root.z} has ${filled} points, ${task.count} expected`);
  const fd = openSync(task.output, "w");
  const nodes: StoredNode[] = [];
  let at = 0;
  // Each node written as soon as it is final: a chunk's finished nodes never pile up in memory.
  const put = (key: NodeKey, count: number, bytes: Uint8Array) => {
    writeSync(fd, bytes, 0, bytes.length, at);
    nodes.push({ level: key.level, x: key.x, y: key.y, z: key.z, count, offset: at, length: bytes.length });
    at += bytes.length;
  };
  try {
    if (task.mode.kind === "additive") {
      buildAdditive(task.specs, task.frame, task.root, block, task.mode.maxLeaf, (key, b) => put(key, b.count, encodeBlock(task.specs, b, (n) => scratchU8("encode", n))));
    } else {
      const cols = opcColumns(task.specs, task.mode.colorShift);
      buildOpcChunk(task.mode.layout, task.frame, cols, task.root, block, (t) => put(t, t.points.count, encodeOpcPoints(t.points, (n) => scratchU8("encode", n))));
    }
  } finally {
    closeSync(fd);
  }
  return { nodes, bytes: at };
}
