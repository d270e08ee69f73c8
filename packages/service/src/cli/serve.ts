/**
 * `realconv serve`: the API in one or more processes sharing the port (node:cluster), plus worker
 * processes for the conversions. The primary prepares what must exist once (database schema, keys),
 * then starts the others; it prints where the service listens and how to authenticate.
 */
import cluster from "node:cluster";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { blobRoot, type Config } from "../config.js";
import { listeningUrl } from "./login-link.js";
import { LocalBlobStore } from "../adapters/blob/local-blob-store.js";
import { createLogger } from "../logger.js";
import { createServer, webAuthConfig } from "../server.js";
import { openRuntime } from "../runtime.js";
import { loadOrCreateKeys } from "../adapters/auth/local-issuer.js";
import { loadOrCreateSecret } from "../adapters/auth/secrets.js";
import { WorkerSupervisor } from "../worker/supervisor.js";
import { grantRequests, RateLimiter, SharedRateLimiter, type RateAsk, type RateGrant } from "../http/rate-limit.js";

type ApiMessage = { type: "listening"; port: number } | { type: "wake" } | RateAsk;

export async function serve(config: Config, cliPath: string): Promise<void> {
  if (cluster.isWorker) return serveApi(config);
  const logger = createLogger(config.logLevel, { role: "primary" });

  // Once, before anything else starts: schema migrations, signing key, SAS and share-link secrets.
  const rt = await openRuntime(config);
  await rt.close();
  const { created } = await loadOrCreateKeys(config.home);
  if (!config.sasSecret && !config.azureStorageConnectionString) loadOrCreateSecret(config.home, "sas-secret");
  if (!config.web.shareSecret) loadOrCreateSecret(config.home, "share-secret");

  const supervisor = new WorkerSupervisor(cliPath, config, logger);
  // The per-user budget, shared by every API process (see http/rate-limit.ts).
  const requestTotals = new RateLimiter(config.rateLimitPerMinute);
  let stopping = false;
  let announced = false;
  const fork = () => {
    const w = cluster.fork({ REALCONV_ROLE: "api" });
    w.on("message", (m: ApiMessage) => {
      if (m.type === "wake") supervisor.notify();
      else if (m.type === "rate-ask") w.send(grantRequests(requestTotals, config.apiProcesses, m));
      else if (m.type === "listening" && !announced) {
        announced = true;
        supervisor.start(config.workers);
        printBanner(config, m.port, created);
      }
    });
  };
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    logger.warn({ code, signal }, "API process exited; restarting");
    setTimeout(fork, 1000).unref();
  });
  for (let i = 0; i < config.apiProcesses; i++) fork();
  if (!config.azureStorageConnectionString) {
    // Uploads abandoned half-way leave staged blocks behind: clear them out now and then.
    const blobs = new LocalBlobStore(blobRoot(config));
    const sweep = () => blobs.sweep().catch((e: unknown) => logger.warn({ err: e }, "blob sweep failed"));
    setTimeout(sweep, 60_000).unref();
    setInterval(sweep, 6 * 3600_000).unref();
  }

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    await supervisor.stop();
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/** One API process (a cluster worker): the HTTP app on the shared port. */
async function serveApi(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, { role: "api" });
  const rateLimiter = new SharedRateLimiter(config.rateLimitPerMinute, (m) => process.send?.(m));
  process.on("message", (m: RateGrant) => {
    if (m.type === "rate-grant") rateLimiter.learn(m);
  });
  const server = await createServer(config, logger, { notify: () => process.send?.({ type: "wake" }), rateLimiter });
  await server.app.listen({ port: config.port, host: config.host });
  const address = server.app.server.address();
  process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : config.port });
  // The primary is gone (killed): do not live on as an orphan holding the port.
  process.on("disconnect", () => process.exit(0));
  process.on("SIGTERM", () => {
    void server.close().finally(() => process.exit(0));
  });
}

function printBanner(config: Config, port: number, firstStart: boolean): void {
  const url = config.publicUrl ?? listeningUrl(config.host, port);
  const homeArg = `--home ${JSON.stringify(config.home)}`;
  // The link must name the address the server is reached at, which the CLI alone cannot know (--port 0).
  const baseArg = config.publicUrl ? "" : ` --base-url ${url}`;
  const lines = [
    "",
    `realconv is listening on ${url}`,
    `  API:      ${url}/reality-conversion/jobs  (reference: ${url}/reality-conversion/docs)`,
    `  data:     ${config.home}${config.databaseUrl ? " (database: PostgreSQL)" : " (SQLite + local files)"}`,
    `  processes: ${config.apiProcesses} API, ${config.workers} worker${config.workers === 1 ? "" : "s"}`,
    `  web app:  ${url}/${existsSync(join(config.web.root, "index.html")) ? "" : `  (not built: npm run build -w packages/web)`}`,
    config.auth.jwksUrl
      ? `            signs in at ${webAuthSummary(config)}`
      : `            sign in:  npx realconv login-link --email you@example.com ${homeArg}${baseArg}`,
    config.auth.jwksUrl
      ? `  auth:     bearer tokens from ${config.auth.jwksUrl}`
      : `  auth:     get a token:    npx realconv token --email you@example.com ${homeArg}`,
    `            make an iTwin:  npx realconv itwins create --name Demo --member you@example.com ${homeArg}`,
    `            then send       -H "Authorization: Bearer <token>"`,
  ];
  if (firstStart) lines.push(`  (first start: a signing key was created in ${config.home}/keys)`);
  process.stderr.write(lines.join("\n") + "\n\n");
}

function webAuthSummary(config: Config): string {
  const auth = webAuthConfig(config);
  return "missing" in auth ? `(not configured: ${auth.missing})` : auth.mode === "oauth" ? `${auth.authority} (client ${auth.clientId})` : "realconv";
}
