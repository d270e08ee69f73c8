/**
 * A worker: claims jobs from the store one at a time and runs them with the runner for their type.
 * It renews its lease while the runner works; the lease renewal also tells it when the job was
 * cancelled (it then aborts the runner's AbortSignal). Runners never run in the API process.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ConversionError, findRunner, type InputDataset, type JobMessage, type RunnerContext } from "@realconv/convert";
import { FormatError } from "@realconv/formats";
import { isTerminal, type Job, type JobState } from "../domain/job.js";
import type { Runtime } from "../runtime.js";
import { blobInputDataset, blobOutputSink } from "./blob-io.js";

export class JobCancelled extends Error {
  constructor() {
    super("The job was cancelled.");
    this.name = "JobCancelled";
  }
}

export class LeaseLost extends Error {
  constructor() {
    super("This worker lost its claim on the job.");
    this.name = "LeaseLost";
  }
}

export interface WorkerOptions {
  id?: string;
  /** Idle poll interval. */
  pollMs?: number;
  logger: Logger;
  /**
   * Called when a runner ignores its AbortSignal for `stuckAfterMs` after a cancel: the worker process
   * then exits, its lease expires, and the job ends Cancelled (a cancel must not wait on a stuck runner).
   */
  onStuck?: () => void;
  stuckAfterMs?: number;
}

/** The messages users see for failures that are not the runner's own ConversionError. */
export function failureMessage(error: unknown): JobMessage {
  if (error instanceof ConversionError) return error.toMessage();
  if (error instanceof FormatError) {
    return {
      code: "InputData_Invalid",
      title: "Invalid input data",
      message: "The file %1 could not be read at byte %2: %3",
      params: [error.file, String(error.offset), error.message],
    };
  }
  return {
    code: "InternalError",
    title: "Internal error",
    message: "The conversion stopped on an internal error: %1",
    params: [error instanceof Error ? error.message : String(error)],
  };
}

/** A runner's CRS as the reality data `crs` field: compound EPSG codes split into horizontal and vertical. */
export function realityDataCrs(crs: string): { id: string; verticalId?: string } {
  const m = /^\s*EPSG:(\d+)(?:\s*\+\s*(?:EPSG:)?(\d+))?\s*$/i.exec(crs);
  if (!m) return { id: crs };
  return m[2] ? { id: `EPSG:${m[1]}`, verticalId: `EPSG:${m[2]}` } : { id: `EPSG:${m[1]}` };
}

export class WorkerHost {
  readonly id: string;
  private wake: (() => void) | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly options: WorkerOptions,
  ) {
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Ends the idle wait early (a job was queued). */
  poke(): void {
    this.wake?.();
  }

  /** Runs until `signal` fires; finishes the job in hand first unless it is cancelled. */
  async run(signal: AbortSignal): Promise<void> {
    const { config } = this.rt;
    while (!signal.aborted) {
      let claimed;
      try {
        claimed = await this.rt.jobs.claim(this.id, config.leaseMs, config.maxAttempts, new Date());
      } catch (e) {
        this.options.logger.error({ err: e }, "claim failed");
      }
      if (claimed) {
        await this.execute(claimed.job, claimed.attempts);
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const t = setTimeout(done, this.options.pollMs ?? 500);
        this.wake = done;
        // Removed again after each wait: one listener per idle poll would pile up on the long-lived signal.
        signal.addEventListener("abort", done, { once: true });
      });
      this.wake = undefined;
    }
  }

  /** Runs one claimed job to its end state. Never throws. */
  async execute(job: Job, attempt: number): Promise<JobState | undefined> {
    const { jobs, realityData, blobs, config } = this.rt;
    const log = this.options.logger.child({ jobId: job.id, attempt });
    const controller = new AbortController();
    let progress = 0;
    const warnings: JobMessage[] = [];
    const cpuStart = process.cpuUsage();

    let watchdog: NodeJS.Timeout | undefined;
    const abort = (reason: Error) => {
      if (controller.signal.aborted) return;
      controller.abort(reason);
      if (this.options.onStuck) {
        watchdog = setTimeout(() => {
          log.error("the runner did not stop after its job was cancelled; restarting this worker");
          this.options.onStuck?.();
        }, this.options.stuckAfterMs ?? 15_000);
      }
    };
    const beat = async () => {
      try {
        const state = await jobs.heartbeat(job.id, this.id, config.leaseMs, progress, new Date());
        if (state === undefined) abort(new LeaseLost());
        else if (state === "TerminatingOnCancel") abort(new JobCancelled());
        else if (isTerminal(state)) abort(new LeaseLost());
      } catch (e) {
        log.warn({ err: e }, "heartbeat failed");
      }
    };
    const interval = setInterval(() => void beat(), Math.max(200, Math.floor(config.leaseMs / 4)));

    let outcome: "Success" | "Failed" | "Cancelled" = "Failed";
    const sink = blobOutputSink(blobs, job.specifications.output);
    try {
      log.info({ type: job.type }, "job started");
      const options = job.specifications.options ?? {};
      const runner = findRunner(job.type, options.outputFormat as string | undefined);
      if (!runner) {
        throw new ConversionError("UnsupportedFormat", "Unsupported format", "No runner for %1.", [
          `${job.type}/${String(options.outputFormat)}`,
        ]);
      }
      if (attempt > 1) await this.clearOutput(job.specifications.output); // a retry starts from an empty output
      const inputs: Record<string, InputDataset[]> = {};
      for (const [key, value] of Object.entries(job.specifications.inputs)) {
        const ids = Array.isArray(value) ? value : [value];
        const datasets = await realityData.getMany(ids);
        const byId = new Map(datasets.map((d) => [d.id, d]));
        inputs[key] = ids.map((id) => {
          const rd = byId.get(id);
          if (!rd) throw new ConversionError("InputData_Invalid", "Invalid input data", "The input reality data %1 no longer exists.", [id]);
          return blobInputDataset(blobs, rd);
        });
      }
      const ctx: RunnerContext = {
        jobId: job.id,
        type: job.type,
        options,
        inputs,
        output: sink,
        progress: (pct) => {
          if (Number.isFinite(pct) && pct > progress) progress = Math.min(100, pct);
        },
        warn: (m) => {
          warnings.push(m);
        },
        signal: controller.signal,
      };
      await runner.run(ctx);
      if (controller.signal.aborted) throw controller.signal.reason;
      outcome = "Success";
    } catch (e) {
      const reason = controller.signal.aborted ? controller.signal.reason : e;
      if (reason instanceof JobCancelled) {
        outcome = "Cancelled";
        log.info("job cancelled");
      } else if (reason instanceof LeaseLost) {
        clearInterval(interval);
        clearTimeout(watchdog);
        log.warn("lease lost; leaving the job to its new holder");
        return undefined;
      } else {
        outcome = "Failed";
        await jobs.addMessages(job.id, "error", [failureMessage(e)]).catch(() => undefined);
        log.info({ err: e }, "job failed");
      }
    } finally {
      clearInterval(interval);
      clearTimeout(watchdog);
    }

    try {
      await jobs.addMessages(job.id, "warning", warnings);
      if (outcome === "Success") {
        await jobs.heartbeat(job.id, this.id, config.leaseMs, 100, new Date());
        const sizeBytes = await blobs.containerSize(job.specifications.output);
        const declared = sink.declared;
        const rootDocument = declared.rootDocument ?? (declared.files.length === 1 ? declared.files[0] : undefined);
        await realityData.update(
          job.specifications.output,
          {
            authoring: false,
            size: Math.ceil(sizeBytes / 1024),
            ...(rootDocument ? { rootDocument } : {}),
            ...(declared.extent ? { extent: declared.extent } : {}),
            ...(declared.crs ? { crs: realityDataCrs(declared.crs) } : {}),
          },
          new Date().toISOString(),
        );
      } else {
        await this.clearOutput(job.specifications.output);
      }
      const usage = process.cpuUsage(cpuStart);
      const state = await jobs.finish(job.id, this.id, outcome, (usage.user + usage.system) / 1000, new Date());
      log.info({ state }, "job ended");
      return state;
    } catch (e) {
      log.error({ err: e }, "could not record the end of the job; its lease will expire and it will be retried");
      return undefined;
    }
  }

  /** Removes what a failed or cancelled attempt left in the output container: no half outputs. */
  private async clearOutput(container: string): Promise<void> {
    let marker: string | undefined;
    do {
      const page = await this.rt.blobs.list(container, { marker, maxResults: 5000 });
      for (const b of page.blobs) await this.rt.blobs.delete(container, b.name);
      marker = page.nextMarker;
    } while (marker);
  }
}

