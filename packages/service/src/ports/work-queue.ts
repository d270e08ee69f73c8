/**
 * The queue that hands jobs to workers, over the same table as the job repository: claims with leases
 * that heartbeats renew, the end of a job, and the parts of jobs run in parts. Which state a job moves
 * to is decided in domain/job.ts; the store only writes it, guarded against races.
 */
import type { JobMessage, JsonValue } from "@realconv/convert";
import type { FinalOutcome, Job, JobState } from "../domain/job.js";

export interface ClaimedJob {
  job: Job;
  attempts: number;
}

/** A job the queue ended because its worker stopped renewing its lease. */
export interface ReapedJob {
  id: string;
  outputId: string;
  state: JobState;
}

export interface WorkQueue {
  /**
   * Ends jobs whose workers died: a cancelling one is Cancelled, one that used up its attempts Failed
   * (with a WorkerLost message). The caller clears their outputs.
   */
  reap(maxAttempts: number, now: Date): Promise<ReapedJob[]>;
  /** Hands the oldest runnable job to a worker: a Queued one, or an Active one whose worker's lease expired. */
  claim(workerId: string, leaseMs: number, maxAttempts: number, now: Date): Promise<ClaimedJob | undefined>;
  /** Extends the lease and records progress (kept monotone). Returns the state, so the worker sees a cancel. */
  heartbeat(id: string, workerId: string, leaseMs: number, progress: number, now: Date): Promise<JobState | undefined>;
  addMessages(id: string, kind: "error" | "warning", messages: JobMessage[]): Promise<void>;
  /** Ends a job the worker holds, in the state `finishedState` decides. */
  finish(id: string, workerId: string, outcome: FinalOutcome, cpuMs: number, now: Date): Promise<JobState | undefined>;
  /** Parts of the job that earlier runs finished, with their manifests. */
  finishedParts(id: string): Promise<Map<string, JsonValue>>;
  /** Records a finished part (idempotent: a part finished again keeps its first manifest). */
  finishPart(id: string, partId: string, manifest: JsonValue, now: Date): Promise<void>;
}
