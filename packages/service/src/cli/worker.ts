import type { Config } from "../config.js";
import { createLogger } from "../logger.js";
import { openRuntime } from "../runtime.js";
import { WorkerHost } from "../worker/host.js";

/** `realconv worker`: one job at a time, until SIGTERM or until its parent (serve) goes away. */
export async function runWorker(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, { role: "worker" });
  const runtime = await openRuntime(config, { poolSize: 3 });
  const host = new WorkerHost(runtime, { logger, onStuck: () => process.exit(70) });
  const stop = new AbortController();
  const exit = () => {
    // A job in hand is left to its lease: another worker takes it over when the lease expires.
    stop.abort();
    process.exit(0);
  };
  process.on("SIGTERM", exit);
  process.on("SIGINT", exit);
  if (process.send) {
    process.on("disconnect", exit); // the API process died: do not run on as an orphan
    process.on("message", (m: { type?: string }) => {
      if (m?.type === "wake") host.poke();
    });
  }
  logger.info({ workerId: host.id }, "worker started");
  await host.run(stop.signal);
  await runtime.close();
}
