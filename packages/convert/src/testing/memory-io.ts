/**
 * Test-only: runner inputs and outputs in memory, and a reader flattened to plain arrays for comparing
 * two clouds point by point.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { tmpdir } from "node:os";
import assert from "node:assert/strict";
import { after } from "node:test";
import { bytesSource, positionAt, type ColumnName, type PointChunk, type PointCloudReader } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import type { Extent, FilePatch, InputDataset, InputFile, JobMessage, JobParts, JsonValue, OutputSink, RunnerResources } from "../contract/runner.js";
import { findRunner } from "../registry.js";
import { runJob } from "../host/run-job.js";
import { LazWorkerPool } from "../parallel/laz-pool.js";

let testPool: LazWorkerPool | undefined;
const scratchDirs: string[] = [];
// Registered when the test file loads this module, so it runs once, after all of the file's tests.
after(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  return testPool?.close();
});

/**
 * Resources as a host gives them: a scratch folder of the run's own (so runs in parallel never share
 * scratch files), and a two-thread pool shared by the tests of a file and closed after them as hosts close theirs.
 */
export function testResources(): RunnerResources {
  testPool ??= new LazWorkerPool(2);
  const dir = mkdtempSync(join(tmpdir(), "realconv-scratch-"));
  scratchDirs.push(dir);
  return { scratch: { dir, budgetBytes: 1 << 30 }, threads: testPool, memoryBudgetBytes: 1 << 30 };
}

/** Parts kept in memory, as the job system keeps them in its database. */
export class MemoryParts implements JobParts {
  readonly done = new Map<string, JsonValue>();
  async finished(): Promise<ReadonlyMap<string, JsonValue>> {
    return new Map(this.done);
  }
  async finish(id: string, manifest: JsonValue): Promise<void> {
    this.done.set(id, manifest);
  }
}

export interface MemoryRun {
  sink: OutputSink;
  progress: number[];
  warnings: JobMessage[];
}

/** Runs a job type's registered runner on in-memory inputs, as a host would (defaults, resources). */
export async function runInMemory(
  type: string,
  inputs: Record<string, InputDataset[]>,
  options: Record<string, unknown>,
  run: { sink?: OutputSink; signal?: AbortSignal; onProgress?: (p: number) => void } = {},
): Promise<MemoryRun> {
  const entry = findRunner(type, typeof options.outputFormat === "string" ? options.outputFormat : undefined);
  assert.ok(entry, `runner for ${type}/${String(options.outputFormat)}`);
  const sink = run.sink ?? new MemorySink();
  const progress: number[] = [];
  const warnings: JobMessage[] = [];
  await runJob(entry, {
    jobId: "job-1",
    type,
    options,
    inputs,
    output: sink,
    progress: (p) => {
      progress.push(p);
      run.onProgress?.(p);
    },
    warn: (m) => warnings.push(m),
    signal: run.signal ?? new AbortController().signal,
    resources: testResources(),
    parts: new MemoryParts(),
  });
  return { sink, progress, warnings };
}

export function memoryFile(bytes: Uint8Array, path: string): InputFile {
  const src = bytesSource(bytes, basename(path));
  return {
    ...src,
    path,
    async *stream() {
      yield bytes;
    },
  };
}

export const shared = (name: string) => new Uint8Array(readFileSync(sharedData("pointcloud", name)));
export const sharedFile = (name: string, path = name) => memoryFile(shared(name), path);
export const dataset = (id: string, files: InputFile[], type = "Unstructured"): InputDataset => ({ id, type, files: async () => files });

/** Keeps written files in memory; records the largest piece written, to check streaming. */
export class MemorySink implements OutputSink {
  files = new Map<string, Uint8Array>();
  largestPart = 0;
  root: string | undefined;
  crs: string | undefined;
  extent: Extent | undefined;
  async write(path: string, data: Uint8Array | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<void> {
    if (data instanceof Uint8Array) {
      this.files.set(path, data.slice());
      return;
    }
    const parts: Uint8Array[] = [];
    for await (const part of data) {
      if (signal?.aborted) throw signal.reason;
      parts.push(part.slice());
      this.largestPart = Math.max(this.largestPart, part.byteLength);
    }
    this.files.set(path, new Uint8Array(Buffer.concat(parts)));
  }
  async writePatched(path: string, data: AsyncIterable<Uint8Array>, patches: () => readonly FilePatch[], signal?: AbortSignal): Promise<void> {
    await this.write(path, data, signal);
    const file = this.files.get(path)!;
    for (const p of patches()) {
      if (p.offset < 0 || p.offset + p.bytes.byteLength > file.byteLength) throw new Error(`patch at ${p.offset} outside ${path}`);
      file.set(p.bytes, p.offset);
    }
  }
  setRootDocument(path: string): void {
    this.root = path;
  }
  setExtent(extent: Extent): void {
    this.extent = extent;
  }
  setCrs(crs: string): void {
    this.crs = crs;
  }
}

/** A whole (small) cloud as positions and columns; `extras` adds the extra attributes as `extra:<name>`. */
export async function flatten(
  r: PointCloudReader,
  options: { extras?: boolean } = {},
): Promise<{ xyz: Float64Array; cols: Map<string, number[]>; count: number }> {
  const xyz: number[] = [];
  const cols = new Map<string, number[]>();
  const tmp = new Float64Array(3);
  let count = 0;
  for await (const c of r.chunks()) {
    for (let i = 0; i < c.count; i++) {
      positionAt(c.positions, i, tmp);
      xyz.push(tmp[0], tmp[1], tmp[2]);
    }
    for (const col of r.schema.columns) {
      const arr = cols.get(col) ?? [];
      for (const v of c[col] as Iterable<number>) arr.push(v);
      cols.set(col, arr);
    }
    if (options.extras) {
      for (const [name, values] of Object.entries(c.extra ?? {})) {
        const arr = cols.get(`extra:${name}`) ?? [];
        for (const v of values) arr.push(v);
        cols.set(`extra:${name}`, arr);
      }
    }
    count += c.count;
  }
  return { xyz: Float64Array.from(xyz), cols, count };
}

/** Every chunk of two readers equal: raw positions (and their scale/offset), every column, extras; same counts. */
export async function assertSameRecords(out: PointCloudReader, src: PointCloudReader, label: string): Promise<void> {
  assert.deepEqual(out.schema, src.schema, label);
  assert.equal(out.pointCount, src.pointCount, label);
  const a = out.chunks()[Symbol.asyncIterator]();
  const b = src.chunks()[Symbol.asyncIterator]();
  let n = 0;
  for (;;) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    assert.equal(x.done, y.done, label);
    if (x.done || y.done) break;
    const p: PointChunk = x.value;
    const q: PointChunk = y.value;
    assert.deepEqual(p.positions, q.positions, `${label} positions`);
    for (const col of src.schema.columns as ColumnName[]) assert.deepEqual(p[col], q[col], `${label} ${col}`);
    assert.deepEqual(p.extra, q.extra, `${label} extra`);
    n += p.count;
  }
  assert.equal(n, src.pointCount, label);
}

/** A PointCloudConversion of in-memory files (one dataset) to `outputFormat`; rejects with whatever the runner throws. */
export async function runPointCloudConversion(files: InputFile[], outputFormat: string): Promise<{ sink: MemorySink; warnings: JobMessage[] }> {
  const { sink, warnings } = await runInMemory("PointCloudConversion", { pointCloud: [dataset("d1", files)] }, { outputFormat });
  return { sink: sink as MemorySink, warnings };
}
