#!/usr/bin/env node
// Map data benchmarks, whole processes side by side with GDAL in one run (wall time, CPU time, peak RSS).
//   node bench/maps.mjs [--only raster|vector] [--markdown] [--no-peer]
//     raster: [--raster-sizes 8000,16000] [--runs 1] [--image-format PNG|JPG]
//     vector: [--features 1000000] [--sizes 0.25,1] [--outputs GeoJSON,FeatureDB]
// Raster: a generated GeoTIFF (RGB, tiled, deflate, UTM 33N, 0.4 m pixels) of each size -> XYZ levels
// 13..18 with `realconv convert TileMapOptimization` and with `gdal2tiles.py --xyz --processes=2`; tiles/s
// (tiles written over the process's wall time).
// Vector: N generated features in three files (GeoJSON lines in EPSG:4326, a shapefile of points in
// EPSG:3857, a GeoPackage of polygons in EPSG:4326) merged into one layer in EPSG:4326:
//   realconv convert VectorOptimization <folder> --format GeoJSON   vs  ogrmerge.py -single -f GeoJSON -t_srs EPSG:4326
//   realconv convert VectorOptimization <folder> --format FeatureDB vs  ogrmerge.py -single -f VRT + ogr2ogr -f FlatGeobuf -nlt GEOMETRY
// Each size is a fraction of --features, to show how memory grows with the input.
// --no-peer: realconv alone (for memory against input size). Every run records its wall and CPU seconds
// (user + system, so "per CPU-second" rates compare work done whatever share of the cores a run got), its
// peak RSS and the 1-minute load average when it starts. Inputs are generated on first use into
// bench/data/ (gitignored; vector files partly by ogr2ogr, rasters by gdal_translate), outputs go to
// bench/out/ and are deleted.
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = join(HERE, "data");
const OUT = join(HERE, "out");
const CLI = resolve(HERE, "../packages/service/bin/realconv.js");

const { values: args } = parseArgs({
  options: {
    only: { type: "string" },
    markdown: { type: "boolean", default: false },
    "no-peer": { type: "boolean", default: false },
    features: { type: "string", default: "1000000" },
    sizes: { type: "string", default: "0.25,1" },
    outputs: { type: "string", default: "GeoJSON,FeatureDB" },
    "raster-sizes": { type: "string", default: "8000,16000" },
    runs: { type: "string", default: "1" },
    "image-format": { type: "string", default: "PNG" },
  },
});
const peer = !args["no-peer"];

/** Runs a command under /usr/bin/time: wall and CPU (user + system) seconds, peak RSS in MB, load at its start. */
function timed(command, argv, env = {}) {
  const load = loadavg()[0];
  const r = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", command, ...argv], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${command} ${argv.join(" ")} failed:\n${r.stderr.slice(-2000)}`);
  const line = r.stderr.trim().split("\n").reverse().find((l) => l.startsWith("TIME ")) ?? "";
  const [seconds, user, system, kb] = line.slice(5).split(" ").map(Number);
  return { seconds, cpuSeconds: user + system, rssMb: kb / 1024, load };
}

/** Runs commands one after the other as one tool: times and CPU add up, memory is the largest peak. */
function timedAll(commands) {
  const total = { seconds: 0, cpuSeconds: 0, rssMb: 0, load: loadavg()[0] };
  for (const [command, argv] of commands) {
    const t = timed(command, argv);
    total.seconds += t.seconds;
    total.cpuSeconds += t.cpuSeconds;
    total.rssMb = Math.max(total.rssMb, t.rssMb);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// Raster

const LEVELS = [13, 18];

function countTiles(dir) {
  let n = 0;
  for (const z of readdirSync(dir).filter((d) => /^\d+$/.test(d))) for (const x of readdirSync(join(dir, z))) n += readdirSync(join(dir, z, x)).length;
  return n;
}
/** A size x size RGB GeoTIFF: raw rows streamed from a pattern with noise, then gdal_translate (tiled, deflate). */
async function rasterInput(size) {
  mkdirSync(DATA, { recursive: true });
  const tif = join(DATA, `raster-${size}.tif`);
  if (existsSync(tif)) return tif;
  const raw = join(DATA, `raster-${size}.raw`);
  const out = createWriteStream(raw);
  let seed = 1;
  const row = new Uint8Array(size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = (seed >>> 24) & 31;
      const field = 96 + 64 * Math.sin(x / 97) * Math.cos(y / 131);
      row[3 * x] = Math.max(0, Math.min(255, field + noise));
      row[3 * x + 1] = Math.max(0, Math.min(255, ((x >> 5) ^ (y >> 5)) & 1 ? 180 + noise : 60 + noise));
      row[3 * x + 2] = Math.max(0, Math.min(255, 255 - field + noise));
    }
    if (!out.write(Buffer.from(row))) await new Promise((r) => out.once("drain", r));
  }
  await new Promise((r) => out.end(r));
  const vrt = join(DATA, `raster-${size}.vrt`);
  const bands = [1, 2, 3]
    .map((b) => `<VRTRasterBand dataType="Byte" band="${b}" subClass="VRTRawRasterBand"><SourceFilename relativetoVRT="1">raster-${size}.raw</SourceFilename><ImageOffset>${b - 1}</ImageOffset><PixelOffset>3</PixelOffset><LineOffset>${3 * size}</LineOffset></VRTRasterBand>`)
    .join("");
  writeFileSync(vrt, `<VRTDataset rasterXSize="${size}" rasterYSize="${size}">${bands}</VRTDataset>`);
  // 0.4 m pixels from (400000, 5000000) in UTM 33N (Croatia's coast, 45 deg N): native zoom 18.
  const east = 400000 + size * 0.4;
  const south = 5000000 - size * 0.4;
  const r = spawnSync("gdal_translate", ["-q", "-of", "GTiff", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", "-co", "BIGTIFF=IF_SAFER", "-co", "PHOTOMETRIC=RGB", "-a_srs", "EPSG:32633", "-a_ullr", "400000", "5000000", String(east), String(south), vrt, tif], { encoding: "utf8" });
  rmSync(raw, { force: true });
  rmSync(vrt, { force: true });
  if (r.status !== 0) throw new Error(`gdal_translate: ${r.stderr}`);
  return tif;
}

/** realconv and gdal2tiles on one input, same levels; PNG for both by default (gdal2tiles 3.6 writes no JPEG). */
function rasterRun(input, format) {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const ours = join(OUT, "realconv");
  const theirs = join(OUT, "gdal2tiles");
  const a = timed(process.execPath, [CLI, "convert", "TileMapOptimization", input, "-o", ours, "--format", "XYZTileMap", "--image-format", format, "--top-level", String(LEVELS[0]), "--bottom-level", String(LEVELS[1])]);
  const aTiles = countTiles(ours);
  rmSync(ours, { recursive: true, force: true });
  const realconv = { ...a, tiles: aTiles, tilesPerSecond: aTiles / a.seconds, tilesPerCpuSecond: aTiles / a.cpuSeconds };
  if (!peer) return { realconv };
  const b = timed("gdal2tiles.py", ["--xyz", "--exclude", "-w", "none", "-q", "--processes=2", "-z", `${LEVELS[0]}-${LEVELS[1]}`, input, theirs]);
  const bTiles = countTiles(theirs);
  rmSync(theirs, { recursive: true, force: true });
  return { realconv, gdal2tiles: { ...b, tiles: bTiles, tilesPerSecond: bTiles / b.seconds, tilesPerCpuSecond: bTiles / b.cpuSeconds } };
}

async function rasterBench() {
  const format = args["image-format"].toUpperCase();
  const rows = [];
  for (const size of args["raster-sizes"].split(",").map(Number)) {
    const input = await rasterInput(size);
    for (let i = 0; i < Number(args.runs); i++) {
      rows.push({ size, ...rasterRun(input, format) });
      console.error(JSON.stringify(rows.at(-1)));
    }
  }
  rmSync(OUT, { recursive: true, force: true });
  return rows;
}

function rasterTable(rows) {
  const format = args["image-format"].toUpperCase();
  const cpu = (r) => `${r.tilesPerCpuSecond.toFixed(1)} (${r.cpuSeconds.toFixed(1)} CPU-s)`;
  const lines = [
    `| input | realconv ${format} tiles/s | gdal2tiles PNG tiles/s (2 processes) | ratio | realconv tiles per CPU-s | gdal2tiles tiles per CPU-s | ratio per CPU-s | realconv peak RSS | gdal2tiles peak RSS | tiles (realconv / gdal2tiles) | load |`,
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const a = r.realconv;
    const b = r.gdal2tiles;
    if (!b) {
      lines.push(`| ${r.size}x${r.size} | ${a.tilesPerSecond.toFixed(0)} (${a.seconds.toFixed(1)} s) | - | - | ${cpu(a)} | - | - | ${a.rssMb.toFixed(0)} MB | - | ${a.tiles} | ${a.load.toFixed(1)} |`);
      continue;
    }
    lines.push(
      `| ${r.size}x${r.size} | ${a.tilesPerSecond.toFixed(0)} (${a.seconds.toFixed(1)} s) | ${b.tilesPerSecond.toFixed(0)} (${b.seconds.toFixed(1)} s) | ${(a.tilesPerSecond / b.tilesPerSecond).toFixed(2)}x | ${cpu(a)} | ${cpu(b)} | ${(a.tilesPerCpuSecond / b.tilesPerCpuSecond).toFixed(2)}x | ${a.rssMb.toFixed(0)} MB | ${b.rssMb.toFixed(0)} MB | ${a.tiles} / ${b.tiles} | ${a.load.toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------
// Vector

/** A deterministic pseudo-random sequence (mulberry32), so every run merges the same data. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeGeoJson(path, count, kind, seed) {
  const rnd = random(seed);
  const out = createWriteStream(path);
  const write = (s) => (out.write(s) ? undefined : new Promise((ok) => out.once("drain", ok)));
  await write('{"type":"FeatureCollection","features":[\n');
  for (let i = 0; i < count; i++) {
    const x = -10 + 20 * rnd();
    const y = 40 + 10 * rnd();
    const d = 0.001;
    const geometry =
      kind === "line"
        ? { type: "LineString", coordinates: [[x, y], [x + d, y + d * rnd()], [x + 2 * d, y], [x + 3 * d, y + d]] }
        : kind === "polygon"
          ? { type: "Polygon", coordinates: [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]] }
          : { type: "Point", coordinates: [x, y] };
    const props = { id: i, name: `feature ${i}`, value: Math.round(rnd() * 1e6) / 100, kind };
    const p = write(`${i ? ",\n" : ""}${JSON.stringify({ type: "Feature", properties: props, geometry })}`);
    if (p) await p;
  }
  await write("\n]}\n");
  await new Promise((ok) => out.end(ok));
}

function ogr(argv) {
  const r = spawnSync("ogr2ogr", argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ogr2ogr ${argv.join(" ")}: ${r.stderr}`);
}

/** Three files of about a third of `count` features each, in `bench/data/maps-<count>/`. */
async function vectorInputs(count) {
  const dir = join(DATA, `maps-${count}`);
  const inputs = join(dir, "inputs");
  if (existsSync(join(dir, "done"))) return inputs;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(inputs, { recursive: true });
  const third = Math.floor(count / 3);
  await writeGeoJson(join(inputs, "lines.geojson"), count - 2 * third, "line", 1);
  await writeGeoJson(join(dir, "points.geojson"), third, "point", 2);
  ogr(["-f", "ESRI Shapefile", "-t_srs", "EPSG:3857", join(inputs, "points.shp"), join(dir, "points.geojson")]);
  await writeGeoJson(join(dir, "polygons.geojson"), third, "polygon", 3);
  ogr(["-f", "GPKG", "-nln", "polygons", join(inputs, "polygons.gpkg"), join(dir, "polygons.geojson")]);
  rmSync(join(dir, "points.geojson"));
  rmSync(join(dir, "polygons.geojson"));
  createWriteStream(join(dir, "done")).end();
  return inputs;
}

async function vectorBench() {
  const total = Number(args.features);
  const rows = [];
  mkdirSync(OUT, { recursive: true });
  for (const fraction of args.sizes.split(",").map(Number)) {
    const count = Math.round(total * fraction);
    const inputs = await vectorInputs(count);
    const files = ["lines.geojson", "points.shp", "polygons.gpkg"].map((f) => join(inputs, f));
    const runs = [
      ["GeoJSON", "realconv", [process.execPath, [CLI, "convert", "VectorOptimization", inputs, "-o", join(OUT, "rc-geojson"), "--format", "GeoJSON"]]],
      ["GeoJSON", "ogrmerge.py -single", ["ogrmerge.py", ["-single", "-field_strategy", "Union", "-overwrite_ds", "-f", "GeoJSON", "-t_srs", "EPSG:4326", "-o", join(OUT, "ogr.geojson"), ...files]]],
      ["FeatureDB / FlatGeobuf", "realconv", [process.execPath, [CLI, "convert", "VectorOptimization", inputs, "-o", join(OUT, "rc-fdb"), "--format", "FeatureDB"]]],
      // FlatGeobuf takes mixed geometry types only with -nlt GEOMETRY, which ogrmerge.py lacks: its VRT of
      // the merged layer, then ogr2ogr (both processes timed).
      [
        "FeatureDB / FlatGeobuf",
        "ogrmerge.py -single -f VRT + ogr2ogr -f FlatGeobuf",
        ["ogrmerge.py", ["-single", "-field_strategy", "Union", "-overwrite_ds", "-f", "VRT", "-t_srs", "EPSG:4326", "-o", join(OUT, "merged.vrt"), ...files]],
        ["ogr2ogr", ["-f", "FlatGeobuf", "-nlt", "GEOMETRY", join(OUT, "ogr.fgb"), join(OUT, "merged.vrt")]],
      ],
    ];
    const outputs = args.outputs.split(",");
    for (const [output, who, ...commands] of runs) {
      if (!peer && who !== "realconv") continue;
      if (!outputs.some((o) => output.startsWith(o))) continue;
      rmSync(join(OUT, "rc-geojson"), { recursive: true, force: true });
      rmSync(join(OUT, "rc-fdb"), { recursive: true, force: true });
      rmSync(join(OUT, "ogr.fgb"), { force: true });
      const t = timedAll(commands);
      rows.push({ features: count, output, who, ...t, featuresPerSecond: count / t.seconds, featuresPerCpuSecond: count / t.cpuSeconds, rssMb: Math.round(t.rssMb) });
      console.error(JSON.stringify(rows.at(-1)));
    }
  }
  rmSync(OUT, { recursive: true, force: true });
  return rows;
}

function vectorTable(rows) {
  const lines = [
    "| features | output | tool | s | features/s | ratio to GDAL | CPU-s | features per CPU-s | ratio per CPU-s | peak RSS MB | load |",
    "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const n = (v) => Math.round(v).toLocaleString("en");
  for (const r of rows) {
    const p = rows.find((q) => q.features === r.features && q.output === r.output && q.who !== "realconv");
    const ours = r.who === "realconv" && p;
    const ratio = ours ? (r.featuresPerSecond / p.featuresPerSecond).toFixed(2) : "";
    const perCpu = ours ? (r.featuresPerCpuSecond / p.featuresPerCpuSecond).toFixed(2) : "";
    lines.push(
      `| ${r.features.toLocaleString("en")} | ${r.output} | ${r.who} | ${r.seconds.toFixed(1)} | ${n(r.featuresPerSecond)} | ${ratio} | ${r.cpuSeconds.toFixed(1)} | ${n(r.featuresPerCpuSecond)} | ${perCpu} | ${r.rssMb} | ${r.load.toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}

const parts = {
  raster: [rasterBench, rasterTable],
  vector: [vectorBench, vectorTable],
};
if (args.only && !(args.only in parts)) {
  console.error(`--only ${args.only}: this bench has ${Object.keys(parts).join(", ")}`);
  process.exit(2);
}
console.error(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
for (const [name, [bench, table]] of Object.entries(parts)) {
  if (args.only && args.only !== name) continue;
  const rows = await bench();
  console.log(args.markdown ? table(rows) : JSON.stringify(rows, null, 2));
}
