/**
 * Per-user request budget over a sliding minute (two fixed windows, weighted), kept in memory by
 * each API process. Cheap enough for every request; enough to stop a runaway client.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Counts one request; returns 0 when allowed, else seconds to wait. */
  hit(key: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const start = now - (now % this.windowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      const previous = w && w.start === start - this.windowMs ? w.current : 0;
      w = { start, current: 0, previous };
      this.windows.set(key, w);
      if (this.windows.size > 100_000) this.prune(start);
    }
    const weight = 1 - (now - start) / this.windowMs;
    if (w.current + w.previous * weight >= this.perMinute) {
      return Math.max(1, Math.ceil((start + this.windowMs - now) / 1000));
    }
    w.current++;
    return 0;
  }

  private prune(start: number): void {
    for (const [k, w] of this.windows) if (w.start < start - this.windowMs) this.windows.delete(k);
  }
}
