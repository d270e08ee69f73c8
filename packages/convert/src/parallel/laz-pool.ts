/**
 * LAZ chunks compressed and decompressed on worker threads. LAZ chunks are independent, so the codecs of
 * @realconv/formats take async per-chunk hooks (LazChunkCompressor / LazChunkDecompressor) and keep the
 * chunks in order themselves; this pool implements the hooks with N threads (`laz-worker.ts`).
 *
 * The host owns the pool (a worker process, `realconv convert`) and hands it to runners; without a pool
 * (one thread) everything stays in the calling thread.
 * Threads are started on first use, hold no reference on the process while idle (a finished CLI exits),
 * and a thread that dies fails its task with an Error and is replaced on the next task.
 */
import { Worker } from "node:worker_threads";
import type { LasReadOptions, PointChunk } from "@realconv/formats";
import type { LasRecordLayout } from "@realconv/formats/las";
import { LazChunkError, type LazChunkDecompressor, type RawLimits } from "@realconv/formats/laz";
import { inThreadLazCompressor, type LazChunkCompressor, type ParallelLazOptions } from "@realconv/formats/laz";
import type { LazTaskRequest, LazTaskResponse } from "./laz-protocol.js";

type TaskMessage = LazTaskRequest extends infer T ? (T extends unknown ? Omit<T, "id"> : never) : never;

interface Task {
  id: number;
  message: TaskMessage;
  transfer: ArrayBuffer[];
  resolve: (result: Uint8Array | PointChunk) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

const WORKER_URL = new URL("./laz-worker.js", import.meta.url);


export class LazWorkerPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  /** Buffers back from the threads, reused for the next tasks (allocated here, freed here). */
  private readonly spare: ArrayBuffer[] = [];
  /** Records buffers of compressed chunks, back from the threads, for the records of next chunks. */
  private readonly spareRecords: ArrayBuffer[] = [];

  constructor(threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`LAZ pool: invalid thread count ${threads}`);
    this.size = threads;
  }

  /** Starts every thread now (a thread takes ~0.1 s to boot): when work is known to be coming. */
  start(): void {
    while (!this.closed && this.slots.length < this.size) this.spawn();
  }

  /** Threads started so far (they start on demand, up to `size`). */
  get threadCount(): number {
    return this.slots.length;
  }

  /**
   * Compresses one chunk. `records` is handed over: its buffer is transferred (and reused by the pool)
   * when the view covers all of it, else copied.
   */
  compress(pointFormat: number, recordLength: number, records: Uint8Array, count: number): Promise<Uint8Array> {
    const whole = records.byteOffset === 0 && records.byteLength === records.buffer.byteLength && records.buffer instanceof ArrayBuffer;
    const bytes = whole ? records : this.copy(records);
    // Fresh: it goes on to the caller. Only the pages the thread writes get touched (a compressed chunk
    // is about a fifth of its records); a chunk that does not fit comes in the thread's own buffer.
    const out = new Uint8Array(records.byteLength);
    return this.run<Uint8Array>({ op: "compress", pointFormat, recordLength, count, bytes, out }, [bytes.buffer as ArrayBuffer, out.buffer]);
  }

  /** Raw records of one chunk, checked against `limits`; `chunk` is copied (it may be a view into the caller's data). */
  decompress(chunk: Uint8Array, pdrf: number, recordLength: number, count: number, limits?: RawLimits): Promise<Uint8Array> {
    const bytes = this.copy(chunk);
    const out = this.take(count * recordLength);
    return this.run<Uint8Array>({ op: "decompress", pdrf, recordLength, count, limits, bytes, out }, [bytes.buffer, out.buffer]);
  }

  /**
   * One chunk decompressed and decoded into columns on a thread (`layout` says how); `chunk` is copied.
   * The columns arrive in fresh buffers, the caller's to keep.
   */
  decompressColumns(chunk: Uint8Array, count: number, limits: RawLimits | undefined, layout: LasRecordLayout): Promise<PointChunk> {
    const bytes = this.copy(chunk);
    return this.run<PointChunk>({ op: "decompressColumns", count, limits, layout, bytes }, [bytes.buffer]);
  }

  /** A buffer of exactly `bytes` bytes for chunk records: one that served an earlier compress, else new. */
  recordsBuffer(bytes: number): Uint8Array {
    const i = this.spareRecords.findIndex((b) => b.byteLength === bytes);
    return i >= 0 ? new Uint8Array(this.spareRecords.splice(i, 1)[0]) : new Uint8Array(bytes);
  }

  /** Records from `decompress` the caller has finished with: their buffer serves a later task. */
  release(records: Uint8Array): void {
    this.give(records.buffer);
  }

  /** `bytes` copied into a pooled buffer. */
  private copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
    const b = this.take(bytes.byteLength);
    b.set(bytes);
    return b;
  }

  /** A view of `n` bytes over the smallest spare buffer that holds them, else over a new one. */
  private take(n: number): Uint8Array<ArrayBuffer> {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const len = this.spare[i].byteLength;
      if (len >= n && len <= 4 * n + 65_536 && (best < 0 || len < this.spare[best].byteLength)) best = i;
    }
    const buf = best >= 0 ? this.spare.splice(best, 1)[0] : new ArrayBuffer(n);
    return new Uint8Array(buf, 0, n);
  }

  private give(buf: ArrayBufferLike): void {
    // Enough spares for every task in flight to find one; beyond that they are left to the GC.
    if (buf instanceof ArrayBuffer && buf.byteLength > 0 && this.spare.length < 4 * this.size + 4 && !this.spare.includes(buf)) this.spare.push(buf);
  }

  /**
   * Stops the threads that have no task and drops the spare buffers: their memory back while the caller
   * has no work for the pool (a later task starts a thread again).
   */
  async stopIdle(): Promise<void> {
    const idle = this.slots.filter((s) => s.task === undefined);
    for (const s of idle) this.slots.splice(this.slots.indexOf(s), 1);
    this.spare.length = 0;
    this.spareRecords.length = 0;
    await Promise.all(idle.map((s) => s.worker.terminate()));
  }

  /** Tests only: one thread dies while running this task. */
  crashOneThread(): Promise<Uint8Array> {
    return this.run<Uint8Array>({ op: "crash" }, []);
  }

  /** Stops every thread; pending tasks fail. */
  async close(): Promise<void> {
    this.closed = true;
    const err = new Error("LAZ pool closed");
    for (const t of this.queue.splice(0)) t.reject(err);
    const slots = this.slots.splice(0);
    for (const s of slots) {
      s.task?.reject(err);
      s.task = undefined;
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private run<T extends Uint8Array | PointChunk>(message: TaskMessage, transfer: ArrayBuffer[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error("LAZ pool closed"));
    for (const b of transfer) if (b.byteLength === 0) return Promise.reject(new Error("LAZ pool: a buffer of the task was already transferred"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, message, transfer, resolve: resolve as (r: Uint8Array | PointChunk) => void, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => s.task === undefined);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const task = this.queue.shift()!;
      slot.task = task;
      // A busy thread keeps the process alive until its answer arrives; an idle one does not.
      slot.worker.ref();
      try {
        slot.worker.postMessage({ ...task.message, id: task.id }, task.transfer);
      } catch (e) {
        slot.task = undefined;
        slot.worker.unref();
        task.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    worker.unref();
    const slot: Slot = { worker, task: undefined };
    this.slots.push(slot);
    worker.on("message", (m: LazTaskResponse) => this.answered(slot, m));
    worker.on("error", (e: Error) => this.died(slot, `failed: ${e.message}`));
    worker.on("exit", (code: number) => this.died(slot, `exited with code ${code}`));
    return slot;
  }

  private answered(slot: Slot, m: LazTaskResponse): void {
    const task = slot.task;
    if (!task || task.id !== m.id) return;
    slot.task = undefined;
    slot.worker.unref();
    for (const b of m.spare) {
      if (task.message.op !== "compress") this.give(b);
      else if (b.byteLength > 0 && this.spareRecords.length < 2 * this.size + 2) this.spareRecords.push(b);
    }
    if ("error" in m) {
      const e = m.error;
      task.reject(e.at !== undefined ? new LazChunkError(e.message, e.at) : new Error(`LAZ worker thread: ${e.message}`));
    } else {
      task.resolve("columns" in m ? m.columns : m.bytes);
    }
    this.dispatch();
  }

  /** A thread crashed or exited: its task fails, the thread is dropped, and queued work gets a new one. */
  private died(slot: Slot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return; // already handled ("error" is followed by "exit"), or closed
    this.slots.splice(i, 1);
    void slot.worker.terminate();
    const task = slot.task;
    slot.task = undefined;
    task?.reject(new Error(`LAZ worker thread ${why}`));
    this.dispatch();
  }
}

/**
 * Chunks in flight per pool thread: one running plus one waiting, so a thread that finishes starts the
 * next chunk at once instead of waiting for the main thread to hand out the one it just finished.
 */
const DEPTH_PER_THREAD = 2;

/** Compressor of (point format, record length) chunks on the pool (in this thread without one). */
export function lazChunkCompressor(pointFormat: number, recordLength: number, pool: LazWorkerPool | undefined): LazChunkCompressor {
  if (!pool) return inThreadLazCompressor(pointFormat, recordLength);
  return {
    compress: (records, count) => pool.compress(pointFormat, recordLength, records, count),
    recordsBuffer: (bytes) => pool.recordsBuffer(bytes),
  };
}

/** Decompressor of LAZ chunks on the pool (undefined without one: the reader's in-thread default). */
export function lazChunkDecompressor(pool: LazWorkerPool | undefined): LazChunkDecompressor | undefined {
  if (!pool) return undefined;
  return {
    decompress: (chunk, pdrf, recordLength, count, limits) => pool.decompress(chunk, pdrf, recordLength, count, limits),
    release: (records) => pool.release(records),
    decompressColumns: (chunk, count, limits, layout) => pool.decompressColumns(chunk, count, limits, layout),
  };
}

/** Reader options that decompress LAZ chunks on the pool ({} without one). */
export function lazReadOptions(pool: LazWorkerPool | undefined): Pick<LasReadOptions, "lazDecompressor" | "lazConcurrency"> {
  if (!pool) return {};
  return { lazDecompressor: lazChunkDecompressor(pool), lazConcurrency: pool.size * DEPTH_PER_THREAD };
}

/** Options for `lasToLazStreamParallel` compressing on the pool; undefined without one (use the serial stream). */
export function lazWriteOptions(pool: LazWorkerPool | undefined): ParallelLazOptions | undefined {
  if (!pool) return undefined;
  // The threads boot while the caller reads its first chunk of points.
  pool.start();
  return {
    compressor: (pointFormat, recordLength) => lazChunkCompressor(pointFormat, recordLength, pool),
    concurrency: pool.size * DEPTH_PER_THREAD,
  };
}

/** A pool of `threads` threads, or none for one thread (the work then stays in the calling thread). */
export function createLazPool(threads: number): LazWorkerPool | undefined {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`LAZ threads: invalid count ${threads}`);
  return threads > 1 ? new LazWorkerPool(threads) : undefined;
}
