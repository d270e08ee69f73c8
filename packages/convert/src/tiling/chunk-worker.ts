/** A tiling thread: builds one spatial chunk, or regroups one block by cell, per message. */
import { parentPort } from "node:worker_threads";
import { runChunkTask, type ChunkTask } from "./chunk-task.js";
import { blockBuffers, runSortTask, type CellSortTask } from "./cell-sort.js";

const port = parentPort;
if (!port) throw new Error("chunk-worker runs as a worker thread only");

port.on("message", (m: { id: number; kind: "chunk"; task: ChunkTask } | { id: number; kind: "sort"; task: CellSortTask }) => {
  try {
    if (m.kind === "chunk") port.postMessage({ id: m.id, result: runChunkTask(m.task) });
    else {
      const result = runSortTask(m.task);
      port.postMessage({ id: m.id, result }, "block" in result ? blockBuffers(result.block) : []);
    }
  } catch (e) {
    port.postMessage({ id: m.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) });
  }
});
