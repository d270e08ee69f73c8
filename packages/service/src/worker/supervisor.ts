/**
 * Starts N worker processes next to the API and keeps them running: a worker that crashes (a bad
 * file that kills the process, out of memory) is restarted, and its job's lease expires so another
 * worker picks it up. Workers exit by themselves when this process goes away (IPC disconnect).
 */
import { fork, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import type { Config } from "../config.js";

export function configToEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {
    REALCONV_HOME: config.home,
    REALCONV_LEASE_MS: String(config.leaseMs),
    REALCONV_MAX_ATTEMPTS: String(config.maxAttempts),
    REALCONV_LOG_LEVEL: config.logLevel,
  };
  if (config.databaseUrl) env.REALCONV_DATABASE_URL = config.databaseUrl;
  if (config.azureStorageConnectionString) env.REALCONV_AZURE_STORAGE_CONNECTION_STRING = config.azureStorageConnectionString;
  return env;
}

export class WorkerSupervisor {
  private readonly children = new Set<ChildProcess>();
  private stopping = false;

  constructor(
    private readonly cliPath: string,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  start(count: number): void {
    for (let i = 0; i < count; i++) this.spawn(i);
  }

  /** Tells idle workers a job is waiting. */
  notify(): void {
    for (const c of this.children) if (c.connected) c.send({ type: "wake" }, () => undefined);
  }

  private spawn(slot: number, delayMs = 0): void {
    if (this.stopping) return;
    const go = () => {
      if (this.stopping) return;
      const child = fork(this.cliPath, ["worker"], {
        env: { ...process.env, ...configToEnv(this.config) },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      this.children.add(child);
      const startedAt = Date.now();
      child.on("exit", (code, signal) => {
        this.children.delete(child);
        if (this.stopping) return;
        this.logger.warn({ slot, code, signal }, "worker exited; restarting");
        // Back off when a worker dies right away, so a broken setup does not spin.
        this.spawn(slot, Date.now() - startedAt < 5000 ? 2000 : 0);
      });
    };
    if (delayMs > 0) setTimeout(go, delayMs).unref();
    else go();
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    const waits = [...this.children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
          setTimeout(() => {
            c.kill("SIGKILL");
            resolve();
          }, timeoutMs).unref();
        }),
    );
    await Promise.all(waits);
  }
}
