/**
 * A worker: claims jobs from the store one at a time and runs them with the runner for their type.
 * It renews its lease while the runner works; the lease renewal also tells it when the job was
 * cancelled (it then aborts the runner's AbortSignal). Runners never run in the API process.
 */
import { hostname } from "node:os";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import {
  ConversionError,
  createLazPool,
  createScratch,
  entryOf,
  failureMessage,
  runJob,
  sweepScratch,
  type InputDataset,
  type JobMessage,
  type JobParts,
  type LazWorkerPool,
} from "@realconv/convert";
import { isTerminal, type Job, type JobState } from "../domain/job.js";
import { scratchRoot } from "../config.js";
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

/** A runner's CRS as the reality data `crs` field: compound EPSG codes split into horizontal and vertical. */
export function realityDataCrs(crs: string): { id: string; verticalId?: string } {
  const m = /^\s*EPSG:(\d+)(?:\s*\+\s*(?:EPSG:)?(\d+))?\s*$/i.exec(crs);
  if (!m) return { id: crs };
  return m[2] ? { id: `EPSG:${m[1]}`, verticalId: `EPSG:${m[2]}` } : { id: `EPSG:${m[1]}` };
}

export class WorkerHost {
  readonly id: string;
  private wake: (() => void) | undefined;
  /** The process's codec threads, shared by the jobs it runs one after another. */
  private readonly threads: LazWorkerPool | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly options: WorkerOptions,
  ) {
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.threads = createLazPool(rt.config.threads);
  }

  /** Ends the idle wait early (a job was queued). */
  poke(): void {
    this.wake?.();
  }

  /** Runs until `signal` fires; finishes the job in hand first unless it is cancelled. */
  async run(signal: AbortSignal): Promise<void> {
    const { config } = this.rt;
    const swept = await sweepScratch(scratchRoot(config)).catch(() => []);
    if (swept.length > 0) this.options.logger.info({ swept }, "removed the temporary files of stopped workers");
    try {
      await this.loop(signal);
    } finally {
      await this.threads?.close();
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { config } = this.rt;
    while (!signal.aborted) {
      let claimed;
      try {
        await this.clearAbandoned();
        claimed = await this.rt.queue.claim(this.id, config.leaseMs, config.maxAttempts, new Date());
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
    const { queue, realityData, blobs, config } = this.rt;
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
        const state = await queue.heartbeat(job.id, this.id, config.leaseMs, progress, new Date());
        if (state === undefined) abort(new LeaseLost());
        else if (state === "TerminatingOnCancel") abort(new JobCancelled());
        else if (isTerminal(state)) abort(new LeaseLost());
      } catch (e) {
        log.warn({ err: e }, "heartbeat failed");
      }
    };
    const interval = setInterval(() => void beat(), Math.max(200, Math.floor(config.leaseMs / 4)));

    let outcome: "Success" | "Failed" | "Cancelled" = "Failed";
    const scratch = await createScratch(scratchRoot(config), config.scratchMb * 1024 * 1024);
    const sink = blobOutputSink(blobs, job.specifications.output, scratch.dir);
    // Files of finished parts: kept across attempts of this job (a worker killed mid-job), removed when it ends.
    const partsDir = join(scratchRoot(config), `job-${job.id}`);
    let keepParts = false;
    const parts: JobParts = {
      finished: () => queue.finishedParts(job.id),
      finish: (partId, manifest) => queue.finishPart(job.id, partId, manifest, new Date()),
    };
    try {
      log.info({ type: job.type }, "job started");
      const entry = entryOf(job.type);
      if (!entry) throw new ConversionError("UnsupportedFormat", "Unsupported format", "No runner for %1.", [job.type]);
      // A retry starts from an empty output, unless earlier runs finished parts whose files it keeps.
      if ((await queue.finishedParts(job.id)).size === 0) {
        if (attempt > 1) await this.clearOutput(job.specifications.output);
        await rm(partsDir, { recursive: true, force: true });
      }
      await mkdir(partsDir, { recursive: true });
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
      await runJob(entry, {
        jobId: job.id,
        type: job.type,
        options: job.specifications.options ?? {},
        inputs,
        output: sink,
        progress: (pct) => {
          if (Number.isFinite(pct) && pct > progress) progress = Math.min(100, pct);
        },
        warn: (m) => {
          warnings.push(m);
        },
        signal: controller.signal,
        resources: { scratch, threads: this.threads, memoryBudgetBytes: config.memoryMb * 1024 * 1024, partsDir },
        parts,
      });
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
        keepParts = true;
        log.warn("lease lost; leaving the job to its new holder");
        return undefined;
      } else {
        outcome = "Failed";
        await queue.addMessages(job.id, "error", [failureMessage(e)]).catch(() => undefined);
        log.info({ err: e }, "job failed");
      }
    } finally {
      clearInterval(interval);
      clearTimeout(watchdog);
      await scratch.dispose().catch((e: unknown) => log.warn({ err: e }, "could not remove the job's temporary files"));
      if (!keepParts) await rm(partsDir, { recursive: true, force: true }).catch((e: unknown) => log.warn({ err: e }, "could not remove the job's part files"));
    }

    try {
      await queue.addMessages(job.id, "warning", warnings);
      if (outcome === "Success") {
        await queue.heartbeat(job.id, this.id, config.leaseMs, 100, new Date());
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
      const state = await queue.finish(job.id, this.id, outcome, (usage.user + usage.system) / 1000, new Date());
      log.info({ state }, "job ended");
      return state;
    } catch (e) {
      log.error({ err: e }, "could not record the end of the job; its lease will expire and it will be retried");
      return undefined;
    }
  }

  /** Clears the outputs of jobs the queue ended because their workers died: no half outputs. */
  private async clearAbandoned(): Promise<void> {
    for (const job of await this.rt.queue.reap(this.rt.config.maxAttempts, new Date())) {
      await this.clearOutput(job.outputId);
      await rm(join(scratchRoot(this.rt.config), `job-${job.id}`), { recursive: true, force: true }).catch(() => undefined);
      this.options.logger.info({ jobId: job.id, state: job.state }, "ended a job whose worker stopped; its output was cleared");
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

