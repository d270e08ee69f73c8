#!/usr/bin/env node
// List-jobs throughput: 100 000 jobs in the store (SQLite by default, PostgreSQL with --pg), the API
// server in its own process (no workers), autocannon driving it over loopback.
//   node bench/api.mjs [--jobs 100000] [--duration 15] [--connections 50] [--warmup 3] [--pg] [--top 100]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { sql } from "kysely";
import { loadConfig } from "../packages/service/dist/config.js";
import { openRuntime } from "../packages/service/dist/runtime.js";
import { issueToken, loadOrCreateKeys, userIdForEmail } from "../packages/service/dist/adapters/auth/local-issuer.js";
import { calibrate } from "./calibrate.mjs";

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string", default: "100000" },
    duration: { type: "string", default: "15" },
    connections: { type: "string", default: "50" },
    top: { type: "string", default: "100" },
    // seconds of load before each measured scenario
    warmup: { type: "string", default: "3" },
    pg: { type: "boolean", default: false },
    // wrk (Debian package, C) leaves more of the 2 cores to the server than autocannon (Node) does.
    tool: { type: "string", default: "auto" },
    threads: { type: "string", default: "1" },
    // only the scenarios whose name contains this text
    only: { type: "string" },
    // keep the seeded home folder (printed) for experiments
    keep: { type: "boolean", default: false },
  },
});
const tool = args.tool === "auto" ? (spawnSync("wrk", ["--version"]).error ? "autocannon" : "wrk") : args.tool;

function toMs(v) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return NaN;
  return Number((Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1)).toFixed(3));
}

function runWrk(target, seconds = args.duration) {
  const r = spawnSync(
    "wrk",
    ["-t", args.threads, "-c", args.connections, "-d", `${seconds}s`, "--latency", "-H", `Authorization: Bearer ${token}`, "-H", "Accept: application/vnd.bentley.itwin-platform.v2+json", target],
    { encoding: "utf8" },
  );
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? "");
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(out)?.[1];
  return { rps, p50, p99, errors: non2xx + (errors ? 1 : 0) };
}
const JOBS = Number(args.jobs);
const home = mkdtempSync(join(tmpdir(), "realconv-bench-api-"));
const pgUrl = "postgres://postgres@127.0.0.1:5432/test";
const schema = `bench_${randomUUID().slice(0, 8)}`;
const databaseUrl = args.pg ? `${pgUrl}?options=-c%20search_path%3D${schema}` : undefined;

const config = loadConfig({ ...process.env }, { home, databaseUrl, workers: 0 });
if (args.pg) {
  const pg = (await import("pg")).default;
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`create schema ${schema}`);
  await c.end();
}
const rt = await openRuntime(config);
const alice = "alice@example.com";
const itwin = await rt.itwins.create("Bench");
await rt.itwins.addMember(itwin.id, alice);
const other = await rt.itwins.create("Other");

// Seed: 100 000 jobs over two iTwins, several users and all states, in multi-row inserts.
console.error(`seeding ${JOBS} jobs...`);
const t0 = Date.now();
const states = ["Success", "Failed", "Cancelled", "Queued", "Active"];
const base = Date.parse("2026-01-01T00:00:00Z");
const BATCH = 500;
for (let i = 0; i < JOBS; i += BATCH) {
  const rows = [];
  const inputs = [];
  for (let k = i; k < Math.min(JOBS, i + BATCH); k++) {
    const id = randomUUID();
    const input = randomUUID();
    const output = randomUUID();
    const email = k % 4 === 0 ? alice : `user${k % 17}@example.com`;
    rows.push({
      id,
      name: `Job ${k}`,
      type: k % 3 === 0 ? "PointCloudOptimization" : "PointCloudConversion",
      state: states[k % states.length],
      itwin_id: k % 2 === 0 ? itwin.id : other.id,
      user_id: userIdForEmail(email),
      email,
      created_at: new Date(base + k * 1000).toISOString(),
      started_at: new Date(base + k * 1000 + 5000).toISOString(),
      ended_at: k % 5 < 3 ? new Date(base + k * 1000 + 60_000).toISOString() : null,
      processing_units: k % 5 < 3 ? 0.25 : null,
      specifications: JSON.stringify({ inputs: { pointCloud: input }, output, options: { outputFormat: "LAS" } }),
      output_id: output,
      progress: k % 5 === 0 ? 100 : 0,
      attempts: 1,
      lease_owner: null,
      lease_expires_at: null,
      cpu_ms: 15000,
    });
    inputs.push({ job_id: id, reality_data_id: input, input_key: "pointCloud", position: 0 });
  }
  await rt.db.db.insertInto("jobs").values(rows).execute();
  await rt.db.db.insertInto("job_inputs").values(inputs).execute();
}
console.error(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
// Planner statistics, as a database that has been running (autovacuum, `pragma optimize`) has them.
await sql`analyze`.execute(rt.db.db);
await rt.close();

const { keys } = await loadOrCreateKeys(home);
const token = await issueToken(keys, { email: alice, expiresIn: 3600 });

// The server, as `realconv serve` runs it, in its own process.
const server = spawn(process.execPath, [...(process.env.BENCH_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_PROF] : []), "packages/service/bin/realconv.js", "serve", "--port", "0", "--workers", "0", "--home", home], {
  env: { ...process.env, REALCONV_LOG_LEVEL: "warn", REALCONV_RATE_LIMIT_PER_MINUTE: "0", ...(databaseUrl ? { REALCONV_DATABASE_URL: databaseUrl } : {}) },
  stdio: ["ignore", "ignore", "pipe"],
});
const url = await new Promise((resolve, reject) => {
  let buf = "";
  server.stderr.on("data", (d) => {
    buf += d;
    const m = /listening on (http:\/\/\S+)/.exec(buf);
    if (m) resolve(m[1]);
  });
  server.on("exit", (code) => reject(new Error(`server exited ${code}: ${buf}`)));
});

const top = args.top;
const scenarios = [
  { name: "iTwin jobs, first page", path: `/reality-conversion/jobs?$filter=${encodeURIComponent(`iTwinId eq ${itwin.id}`)}&$top=${top}` },
  {
    name: "filtered (iTwin + state + date)",
    path: `/reality-conversion/jobs?$filter=${encodeURIComponent(`iTwinId eq ${itwin.id} and state eq Success and createdDateTime gt 2026-01-01T12:00:00Z`)}&$top=${top}`,
  },
  { name: "own jobs by state (no iTwin)", path: `/reality-conversion/jobs?$filter=${encodeURIComponent("state in ('Failed', 'Cancelled')")}&$top=${top}` },
  { name: "one job by name", path: `/reality-conversion/jobs?$filter=${encodeURIComponent(`iTwinId eq ${itwin.id} and name eq 'Job 99998'`)}&$top=${top}` },
  { name: "iTwin jobs, $top=10", path: `/reality-conversion/jobs?$filter=${encodeURIComponent(`iTwinId eq ${itwin.id}`)}&$top=10` },
];

// A later page (the 50th of the filtered listing), reached through `_links.next` as a client pages.
{
  let href = url + scenarios[1].path;
  for (let i = 1; i < 50; i++) {
    const r = await fetch(href, { headers: { authorization: `Bearer ${token}` } });
    href = (await r.json())._links?.next?.href;
    if (!href) throw new Error(`the filtered listing ended before page ${i + 1}`);
  }
  scenarios.splice(2, 0, { name: "filtered, page 50 (continuationToken)", path: href.slice(url.length) });
}

/** CPU time (ms) of the server and its API processes, from /proc: a per-request cost that holds on a busy machine. */
function serverCpuMs() {
  const stat = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    } catch {
      return undefined;
    }
  };
  let total = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const f = stat(pid);
    // fields after "pid (comm) ": state ppid ... utime(12th) stime(13th), in clock ticks of 10 ms
    if (f && (Number(pid) === server.pid || Number(f[1]) === server.pid)) total += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  }
  return total;
}

const results = [];
for (const s of scenarios.filter((s) => !args.only || s.name.includes(args.only))) {
  // Check the answer before measuring it.
  const check = await fetch(url + s.path, { headers: { authorization: `Bearer ${token}` } });
  const body = await check.json();
  if (check.status !== 200) throw new Error(`${s.name}: ${check.status} ${JSON.stringify(body)}`);
  // Warm-up (not measured): the server's JIT and caches settle, as in a server that has been running.
  if (tool === "wrk" && Number(args.warmup) > 0) runWrk(url + s.path, args.warmup);
  else if (Number(args.warmup) > 0) await autocannon({ url: url + s.path, connections: Number(args.connections), duration: Number(args.warmup), headers: { authorization: `Bearer ${token}` } });
  const calib = calibrate();
  let m;
  const cpu0 = serverCpuMs();
  if (tool === "wrk") {
    m = runWrk(url + s.path);
  } else {
    const r = await autocannon({
      url: url + s.path,
      connections: Number(args.connections),
      duration: Number(args.duration),
      headers: { authorization: `Bearer ${token}`, accept: "application/vnd.bentley.itwin-platform.v2+json" },
    });
    m = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
  }
  const cpuPerReq = (serverCpuMs() - cpu0) / (m.rps * Number(args.duration));
  results.push({
    scenario: s.name,
    jobsPerPage: body.jobs.length,
    "req/s": Math.round(m.rps),
    "p50 ms": m.p50,
    "p99 ms": m.p99,
    "server CPU ms/req": Number(cpuPerReq.toFixed(3)),
    errors: m.errors,
    "calibration ms": Math.round(calib.ms),
  });
}
server.kill("SIGTERM");
console.table(results);
console.log(JSON.stringify({ tool, store: args.pg ? "PostgreSQL" : "SQLite", jobs: JOBS, connections: Number(args.connections), duration: Number(args.duration), results }, null, 2));
if (args.pg && args.keep) console.error(`kept schema ${schema}`);
else if (args.pg) {
  const pg = (await import("pg")).default;
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`drop schema ${schema} cascade`);
  await c.end();
}
if (args.keep) console.error(`kept ${home}`);
else rmSync(home, { recursive: true, force: true });
