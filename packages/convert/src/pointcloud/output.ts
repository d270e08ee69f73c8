/**
 * Writing one output point cloud (LAS, LAZ or E57) from one or more sources, streamed to the job's sink.
 *
 * Every writer needs figures known only after the last point (LAS header counts and bounds, LAZ chunk-table
 * offset, E57 section lengths and XML offset), so the sources are read more than once ("passes"), each time
 * chunk by chunk: memory stays one chunk (+ one LAZ chunk / E57 packet) whatever the input size.
 * - LAS: [bounds pass when the quantisation is not inherited, which counts the points too] + one pass
 *   writing the header with the point count (counted, else the sources' announced count) and the records
 *   (`writeLasOnePass`), the header's point statistics patched by the sink at the end; without either count
 *   a measuring pass and an encoding pass instead (`writeLasStream`). A source written unchanged has its
 *   records copied, not decoded and encoded again.
 * - LAZ: the LAS stream re-encoded on the fly by `LasToLazTransformer` (chunks compressed on the worker
 *   pool when it has several threads); the chunk-table offset is patched by the sink (`writePatched`)
 *   once the stream ended.
 * - E57: `E57Writer` reads its points twice (exact integer ranges, then encode); its header pages are patched.
 */
import {
  chooseLasScaleOffset,
  chunkBounds,
  CrsError,
  E57Writer,
  LasWriter,
  transformPositions,
  writeLasOnePass,
  writeLasStream,
  type LasExtraBytesSpec,
  type ColumnName,
  type LasWriterOptions,
  type PointChunk,
  type PointSchema,
  type PointTransform,
  type LasRecordBlock,
} from "@realconv/formats";
import { LasToLazTransformer, lasToLazStream } from "@realconv/formats/laz";
import { ChunkingLasToLazTransformer, lasToLazStreamParallel } from "@realconv/formats/laz";
import { lazWriteOptions } from "../parallel/laz-pool.js";
import { ConversionError, throwIfAborted, type FilePatch, type RunnerContext } from "../contract/runner.js";
import { crsAsWkt } from "./crs.js";
import type { PointSource } from "./sources.js";

export type PointCloudFormat = "LAS" | "LAZ" | "E57";

export const EXTENSION: Record<PointCloudFormat, string> = { LAS: "las", LAZ: "laz", E57: "e57" };

/** One source of an output, with the reprojection its points need (none when already in the output CRS). */
export interface OutputPart {
  source: PointSource;
  transform?: PointTransform;
  /** CRS of the source's coordinates, when known (for the extent); the output CRS when not reprojected. */
  crs?: string;
}

export interface OutputSpec {
  path: string;
  format: PointCloudFormat;
  parts: OutputPart[];
  schema: PointSchema;
  extraBytes: LasExtraBytesSpec[];
  /** LAS/LAZ record format, version and header fields (schema, CRS and quantisation are set here). */
  las: Omit<LasWriterOptions, "schema" | "extraBytes" | "crs" | "scale" | "offset">;
  /** Scale and offset kept from the inputs (bit-exact LAS -> LAS); else chosen from a bounds pass. */
  quantisation?: { scale: readonly [number, number, number]; offset: readonly [number, number, number] };
  /** Scale for a bounds-derived quantisation (reprojected output: suited to the CRS unit); default: from the extent. */
  scale?: readonly [number, number, number];
  /** Output CRS (written into the file), undefined when unknown. */
  crs: string | undefined;
  /** E57 scan name. */
  scanName: string;
}

/** How many times an output reads its sources. */
export function passesOf(spec: Pick<OutputSpec, "format" | "quantisation" | "parts">): number {
  if (spec.format === "E57") return 2;
  // LAS/LAZ: a bounds pass (which counts the points) and one writing pass when the quantisation is not
  // inherited; else one pass when the count is announced, or a measuring pass and an encoding pass.
  if (!spec.quantisation) return 2;
  return announcedCount(spec) !== undefined ? 1 : 2;
}

/**
 * Monotone progress over every pass of every output: points read over points to read. Sources whose count
 * is unknown (XYZ) count with an estimate until a pass has counted them.
 */
export class Progress {
  private readonly plan: { source: PointSource; passes: number }[] = [];
  private readonly counted = new Map<PointSource, number>();
  private done = 0;
  private last = -1;
  constructor(private readonly report: (pct: number) => void) {}
  expect(source: PointSource, passes: number): void {
    this.plan.push({ source, passes });
  }
  private total(): number {
    return this.plan.reduce((n, p) => n + p.passes * (this.counted.get(p.source) ?? p.source.pointCount ?? p.source.estimatedCount), 0);
  }
  add(n: number): void {
    this.done += n;
    const total = this.total();
    const pct = total > 0 ? Math.min(99, Math.floor((100 * this.done) / total)) : 99;
    if (pct > this.last) {
      this.last = pct;
      this.report(pct);
    }
  }
  count(source: PointSource, n: number): void {
    if (source.pointCount === undefined) this.counted.set(source, n);
  }
}

function reproject(chunk: PointChunk, part: OutputPart): PointChunk {
  try {
    return { ...chunk, positions: transformPositions(chunk.positions, chunk.count, part.transform!) };
  } catch (e) {
    if (e instanceof CrsError) {
      throw new ConversionError("InputData_Invalid", "Invalid input data", "The points of %1 cannot be reprojected: %2", [part.source.label, e.message]);
    }
    throw e;
  }
}

const U8 = new Set<ColumnName>(["classification", "classificationFlags", "returnNumber", "numberOfReturns", "scanFlags", "scannerChannel", "userData"]);
const F32 = new Set<ColumnName>(["scanAngle", "normalX", "normalY", "normalZ"]);

/**
 * The chunk with every column and extra attribute of the output schema: a merged source lacking one gets
 * zeros (writers such as E57's require every schema column in every chunk).
 */
export function conform(chunk: PointChunk, schema: PointSchema): PointChunk {
  const missing = schema.columns.filter((c) => chunk[c] === undefined);
  const missingExtra = schema.extra.filter((e) => chunk.extra?.[e.name] === undefined);
  if (missing.length === 0 && missingExtra.length === 0) return chunk;
  const out: PointChunk = { ...chunk };
  const n = chunk.count;
  for (const c of missing) {
    const zeros = U8.has(c) ? new Uint8Array(n) : F32.has(c) ? new Float32Array(n) : c === "gpsTime" ? new Float64Array(n) : new Uint16Array(n);
    (out as unknown as Record<string, unknown>)[c] = zeros;
  }
  if (missingExtra.length > 0) {
    out.extra = { ...chunk.extra };
    for (const e of missingExtra) out.extra[e.name] = new Float64Array(n);
  }
  return out;
}

interface PassState {
  /** Bounds of the written points (output CRS), undefined when there are none. */
  bounds: Float64Array | undefined;
  /** Bounds of each part's points in its own CRS, before any reprojection (undefined: no points). */
  partBounds: (Float64Array | undefined)[];
  count: number;
}

/** A fresh pass over the output's points each call (reprojected, counted, bounds kept for the extent). */
function passes(ctx: RunnerContext, spec: OutputSpec, progress: Progress, state: PassState): () => AsyncIterable<PointChunk> {
  return async function* () {
    const bounds = new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
    let count = 0;
    const partBounds: (Float64Array | undefined)[] = [];
    for (const part of spec.parts) {
      let n = 0;
      // Before reprojection (which may change f64 positions in place): a tight WGS 84 extent comes from these.
      const own = new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
      for await (const raw of part.source.chunks(ctx.signal)) {
        throwIfAborted(ctx.signal);
        chunkBounds(raw, own);
        const chunk = conform(part.transform ? reproject(raw, part) : raw, spec.schema);
        if (part.transform) {
          chunkBounds(chunk, bounds);
        } else {
          for (let a = 0; a < 3; a++) {
            bounds[a] = Math.min(bounds[a], own[a]);
            bounds[a + 3] = Math.max(bounds[a + 3], own[a + 3]);
          }
        }
        n += chunk.count;
        yield chunk;
        progress.add(chunk.count);
      }
      progress.count(part.source, n);
      partBounds.push(n > 0 ? own : undefined);
      count += n;
    }
    state.bounds = count > 0 ? bounds : undefined;
    state.partBounds = partBounds;
    state.count = count;
  };
}

const INT_MAX = 2 ** 31 - 1;

/**
 * Offset near the middle of the bounds (a multiple of 1000 steps) so that the extent fits the 32-bit
 * integers at `scale`; an axis whose extent does not fit is coarsened by powers of ten.
 */
export function quantiseBounds(bounds: ArrayLike<number>, scale: readonly [number, number, number]): { scale: [number, number, number]; offset: [number, number, number] } {
  const s: [number, number, number] = [scale[0], scale[1], scale[2]];
  const o: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    let lo = bounds[a];
    let hi = bounds[a + 3];
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) lo = hi = 0;
    for (;;) {
      const step = s[a] * 1000;
      o[a] = Number((Math.round((lo + hi) / 2 / step) * step).toPrecision(15));
      if ((hi - o[a]) / s[a] <= INT_MAX * 0.99 && (lo - o[a]) / s[a] >= -INT_MAX * 0.99) break;
      s[a] = Number((s[a] * 10).toPrecision(1));
    }
  }
  return { scale: s, offset: o };
}

/**
 * Turns a producer that pushes bytes to an async callback (E57Writer) into an async iterable the sink
 * pulls from; the producer waits while one block is pending, so memory stays one or two blocks.
 */
export function pushToPull<T>(produce: (emit: (b: Uint8Array) => Promise<void>) => Promise<T>): { stream: AsyncIterable<Uint8Array>; result: () => T } {
  let outcome: { value: T } | undefined;
  async function* stream(): AsyncGenerator<Uint8Array> {
    const queue: Uint8Array[] = [];
    let finished = false;
    let failure: { error: unknown } | undefined;
    let stopped = false;
    let wakeConsumer: (() => void) | undefined;
    let wakeProducer: (() => void) | undefined;
    const wake = (which: "consumer" | "producer") => {
      const f = which === "consumer" ? wakeConsumer : wakeProducer;
      if (which === "consumer") wakeConsumer = undefined;
      else wakeProducer = undefined;
      f?.();
    };
    const run = produce(async (b) => {
      if (stopped) throw new Error("the output stream was closed");
      queue.push(b);
      wake("consumer");
      while (queue.length > 1 && !stopped) await new Promise<void>((r) => (wakeProducer = r));
      if (stopped) throw new Error("the output stream was closed");
    }).then(
      (value) => {
        outcome = { value };
        finished = true;
        wake("consumer");
      },
      (error: unknown) => {
        failure = { error };
        finished = true;
        wake("consumer");
      },
    );
    try {
      for (;;) {
        if (queue.length > 0) {
          const b = queue.shift()!;
          wake("producer");
          yield b;
          continue;
        }
        if (failure) throw failure.error;
        if (finished) return;
        await new Promise<void>((r) => (wakeConsumer = r));
      }
    } finally {
      stopped = true;
      wake("producer");
      await run;
    }
  }
  return {
    stream: stream(),
    result: () => {
      if (!outcome) throw new Error("the producer has not finished");
      return outcome.value;
    },
  };
}

/**
 * The source's records as they are, when the output's records are exactly those: one LAS/LAZ source, not
 * reprojected, written with its own record format, record length, extra bytes and quantisation. They are
 * then copied (their statistics read from the raw records) instead of decoded and encoded again.
 */
function verbatimRecords(ctx: RunnerContext, spec: OutputSpec, options: LasWriterOptions, progress: Progress): (() => AsyncIterable<LasRecordBlock>) | undefined {
  if (spec.parts.length !== 1) return undefined;
  const [{ source, transform }] = spec.parts;
  const reader = source.las;
  if (!reader || transform || !spec.quantisation) return undefined;
  const h = reader.header;
  const writer = new LasWriter(options);
  const same = (a: readonly number[] | undefined, b: readonly number[]) => a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
  if (writer.pdrf !== h.pdrf || writer.recordLength !== h.recordLength || !same(options.scale, h.scale) || !same(options.offset, h.offset)) return undefined;
  if (spec.schema.columns.length !== source.schema.columns.length || !spec.schema.columns.every((c) => source.schema.columns.includes(c))) return undefined;
  const fields = reader.extraBytes;
  const extraSame =
    writer.extra.length === fields.length &&
    writer.extra.every((e, i) => {
      const f = fields[i];
      return e.name === f.name && e.type === f.type && e.offset === f.offset && e.scale === f.scale && e.valueOffset === f.valueOffset;
    });
  if (!extraSame) return undefined;
  return async function* () {
    for await (const block of reader.records(ctx.signal)) {
      throwIfAborted(ctx.signal);
      yield block;
      progress.add(block.count);
    }
  };
}

/** Writes one output; returns its point count and the bounds of its points (in the output CRS). */
export async function writePointCloud(ctx: RunnerContext, spec: OutputSpec, progress: Progress): Promise<PassState> {
  const state: PassState = { bounds: undefined, partBounds: [], count: 0 };
  const chunks = passes(ctx, spec, progress, state);
  if (spec.format === "E57") {
    const crs = spec.crs ? crsAsWkt(spec.crs) : undefined;
    const { stream, result } = pushToPull(async (emit) => {
      const writer = new E57Writer(emit, { crs, libraryVersion: "realconv" });
      await writer.addScan(spec.scanName, spec.schema, chunks);
      return (await writer.finish()).patches;
    });
    await ctx.output.writePatched(spec.path, stream, () => result(), ctx.signal);
    return state;
  }
  let q = spec.quantisation;
  // The header's point count: the points a pass gave when there is one (a source's count may include
  // points it drops), else what the sources announce.
  let announced: number | undefined;
  if (!q) {
    // Bounds pass: the quantisation must be fixed before the LAS header is measured.
    const bounding = chunks();
    for await (const c of bounding) void c;
    const b = state.bounds ?? new Float64Array(6);
    q = spec.scale ? quantiseBounds(b, spec.scale) : chooseLasScaleOffset(b);
    announced = state.count;
  } else {
    announced = announcedCount(spec);
  }
  const options: LasWriterOptions = { ...spec.las, schema: spec.schema, extraBytes: spec.extraBytes, crs: spec.crs, scale: q.scale, offset: q.offset };
  const copy = verbatimRecords(ctx, spec, options, progress);
  let las: AsyncIterable<Uint8Array>;
  let statistics: () => FilePatch[] = () => [];
  let copied: (() => void) | undefined;
  if (announced !== undefined) {
    // One pass: the header announces the sources' own count; its statistics are patched at the end.
    const one = writeLasOnePass(options, announced, copy ? { records: copy } : { chunks });
    las = one.stream;
    statistics = one.patches;
    // Copied records pass no chunk through `passes`: the count and bounds are the writer's.
    if (copy) {
      copied = () => {
        state.bounds = one.bounds();
        state.partBounds = [state.bounds];
        state.count = announced;
      };
    }
  } else {
    // Copying records needs a LAS/LAZ source, whose count is always announced: only encoding is left here
    // (inherited quantisation, a source that does not announce its count).
    las = writeLasStream(options, chunks);
  }
  if (spec.format === "LAS") {
    await ctx.output.writePatched(spec.path, las, statistics, ctx.signal);
    copied?.();
    return state;
  }
  // LAZ chunks compress on the worker pool when there is more than one thread (same bytes either way).
  // The LAZ header is the LAS header with only its point format, point offset and VLR count changed, so
  // the statistics patches apply to it as they are.
  const parallel = lazWriteOptions(ctx.resources.threads);
  const transformer = parallel ? new ChunkingLasToLazTransformer() : new LasToLazTransformer();
  const patches = (): FilePatch[] => [...statistics(), ...transformer.patches.map((p) => ({ offset: p.position, bytes: p.bytes }))];
  const laz = parallel ? lasToLazStreamParallel(las, transformer as ChunkingLasToLazTransformer, parallel) : lasToLazStream(las, transformer);
  await ctx.output.writePatched(spec.path, laz, patches, ctx.signal);
  copied?.();
  return state;
}

/** Points of a LAS/LAZ output when every source announces its count (one pass then suffices), else undefined. */
function announcedCount(spec: Pick<OutputSpec, "parts">): number | undefined {
  let n = 0;
  for (const part of spec.parts) {
    if (part.source.pointCount === undefined) return undefined;
    n += part.source.pointCount;
  }
  return n;
}
