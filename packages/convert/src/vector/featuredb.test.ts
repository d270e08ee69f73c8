import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { bytesSource, FlatGeobufFile, geometryBounds, type Geometry, type PropertyValue, type VectorFeature } from "@realconv/formats";
import { deserialize } from "flatgeobuf/lib/mjs/geojson.js";
import { FeatureStoreBuilder } from "./featuredb.js";
import { mulberry32 as random } from "@realconv/formats/testing/prng";
import { featureKey, skipWithoutGdal, type JsonFeature } from "../testing/vector.js";


/**
 * Features of every geometry type in random places. Along the way the schema changes, so earlier features
 * are encoded again at the end: `value` holds integers, then fractions; `note` appears late; heights
 * appear in the second half (all features then get them).
 */
function makeFeatures(count: number): VectorFeature[] {
  const rnd = random(7);
  const out: VectorFeature[] = [];
  for (let i = 0; i < count; i++) {
    const x = -20 + 40 * rnd();
    const y = 30 + 20 * rnd();
    const d = 0.01 * rnd();
    const z = i >= count / 2 && i % 3 === 0 ? [100 * rnd()] : [];
    const p = (dx: number, dy: number) => [x + dx, y + dy, ...z];
    const ring = [p(0, 0), p(d, 0), p(d, d), p(0, d), p(0, 0)];
    let geometry: Geometry;
    switch (i % 7) {
      case 0:
        geometry = { type: "Point", coordinates: p(0, 0) };
        break;
      case 1:
        geometry = { type: "LineString", coordinates: [p(0, 0), p(d, d), p(2 * d, 0)] };
        break;
      case 2:
        geometry = { type: "Polygon", coordinates: [ring] };
        break;
      case 3:
        geometry = { type: "Polygon", coordinates: [ring, [p(d / 4, d / 4), p(d / 2, d / 4), p(d / 2, d / 2), p(d / 4, d / 4)]] };
        break;
      case 4:
        geometry = { type: "MultiPolygon", coordinates: [[ring], [[p(2 * d, 0), p(3 * d, 0), p(3 * d, d), p(2 * d, 0)]]] };
        break;
      case 5:
        geometry = { type: "MultiLineString", coordinates: [[p(0, 0), p(d, 0)], [p(0, d), p(d, d)]] };
        break;
      default:
        geometry = { type: "GeometryCollection", geometries: [{ type: "Point", coordinates: p(0, 0) }, { type: "LineString", coordinates: [p(0, 0), p(d, d)] }] };
    }
    const properties: Record<string, PropertyValue> = { id: i, name: `feature ${i} é`, value: i < count / 3 ? i : i + 0.5, flag: i % 2 === 0, empty: null };
    if (i > (2 * count) / 3) properties.note = `late ${i}`;
    out.push({ geometry, properties });
  }
  return out;
}

/** Builds the store in batches; returns the FlatGeobuf bytes and the builder's slice size. */
async function build(features: VectorFeature[], memoryBudgetBytes: number, dir: string): Promise<{ bytes: Uint8Array; sliceBytes: number }> {
  const builder = await FeatureStoreBuilder.create(dir, memoryBudgetBytes, new AbortController().signal);
  try {
    for (let i = 0; i < features.length; i += 1000) builder.add(features.slice(i, i + 1000), i < features.length / 2 ? "first" : "second");
    const { file } = await builder.finish({ id: "test", title: "Test", crs: "EPSG:4326", epsg: 4326 }, () => {});
    const parts: Uint8Array[] = [];
    for await (const part of file) parts.push(new Uint8Array(part));
    return { bytes: Buffer.concat(parts), sliceBytes: builder.sliceBytes };
  } finally {
    await builder.dispose();
  }
}

const asJson = (f: VectorFeature): JsonFeature => ({ type: "Feature", properties: f.properties, geometry: f.geometry as JsonFeature["geometry"] });

/** What a reader gives back for an input feature: every column (nulls for missing ones), heights on all. */
function expectedKey(f: VectorFeature): string {
  const properties = { id: f.properties.id, name: f.properties.name, value: f.properties.value, flag: f.properties.flag, note: f.properties.note ?? null };
  return featureKey({ ...asJson(f), properties }, 9, true);
}

function readKey(f: JsonFeature): string {
  const p = (f.properties ?? {}) as Record<string, unknown>;
  return featureKey({ ...f, properties: { id: p.id, name: p.name, value: p.value, flag: p.flag, note: p.note ?? null } }, 9, true);
}

test("a FeatureDB built in several slices is the same file as one built in one, and readers read every feature back", async () => {
  const dir = await mkdtemp(join(tmpdir(), "featuredb-test-"));
  try {
    const features = makeFeatures(20000);
    const small = await build(features, 8 << 20, dir);
    const large = await build(features, 1 << 30, dir);
    assert.ok(small.bytes.byteLength > 3 * small.sliceBytes, "the small budget takes several slices");
    assert.ok(large.bytes.byteLength < large.sliceBytes, "the large budget takes one slice");
    assert.ok(Buffer.from(small.bytes).equals(Buffer.from(large.bytes)), "same bytes whatever the slice size");

    const expected = features.map(expectedKey).sort();
    // Our reader, front to back.
    const file = await FlatGeobufFile.open(bytesSource(small.bytes, "test.fgb"));
    assert.equal(file.header.featuresCount, features.length);
    assert.equal(file.header.hasZ, true);
    const ours: JsonFeature[] = [];
    for await (const b of file.features(5000)) ours.push(...b.features.map(asJson));
    assert.deepEqual(ours.map(readKey).sort(), expected);
    // Every value of a column has the column's final type: `value` became a Double, `note` a String.
    assert.deepEqual(
      file.header.columns.map((c) => c.name),
      ["id", "name", "value", "flag", "empty", "note"],
    );

    // The flatgeobuf package reads it all, and through the index the features whose boxes meet a rectangle.
    const byPackage: JsonFeature[] = [];
    // (Each call gets its own copy: the package's reader can leave the bytes it was given unusable.)
    for await (const f of deserialize(new Uint8Array(small.bytes)) as AsyncGenerator<JsonFeature>) byPackage.push(f);
    assert.deepEqual(byPackage.map(readKey).sort(), expected);
    const rect = { minX: -5, minY: 35, maxX: 2, maxY: 41 };
    const meets = (f: VectorFeature) => {
      const b = geometryBounds(f.geometry)!;
      return b[0] <= rect.maxX && b[2] >= rect.minX && b[1] <= rect.maxY && b[3] >= rect.minY;
    };
    const inRect = features.filter(meets).map(expectedKey).sort();
    assert.ok(inRect.length > 100 && inRect.length < features.length / 4);
    const byIndex: JsonFeature[] = [];
    for await (const f of deserialize(new Uint8Array(small.bytes), { rect }) as AsyncGenerator<JsonFeature>) byIndex.push(f);
    assert.deepEqual(byIndex.map(readKey).sort(), inRect, "flatgeobuf's bbox search through our index");
    const hits = await file.search([rect.minX, rect.minY, rect.maxX, rect.maxY]);
    assert.equal(hits.length, inRect.length, "our bbox search");

    if (!skipWithoutGdal()) {
      const path = join(dir, "test.fgb");
      await writeFile(path, small.bytes);
      const r = spawnSync("ogr2ogr", ["-f", "GeoJSON", "/vsistdout/", path, "-spat", String(rect.minX), String(rect.minY), String(rect.maxX), String(rect.maxY)], { encoding: "utf8", maxBuffer: 1 << 28 });
      assert.equal(r.status, 0, r.stderr);
      const byGdal = (JSON.parse(r.stdout) as { features: JsonFeature[] }).features;
      assert.deepEqual(byGdal.map(readKey).sort(), inRect, "GDAL's bbox search through our index");
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("features without geometry are kept, after every feature with one, and no leaf box covers them", async () => {
  const dir = await mkdtemp(join(tmpdir(), "featuredb-test-"));
  try {
    const features: VectorFeature[] = [
      { geometry: null, properties: { id: 1 } },
      { geometry: { type: "Point", coordinates: [1, 2] }, properties: { id: 2 } },
      { geometry: { type: "LineString", coordinates: [] }, properties: { id: 3 } },
      { geometry: { type: "Point", coordinates: [-1, -2] }, properties: { id: 4 } },
    ];
    const { bytes } = await build(features, 8 << 20, dir);
    const file = await FlatGeobufFile.open(bytesSource(bytes, "test.fgb"));
    const read: VectorFeature[] = [];
    for await (const b of file.features(10)) read.push(...b.features);
    assert.deepEqual(
      read.map((f) => f.properties.id),
      [4, 2, 1, 3],
    );
    assert.deepEqual(read.slice(2).map((f) => f.geometry), [null, null]);
    assert.deepEqual(await file.search([-1e300, -1e300, 1e300, 1e300]), [0, 1]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
