/** Stops a read between chunks when the caller's signal fired, with the signal's reason. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error("aborted");
}
