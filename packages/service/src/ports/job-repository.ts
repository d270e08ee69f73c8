/**
 * The jobs as the API sees them: created, read, listed, cancelled. The queue that hands them to workers is
 * the other port of the same store (work-queue.ts). Implemented once over kysely for SQLite and
 * PostgreSQL; one test suite runs against both.
 */
import type { JobMessage } from "@realconv/convert";
import type { Job, JobSpecifications, JobState, JobType } from "../domain/job.js";
import type { FilterNode } from "../domain/filter/ast.js";

export interface NewJob {
  id: string;
  name?: string;
  type: JobType;
  iTwinId: string;
  userId: string;
  email: string;
  createdDateTime: string;
  specifications: JobSpecifications;
}

/** A job plus what only the service sees. */
export interface StoredJob {
  job: Job;
  email: string;
  progress: number;
  attempts: number;
}

export interface ListJobsQuery {
  filter: FilterNode;
  /** Only jobs this user created (when the filter names no iTwin). */
  userId?: string;
  /** Keyset cursor: only jobs after this one. */
  after?: JobCursor;
  limit: number;
}

/**
 * Position in the listing order (creation time, then insertion order): the last job of a page, which
 * the next page starts after. Jobs are never deleted, so the id always finds its place.
 */
export interface JobCursor {
  createdAt: string;
  id: string;
}

export interface JobPage {
  jobs: Job[];
  /** Cursor of the last job returned, when more follow. */
  next?: JobCursor;
}

/** A page of jobs already serialised as their wire JSON (listings are the hot path). */
export interface JobJsonPage {
  /** UTF-8 bytes of the jobs' wire JSON objects separated by commas (`{...},{...}`); empty for no jobs. */
  json: Uint8Array;
  next?: JobCursor;
}

export interface JobRepository {
  create(job: NewJob): Promise<Job>;
  get(id: string): Promise<StoredJob | undefined>;
  list(query: ListJobsQuery): Promise<JobPage>;
  /** The same page as `list`, as the jobs' wire JSON. */
  listJson(query: ListJobsQuery): Promise<JobJsonPage>;
  /**
   * Cancels: Queued -> TerminatingOnCancel -> Cancelled at once (no worker holds it); Active ->
   * TerminatingOnCancel (the worker sees it at its next heartbeat). Returns the job as the caller
   * should see it (TerminatingOnCancel) or the final state when it had already ended.
   */
  requestCancel(id: string, now: string): Promise<Job | undefined>;
  progress(id: string): Promise<{ state: JobState; percentage: number } | undefined>;
  messages(id: string): Promise<{ errors: JobMessage[]; warnings: JobMessage[] } | undefined>;
}
