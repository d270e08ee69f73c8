#!/usr/bin/env node
// Point-cloud tiling, whole processes side by side: `realconv convert PointCloudConversion` to each
// level-of-detail output (3DTilesPnts, 3DTilesGlbc, OPC, COPC) and PotreeConverter 2 on the same
// generated LAS and LAZ files, in one run. Each command runs under `/usr/bin/time -v` (start-up included):
// wall time, points/s, CPU time, peak RSS, output bytes per point, the ratio realconv/PotreeConverter
// and the ratio per core (points per CPU-second).
//   node bench/tiling.mjs [--sizes 5,20,60] [--inputs las,laz] [--outputs 3DTilesPnts,3DTilesGlbc,OPC,COPC|none]
//                         [--runs 1] [--markdown] [--no-peer] [--peer PATH] [--wait-idle SECONDS] [--keep]
// PotreeConverter: --peer, else $POTREE_CONVERTER, else /work/peers/PotreeConverter/build/PotreeConverter.
// Inputs are generated on first use into bench/data/ (gitignored; shared with bench/pointcloud-io.mjs),
// outputs go to bench/out/tiling/ and are deleted after each run (--keep leaves the last ones).
// An output the CLI refuses (not supported yet) is skipped with a line saying so.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const DATA = join(HERE, "data");
const OUT = join(HERE, "out", "tiling");
const TIME = "/usr/bin/time";
const REALCONV = join(ROOT, "packages", "service", "bin", "realconv.js");
const DEFAULT_PEER = "/work/peers/PotreeConverter/build/PotreeConverter";
const OUTPUTS = ["3DTilesPnts", "3DTilesGlbc", "OPC", "COPC"];
const HZ = 100; // USER_HZ: /proc/stat counts in 1/100 s on Linux

// ---------------------------------------------------------------------------------------------
// Measuring one process.

/** Busy and total CPU jiffies of the whole machine, to see what else ran during a measurement. */
function cpuJiffies() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { busy: f.reduce((a, b) => a + b, 0) - idle };
  } catch {
    return undefined;
  }
}

/** Waits (at most `maxSeconds`) for a 2-second window where other processes use less than `cores` CPUs. */
async function waitIdle(maxSeconds, cores = 0.15) {
  const start = Date.now();
  for (;;) {
    const a = cpuJiffies();
    if (!a) return undefined;
    await new Promise((r) => setTimeout(r, 2000));
    const used = (cpuJiffies().busy - a.busy) / HZ / 2;
    if (used < cores || (Date.now() - start) / 1000 > maxSeconds) return +used.toFixed(2);
  }
}

/** Total bytes and file count under `dir`. */
function treeSize(dir) {
  let bytes = 0;
  let files = 0;
  if (!existsSync(dir)) return { bytes, files };
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    bytes += statSync(join(e.parentPath ?? e.path, e.name)).size;
    files++;
  }
  return { bytes, files };
}

/**
 * Runs `command args` under `/usr/bin/time -v` into a fresh `outDir`: wall clock (measured here, around
 * the whole process), user + system CPU and peak RSS (from time), output size, the machine's 1-minute
 * load average before, and the CPUs used by other processes meanwhile.
 */
function measure(command, args, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(dirname(outDir), { recursive: true });
  const load = loadavg()[0];
  const j0 = cpuJiffies();
  const t0 = performance.now();
  const r = spawnSync(TIME, ["-v", command, ...args], { encoding: "utf8", maxBuffer: 256 << 20, cwd: ROOT });
  const wall = (performance.now() - t0) / 1000;
  const j1 = cpuJiffies();
  if (r.error) throw r.error;
  const field = (re) => {
    const m = re.exec(r.stderr);
    return m ? Number(m[1]) : NaN;
  };
  const user = field(/User time \(seconds\): ([\d.]+)/);
  const sys = field(/System time \(seconds\): ([\d.]+)/);
  const rssKiB = field(/Maximum resident set size \(kbytes\): (\d+)/);
  const cpu = user + sys;
  const otherCpus = j0 && j1 ? +Math.max(0, ((j1.busy - j0.busy) / HZ - cpu) / wall).toFixed(2) : undefined;
  // time -v appends its report to the command's stderr; keep the command's own text apart.
  const cut = r.stderr.lastIndexOf("\tCommand being timed:");
  const stderr = (cut >= 0 ? r.stderr.slice(0, cut) : r.stderr).replace(/^Command (exited with non-zero status|terminated by signal) .*$/m, "");
  const exit = field(/Exit status: (\d+)/);
  return { status: Number.isNaN(exit) ? r.status : exit, stdout: r.stdout, stderr, wall, user, sys, cpu, peakRssMiB: rssKiB / 1024, load, otherCpus, ...treeSize(outDir) };
}

// ---------------------------------------------------------------------------------------------
// The two tools.

/** What the CLI prints when it refuses a format (validation or no runner yet), as opposed to a failed conversion. */
const REFUSED = /is not supported yet|UnsupportedFormat|Invalid value '[^']*' for property '[^']*outputFormat'/;

function runRealconv(input, format, outDir) {
  const args = [REALCONV, "convert", "PointCloudConversion", input, "--format", format, "-o", outDir];
  const m = measure(process.execPath, args, outDir);
  const text = `${m.stderr}\n${m.stdout}`.trim();
  if (m.status !== 0) {
    const last = text.split("\n").filter((l) => l.trim()).pop() ?? `exit status ${m.status}`;
    return { ...m, refused: REFUSED.test(text) ? last : undefined, failed: REFUSED.test(text) ? undefined : last };
  }
  if (m.files === 0) return { ...m, failed: "succeeded without writing any file" };
  return m;
}

/**
 * PotreeConverter's own report. Its "duration" includes stopping its progress thread, which sleeps in
 * 1-s steps, so it rounds up to whole seconds like the process; chunking + indexing is the work itself.
 */
function potreeLog(stdout) {
  const num = (re) => {
    const m = re.exec(stdout);
    return m ? Number(m[1].replaceAll("'", "")) : undefined;
  };
  return {
    points: num(/^#points:\s+([\d']+)\s*$/m),
    loggedSeconds: num(/^duration:\s+([\d'.]+)s/m),
    phases: {
      chunkingCount: num(/^duration\(chunking-count\):\s+([\d'.]+)/m),
      chunkingDistribute: num(/^duration\(chunking-distribute\):\s+([\d'.]+)/m),
      chunkingTotal: num(/^duration\(chunking-total\):\s+([\d'.]+)/m),
      indexing: num(/^duration\(indexing\):\s+([\d'.]+)/m),
    },
  };
}

const phaseSeconds = (r) => (r.phases && r.phases.chunkingTotal !== undefined && r.phases.indexing !== undefined ? r.phases.chunkingTotal + r.phases.indexing : undefined);

function runPeer(peer, input, outDir, points) {
  const m = measure(peer, [input, "-o", outDir], outDir);
  const log = potreeLog(m.stdout);
  if (m.status !== 0) return { ...m, ...log, failed: `exit status ${m.status}: ${(m.stderr || m.stdout).trim().split("\n").slice(-3).join(" / ")}` };
  if (log.points !== points) return { ...m, ...log, failed: `reported ${log.points} points, the input has ${points}` };
  return { ...m, ...log };
}

// ---------------------------------------------------------------------------------------------
// Inputs.

async function ensureInputs(millions, kinds) {
  const { generateLas, generateLaz, generateLazDirect } = await import("./generate-pointcloud.mjs");
  const points = Math.round(millions * 1e6);
  const las = join(DATA, `synthetic-${millions}m.las`);
  const laz = join(DATA, `synthetic-${millions}m.laz`);
  if (kinds.includes("las") && !existsSync(las)) {
    console.error(`generating ${las} ...`);
    await generateLas(points, las);
  }
  if (kinds.includes("laz") && !existsSync(laz)) {
    console.error(`generating ${laz} ...`);
    // The same bytes either way; without the LAS file (e.g. a billion points) in one pass on the threads.
    if (existsSync(las)) await generateLaz(las, laz);
    else await generateLazDirect(points, laz, { threads: availableParallelism() });
  }
  return { points, las, laz };
}

// ---------------------------------------------------------------------------------------------
// Report.

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmtRate = (pps) => `${(pps / 1e6).toFixed(2)} M/s`;
const fmt = (x, d = 1) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(d));

/** One row per (size, input, tool): the run with the shortest wall time, the median wall time beside it. */
function summarise(results) {
  const groups = new Map();
  for (const r of results) {
    if (r.refused || r.failed) continue;
    const key = `${r.millions}|${r.input}|${r.tool}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const rows = [];
  for (const runs of groups.values()) {
    const best = runs.reduce((a, b) => (b.wall < a.wall ? b : a));
    rows.push({ ...best, runs: runs.length, medianWall: median(runs.map((r) => r.wall)) });
  }
  const peerOf = (r) => rows.find((p) => p.tool === "PotreeConverter" && p.millions === r.millions && p.input === r.input);
  for (const r of rows) {
    const p = peerOf(r);
    if (!p || r === p) continue;
    // Throughput ratios (> 1: realconv faster); per core: points per CPU-second.
    r.ratio = p.wall / r.wall;
    r.ratioPhases = phaseSeconds(p) ? phaseSeconds(p) / r.wall : undefined;
    r.ratioPerCore = p.cpu / r.cpu;
  }
  return rows;
}

function renderTable(rows, markdown) {
  const head = ["points", "input", "tool / output", "wall s best (median)", "points/s", "CPU s", "cores used", "peak RSS MiB", "bytes/point", "files", "ratio", "ratio per core", "load before", "others' CPUs"];
  const lines = [];
  for (const r of rows) {
    const ph = phaseSeconds(r);
    const logged = ph !== undefined ? `; chunking + indexing ${fmt(ph, 2)} s = ${fmtRate(r.points / ph)}` : "";
    const ratio = r.ratio === undefined ? "-" : `${fmt(r.ratio, 2)}${r.ratioPhases !== undefined ? ` (vs its phases ${fmt(r.ratioPhases, 2)})` : ""}`;
    lines.push([
      `${r.millions} M`,
      r.input.toUpperCase(),
      r.tool,
      `${fmt(r.wall, 2)} (${fmt(r.medianWall, 2)})${r.runs > 1 ? ` x${r.runs}` : ""}`,
      `${fmtRate(r.points / r.wall)}${logged}`,
      fmt(r.cpu, 2),
      fmt(r.cpu / r.wall, 2),
      fmt(r.peakRssMiB, 0),
      fmt(r.bytes / r.points, 1),
      String(r.files),
      ratio,
      r.ratioPerCore === undefined ? "-" : fmt(r.ratioPerCore, 2),
      fmt(r.load, 2),
      fmt(r.otherCpus, 2),
    ]);
  }
  if (markdown) return [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i < 3 ? "---" : "---:")).join("|")}|`, ...lines.map((l) => `| ${l.join(" | ")} |`)].join("\n");
  return [head.join("\t"), ...lines.map((l) => l.join("\t"))].join("\n");
}

function renderPhases(rows, markdown) {
  const peers = rows.filter((r) => r.tool === "PotreeConverter");
  if (peers.length === 0) return "";
  const head = ["points", "input", "chunking: count s", "chunking: distribute s", "chunking total s", "indexing s", "chunking + indexing s", "its logged duration s", "process wall s"];
  const lines = peers.map((r) => [`${r.millions} M`, r.input.toUpperCase(), fmt(r.phases.chunkingCount, 2), fmt(r.phases.chunkingDistribute, 2), fmt(r.phases.chunkingTotal, 2), fmt(r.phases.indexing, 2), fmt(phaseSeconds(r), 2), fmt(r.loggedSeconds, 2), fmt(r.wall, 2)]);
  if (markdown) return ["", "", "PotreeConverter's own phase times (its log):", "", `| ${head.join(" | ")} |`, `|${head.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`, ...lines.map((l) => `| ${l.join(" | ")} |`)].join("\n");
  return ["", "", "PotreeConverter phases (its log):", head.join("\t"), ...lines.map((l) => l.join("\t"))].join("\n");
}

// ---------------------------------------------------------------------------------------------

function peerCommit(peer) {
  // The build directory's parent holds the extracted snapshot; its commit is noted beside it when known.
  for (const f of [join(dirname(peer), "..", "COMMIT"), join(dirname(peer), "COMMIT")]) if (existsSync(f)) return readFileSync(f, "utf8").trim();
  return "unknown";
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      sizes: { type: "string", default: "5,20,60" },
      inputs: { type: "string", default: "las,laz" },
      outputs: { type: "string", default: OUTPUTS.join(",") },
      runs: { type: "string", default: "1" },
      markdown: { type: "boolean", default: false },
      "no-peer": { type: "boolean", default: false },
      peer: { type: "string", default: process.env.POTREE_CONVERTER ?? DEFAULT_PEER },
      "wait-idle": { type: "string", default: "0" },
      keep: { type: "boolean", default: false },
    },
  });
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (Debian package "time"): it measures CPU time and peak RSS`);
  const sizes = args.sizes.split(",").map(Number);
  if (sizes.some((s) => !(s > 0))) throw new Error(`--sizes: millions of points, e.g. 5,20,60; got ${args.sizes}`);
  const kinds = args.inputs.split(",");
  for (const k of kinds) if (k !== "las" && k !== "laz") throw new Error(`--inputs: las and/or laz, got ${k}`);
  const outputs = args.outputs === "none" ? [] : args.outputs.split(",");
  const runs = Math.max(1, Number(args.runs));
  const peer = args["no-peer"] ? undefined : resolve(args.peer);
  if (peer && !existsSync(peer)) throw new Error(`PotreeConverter not found at ${peer} (--peer PATH, $POTREE_CONVERTER, or --no-peer)`);
  if (outputs.length > 0 && !existsSync(join(ROOT, "packages", "service", "dist", "cli", "main.js"))) throw new Error("build first: npx tsc -b");

  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    loadavg: loadavg().map((x) => +x.toFixed(2)),
    realconvThreads: process.env.REALCONV_THREADS ?? `default (${availableParallelism()})`,
    peer: peer ? { path: peer, commit: peerCommit(peer) } : undefined,
  };
  console.error(`machine: ${JSON.stringify(machine)}`);

  const results = [];
  const refused = new Map();
  for (const millions of sizes) {
    const files = await ensureInputs(millions, kinds);
    for (const kind of kinds) {
      const input = files[kind];
      for (let run = 1; run <= runs; run++) {
        // realconv's outputs and the peer alternate within a run, so a slow phase of the host hits both.
        const tools = [...outputs.filter((o) => !refused.has(o)), ...(peer ? ["PotreeConverter"] : [])];
        for (const tool of tools) {
          const idle = Number(args["wait-idle"]) > 0 ? await waitIdle(Number(args["wait-idle"])) : undefined;
          const outDir = join(OUT, `${tool}-${millions}m-${kind}`);
          const m = tool === "PotreeConverter" ? runPeer(peer, input, outDir, files.points) : runRealconv(input, tool, outDir);
          const { stdout, stderr, ...kept } = m;
          const r = { millions, points: files.points, input: kind, tool, run, idleBefore: idle, ...kept };
          if (!args.keep) rmSync(outDir, { recursive: true, force: true });
          if (r.refused) {
            refused.set(tool, r.refused);
            console.error(`skipped: realconv PointCloudConversion to ${tool}: refused by the CLI ("${r.refused}")`);
            continue;
          }
          results.push(r);
          if (r.failed) console.error(`FAILED: ${tool} on ${input}: ${r.failed}`);
          else
            console.error(
              `${millions} M ${kind.toUpperCase()} ${tool} run ${run}: ${r.wall.toFixed(2)} s wall, ${fmtRate(r.points / r.wall)}, CPU ${r.cpu.toFixed(2)} s, ` +
                `peak RSS ${r.peakRssMiB.toFixed(0)} MiB, ${(r.bytes / r.points).toFixed(1)} B/point, ${r.files} files` +
                (phaseSeconds(r) !== undefined ? `, chunking + indexing ${phaseSeconds(r).toFixed(2)} s (logged ${r.loggedSeconds} s)` : "") +
                `, load ${r.load.toFixed(2)}, others ${r.otherCpus} CPUs`,
            );
        }
      }
    }
  }
  const rows = summarise(results);
  console.log(renderTable(rows, args.markdown) + renderPhases(rows, args.markdown));
  for (const [o, why] of refused) console.log(`\nnot measured: realconv ${o}: refused by the CLI ("${why}")`);
  const failed = results.filter((r) => r.failed);
  for (const r of failed) console.log(`\nfailed: ${r.tool} on ${r.millions} M ${r.input.toUpperCase()}: ${r.failed}`);
  console.log("\n```json\n" + JSON.stringify({ machine, results }, null, 1) + "\n```");
  if (failed.length > 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
