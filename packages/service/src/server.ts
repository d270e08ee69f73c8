/**
 * Wires the API process: runtime (stores), authenticator, services, the fastify app. Used by
 * `realconv serve` and by the integration tests (which listen on port 0).
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { sql } from "kysely";
import type { Config } from "./config.js";
import { openRuntime, type Runtime } from "./runtime.js";
import { loadOrCreateKeys } from "./adapters/auth/local-issuer.js";
import { JwtAuthenticator, localKeySet, remoteKeySet } from "./adapters/auth/jwt-authenticator.js";
import { JobService } from "./services/job-service.js";
import { buildApp } from "./http/app.js";

export interface Server {
  app: FastifyInstance;
  runtime: Runtime;
  jobService: JobService;
  /** True when this start created the signing key (first start). */
  createdKeys: boolean;
  close(): Promise<void>;
}

export async function createServer(config: Config, logger: Logger, options: { notify?: () => void } = {}): Promise<Server> {
  const runtime = await openRuntime(config, { poolSize: 20 });
  const { keys, created } = await loadOrCreateKeys(config.home);
  const authenticator = new JwtAuthenticator({
    keys: config.auth.jwksUrl ? remoteKeySet(config.auth.jwksUrl) : localKeySet(keys),
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  const jobService = new JobService({
    jobs: runtime.jobs,
    itwins: runtime.itwins,
    realityData: runtime.realityData,
    blobs: runtime.blobs,
    notify: options.notify,
  });
  const app = await buildApp({
    jobService,
    authenticator,
    logger,
    rateLimitPerMinute: config.rateLimitPerMinute,
    publicUrl: config.publicUrl,
    healthCheck: async () => {
      await sql`select 1`.execute(runtime.db.db);
    },
  });
  return {
    app,
    runtime,
    jobService,
    createdKeys: created,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}
