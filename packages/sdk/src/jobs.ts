/** The Reality Conversion v2 jobs: `/reality-conversion/jobs`. */
import { sleep, type Transport } from "./http.js";
import type { Job, JobCreation, JobMessages, JobProgress, JobResponse, JobsPage, JobState, MessagesResponse, ProgressResponse } from "./wire.js";

const BASE = "/reality-conversion/jobs";

/** States a job does not leave. */
export const FINAL_STATES: readonly JobState[] = ["Success", "Failed", "Cancelled"];

export interface ListOptions {
  /** Jobs per page, 1 to 1000 (the service's default is 100). */
  top?: number;
  signal?: AbortSignal;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Called with each progress that differs from the one before. */
  onProgress?: (progress: JobProgress) => void;
  /** First polling interval (default 1 s); it doubles while nothing changes, back to this when it does. */
  intervalMs?: number;
  /** Longest polling interval (default 30 s). */
  maxIntervalMs?: number;
}

const path = (id: string, rest = "") => `${BASE}/${encodeURIComponent(id)}${rest}`;

export class Jobs {
  constructor(private readonly http: Transport) {}

  /** Creates a job; the service creates its output reality data (`specifications.output`) and queues it. */
  async create(job: JobCreation, options: { signal?: AbortSignal } = {}): Promise<Job> {
    return (await this.http.json<JobResponse>("conversion", BASE, { method: "POST", body: job, signal: options.signal })).job;
  }

  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<Job> {
    return (await this.http.json<JobResponse>("conversion", path(id), { signal: options.signal })).job;
  }

  /** Cancels a job: it comes back `TerminatingOnCancel` (or in its final state if it had ended). */
  async cancel(id: string, options: { signal?: AbortSignal } = {}): Promise<Job> {
    return (await this.http.json<JobResponse>("conversion", path(id), { method: "DELETE", signal: options.signal })).job;
  }

  async progress(id: string, options: { signal?: AbortSignal } = {}): Promise<JobProgress> {
    return (await this.http.json<ProgressResponse>("conversion", path(id, "/progress"), { signal: options.signal })).progress;
  }

  async messages(id: string, options: { signal?: AbortSignal } = {}): Promise<JobMessages> {
    return (await this.http.json<MessagesResponse>("conversion", path(id, "/messages"), { signal: options.signal })).messages;
  }

  /** The pages of a listing, following `_links.next` to the last page. */
  async *pages(filter: string, options: ListOptions = {}): AsyncGenerator<JobsPage> {
    let next: string | undefined = this.http.url(BASE, { $filter: filter, $top: options.top });
    while (next) {
      const page: JobsPage = await this.http.json<JobsPage>("conversion", next, { signal: options.signal });
      yield page;
      next = page._links?.next.href;
    }
  }

  /**
   * Every job matching an OData `$filter` (`iTwinId eq ...`, `state eq Active`, `createdDateTime gt ...`; see the
   * API reference), oldest first, page after page as the iteration goes.
   */
  async *list(filter: string, options: ListOptions = {}): AsyncGenerator<Job> {
    for await (const page of this.pages(filter, options)) yield* page.jobs;
  }

  /**
   * Polls a job's progress until it ends (Success, Failed or Cancelled) and returns the job. The interval doubles
   * while the progress stays the same, so a long job costs few requests; a 429 is waited out by every call.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Job> {
    const first = options.intervalMs ?? 1000;
    const longest = Math.max(first, options.maxIntervalMs ?? 30_000);
    let interval = first;
    let last: JobProgress | undefined;
    for (;;) {
      const p = await this.progress(id, { signal: options.signal });
      if (!last || last.state !== p.state || last.percentage !== p.percentage) {
        options.onProgress?.(p);
        interval = first;
      } else {
        interval = Math.min(longest, interval * 2);
      }
      last = p;
      if (FINAL_STATES.includes(p.state)) return this.get(id, { signal: options.signal });
      await sleep(interval, options.signal);
    }
  }
}
