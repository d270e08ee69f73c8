/**
 * The job model and its state machine. States and transitions are those of the hosted service:
 *   Queued -> Active -> Success | Failed
 *   Queued | Active -> TerminatingOnCancel -> Cancelled
 *   Active -> TerminatingOnFailure -> Failed
 * Every state change goes through `transition`, so an illegal one cannot be written.
 */

export const JOB_TYPES = [
  "PointCloudConversion",
  "PointCloudOptimization",
  "TileMapOptimization",
  "VectorOptimization",
  "MeshSampling",
  "ContextSceneTiler",
] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const JOB_STATES = [
  "Queued",
  "Active",
  "TerminatingOnCancel",
  "TerminatingOnFailure",
  "Cancelled",
  "Failed",
  "Success",
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobState[] = ["Cancelled", "Failed", "Success"];

const allowed: Record<JobState, readonly JobState[]> = {
  Queued: ["Active", "TerminatingOnCancel", "Failed"],
  Active: ["Success", "Failed", "TerminatingOnCancel", "TerminatingOnFailure", "Queued"],
  TerminatingOnCancel: ["Cancelled", "TerminatingOnFailure"],
  TerminatingOnFailure: ["Failed"],
  Cancelled: [],
  Failed: [],
  Success: [],
};

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function canTransition(from: JobState, to: JobState): boolean {
  return allowed[from].includes(to);
}

export class IllegalTransition extends Error {
  constructor(
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super(`Illegal job state transition ${from} -> ${to}`);
    this.name = "IllegalTransition";
  }
}

/** Returns `to` if the move is legal, else throws: callers write only what this returns. */
export function transition(from: JobState, to: JobState): JobState {
  if (!canTransition(from, to)) throw new IllegalTransition(from, to);
  return to;
}

/** The states a given state may have been in just before reaching `to` (for guarded SQL updates). */
export function statesLeadingTo(to: JobState): JobState[] {
  return JOB_STATES.filter((s) => allowed[s].includes(to));
}

/** How a run of a job ended, as its worker reports it. */
export type FinalOutcome = "Success" | "Failed" | "Cancelled";

/**
 * The state a job ends in when its worker reports `outcome` while the job is in `from`. A cancel wins
 * over the runner's success; a failure on the way out of a cancel is still a failure. Throws on an
 * impossible pair (the worker does not hold such a job).
 */
export function finishedState(from: JobState, outcome: FinalOutcome): JobState {
  if (from === "TerminatingOnCancel") {
    return outcome === "Failed" ? transition(transition(from, "TerminatingOnFailure"), "Failed") : transition(from, "Cancelled");
  }
  if (from === "Active" && outcome === "Failed") return transition(transition(from, "TerminatingOnFailure"), "Failed");
  return transition(from, outcome);
}

/**
 * A cancel request: the state the caller is shown and the state stored. A Queued job has no worker, so
 * it ends at once (shown TerminatingOnCancel, as the hosted service does); an Active one waits for its
 * worker to see the cancel; a job already terminating or ended is left as it is (undefined).
 */
export function cancelledState(from: JobState): { shown: JobState; stored: JobState } | undefined {
  if (from === "Queued") {
    const shown = transition(from, "TerminatingOnCancel");
    return { shown, stored: transition(shown, "Cancelled") };
  }
  if (from === "Active") {
    const next = transition(from, "TerminatingOnCancel");
    return { shown: next, stored: next };
  }
  return undefined;
}

/** The state of a job whose worker died: a cancelling job is Cancelled, any other Failed. */
export function abandonedState(from: JobState): JobState {
  return transition(from, from === "TerminatingOnCancel" ? "Cancelled" : "Failed");
}

/** Canonical job specification as stored and returned: inputs by key, the output id, options. */
export interface JobSpecifications {
  inputs: Record<string, string | string[]>;
  output: string;
  options?: Record<string, unknown>;
}

/** The v2 Job, exactly the documented properties. */
export interface Job {
  id: string;
  name?: string;
  type: JobType;
  state: JobState;
  iTwinId: string;
  userId: string;
  executionInfo: {
    createdDateTime: string;
    startedDateTime?: string | null;
    endedDateTime?: string | null;
    processingUnits?: number | null;
  };
  specifications: JobSpecifications;
}

export interface JobProgress {
  state: JobState;
  percentage: number;
}

/**
 * Processing units: CPU time the job used, in CPU-minutes (CPU-seconds / 60), rounded to 3 decimals.
 * Filled in when the job ends.
 */
export function processingUnitsFromCpuMs(cpuMs: number): number {
  return Math.round((cpuMs / 60_000) * 1000) / 1000;
}

/** All reality data ids a specification reads, in key order (arrays flattened). */
export function inputIds(spec: Pick<JobSpecifications, "inputs">): string[] {
  return Object.values(spec.inputs).flatMap((v) => (Array.isArray(v) ? v : [v]));
}
