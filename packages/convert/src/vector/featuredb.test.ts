import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import {
  boundsInto,
  buildFgbIndex,
  bytesSource,
  FlatGeobufFile,
  geometryBounds,
  hilbertValues,
  sortByKeys,
  type Geometry,
  type PropertyValue,
  type VectorFeature,
} from "@realconv/formats";
import { deserialize } from "flatgeobuf/lib/mjs/geojson.js";
import { FeatureStoreBuilder, type SortTuning } from "./featuredb.js";
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
async function build(features: VectorFeature[], memoryBudgetBytes: number, dir: string, tuning?: SortTuning): Promise<{ bytes: Uint8Array; sliceBytes: number }> {
  const builder = await FeatureStoreBuilder.create(dir, memoryBudgetBytes, new AbortController().signal, tuning);
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

test("sorted in many runs and merge passes, the file is the one a single stable in-memory Hilbert sort gives", async () => {
  const dir = await mkdtemp(join(tmpdir(), "featuredb-test-"));
  try {
    // Every geometry twice, far apart in the input (equal keys: ties must keep the input's order).
    const half = makeFeatures(10000);
    const features = [...half, ...half.map((f) => ({ ...f, properties: { ...f.properties, id: 10000 + Number(f.properties.id) } }))];
    // 29 runs, merged 3 at a time: 10, 4, then 2 runs for the last merge; every feature read on its own.
    const many = await build(features, 8 << 20, dir, { runRecords: 700, fanIn: 3, sparseBytes: 0 });
    const one = await build(features, 1 << 30, dir);
    assert.ok(Buffer.from(many.bytes).equals(Buffer.from(one.bytes)), "same bytes whatever the runs");

    // The reference: every box in memory, one stable sort of their Hilbert keys, the index from buildFgbIndex.
    const n = features.length;
    const boxes = new Float64Array(4 * n);
    const extent = [Infinity, Infinity, -Infinity, -Infinity];
    features.forEach((f, i) => {
      boundsInto(f.geometry, boxes, 4 * i);
      extent[0] = Math.min(extent[0], boxes[4 * i]);
      extent[1] = Math.min(extent[1], boxes[4 * i + 1]);
      extent[2] = Math.max(extent[2], boxes[4 * i + 2]);
      extent[3] = Math.max(extent[3], boxes[4 * i + 3]);
    });
    const order = sortByKeys(hilbertValues(boxes, n, extent));
    const file = await FlatGeobufFile.open(bytesSource(many.bytes, "test.fgb"));
    const ids: unknown[] = [];
    for await (const b of file.features(5000)) ids.push(...b.features.map((f) => f.properties.id));
    assert.deepEqual(ids, [...order].map((i) => features[i].properties.id), "features in the order of one stable sort");
    const sortedBoxes = new Float64Array(4 * n);
    order.forEach((i, k) => sortedBoxes.set(boxes.subarray(4 * i, 4 * i + 4), 4 * k));
    const indexStart = file.header.headerEnd;
    const indexLength = buildFgbIndex(sortedBoxes, new Float64Array(n), n).byteLength;
    const view = new DataView(many.bytes.buffer, many.bytes.byteOffset);
    const offsets = new Float64Array(n);
    for (let k = 0, o = 0; k < n; k++) {
      offsets[k] = o;
      o += 4 + view.getUint32(indexStart + indexLength + o, true);
    }
    const index = buildFgbIndex(sortedBoxes, offsets, n);
    assert.ok(Buffer.from(many.bytes.subarray(indexStart, indexStart + indexLength)).equals(Buffer.from(index)), "the index of the reference");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a cancel stops the build while it sorts and while it writes, and the scratch files go", async () => {
  const dir = await mkdtemp(join(tmpdir(), "featuredb-test-"));
  try {
    const features = makeFeatures(5000);
    for (const when of ["sort", "write"]) {
      const abort = new AbortController();
      const builder = await FeatureStoreBuilder.create(dir, 8 << 20, abort.signal, { runRecords: 500, fanIn: 2 });
      try {
        builder.add(features, "all");
        assert.ok((await readdir(dir)).length === 1, "the builder's scratch folder");
        if (when === "sort") {
          const finishing = builder.finish({ id: "test", title: "Test", crs: "EPSG:4326" }, () => {});
          abort.abort(new Error("cancelled"));
          await assert.rejects(finishing, /cancelled/);
        } else {
          const { file } = await builder.finish({ id: "test", title: "Test", crs: "EPSG:4326" }, () => {});
          const parts = file[Symbol.asyncIterator]();
          await parts.next();
          abort.abort(new Error("cancelled"));
          await assert.rejects(async () => {
            for (;;) if ((await parts.next()).done) break;
          }, /cancelled/);
        }
      } finally {
        await builder.dispose();
      }
      assert.deepEqual(await readdir(dir), [], `nothing left after a cancel while it ${when === "sort" ? "sorts" : "writes"}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
