import type { Config } from "../config.js";
import { createLogger } from "../logger.js";
import { createServer } from "../server.js";
import { WorkerSupervisor } from "../worker/supervisor.js";

/** `realconv serve`: API + worker processes; prints where it listens and how to authenticate. */
export async function serve(config: Config, cliPath: string): Promise<void> {
  const logger = createLogger(config.logLevel, { role: "api" });
  const supervisor = new WorkerSupervisor(cliPath, config, logger);
  const server = await createServer(config, logger, { notify: () => supervisor.notify() });
  await server.app.listen({ port: config.port, host: config.host });
  supervisor.start(config.workers);
  const address = server.app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = config.publicUrl ?? `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  const homeArg = `--home ${JSON.stringify(config.home)}`;
  const lines = [
    "",
    `realconv is listening on ${url}`,
    `  API:        ${url}/reality-conversion/jobs   (reference: ${url}/reality-conversion/docs)`,
    `  data:       ${config.home}${config.databaseUrl ? " (database: PostgreSQL)" : " (SQLite + local files)"}`,
    `  workers:    ${config.workers}`,
    config.auth.jwksUrl
      ? `  auth:       bearer tokens from ${config.auth.jwksUrl}`
      : `  auth:       get a token with:  npx realconv token --email you@example.com ${homeArg}`,
    `              create an iTwin:   npx realconv itwins create --name Demo --member you@example.com ${homeArg}`,
    `              then call the API with  -H "Authorization: Bearer <token>"`,
    server.createdKeys ? `  (first start: a signing key was created in ${config.home}/keys)` : "",
    "",
  ];
  process.stderr.write(lines.filter((l, i) => l !== "" || i === 0 || i === lines.length - 1).join("\n") + "\n");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    await supervisor.stop();
    await server.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}
