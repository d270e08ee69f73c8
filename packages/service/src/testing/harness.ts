/**
 * Test-only: a real realconv server on a loopback port (port 0), on a fresh home folder, with real
 * worker processes when asked. Tests talk to it over HTTP like any client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { loadConfig, type Config, type WebConfig } from "../config.js";
import { createLogger, type LogDestination } from "../logger.js";
import { createServer, type Server } from "../server.js";
import { WorkerSupervisor } from "../worker/supervisor.js";
import { issueToken, loadOrCreateKeys, userIdForEmail } from "../adapters/auth/local-issuer.js";

export const CLI_PATH = resolve(fileURLToPath(import.meta.url), "../../../bin/realconv.js");

export interface TestServer {
  url: string;
  config: Config;
  server: Server;
  token(email: string, options?: { scope?: string; expiresIn?: number }): Promise<string>;
  createITwin(name: string, members: string[]): Promise<string>;
  /**
   * Stores `count` LAS conversion jobs of a user straight in the job store (fast, for listings), oldest first;
   * returns their ids.
   */
  seedJobs(iTwinId: string, email: string, input: string, count: number): Promise<string[]>;
  /** Creates a reality data in an iTwin and puts local files in its container. */
  createRealityData(iTwinId: string, type: string, files: string[], ownerEmail?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  workers?: number;
  rateLimitPerMinute?: number;
  /** Shortens the rate limit's minute, so a 429's retry-after is a second or two. */
  rateLimitWindowMs?: number;
  databaseUrl?: string;
  leaseMs?: number;
  home?: string;
  /** Keep containers in Azure Blob Storage (azurite in tests) instead of local files. */
  azureStorageConnectionString?: string;
  maxRealityDataMb?: number;
  /** Receives the server's log lines (at `logLevel`, default: the test log level, silent unless set). */
  logStream?: LogDestination;
  logLevel?: string;
  /** The web app's folder, authority and client id (default: the repository's packages/web/dist). */
  web?: Partial<WebConfig>;
  /** Tokens from an external issuer instead of the local one (default: the local issuer). */
  auth?: Config["auth"];
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "realconv-test-"));
  const config = loadConfig(
    { ...process.env, REALCONV_AUTH_JWKS_URL: "", REALCONV_DATABASE_URL: "", DATABASE_URL: "" },
    {
      home,
      port: 0,
      host: "127.0.0.1",
      workers: options.workers ?? 0,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 1_000_000,
      rateLimitWindowMs: options.rateLimitWindowMs,
      leaseMs: options.leaseMs ?? 3000,
      logLevel: options.logLevel ?? process.env.REALCONV_TEST_LOG_LEVEL ?? "silent",
      auth: options.auth ?? { jwksUrl: undefined, issuer: "realconv-local", audience: undefined },
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { databaseUrl: undefined }),
      azureStorageConnectionString: options.azureStorageConnectionString,
      ...(options.maxRealityDataMb !== undefined ? { maxRealityDataMb: options.maxRealityDataMb } : {}),
      web: options.web,
    },
  );
  const logger = createLogger(config.logLevel, {}, options.logStream);
  let supervisor: WorkerSupervisor | undefined;
  const server = await createServer(config, logger, { notify: () => supervisor?.notify() });
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const address = server.app.server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  if ((options.workers ?? 0) > 0) {
    supervisor = new WorkerSupervisor(CLI_PATH, config, logger);
    supervisor.start(options.workers!);
  }
  const { keys } = await loadOrCreateKeys(home);
  const rt = server.runtime;
  return {
    url,
    config,
    server,
    token: (email, o = {}) => issueToken(keys, { email, ...o }),
    async createITwin(name, members) {
      const t = await rt.itwins.create(name);
      for (const m of members) await rt.itwins.addMember(t.id, m);
      return t.id;
    },
    async seedJobs(iTwinId, email, input, count) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const job = await rt.jobs.create({
          id: randomUUID(),
          name: `seed ${i}`,
          type: "PointCloudConversion",
          iTwinId,
          userId: userIdForEmail(email),
          email,
          createdDateTime: new Date().toISOString(),
          specifications: { inputs: { pointCloud: input }, output: randomUUID(), options: { outputFormat: "LAS" } },
        });
        ids.push(job.id);
      }
      return ids;
    },
    async createRealityData(iTwinId, type, files, ownerEmail = "owner@example.com") {
      const id = randomUUID();
      await rt.blobs.createContainer(id);
      for (const f of files) await rt.blobs.put(id, basename(f), new Uint8Array(await readFile(f)));
      await rt.realityData.create({
        id,
        iTwinId,
        displayName: files.map((f) => basename(f)).join(", ") || "empty",
        type,
        classification: "Model",
        authoring: false,
        ownerId: ownerEmail,
        createdDateTime: new Date().toISOString(),
        rootDocument: files.length === 1 ? basename(files[0]) : undefined,
      });
      return id;
    },
    async close() {
      await supervisor?.stop(5000);
      await server.close();
      if (!options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** fetch with a bearer token and the v2 Accept header; returns status, headers and parsed JSON. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { accept: "application/vnd.bentley.itwin-platform.v2+json", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Polls a job's progress until `done` says so; fails after `timeoutMs`. */
export async function waitForJob(
  url: string,
  token: string,
  id: string,
  done: (p: { state: string; percentage: number }) => boolean = (p) => ["Success", "Failed", "Cancelled"].includes(p.state),
  timeoutMs = 60_000,
): Promise<{ state: string; percentage: number }> {
  const start = Date.now();
  for (;;) {
    const p = await api(url, "GET", `/reality-conversion/jobs/${id}/progress`, { token });
    if (p.status !== 200) throw new Error(`progress of ${id}: ${p.status}`);
    if (done(p.body.progress)) return p.body.progress as { state: string; percentage: number };
    if (Date.now() - start > timeoutMs) throw new Error(`job ${id} still ${JSON.stringify(p.body.progress)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
