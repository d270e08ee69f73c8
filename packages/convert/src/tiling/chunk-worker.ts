/** A tiling thread: builds one spatial chunk per message (chunk-task.ts) and answers with its manifest. */
import { parentPort } from "node:worker_threads";
import { runChunkTask, type ChunkTask } from "./chunk-task.js";

const port = parentPort;
if (!port) throw new Error("chunk-worker runs as a worker thread only");

port.on("message", (m: { id: number; task: ChunkTask }) => {
  try {
    port.postMessage({ id: m.id, result: runChunkTask(m.task) });
  } catch (e) {
    port.postMessage({ id: m.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) });
  }
});
