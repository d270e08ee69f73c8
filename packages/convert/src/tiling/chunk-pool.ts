/**
 * Threads that build spatial chunks (and regroup the distribution's blocks), started on first use and
 * stopped after the chunk phase. With one thread the work stays in the calling thread. A result does not
 * depend on the thread it ran on.
 */
import { Worker } from "node:worker_threads";
import { runChunkTask, type ChunkResult, type ChunkTask } from "./chunk-task.js";
import type { PointChunk } from "@realconv/formats";
import { blockBuffers, rawBuffers, rawPoints, runSortTask, type CellSortAnswer, type CellSorted, type CellSortTask } from "./cell-sort.js";
import type { PositionGrid } from "./position-grid.js";

/**
 * Positions mapped before quantising: through `grid` on the tiling threads, or, for a chunk with a point
 * outside the grid's box, through `exact` in the calling thread (which gives the mapped chunk).
 */
export interface PositionMapping {
  grid: PositionGrid;
  exact(chunk: PointChunk): PointChunk;
}

const WORKER_URL = new URL("./chunk-worker.js", import.meta.url);

interface Pending {
  resolve: (r: never) => void;
  reject: (e: Error) => void;
}

export class ChunkPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  private started = false;
  private closed = false;

  /**
   * `sortHere`: when it says so, a block is regrouped in the calling thread (while other threads, the
   * host's LAZ decoders, already take the cores: the tiling threads then start only for the chunks).
   */
  constructor(
    readonly threads: number,
    private readonly sortHere: () => boolean = () => false,
  ) {}

  /** False when the work runs in the calling thread (one thread, or the pool closed). */
  private ensureStarted(): boolean {
    if (this.threads <= 1 || this.closed) return false;
    if (this.started) return true;
    this.started = true;
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(WORKER_URL);
      w.on("message", (m: { id: number; result?: unknown; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.release(w);
        if (m.error !== undefined) p.reject(new Error(`tiling thread: ${m.error}`));
        else p.resolve(m.result as never);
      });
      w.on("error", (e) => this.failAll(e));
      this.workers.push(w);
      this.idle.push(w);
    }
    return true;
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Builds one chunk. */
  async run(task: ChunkTask): Promise<ChunkResult> {
    if (!this.ensureStarted()) return runChunkTask(task);
    return this.post<ChunkResult>({ kind: "chunk", task }, []);
  }

  /** Regroups a block by cell; the block's buffers are handed over. */
  async sort(task: CellSortTask): Promise<CellSortAnswer> {
    if (this.sortHere() || !this.ensureStarted()) return runSortTask(task);
    return this.post<CellSortAnswer>({ kind: "sort", task }, task.block ? blockBuffers(task.block) : []);
  }

  /**
   * Quantises a chunk on the tree's frame (mapped first when `mapping` is given) and regroups it by cell,
   * on a thread (or here, see `sortHere`): the calling thread only hands over the chunk's columns (copied,
   * the chunk is left as it is; or, with `handOver`, transferred, the chunk's arrays then detached).
   */
  async sortChunk(base: Pick<CellSortTask, "specs" | "frame" | "grid">, chunk: PointChunk, mapping?: PositionMapping, handOver = false): Promise<CellSorted> {
    const raw = rawPoints(base.specs, chunk);
    if (handOver && !mapping && !this.sortHere() && this.ensureStarted()) {
      // The chunk is not used again: its columns go to the thread without a copy.
      return (await this.post<CellSortAnswer>({ kind: "sort", task: { ...base, raw } }, rawBuffers(raw))) as CellSorted;
    }
    const r = await this.sort({ ...base, raw, positions: mapping?.grid });
    if (!("outside" in r)) return r;
    // A point outside the grid: this chunk is mapped here, exactly where the grid does not reach.
    return (await this.sort({ ...base, raw: rawPoints(base.specs, mapping!.exact(chunk)) })) as CellSorted;
  }

  private async post<T>(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<T> {
    while (this.idle.length === 0) await new Promise<void>((r) => this.waiting.push(r));
    const w = this.idle.pop()!;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: never) => void, reject });
      w.postMessage({ id, ...message }, transfer);
    });
  }

  /** Stops the threads (again: nothing). */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error("tiling threads stopped"));
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
    this.idle.length = 0;
  }
}
