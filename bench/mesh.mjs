#!/usr/bin/env node
// MeshSampling throughput and peak memory, side by side in one run with CloudCompare (`-SAMPLE_MESH DENSITY`)
// and PCL (`pcl_mesh_sampling`): a generated 2 M-triangle mesh (binary PLY, vertex colours) sampled to about
// 20 M points. Every tool runs as a whole process under /usr/bin/time -v (loading, sampling and saving
// included); points/s = points written / wall time; cores = (user + system) / wall.
//   node bench/mesh.mjs [--grid 1000] [--points 20000000] [--runs 2] [--tools realconv,cloudcompare,pcl] [--format LAS] [--markdown]
// The mesh is generated on first use into bench/data/ (gitignored); outputs go to bench/out/ and are deleted.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { calibrate } from "./calibrate.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = join(HERE, "data");
const OUT = join(HERE, "out");
const CLI = resolve(HERE, "../packages/service/bin/realconv.js");

const { values: args } = parseArgs({
  options: {
    grid: { type: "string", default: "1000" },
    points: { type: "string", default: "20000000" },
    runs: { type: "string", default: "2" },
    tools: { type: "string", default: "realconv,cloudcompare,pcl" },
    format: { type: "string", default: "LAS" },
    markdown: { type: "boolean", default: false },
  },
});

/** Terrain height at (x, y): rolling hills with a finer ripple, so triangles have every orientation up to ~45°. */
function height(x, y) {
  return 20 * Math.sin(x / 50) * Math.cos(y / 70) + 4 * Math.sin(x / 9 + y / 11);
}

/** A grid x grid-cell heightfield of 1 m cells: (grid+1)^2 vertices with colours, 2 grid^2 triangles. Returns its area. */
function generate(path, grid) {
  const n = grid + 1;
  const header = `ply\nformat binary_little_endian 1.0\ncomment realconv bench/mesh.mjs heightfield ${grid}\nelement vertex ${n * n}\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nelement face ${2 * grid * grid}\nproperty list uchar int vertex_indices\nend_header\n`;
  const fd = openSync(path, "w");
  writeSync(fd, header);
  const z = new Float32Array(n * n);
  for (let j = 0; j < n; j++) {
    const buf = Buffer.alloc(n * 15);
    for (let i = 0; i < n; i++) {
      const h = Math.fround(height(i, j));
      z[j * n + i] = h;
      const o = i * 15;
      buf.writeFloatLE(i, o);
      buf.writeFloatLE(j, o + 4);
      buf.writeFloatLE(h, o + 8);
      buf[o + 12] = 128 + Math.round(100 * Math.sin(i / 40));
      buf[o + 13] = 128 + Math.round(100 * Math.cos(j / 30));
      buf[o + 14] = Math.min(255, Math.max(0, Math.round(128 + 4 * h)));
    }
    writeSync(fd, buf);
  }
  let area = 0;
  const tri = (a, b, c) => {
    const ax = a % n, ay = Math.floor(a / n), bx = b % n, by = Math.floor(b / n), cx = c % n, cy = Math.floor(c / n);
    const e1 = [bx - ax, by - ay, z[b] - z[a]], e2 = [cx - ax, cy - ay, z[c] - z[a]];
    area += Math.hypot(e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]) / 2;
  };
  for (let j = 0; j < grid; j++) {
    const buf = Buffer.alloc(grid * 26);
    for (let i = 0; i < grid; i++) {
      const a = j * n + i, b = a + 1, c = a + n + 1, d = a + n;
      const o = i * 26;
      buf[o] = 3;
      buf.writeInt32LE(a, o + 1);
      buf.writeInt32LE(b, o + 5);
      buf.writeInt32LE(c, o + 9);
      buf[o + 13] = 3;
      buf.writeInt32LE(a, o + 14);
      buf.writeInt32LE(c, o + 18);
      buf.writeInt32LE(d, o + 22);
      tri(a, b, c);
      tri(a, c, d);
    }
    writeSync(fd, buf);
  }
  closeSync(fd);
  return area;
}

function areaOf(path, grid) {
  // The area is recomputed from the same function (cheap) rather than stored.
  const n = grid + 1;
  let area = 0;
  const zf = (i, j) => Math.fround(height(i, j));
  for (let j = 0; j < grid; j++) for (let i = 0; i < grid; i++) {
    const za = zf(i, j), zb = zf(i + 1, j), zc = zf(i + 1, j + 1), zd = zf(i, j + 1);
    const t = (e1, e2) => Math.hypot(e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]) / 2;
    area += t([1, 0, zb - za], [1, 1, zc - za]) + t([1, 1, zc - za], [0, 1, zd - za]);
  }
  void n;
  void path;
  return area;
}

function readHead(path, bytes = 4096) {
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(bytes);
  const n = readSync(fd, buf, 0, bytes, 0);
  closeSync(fd);
  return buf.subarray(0, n);
}

/** Points in an output: LAS/LAZ header, PLY element vertex, PCD POINTS. */
function pointsIn(path) {
  const head = readHead(path);
  if (head.subarray(0, 4).toString() === "LASF") {
    const legacy = head.readUInt32LE(107);
    return legacy > 0 ? legacy : Number(head.readBigUInt64LE(247));
  }
  const text = head.toString("latin1");
  const ply = /element vertex (\d+)/.exec(text);
  if (ply) return Number(ply[1]);
  const pcd = /\nPOINTS (\d+)/.exec(text);
  if (pcd) return Number(pcd[1]);
  throw new Error(`cannot count the points of ${path}`);
}

function timed(cmd, argv) {
  const r = spawnSync("/usr/bin/time", ["-v", cmd, ...argv], { encoding: "utf8", maxBuffer: 1 << 26 });
  const err = r.stderr ?? "";
  const num = (re) => Number(re.exec(err)?.[1] ?? NaN);
  const wallText = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(err)?.[1] ?? "";
  const wall = wallText.split(":").reduce((s, v) => s * 60 + Number(v), 0);
  return {
    status: r.status,
    wall,
    user: num(/User time \(seconds\): ([\d.]+)/),
    sys: num(/System time \(seconds\): ([\d.]+)/),
    rssMb: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
    log: (r.stdout ?? "").slice(-2000) + err.slice(-3000),
  };
}

const grid = Number(args.grid);
mkdirSync(DATA, { recursive: true });
mkdirSync(OUT, { recursive: true });
const mesh = join(DATA, `heightfield-${grid}.ply`);
let area;
if (!existsSync(mesh)) {
  console.error(`generating ${mesh} ...`);
  area = generate(mesh, grid);
} else {
  area = areaOf(mesh, grid);
}
const targetPoints = Number(args.points);
const d = Number(Math.sqrt(area / targetPoints).toPrecision(4));
const density = 1 / (d * d);
const ext = args.format.toLowerCase();

const TOOLS = {
  realconv: {
    label: `realconv convert MeshSampling (${args.format}, colours + normals)`,
    command: (out) => [process.execPath, [CLI, "convert", "MeshSampling", mesh, "-o", out, "--format", args.format, "--sampling", String(d)]],
    output: (out) => join(out, `merged.${ext}`),
  },
  cloudcompare: {
    label: "CloudCompare 2.11 -SAMPLE_MESH DENSITY (binary PLY; colours; no normals: the mesh has none and the command line does not compute them)",
    command: (out) => ["xvfb-run", ["-a", "CloudCompare", "-SILENT", "-AUTO_SAVE", "OFF", "-O", mesh, "-SAMPLE_MESH", "DENSITY", String(density), "-C_EXPORT_FMT", "PLY", "-PLY_EXPORT_FMT", "BINARY_LE", "-SAVE_CLOUDS", "FILE", join(out, "cc.ply")]],
    output: (out) => join(out, "cc.ply"),
  },
  pcl: {
    label: "PCL pcl_mesh_sampling (binary PCD, colours + normals; voxel filter 1 mm, which cannot index this extent and keeps every point)",
    command: (out) => ["pcl_mesh_sampling", [mesh, join(out, "pcl.pcd"), "-n_samples", String(targetPoints), "-leaf_size", "0.001", "-write_normals", "-write_colors", "-no_vis_result"]],
    output: (out) => join(out, "pcl.pcd"),
  },
};

const tools = args.tools.split(",");
const results = [];
console.error(`mesh ${mesh}: ${2 * grid * grid} triangles, area ${area.toFixed(0)} m², spacing ${d} m (density ${density.toFixed(3)} /m²), ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
for (let run = 0; run < Number(args.runs); run++) {
  for (const name of tools) {
    const tool = TOOLS[name];
    const out = join(OUT, `mesh-${name}`);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const cal = calibrate().ms;
    const [cmd, argv] = tool.command(out);
    const t = timed(cmd, argv);
    const file = tool.output(out);
    if (t.status !== 0 || !existsSync(file)) {
      console.error(`${name} failed (${t.status}):\n${t.log}`);
      results.push({ tool: name, run, failed: true });
      continue;
    }
    const points = pointsIn(file);
    const r = { tool: name, run, points, wall: t.wall, user: t.user, sys: t.sys, rssMb: Math.round(t.rssMb), cores: Number(((t.user + t.sys) / t.wall).toFixed(2)), pointsPerSecond: Math.round(points / t.wall), bytes: statSync(file).size, calibrationMs: Math.round(cal) };
    results.push(r);
    console.error(JSON.stringify(r));
    rmSync(out, { recursive: true, force: true });
  }
}

const best = {};
for (const r of results) if (!r.failed && (!best[r.tool] || r.pointsPerSecond > best[r.tool].pointsPerSecond)) best[r.tool] = r;
const peers = Object.values(best).filter((r) => r.tool !== "realconv");
const fastest = peers.sort((a, b) => b.pointsPerSecond - a.pointsPerSecond)[0];
const ours = best.realconv;
const rows = Object.values(best).map((r) => {
  const perCore = r.pointsPerSecond / Math.max(r.cores, 1e-9);
  const ratio = fastest && ours ? (r === ours ? (ours.pointsPerSecond / fastest.pointsPerSecond).toFixed(2) : "") : "";
  const ratioCore = fastest && ours && r === ours ? (perCore / (fastest.pointsPerSecond / Math.max(fastest.cores, 1e-9))).toFixed(2) : "";
  return { ...r, perCore: Math.round(perCore), ratio, ratioCore };
});
if (args.markdown) {
  console.log(`| tool | points | wall s | pts/s | cores used | pts/s per core | peak RSS | output | ratio to fastest peer | ratio per core |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const r of rows) {
    console.log(`| ${TOOLS[r.tool].label} | ${r.points.toLocaleString("en")} | ${r.wall.toFixed(2)} | ${(r.pointsPerSecond / 1e6).toFixed(2)} M/s | ${r.cores} | ${(r.perCore / 1e6).toFixed(2)} M/s | ${r.rssMb} MB | ${(r.bytes / 1e6).toFixed(0)} MB | ${r.ratio} | ${r.ratioCore} |`);
  }
}
console.log(JSON.stringify({ mesh: { triangles: 2 * grid * grid, area, spacing: d }, results }, null, 1));
