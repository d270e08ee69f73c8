#!/usr/bin/env node
// Map tiling benchmarks, whole processes side by side with the reference tool in one run.
// Raster part: a generated GeoTIFF (RGB, tiled, deflate, UTM 33N, 0.4 m pixels) -> XYZ levels 13..18 with
// `realconv convert TileMapOptimization` and with `gdal2tiles.py --xyz --processes=2`; tiles/s (tiles
// written over the process's wall time) and peak RSS (/usr/bin/time -v) of each process.
//   node bench/maps-raster.mjs [--sizes 8000,16000] [--runs 1] [--format PNG|JPG] [--no-peer] [--markdown]
// (--no-peer: realconv alone, for memory against input size.)
// Inputs are generated on first use into bench/data/ (gitignored); outputs go to bench/out/ and are deleted.
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadavg } from "node:os";

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = join(HERE, "data");
const OUT = join(HERE, "out");
const CLI = resolve(HERE, "../packages/service/bin/realconv.js");
const LEVELS = [13, 18];

/** Runs a command under /usr/bin/time -v: wall seconds and peak RSS in MB. */
function timed(cmd, args, env = {}) {
  const r = spawnSync("/usr/bin/time", ["-v", cmd, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr.slice(-2000)}`);
  const wall = /Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { seconds, rssMb: Number(rss[1]) / 1024 };
}

function countTiles(dir) {
  let n = 0;
  for (const z of readdirSync(dir).filter((d) => /^\d+$/.test(d))) for (const x of readdirSync(join(dir, z))) n += readdirSync(join(dir, z, x)).length;
  return n;
}

/** A size x size RGB GeoTIFF: raw rows streamed from a pattern with noise, then gdal_translate (tiled, deflate). */
export async function rasterInput(size) {
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

/** realconv and gdal2tiles on one input, same levels; PNG for both (gdal2tiles 3.6 writes no JPEG). */
export function rasterRun(input, format, peer = true) {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const ours = join(OUT, "realconv");
  const theirs = join(OUT, "gdal2tiles");
  const a = timed(process.execPath, [CLI, "convert", "TileMapOptimization", input, "-o", ours, "--format", "XYZTileMap", "--image-format", format, "--top-level", String(LEVELS[0]), "--bottom-level", String(LEVELS[1])]);
  const aTiles = countTiles(ours);
  rmSync(ours, { recursive: true, force: true });
  if (!peer) return { realconv: { ...a, tiles: aTiles, tilesPerSecond: aTiles / a.seconds } };
  const b = timed("gdal2tiles.py", ["--xyz", "--exclude", "-w", "none", "-q", "--processes=2", "-z", `${LEVELS[0]}-${LEVELS[1]}`, input, theirs]);
  const bTiles = countTiles(theirs);
  rmSync(theirs, { recursive: true, force: true });
  return {
    realconv: { ...a, tiles: aTiles, tilesPerSecond: aTiles / a.seconds },
    gdal2tiles: { ...b, tiles: bTiles, tilesPerSecond: bTiles / b.seconds },
  };
}

export async function rasterBench({ sizes, runs, format, peer }) {
  const rows = [];
  for (const size of sizes) {
    const input = await rasterInput(size);
    for (let i = 0; i < runs; i++) rows.push({ size, load: loadavg()[0].toFixed(1), ...rasterRun(input, format, peer) });
  }
  return rows;
}

function rasterTable(rows, format) {
  const lines = [
    `| input | realconv ${format} tiles/s | gdal2tiles PNG tiles/s (2 processes) | ratio | realconv peak RSS | gdal2tiles peak RSS | tiles (realconv / gdal2tiles) | load |`,
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    if (!r.gdal2tiles) {
      lines.push(`| ${r.size}x${r.size} | ${r.realconv.tilesPerSecond.toFixed(0)} (${r.realconv.seconds.toFixed(1)} s) | - | - | ${r.realconv.rssMb.toFixed(0)} MB | - | ${r.realconv.tiles} | ${r.load} |`);
      continue;
    }
    lines.push(
      `| ${r.size}x${r.size} | ${r.realconv.tilesPerSecond.toFixed(0)} (${r.realconv.seconds.toFixed(1)} s) | ${r.gdal2tiles.tilesPerSecond.toFixed(0)} (${r.gdal2tiles.seconds.toFixed(1)} s) | ${(r.realconv.tilesPerSecond / r.gdal2tiles.tilesPerSecond).toFixed(2)}x | ${r.realconv.rssMb.toFixed(0)} MB | ${r.gdal2tiles.rssMb.toFixed(0)} MB | ${r.realconv.tiles} / ${r.gdal2tiles.tiles} | ${r.load} |`,
    );
  }
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { sizes: { type: "string", default: "8000,16000" }, runs: { type: "string", default: "1" }, format: { type: "string", default: "PNG" }, markdown: { type: "boolean" }, "no-peer": { type: "boolean" } } });
  const format = values.format.toUpperCase();
  const rows = await rasterBench({ sizes: values.sizes.split(",").map(Number), runs: Number(values.runs), format, peer: !values["no-peer"] });
  console.log(values.markdown ? rasterTable(rows, format) : JSON.stringify(rows, null, 2));
}
