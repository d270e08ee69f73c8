/**
 * The contract between the job system and a conversion. A runner knows nothing of HTTP, SQL or where
 * files live: it reads inputs and writes outputs through these interfaces, reports progress, and stops
 * when its AbortSignal fires. The same runners serve the service's workers and `realconv convert`.
 */
import type { ByteSource } from "@realconv/formats";
import type { LazWorkerPool } from "../parallel/laz-pool.js";

/** One file of an input reality data. */
export interface InputFile extends ByteSource {
  /** Path inside the reality data container, with "/" separators. */
  readonly path: string;
  /** Streams the whole file (for formats read front to back). */
  stream(signal?: AbortSignal): AsyncIterable<Uint8Array>;
}

/** One input reality data: its declared type and its files. */
export interface InputDataset {
  readonly id: string;
  /** Reality data type (LAS, LAZ, E57, ...), as registered. */
  readonly type: string;
  readonly rootDocument?: string;
  files(): Promise<InputFile[]>;
}

/** Geographic extent of an output, in WGS84 degrees. */
export interface Extent {
  southWest: { latitude: number; longitude: number };
  northEast: { latitude: number; longitude: number };
}

/** Bytes that replace part of a file once it has been streamed (a header's counts, a table's offset). */
export interface FilePatch {
  /** Absolute position in the file; the patch lies within the bytes streamed. */
  offset: number;
  bytes: Uint8Array;
}

/** Where a runner writes its result (an output reality data's container, or a local folder). */
export interface OutputSink {
  /** Writes one file; `data` is streamed, never required whole. */
  write(path: string, data: Uint8Array | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<void>;
  /**
   * Writes one file whose final bytes at some places are known only after the stream ended (LAZ chunk-table
   * offset, E57 header pages): `patches()` is called once `data` is exhausted and its patches overwrite bytes
   * already streamed. The file appears only whole and patched (sinks stage it, e.g. in a temporary file).
   */
  writePatched(path: string, data: AsyncIterable<Uint8Array>, patches: () => readonly FilePatch[], signal?: AbortSignal): Promise<void>;
  /** The file viewers open first (e.g. tileset.json), or the single output file. */
  setRootDocument(path: string): void;
  setExtent(extent: Extent): void;
  setCrs(crs: string): void;
}

/** A coded message, as `/jobs/{id}/messages` shows it. `%1`.. in `message` are replaced from `params`. */
export interface JobMessage {
  code: string;
  title: string;
  message: string;
  params: string[];
}

/** A failure a runner reports on purpose: bad input, unsupported option. Anything else is an internal error. */
export class ConversionError extends Error {
  constructor(
    readonly code: string,
    readonly title: string,
    message: string,
    readonly params: string[] = [],
  ) {
    super(message);
    this.name = "ConversionError";
  }
  toMessage(): JobMessage {
    return { code: this.code, title: this.title, message: this.message, params: this.params };
  }
}

/** Scratch storage for one run: a folder of its own that the host removes after the run, whatever its end. */
export interface ScratchSpace {
  readonly dir: string;
  /** Bytes the runner may keep there at once (temporary tiles, staged outputs). */
  readonly budgetBytes: number;
}

/** What a runner gets from its host instead of reading the process (environment, OS temp, global pools). */
export interface RunnerResources {
  readonly scratch: ScratchSpace;
  /** Threads for chunk codecs; undefined runs them in the calling thread. */
  readonly threads: LazWorkerPool | undefined;
  /** Memory the runner may use, in bytes: chunk sizes and buffers are chosen from it. */
  readonly memoryBudgetBytes: number;
  /**
   * A folder for the files of finished job parts, kept across restarts of the job (a worker that died)
   * and removed when the job ends. Undefined: parts keep their files in `scratch`, which a restart loses,
   * so a runner redoes a finished part whose files are gone.
   */
  readonly partsDir?: string;
}

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A job in parts: a runner plans independent parts, runs each (the scale-out host may hand them to other
 * workers) and merges them. The host persists each finished part with its manifest (the files it wrote,
 * what it declares of the output: extent, CRS, counts) before `finish` resolves, so a job restarted after
 * its worker died skips the parts already done instead of redoing them.
 */
export interface JobParts {
  /** Parts earlier runs of this job finished, by id, with their manifests. */
  finished(): Promise<ReadonlyMap<string, JsonValue>>;
  finish(id: string, manifest: JsonValue): Promise<void>;
}

export interface RunnerContext<O = Readonly<Record<string, unknown>>> {
  readonly jobId: string;
  /** Job type, e.g. "PointCloudConversion". */
  readonly type: string;
  /** The job's options, validated and canonical, with the declared defaults applied. */
  readonly options: O;
  /** Inputs by specification key (pointCloud, pointClouds, meshes, ...), in request order. */
  readonly inputs: Readonly<Record<string, InputDataset[]>>;
  readonly output: OutputSink;
  /** Reports progress in percent (0..100); the job system keeps it monotone. */
  progress(percentage: number): void;
  warn(message: JobMessage): void;
  readonly signal: AbortSignal;
  readonly resources: RunnerResources;
  readonly parts: JobParts;
}

export type Runner<O = Readonly<Record<string, unknown>>> = (ctx: RunnerContext<O>) => Promise<void>;

/** Throws the signal's reason when the job was cancelled; call between chunks. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new Error("aborted");
}
