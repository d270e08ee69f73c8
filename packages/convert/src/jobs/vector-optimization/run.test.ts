import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { bytesSource, FlatGeobufFile } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { deserialize } from "flatgeobuf/lib/mjs/geojson.js";
import yazl from "yazl";
import { dataset, memoryFile, MemorySink, runInMemory } from "../../testing/memory-io.js";
import { assertNear, compareLayer, compareWithGdal, featureKey, inParallel, ogrAllLayers, skipWithoutGdal, withoutEmpty, type JsonFeature } from "../../testing/vector.js";
import { ConversionError, type InputFile } from "../../contract/runner.js";
import { renderMessage } from "../../host/run-job.js";

const VECTOR = sharedData("vector");

/** The shared vector samples: one input each (a shapefile set is its folder). */
const SAMPLES = readdirSync(VECTOR).filter((n) => n !== "utm17_1.geojson");

function filesOf(name: string): InputFile[] {
  const p = join(VECTOR, name);
  if (!statSync(p).isDirectory()) return [memoryFile(new Uint8Array(readFileSync(p)), name)];
  return readdirSync(p).map((f) => memoryFile(new Uint8Array(readFileSync(join(p, f))), `${name}/${f}`));
}

/** The path ogr2ogr reads for a sample. */
function ogrPath(name: string): string {
  const p = join(VECTOR, name);
  return statSync(p).isDirectory() ? join(p, `${name}.shp`) : p;
}

/** Runs the job; a ConversionError is rethrown with its message rendered (params filled in). */
async function convert(files: InputFile[], options: Record<string, unknown>) {
  const sink = new MemorySink();
  try {
    const run = await runInMemory("VectorOptimization", { vectors: [dataset("v", files)] }, options, { sink });
    return { sink, run };
  } catch (e) {
    throw e instanceof ConversionError ? new Error(renderMessage(e.toMessage())) : e;
  }
}

function parse(bytes: Uint8Array | undefined): { name?: string; features: JsonFeature[] } {
  assert.ok(bytes, "output written");
  return JSON.parse(Buffer.from(bytes).toString("utf8"));
}

test("every shared vector sample converts to GeoJSON as ogr2ogr -t_srs EPSG:4326 reads it", { skip: skipWithoutGdal() }, async () => {
  const gdal = await inParallel(SAMPLES.map((name) => () => ogrAllLayers(ogrPath(name))));
  for (const [i, name] of SAMPLES.entries()) {
    const { sink, run } = await convert(filesOf(name), { outputFormat: "GeoJSON" });
    const out = parse(sink.files.get("features.geojson"));
    compareWithGdal(name, out.features, gdal[i]);
    assert.equal(sink.root, "features.geojson");
    assert.equal(sink.crs, "EPSG:4326");
    assert.ok(sink.extent, `${name}: extent`);
    assert.deepEqual(run.progress, [...run.progress].sort((a, b) => a - b), `${name}: progress monotone`);
    assert.equal(run.progress.at(-1), 100);
  }
});

test("a GeoJSON file in metres without crs needs inputCrs; with it, it matches ogr2ogr -s_srs", { skip: skipWithoutGdal() }, async () => {
  await assert.rejects(convert(filesOf("utm17_1.geojson"), { outputFormat: "GeoJSON" }), /utm17_1\.geojson is read as EPSG:4326.*inputCrs/);
  const { sink } = await convert(filesOf("utm17_1.geojson"), { outputFormat: "GeoJSON", inputCrs: "EPSG:32617" });
  const out = parse(sink.files.get("features.geojson"));
  compareWithGdal("utm17_1.geojson", out.features, await ogrAllLayers(ogrPath("utm17_1.geojson"), { sourceCrs: "EPSG:32617" }));
  // Heights are kept.
  assert.equal((out.features[0].geometry!.coordinates as number[]).length, 3);
});

test("inputs of several formats and CRSs merge into one collection, named after featureClassDisplayName", async () => {
  const files = [...filesOf("senate"), ...filesOf("poly_pb.geojson"), ...filesOf("polygon.kml"), ...filesOf("rivers.gpkg")];
  const { sink } = await convert(files, { outputFormat: "GeoJSON", featureClassDisplayName: "Mixed" });
  const out = parse(sink.files.get("features.geojson"));
  assert.equal(out.name, "Mixed");
  const layers = new Map<string, number>();
  for (const f of out.features) layers.set(String(f.properties!.layer), (layers.get(String(f.properties!.layer)) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(layers), { senate: 40, poly_pb: 1, "Polygon.kml": 1, FEATURESriversds: 357 });
});

test("outputCrs other than WGS 84 is written with a crs member, coordinates in that CRS", { skip: skipWithoutGdal() }, async () => {
  const { sink } = await convert(filesOf("trio.geojson"), { outputFormat: "GeoJSON", outputCrs: "EPSG:2154" });
  const out = JSON.parse(Buffer.from(sink.files.get("features.geojson")!).toString()) as { crs: unknown; features: JsonFeature[] };
  assert.deepEqual(out.crs, { type: "name", properties: { name: "urn:ogc:def:crs:EPSG::2154" } });
  const [gdal] = await ogrAllLayers(ogrPath("trio.geojson"), { targetCrs: "EPSG:2154" });
  out.features.forEach((f, i) => assertNear(f.geometry, gdal.features[i].geometry, 1e-3, `feature ${i}`));
});

function zip(entries: Record<string, Uint8Array>): Promise<Uint8Array> {
  const z = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) z.addBuffer(Buffer.from(data), name);
  z.end();
  return new Promise((ok, ko) => {
    const parts: Buffer[] = [];
    z.outputStream.on("data", (d: Buffer) => parts.push(d)).on("end", () => ok(new Uint8Array(Buffer.concat(parts)))).on("error", ko);
  });
}

test("zipped shapefile sets and KMZ files are unpacked and read", { skip: skipWithoutGdal() }, async () => {
  const shp = Object.fromEntries(filesOf("coutwildrnp").map((f) => [f.path.replace("coutwildrnp/", ""), readFileSync(join(VECTOR, f.path))]));
  const kmz = await zip({ "doc.kml": readFileSync(join(VECTOR, "addresses.kml")), "files/icon.png": new Uint8Array([0x89, 0x50]) });
  const { sink, run } = await convert([memoryFile(await zip(shp), "wild.zip"), memoryFile(kmz, "addresses.kmz")], { outputFormat: "GeoJSON" });
  const out = parse(sink.files.get("features.geojson")).features;
  const [kml, wild] = await inParallel([() => ogrAllLayers(ogrPath("addresses.kml")), () => ogrAllLayers(ogrPath("coutwildrnp"))]);
  compareWithGdal("kmz and zip", out, [...kml, ...wild]);
  assert.deepEqual(run.warnings, []);
});

test("a shapefile without .prj needs inputCrs; its code page comes from .cpg", async () => {
  const files = filesOf("senate").filter((f) => !f.path.endsWith(".prj"));
  await assert.rejects(convert(files, { outputFormat: "GeoJSON" }), /senate\/senate\.shp does not say which CRS.*inputCrs/);
  const { sink } = await convert(files, { outputFormat: "GeoJSON", inputCrs: "EPSG:26986" });
  const first = parse(sink.files.get("features.geojson")).features[0];
  const lon = (first.geometry!.coordinates as number[][][][] | number[][][]).flat(3)[0] as number;
  assert.ok(lon > -74 && lon < -69, `Massachusetts longitude, got ${lon}`);
});

/** Features of a FlatGeobuf file as GeoJSON features, by the flatgeobuf package's own reader. */
async function readWithFlatgeobuf(bytes: Uint8Array): Promise<JsonFeature[]> {
  const out: JsonFeature[] = [];
  for await (const f of deserialize(bytes) as AsyncGenerator<JsonFeature>) out.push(f);
  return out;
}

test("FeatureDB holds the same features as the GeoJSON output, read by GDAL and by the flatgeobuf package", { skip: skipWithoutGdal() }, async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "fdb-"));
  try {
    const expectations: { name: string; path: string; expected: string[]; hasZ: boolean }[] = [];
    for (const name of SAMPLES) {
      const geojson = parse((await convert(filesOf(name), { outputFormat: "GeoJSON" })).sink.files.get("features.geojson")).features;
      const { sink } = await convert(filesOf(name), { outputFormat: "FeatureDB", featureClassDisplayName: "Sample features" });
      assert.equal(sink.root, "featuredb.json");
      const manifest = JSON.parse(Buffer.from(sink.files.get("featuredb.json")!).toString());
      assert.equal(manifest.format, "realconv-featuredb");
      assert.equal(manifest.collections[0].id, "sample-features");
      assert.equal(manifest.collections[0].featureCount, geojson.length);
      const fgb = sink.files.get("features.fgb")!;
      const hasZ = (await FlatGeobufFile.open(bytesSource(fgb, "features.fgb"))).header.hasZ;
      const expected = geojson.map((f) => featureKey(f, 7, hasZ)).sort();
      const path = join(dir, `${name.replace(/\./g, "_")}.fgb`);
      writeFileSync(path, fgb);
      expectations.push({ name, path, expected, hasZ });
      // The package's reader cannot read features without geometry: only samples without any.
      if (geojson.every((f) => withoutEmpty(f.geometry))) {
        const byPackage = await readWithFlatgeobuf(fgb);
        assert.deepEqual(byPackage.map((f) => featureKey(f, 7, hasZ)).sort(), expected, `${name}: flatgeobuf reads our FlatGeobuf`);
      }
      // Our own reader, through the index: every feature whose box meets the collection's extent.
      const file = await FlatGeobufFile.open(bytesSource(fgb, "features.fgb"));
      const hits = await file.search([-1e300, -1e300, 1e300, 1e300]);
      const withGeometry = geojson.filter((f) => withoutEmpty(f.geometry)).length;
      assert.equal(hits.length, withGeometry, `${name}: index leaves with boxes`);
    }
    const byGdal = await inParallel(expectations.map((e) => () => ogrAllLayers(e.path)));
    expectations.forEach(({ name, expected, hasZ }, i) => {
      const got = byGdal[i].flatMap((l) => l.features).map((f) => featureKey(f, 7, hasZ)).sort();
      assert.deepEqual(got, expected, `${name}: GDAL reads our FlatGeobuf`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("damaged inputs fail with a message naming the file", async () => {
  const cases: [InputFile[], RegExp][] = [
    [[memoryFile(new TextEncoder().encode('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":'), "cut.geojson")], /cut\.geojson.*ends before its root object closes/],
    [[memoryFile(new TextEncoder().encode('{"type":"FeatureCollection","features":[{"type":"Feature" "x"}]}'), "bad.geojson")], /bad\.geojson.*invalid JSON/],
    [[memoryFile(new TextEncoder().encode("this is not a zip"), "doc.kmz")], /doc\.kmz.*not a zip archive/],
    [[memoryFile(new TextEncoder().encode("not sqlite at all, no"), "db.gpkg")], /db\.gpkg.*not a GeoPackage/],
    [[memoryFile(new Uint8Array(readFileSync(join(VECTOR, "gdal_sample.gpkg"))).subarray(0, 4096), "cut.gpkg")], /cut\.gpkg/],
    [filesOf("senate").map((f) => (f.path.endsWith(".shp") ? memoryFile(new Uint8Array(readFileSync(join(VECTOR, f.path))).subarray(0, 50000), f.path) : f)), /senate\.shp.*cut short/],
    [[memoryFile(new TextEncoder().encode("<kml><Document><Placemark>"), "open.kml")], /open\.kml/],
  ];
  for (const [files, message] of cases) {
    for (const outputFormat of ["GeoJSON", "FeatureDB"]) {
      await assert.rejects(convert(files, { outputFormat }), (e: Error) => {
        assert.match(e.message, message);
        assert.notEqual(e.name, "TypeError");
        return true;
      });
    }
  }
});

test("a cancelled conversion stops", async () => {
  const controller = new AbortController();
  controller.abort(new Error("cancelled"));
  await assert.rejects(runInMemory("VectorOptimization", { vectors: [dataset("v", filesOf("rivers.gpkg"))] }, { outputFormat: "FeatureDB" }, { signal: controller.signal }), /cancelled/);
});
