/**
 * Per-user request budget over a sliding minute (two fixed windows, weighted). Cheap enough for every
 * request; enough to stop a runaway client.
 *
 * One API process counts alone with RateLimiter. The API processes of one `realconv serve` share the
 * budget through the cluster primary, which keeps the totals: a process admits a user's requests from
 * an allowance the primary granted it (SharedRateLimiter), and asks for more when it is spent. The
 * primary grants a share of what is left of the user's budget (at most GRANT_SHARE of it, and of what
 * is left divided by the processes) and counts a grant as spent at once, so the processes together never
 * admit more than the budget. Far from the limit a process asks once per grant, not per request; near it,
 * grants shrink to one request. What a process was granted and did not use is lost: a user can be
 * refused up to GRANT_SHARE of the budget per API process early.
 */

/** Anything that decides whether one more request of a user fits the budget. */
export interface RequestBudget {
  /** Counts one request; returns 0 when allowed, else seconds to wait. */
  hit(key: string, now?: number): number | Promise<number>;
}

const WINDOW_MS = 60_000;
/** The largest grant, as a part of the budget per minute. */
export const GRANT_SHARE = 0.01;
/** A process waits this long for the primary's answer, then admits the request on its own. */
const ANSWER_TIMEOUT_MS = 1000;

/** Seconds until the current window ends (a client told to wait that long finds room again). */
function secondsToNextWindow(now: number, windowMs: number): number {
  return Math.max(1, Math.ceil((windowMs - (now % windowMs)) / 1000));
}

interface Window {
  start: number;
  current: number;
  previous: number;
}

export class RateLimiter implements RequestBudget {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly perMinute: number,
    private readonly windowMs = WINDOW_MS,
  ) {}

  hit(key: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const w = this.window(key, now);
    if (this.usage(w, now) >= this.perMinute) return secondsToNextWindow(now, this.windowMs);
    w.current++;
    return 0;
  }

  /** The key's requests in the sliding minute. */
  used(key: string, now = Date.now()): number {
    return this.usage(this.window(key, now), now);
  }

  /** Counts `count` requests admitted elsewhere. */
  record(key: string, count: number, now = Date.now()): void {
    this.window(key, now).current += count;
  }

  private window(key: string, now: number): Window {
    const start = now - (now % this.windowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      const previous = w && w.start === start - this.windowMs ? w.current : 0;
      w = { start, current: 0, previous };
      this.windows.set(key, w);
      if (this.windows.size > 100_000) this.prune(start);
    }
    return w;
  }

  private usage(w: Window, now: number): number {
    return w.current + w.previous * (1 - (now - w.start) / this.windowMs);
  }

  private prune(start: number): void {
    for (const [k, w] of this.windows) if (w.start < start - this.windowMs) this.windows.delete(k);
  }
}

/** An API process asks the primary for more of a user's budget. */
export interface RateAsk {
  type: "rate-ask";
  key: string;
}

/** The primary's answer: how many requests of the user the process may admit (0: none, the budget is spent). */
export interface RateGrant {
  type: "rate-grant";
  key: string;
  granted: number;
}

function largestGrant(perMinute: number): number {
  return Math.max(1, Math.ceil(perMinute * GRANT_SHARE));
}

/** The primary's side: grants a share of what is left of the user's budget and counts it as spent. */
export function grantRequests(totals: RateLimiter, processes: number, ask: RateAsk, now = Date.now()): RateGrant {
  const left = totals.perMinute - totals.used(ask.key, now);
  const granted = left >= 1 ? Math.min(Math.ceil(left / processes), largestGrant(totals.perMinute)) : 0;
  totals.record(ask.key, granted, now);
  return { type: "rate-grant", key: ask.key, granted };
}

/** An API process's side of the shared budget (see the top of this file). */
export class SharedRateLimiter implements RequestBudget {
  /** Requests per user this process may still admit. */
  private readonly allowance = new Map<string, number>();
  /** The one question per user in flight to the primary, and how to deliver its answer. */
  private readonly asking = new Map<string, { answer: Promise<number>; deliver: (granted: number) => void }>();

  constructor(
    private readonly perMinute: number,
    private readonly send: (message: RateAsk) => void,
    private readonly windowMs = WINDOW_MS,
  ) {}

  async hit(key: string): Promise<number> {
    if (this.perMinute <= 0) return 0;
    for (;;) {
      const left = this.allowance.get(key) ?? 0;
      if (left > 0) {
        if (left === 1) this.allowance.delete(key);
        else this.allowance.set(key, left - 1);
        return 0;
      }
      if ((await this.ask(key)) === 0) return secondsToNextWindow(Date.now(), this.windowMs);
    }
  }

  /** The primary's answer to this process's question about a user. */
  learn(message: RateGrant): void {
    this.asking.get(message.key)?.deliver(message.granted);
  }

  private ask(key: string): Promise<number> {
    const inFlight = this.asking.get(key);
    if (inFlight) return inFlight.answer;
    let deliver!: (granted: number) => void;
    const answer = new Promise<number>((resolve) => {
      // Without an answer (a primary restarting) the process goes on alone rather than stall its users.
      const timer = setTimeout(() => deliver(largestGrant(this.perMinute)), ANSWER_TIMEOUT_MS);
      deliver = (granted) => {
        clearTimeout(timer);
        if (this.asking.get(key)?.answer !== answer) return;
        this.asking.delete(key);
        if (this.allowance.size > 100_000) this.allowance.clear();
        if (granted > 0) this.allowance.set(key, (this.allowance.get(key) ?? 0) + granted);
        resolve(granted);
      };
    });
    this.asking.set(key, { answer, deliver });
    this.send({ type: "rate-ask", key });
    return answer;
  }
}
