/**
 * Configuration from the environment (and CLI flags, which override). Everything has an embedded
 * default so `realconv serve` runs with nothing set.
 */
import { availableParallelism } from "node:os";
import { resolve, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Config {
  /** Data folder: database, blobs, signing keys. */
  home: string;
  host: string;
  port: number;
  /** Base URL clients reach us at (for `_links.next` and container URLs); derived from host/port when unset. */
  publicUrl: string | undefined;
  /** `postgres://...` for PostgreSQL; otherwise SQLite in the home folder. */
  databaseUrl: string | undefined;
  /** Azure Blob Storage connection string; otherwise local files in the home folder. */
  azureStorageConnectionString: string | undefined;
  auth: {
    /** Verify tokens against this JWKS instead of the local issuer. */
    jwksUrl: string | undefined;
    issuer: string;
    audience: string | undefined;
  };
  /** Requests per user per minute. */
  rateLimitPerMinute: number;
  /** The rate limit's window in ms (a minute; tests shorten it to see a 429 end within seconds). */
  rateLimitWindowMs?: number;
  /** Worker processes `serve` starts (0: none, for an API-only node). */
  workers: number;
  /** API processes `serve` runs on the one port (node:cluster), to use every core for requests. */
  apiProcesses: number;
  /** How long a worker's claim on a job lasts without a heartbeat. */
  leaseMs: number;
  /** Threads a conversion process runs chunk codecs on (1: in its own thread). */
  threads: number;
  /** Memory a conversion may use, in MiB (chunk sizes and buffers are chosen from it). */
  memoryMb: number;
  /** Scratch disk a conversion may use, in MiB, under `<home>/scratch`. */
  scratchMb: number;
  /** Attempts before a job whose worker keeps dying is failed. */
  maxAttempts: number;
  logLevel: string;
  /** Most megabytes (MiB) clients may upload into one reality data's container on the embedded endpoint (0: no quota). */
  maxRealityDataMb: number;
  /** Secret that signs embedded container SAS URLs; every API instance must share it (default: made in the home folder). */
  sasSecret: string | undefined;
  web: WebConfig;
}

/** The web app `serve` hands out at `/`, and how it signs in. */
export interface WebConfig {
  /** The built app (index.html and assets/); `/` says the app is not built when it is missing. */
  root: string;
  /** With an external issuer: where the app signs in (OAuth2 authorisation code with PKCE); default the issuer. */
  authority: string | undefined;
  /** With an external issuer: the app's OAuth2 client id at that authority. */
  clientId: string | undefined;
  /** Scopes the app asks the authority for. */
  scopes: string;
  /** Secret that signs share links; every API instance must share it (default: made in the home folder). */
  shareSecret: string | undefined;
}

/** Where `npm run build -w packages/web` writes the app, from this file in packages/service/{src,dist}. */
export const DEFAULT_WEB_ROOT = resolve(fileURLToPath(import.meta.url), "../../../web/dist");

function int(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got '${value}'`);
  return n;
}

export const LOCAL_ISSUER = "realconv-local";

/** An empty variable means "not set" (so `REALCONV_DATABASE_URL=` turns PostgreSQL off). */
function nonEmpty(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") out[k] = v;
  return out;
}

export type ConfigOverrides = Partial<Omit<Config, "web">> & { web?: Partial<WebConfig> };

export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const env = nonEmpty(rawEnv);
  const home = resolve(overrides.home ?? env.REALCONV_HOME ?? ".realconv");
  return {
    home,
    host: overrides.host ?? env.REALCONV_HOST ?? "127.0.0.1",
    port: overrides.port ?? int(env.REALCONV_PORT ?? env.PORT, 8080),
    publicUrl: overrides.publicUrl ?? env.REALCONV_PUBLIC_URL,
    databaseUrl: overrides.databaseUrl ?? env.REALCONV_DATABASE_URL ?? env.DATABASE_URL,
    azureStorageConnectionString: overrides.azureStorageConnectionString ?? env.REALCONV_AZURE_STORAGE_CONNECTION_STRING,
    auth: overrides.auth ?? {
      jwksUrl: env.REALCONV_AUTH_JWKS_URL,
      issuer: env.REALCONV_AUTH_ISSUER ?? LOCAL_ISSUER,
      audience: env.REALCONV_AUTH_AUDIENCE,
    },
    rateLimitPerMinute: overrides.rateLimitPerMinute ?? int(env.REALCONV_RATE_LIMIT_PER_MINUTE, 5000),
    rateLimitWindowMs: overrides.rateLimitWindowMs,
    workers: overrides.workers ?? int(env.REALCONV_WORKERS, availableParallelism()),
    apiProcesses: Math.max(1, overrides.apiProcesses ?? int(env.REALCONV_API_PROCESSES, availableParallelism())),
    leaseMs: overrides.leaseMs ?? int(env.REALCONV_LEASE_MS, 15_000),
    threads: Math.max(1, overrides.threads ?? int(env.REALCONV_THREADS, availableParallelism())),
    memoryMb: Math.max(64, overrides.memoryMb ?? int(env.REALCONV_MEMORY_MB, 1024)),
    scratchMb: Math.max(1, overrides.scratchMb ?? int(env.REALCONV_SCRATCH_MB, 100 * 1024)),
    maxAttempts: overrides.maxAttempts ?? int(env.REALCONV_MAX_ATTEMPTS, 3),
    logLevel: overrides.logLevel ?? env.REALCONV_LOG_LEVEL ?? "info",
    sasSecret: overrides.sasSecret ?? env.REALCONV_SAS_SECRET,
    maxRealityDataMb: overrides.maxRealityDataMb ?? int(env.REALCONV_MAX_REALITY_DATA_MB, 100 * 1024),
    web: {
      root: resolve(overrides.web?.root ?? env.REALCONV_WEB_ROOT ?? DEFAULT_WEB_ROOT),
      authority: overrides.web?.authority ?? env.REALCONV_AUTH_AUTHORITY,
      clientId: overrides.web?.clientId ?? env.REALCONV_WEB_CLIENT_ID,
      scopes: overrides.web?.scopes ?? env.REALCONV_WEB_SCOPES ?? "openid email profile itwin-platform",
      shareSecret: overrides.web?.shareSecret ?? env.REALCONV_SHARE_SECRET,
    },
  };
}

export function sqlitePath(config: Config): string {
  return join(config.home, "realconv.sqlite");
}

/** Where conversions keep temporary files (one folder per process and run; swept when a worker starts). */
export function scratchRoot(config: Pick<Config, "home">): string {
  return join(config.home, "scratch");
}

export function blobRoot(config: Config): string {
  return join(config.home, "blobs");
}
