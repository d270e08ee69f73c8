/**
 * One spatial chunk built: its points read from the distribution file, its subtree built (additive nodes
 * or OPC tiles), every node written to the chunk's own output file. Runs on a worker thread
 * (chunk-worker.ts) or in the calling thread; the same bytes either way.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import type { OpcLayout } from "@realconv/formats";
import { concatBlocks, decodeBlock, encodeBlock, type AttributeSpec, type PointBlock } from "./block.js";
import type { NodeKey, TreeFrame } from "./frame.js";
import { buildAdditive } from "./lod.js";
import { buildOpcChunk, encodeOpcPoints, opcColumns } from "./opc-build.js";

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

export function runChunkTask(task: ChunkTask): ChunkResult {
  const block: PointBlock = concatBlocks(
    task.specs,
    readRanges(task.input, task.ranges).map((b) => decodeBlock(task.specs, b)),
  );
  const fd = openSync(task.output, "w");
  const nodes: StoredNode[] = [];
  let at = 0;
  const put = (key: NodeKey, count: number, bytes: Uint8Array) => {
    writeSync(fd, bytes, 0, bytes.length, at);
    nodes.push({ level: key.level, x: key.x, y: key.y, z: key.z, count, offset: at, length: bytes.length });
    at += bytes.length;
  };
  try {
    if (task.mode.kind === "additive") {
      for (const n of buildAdditive(task.specs, task.frame, task.root, block, task.mode.maxLeaf)) put(n.key, n.block.count, encodeBlock(task.specs, n.block));
    } else {
      const cols = opcColumns(task.specs, task.mode.colorShift);
      for (const t of buildOpcChunk(task.mode.layout, task.frame, cols, task.root, block)) put(t, t.points.count, encodeOpcPoints(t.points));
    }
  } finally {
    closeSync(fd);
  }
  return { nodes, bytes: at };
}
