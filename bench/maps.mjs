#!/usr/bin/env node
// Map data benchmarks, as whole processes side by side with GDAL in one run (features/s, peak RSS).
//   node bench/maps.mjs [--only vector|raster] [--features 1000000] [--sizes 0.25,1] [--markdown]
// Vector: N generated features in three files (GeoJSON lines in EPSG:4326, a shapefile of points in
// EPSG:3857, a GeoPackage of polygons in EPSG:4326) merged into one layer in EPSG:4326:
//   realconv convert VectorOptimization <folder> --format GeoJSON   vs  ogrmerge.py -single -f GeoJSON -t_srs EPSG:4326
//   realconv convert VectorOptimization <folder> --format FeatureDB vs  ogrmerge.py -single -f FlatGeobuf -t_srs EPSG:4326
// Each size is a fraction of --features, to show how memory grows with the input. Inputs are generated
// on first use into bench/data/ (gitignored: the GeoJSON is written here, the others by ogr2ogr), outputs
// go to bench/out/ and are deleted.
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, rmSync } from "node:fs";
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
    features: { type: "string", default: "1000000" },
    sizes: { type: "string", default: "0.25,1" },
    markdown: { type: "boolean", default: false },
  },
});

/** Runs a command under /usr/bin/time; returns wall seconds and peak RSS in MB. */
function timed(command, argv, env = {}) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", command, ...argv], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const last = r.stderr.trim().split("\n").pop() ?? "";
  const [seconds, kb] = last.split(" ").map(Number);
  if (r.status !== 0) throw new Error(`${command} ${argv.join(" ")} failed:\n${r.stderr.slice(-2000)}`);
  return { seconds, rssMb: kb / 1024 };
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
      ["GeoJSON", "realconv", process.execPath, [CLI, "convert", "VectorOptimization", inputs, "-o", join(OUT, "rc-geojson"), "--format", "GeoJSON"]],
      ["GeoJSON", "ogrmerge.py -single", "ogrmerge.py", ["-single", "-field_strategy", "Union", "-overwrite_ds", "-f", "GeoJSON", "-t_srs", "EPSG:4326", "-o", join(OUT, "ogr.geojson"), ...files]],
      ["FeatureDB / FlatGeobuf", "realconv", process.execPath, [CLI, "convert", "VectorOptimization", inputs, "-o", join(OUT, "rc-fdb"), "--format", "FeatureDB"]],
      // FlatGeobuf takes mixed geometry types only with -nlt GEOMETRY, which ogrmerge.py lacks: its VRT of
      // the merged layer, then ogr2ogr (both processes timed).
      [
        "FeatureDB / FlatGeobuf",
        "ogrmerge.py -single -f VRT + ogr2ogr -f FlatGeobuf",
        ["ogrmerge.py", ["-single", "-field_strategy", "Union", "-overwrite_ds", "-f", "VRT", "-t_srs", "EPSG:4326", "-o", join(OUT, "merged.vrt"), ...files]],
        ["ogr2ogr", ["-f", "FlatGeobuf", "-nlt", "GEOMETRY", join(OUT, "ogr.fgb"), join(OUT, "merged.vrt")]],
      ],
    ];
    for (const [output, who, ...steps] of runs) {
      rmSync(join(OUT, "rc-geojson"), { recursive: true, force: true });
      rmSync(join(OUT, "rc-fdb"), { recursive: true, force: true });
      rmSync(join(OUT, "ogr.fgb"), { force: true });
      const commands = typeof steps[0] === "string" ? [steps] : steps;
      let seconds = 0;
      let rssMb = 0;
      for (const [command, argv] of commands) {
        const t = timed(command, argv);
        seconds += t.seconds;
        rssMb = Math.max(rssMb, t.rssMb);
      }
      rows.push({ features: count, output, who, seconds, featuresPerSecond: Math.round(count / seconds), rssMb: Math.round(rssMb) });
      console.error(JSON.stringify(rows.at(-1)));
    }
  }
  rmSync(OUT, { recursive: true, force: true });
  return rows;
}

function table(rows) {
  const lines = ["| features | output | tool | s | features/s | ratio to GDAL | peak RSS MB |", "|---:|---|---|---:|---:|---:|---:|"];
  for (const r of rows) {
    const peer = rows.find((p) => p.features === r.features && p.output === r.output && p.who !== "realconv");
    const ratio = r.who === "realconv" && peer ? (r.featuresPerSecond / peer.featuresPerSecond).toFixed(2) : "";
    lines.push(`| ${r.features.toLocaleString("en")} | ${r.output} | ${r.who} | ${r.seconds.toFixed(1)} | ${r.featuresPerSecond.toLocaleString("en")} | ${ratio} | ${r.rssMb} |`);
  }
  return lines.join("\n");
}

const parts = { vector: vectorBench };
if (args.only && !(args.only in parts)) {
  console.error(`--only ${args.only}: this bench has ${Object.keys(parts).join(", ")}`);
  process.exit(2);
}
console.error(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
for (const [name, bench] of Object.entries(parts)) {
  if (args.only && args.only !== name) continue;
  const rows = await bench();
  console.log(args.markdown ? table(rows) : JSON.stringify(rows, null, 2));
}
