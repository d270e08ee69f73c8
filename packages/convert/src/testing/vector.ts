/**
 * Test-only: GDAL's ogr2ogr as the reference for vector conversions, and comparisons of features within a
 * coordinate tolerance. Without ogr2ogr the tests that need it skip with a message, unless
 * REALCONV_REQUIRE_GDAL=1 (CI), where its absence fails them.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { sharedData } from "@realconv/formats/testing/shared-data";

const execFileAsync = promisify(execFile);
let available: boolean | undefined;

/** Whether ogr2ogr runs here; throws when it is required (REALCONV_REQUIRE_GDAL=1) and missing. */
export function gdalAvailable(): boolean {
  available ??= spawnSync("ogr2ogr", ["--version"]).status === 0;
  if (!available && process.env.REALCONV_REQUIRE_GDAL === "1") throw new Error("ogr2ogr is required (REALCONV_REQUIRE_GDAL=1) but not installed");
  return available;
}

/** `skip` option for node:test: a reason when GDAL is missing. */
export function skipWithoutGdal(): string | false {
  return gdalAvailable() ? false : "ogr2ogr (Debian gdal-bin) is not installed";
}

export interface JsonFeature {
  type: "Feature";
  properties: Record<string, unknown> | null;
  geometry: { type: string; coordinates?: unknown; geometries?: unknown[] } | null;
}

/** Runs `tasks` at most `limit` at a time (GDAL's start-up dominates small files: overlap it). */
export async function inParallel<T>(tasks: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]();
      }
    }),
  );
  return out;
}

async function run(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { maxBuffer: 1 << 28 });
  return stdout;
}

/** Layer names of a file, as ogrinfo lists them. */
export async function ogrLayers(path: string): Promise<string[]> {
  const out = await run("ogrinfo", ["-ro", "-q", path]);
  return [...out.matchAll(/^\d+: (.+?)(?: \(.*\))?$/gm)].map((m) => m[1]);
}

/** Every layer of a file as ogr2ogr -t_srs EPSG:4326 gives it, in order. */
export async function ogrAllLayers(path: string, options: { sourceCrs?: string; targetCrs?: string } = {}): Promise<{ layer: string; features: JsonFeature[] }[]> {
  // Only these formats have several layers to list (listing costs one more GDAL start).
  const layers = /\.(gpkg|kml|fgb)$/i.test(path) ? await ogrLayers(path) : [undefined];
  return inParallel(
    layers.map((layer) => async () => {
      const args = ["-f", "GeoJSON", "-t_srs", options.targetCrs ?? "EPSG:4326"];
      if (options.sourceCrs) args.push("-s_srs", options.sourceCrs);
      args.push("/vsistdout/", path);
      if (layer !== undefined) args.push(layer);
      return { layer: layer ?? path, features: (JSON.parse(await run("ogr2ogr", args)) as { features: JsonFeature[] }).features };
    }),
  );
}

/** Empty geometries as null (GDAL's FlatGeobuf writes them so). */
export function withoutEmpty(g: JsonFeature["geometry"]): JsonFeature["geometry"] {
  if (!g) return null;
  const flat = JSON.stringify(g.coordinates ?? g.geometries ?? []);
  return /\d/.test(flat) ? g : null;
}

/** Where `actual` differs from `expected` (numbers within `tolerance`), or undefined when they match. */
function difference(actual: unknown, expected: unknown, tolerance: number): string | undefined {
  if (typeof expected === "number" && typeof actual === "number") return Math.abs(actual - expected) <= tolerance ? undefined : `: ${actual} vs ${expected}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return ": not an array";
    if (actual.length !== expected.length) return `: length ${actual.length} vs ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const d = difference(actual[i], expected[i], tolerance);
      if (d !== undefined) return `[${i}]${d}`;
    }
    return undefined;
  }
  if (expected && typeof expected === "object") {
    if (!actual || typeof actual !== "object") return ": not an object";
    for (const [k, v] of Object.entries(expected)) {
      const d = difference((actual as Record<string, unknown>)[k], v, tolerance);
      if (d !== undefined) return `.${k}${d}`;
    }
    return undefined;
  }
  return actual === expected ? undefined : `: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`;
}

/** Coordinates equal within `tolerance`, structure and everything else exactly. */
export function assertNear(actual: unknown, expected: unknown, tolerance: number, where: string): void {
  const d = difference(actual, expected, tolerance);
  assert.equal(d, undefined, `${where}${d}`);
}

/**
 * A key for comparing features as a multiset: properties and geometry rounded to `digits`; `padZ` gives
 * positions without height a height of 0 (a FlatGeobuf file with heights has them everywhere).
 */
export function featureKey(f: JsonFeature, digits = 7, padZ = false): string {
  const isPosition = (v: unknown[]) => v.length >= 2 && v.every((x) => typeof x === "number");
  const round = (v: unknown): unknown =>
    typeof v === "number"
      ? Number(v.toFixed(digits))
      : Array.isArray(v)
        ? (padZ && v.length === 2 && isPosition(v) ? [...v, 0] : v).map(round)
        : v && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]))
          : v;
  const g = withoutEmpty(f.geometry);
  const props = Object.entries(f.properties ?? {}).filter(([, v]) => v !== null).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([props, g && { type: g.type, c: round(g.coordinates ?? g.geometries) }]);
}

/**
 * Our properties against GDAL's: equal values. Values GDAL's LIBKML driver reports where the file has
 * none (-1 for unset flags, extrude 0, nulls) need not be there.
 */
function assertProperties(ours: Record<string, unknown>, gdal: Record<string, unknown>, where: string): void {
  const { layer, ...mine } = ours;
  assert.equal(typeof layer, "string", `${where}: layer property`);
  for (const [k, v] of Object.entries(gdal)) {
    if (k in mine) assert.deepEqual(mine[k], v, `${where}.${k}`);
    else assert.ok(v === null || v === -1 || (k === "extrude" && v === 0), `${where}: property ${k}=${JSON.stringify(v)} missing`);
  }
  for (const k of Object.keys(mine)) assert.ok(k in gdal, `${where}: property ${k} that GDAL does not have`);
}

export function compareLayer(ours: JsonFeature[], gdal: JsonFeature[], where: string): void {
  assert.equal(ours.length, gdal.length, `${where}: feature count`);
  ours.forEach((f, i) => {
    assertProperties(f.properties ?? {}, gdal[i].properties ?? {}, `${where} feature ${i}`);
    assertNear(f.geometry, gdal[i].geometry, 1e-7, `${where} feature ${i} geometry`);
  });
}

/** Our GeoJSON output of one sample against GDAL's layers of it (features keep their file order). */
export function compareWithGdal(name: string, out: JsonFeature[], gdal: { layer: string; features: JsonFeature[] }[]): void {
  let at = 0;
  for (const { layer, features } of gdal) {
    compareLayer(out.slice(at, at + features.length), features, `${name} layer ${layer}`);
    at += features.length;
  }
  assert.ok(at > 0, `${name}: GDAL read features`);
  assert.equal(at, out.length, `${name}: total features`);
}


export interface VectorSample {
  name: string;
  /** What to convert: the file, or the folder of a shapefile set. */
  input: string;
  /** What ogr2ogr reads. */
  ogrPath: string;
  /** The files of the sample (one, or a shapefile set's). */
  files: string[];
}

/** The shared vector samples that convert without options (utm17_1.geojson needs inputCrs). */
export function vectorSamples(): VectorSample[] {
  const dir = sharedData("vector");
  return readdirSync(dir)
    .filter((n) => n !== "utm17_1.geojson")
    .map((name) => {
      const input = join(dir, name);
      if (!statSync(input).isDirectory()) return { name, input, ogrPath: input, files: [input] };
      return { name, input, ogrPath: join(input, `${name}.shp`), files: readdirSync(input).map((f) => join(input, f)) };
    });
}
