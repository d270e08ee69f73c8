/**
 * Point-cloud runners with every input reader and output writer: LAZ and E57 outputs (checked with our
 * readers, laz-perf and loaders.gl), E57/PLY/PTS/XYZ inputs, reprojection and CRS failures.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bytesSource,
  createTransform,
  encodeLas,
  openE57,
  openPly,
  openLasOrLaz,
  openPts,
  openXyz,
  parseCrs,
  type PointCloudReader,
} from "@realconv/formats";
import { epsgDefinitions } from "@realconv/formats/crs";
import { decodeWithLazPerf } from "@realconv/formats/testing/lazperf-decode";
import { parse } from "@loaders.gl/core";
import { LASLoader } from "@loaders.gl/las";
import { ConversionError, type InputDataset, type InputFile, type OutputSink } from "../../contract/runner.js";
import { localOutputSink } from "../../host/local-io.js";
import { assertSameRecords, dataset, flatten, MemorySink, memoryFile, runInMemory, shared, sharedFile } from "../../testing/memory-io.js";

async function run(type: string, inputs: Record<string, InputDataset[]>, options: Record<string, unknown>, sink: OutputSink = new MemorySink()) {
  const { progress, warnings } = await runInMemory(type, inputs, options, { sink });
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1], `progress ${progress}`);
  assert.equal(progress.at(-1), 100);
  return { sink: sink as MemorySink, warnings, progress };
}

const convert = (files: InputFile[], options: Record<string, unknown>) => run("PointCloudConversion", { pointCloud: [dataset("d", files)] }, options);

/** Positions of `got` within `tol` of `want`, point by point in order. */
function assertNear(got: Float64Array, want: Float64Array, tol: readonly number[], label: string) {
  assert.equal(got.length, want.length, `${label} count`);
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= tol[i % 3])) assert.fail(`${label}: coordinate ${i} is ${got[i]}, want ${want[i]} (tolerance ${tol[i % 3]})`);
  }
}

test("LAS -> LAZ -> LAS is bit-exact; the LAZ decodes with laz-perf and loaders.gl (PDRF 3, LAS 1.2)", async () => {
  const src = await openLasOrLaz(sharedFile("autzen_trim.las"));
  const { sink } = await convert([sharedFile("autzen_trim.las", "in/autzen_trim.las")], { outputFormat: "LAZ" });
  assert.deepEqual([...sink.files.keys()], ["in/autzen_trim.laz"]);
  assert.equal(sink.root, "in/autzen_trim.laz");
  const laz = sink.files.get("in/autzen_trim.laz")!;
  // Streamed: no written piece larger than one chunk of records.
  assert.ok(sink.largestPart <= 65_536 * 34, `largest piece ${sink.largestPart}`);
  assert.ok(laz.byteLength < 1_000_000, `compressed to ${laz.byteLength} bytes`);
  const ours = await openLasOrLaz(bytesSource(laz, "autzen_trim.laz"));
  assert.equal(ours.compression, "laz");
  assert.equal(ours.header.pdrf, src.header.pdrf);
  await assertSameRecords(ours, src, "laz vs las");

  // laz-perf (LASzip's decoder) gives the same raw records as the source file.
  const decoded = await decodeWithLazPerf(laz);
  const raw = shared("autzen_trim.las");
  const start = new DataView(raw.buffer).getUint32(96, true);
  assert.equal(decoded.count, 110_000);
  assert.ok(Buffer.from(decoded.records).equals(Buffer.from(raw.subarray(start, start + 110_000 * decoded.recordLength))), "laz-perf records");

  // loaders.gl reads it too: count and a few positions (it yields float32 positions).
  const lg = await parse(laz.slice().buffer, LASLoader, { worker: false });
  assert.equal(lg.header?.vertexCount, 110_000);
  const pos = lg.attributes.POSITION.value as Float32Array;
  const all = await flatten(src);
  for (const i of [0, 1, 54_321, 109_999]) {
    for (let a = 0; a < 3; a++) assert.ok(Math.abs(pos[3 * i + a] - all.xyz[3 * i + a]) < 0.1, `loaders.gl point ${i}`);
  }

  // And back: LAZ -> LAS is the source's records again.
  const back = await convert([memoryFile(laz, "autzen_trim.laz")], { outputFormat: "LAS" });
  const las = back.sink.files.get("autzen_trim.las")!;
  await assertSameRecords(await openLasOrLaz(bytesSource(las, "back.las")), src, "las vs las");
  const outStart = new DataView(las.buffer, las.byteOffset).getUint32(96, true);
  assert.ok(Buffer.from(las.subarray(outStart)).equals(Buffer.from(raw.subarray(start, start + 110_000 * decoded.recordLength))), "records byte for byte");
});

test("LAZ output of LAS 1.4 layered formats (PDRF 8 + extra bytes, COPC PDRF 7) keeps every record", async () => {
  const names = ["append-bug.laz", "1.2-with-color.copc.laz", "1_4_w_evlr.las"];
  const { sink } = await convert(names.map((n) => sharedFile(n)), { outputFormat: "LAZ" });
  for (const name of names) {
    const path = name.replace(/\.[^.]*$/, ".laz");
    const bytes = sink.files.get(path)!;
    const src = await openLasOrLaz(sharedFile(name));
    const out = await openLasOrLaz(bytesSource(bytes, path));
    await assertSameRecords(out, src, name);
    const decoded = await decodeWithLazPerf(bytes);
    assert.equal(decoded.count, src.pointCount, `${name} laz-perf count`);
  }
});

test("LAS -> E57 -> LAS keeps positions within the scale and the colours/intensity", async () => {
  const { sink } = await convert([sharedFile("1.2-with-color.las")], { outputFormat: "E57", inputCrs: "EPSG:2994" });
  const e57 = sink.files.get("1.2-with-color.e57")!;
  const reader = await openE57(bytesSource(e57, "c.e57"));
  assert.equal(reader.scans.length, 1);
  assert.equal(reader.scans[0].name, "1.2-with-color");
  assert.match(reader.crs!, /2994|Oregon/i);
  const src = await openLasOrLaz(sharedFile("1.2-with-color.las"));
  const a = await flatten(src);
  const b = await flatten(reader);
  assertNear(b.xyz, a.xyz, src.header.scale.map((s) => s / 2 + 1e-9), "e57");
  for (const col of ["intensity", "red", "green", "blue", "classification"]) assert.deepEqual(b.cols.get(col), a.cols.get(col), col);

  const back = await convert([memoryFile(e57, "c.e57")], { outputFormat: "LAS" });
  assert.deepEqual([...back.sink.files.keys()], ["c-1.2-with-color.las"]);
  const las = await openLasOrLaz(bytesSource(back.sink.files.get("c-1.2-with-color.las")!, "b.las"));
  const c = await flatten(las);
  assertNear(c.xyz, a.xyz, las.header.scale.map((s, k) => s / 2 + src.header.scale[k] / 2 + 1e-9), "e57 -> las");
  for (const col of ["intensity", "red", "green", "blue"]) assert.deepEqual(c.cols.get(col), a.cols.get(col), col);
});

test("E57 inputs: one output per scan, named after the file and the scan", async () => {
  const { sink } = await convert([sharedFile("A_B.e57"), sharedFile("pumpAVisualReferenceImage.e57")], { outputFormat: "LAS" });
  const ab = await openE57(sharedFile("A_B.e57"));
  assert.equal(ab.scans.length, 2);
  const pump = await openE57(sharedFile("pumpAVisualReferenceImage.e57"));
  const names = [...sink.files.keys()];
  assert.equal(names.length, 2 + pump.scans.length, names.join(", "));
  for (let i = 0; i < ab.scans.length; i++) {
    const path = names.find((n) => n.startsWith("A_B-") && n.endsWith(ab.scans[i].name ? `-${ab.scans[i].name}.las` : `-${i}.las`));
    assert.ok(path, `output for scan ${i} in ${names}`);
    const out = await openLasOrLaz(bytesSource(sink.files.get(path)!, path));
    let want = 0;
    for await (const c of ab.scanChunks(i)) want += c.count;
    assert.equal(out.pointCount, want, path);
  }
  const pumpOut = names.filter((n) => n.startsWith("pumpAVisualReferenceImage-"));
  let total = 0;
  for (const n of pumpOut) total += (await openLasOrLaz(bytesSource(sink.files.get(n)!, n))).pointCount;
  const pumpAll = await flatten(pump);
  assert.equal(total, pumpAll.count);
  // Positions within the chosen scale of the E57 doubles (single-scan file: same order).
  if (pump.scans.length === 1) {
    const out = await openLasOrLaz(bytesSource(sink.files.get(pumpOut[0])!, pumpOut[0]));
    assertNear((await flatten(out)).xyz, pumpAll.xyz, out.header.scale.map((s) => s / 2 + 1e-9), "pump");
  }
});

test("PLY, PTS and XYZ inputs (recognised by content) -> LAS and LAZ", async () => {
  const cases: [string, string, (f: InputFile) => Promise<PointCloudReader>][] = [
    ["train-1000.ply", "clouds/train.dat", (f) => openPly(f)],
    ["test.pts", "clouds/test.pts", (f) => openPts(f)],
    ["bunnyData.pts", "clouds/bunny.txt", (f) => openPts(f)],
    ["points_agisoft.xyz", "clouds/agisoft.txt", (f) => openXyz(f)],
  ];
  for (const format of ["LAS", "LAZ"]) {
    const { sink, warnings } = await convert(cases.map(([n, p]) => sharedFile(n, p)), { outputFormat: format });
    // train-1000.ply has normals, which LAS cannot store: said, not silently dropped.
    assert.ok(warnings.some((w) => w.params[0] === format && /normalX/.test(w.params[1]) && w.params[2] === "clouds/train.dat"), JSON.stringify(warnings));
    for (const [name, path, open] of cases) {
      const outPath = path.replace(/\.[^.]*$/, `.${format.toLowerCase()}`);
      const bytes = sink.files.get(outPath);
      assert.ok(bytes, `${outPath} in ${[...sink.files.keys()]}`);
      const out = await openLasOrLaz(bytesSource(bytes, outPath));
      const want = await flatten(await open(sharedFile(name)));
      const got = await flatten(out);
      assertNear(got.xyz, want.xyz, out.header.scale.map((s) => s / 2 + 1e-9), `${name} ${format}`);
      for (const col of ["intensity", "red", "green", "blue"]) if (want.cols.has(col)) assert.deepEqual(got.cols.get(col), want.cols.get(col), `${name} ${col}`);
    }
  }
});

test("unknown content is InputData_Invalid naming the file; an Unstructured dataset may mix formats", async () => {
  await assert.rejects(
    convert([memoryFile(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 200, 9]), "docs/blob.las")], { outputFormat: "LAS" }),
    (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && e.params[0] === "docs/blob.las",
  );
  await assert.rejects(
    convert([memoryFile(new TextEncoder().encode("hello world\nthis is not a point cloud\n"), "notes.xyz")], { outputFormat: "LAS" }),
    (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && e.params[0] === "notes.xyz",
  );
  const merged = await run("PointCloudOptimization", { pointClouds: [dataset("u", [sharedFile("test.pts"), sharedFile("train-1000.ply"), sharedFile("tiny_spherical.e57")])] }, { outputFormat: "E57" });
  const e57 = await openE57(bytesSource(merged.sink.files.get("merged.e57")!, "m.e57"));
  assert.equal(e57.scans.length, 1);
  const counts = await Promise.all([openPts(sharedFile("test.pts")), openPly(sharedFile("train-1000.ply")), openE57(sharedFile("tiny_spherical.e57"))].map(async (r) => (await flatten(await r)).count));
  assert.equal((await flatten(e57)).count, counts[0] + counts[1] + counts[2]);
});

test("reprojection EPSG:2994 -> EPSG:4326 matches PROJ (cs2cs) and the CRS module point for point", async () => {
  // One point at Autzen's max bound, in international feet (cs2cs EPSG:2994 EPSG:4326: -123.068984944, 44.051550488).
  const one = await encodeLas(
    { schema: { columns: [], extra: [] }, scale: [0.01, 0.01, 0.01], offset: [0, 0, 0], crs: "EPSG:2994" },
    [{ count: 1, positions: { kind: "f64", x: Float64Array.of(637179.22), y: Float64Array.of(849497.9), z: Float64Array.of(520.51) } }],
  );
  const r1 = await convert([memoryFile(one, "p.las")], { outputFormat: "LAS", outputCrs: "EPSG:4326" });
  const p = await openLasOrLaz(bytesSource(r1.sink.files.get("p.las")!, "p.las"));
  assert.equal(p.crs, "EPSG:4326");
  assert.deepEqual(p.header.scale, [1e-7, 1e-7, 0.001]);
  const xyz = (await flatten(p)).xyz;
  assert.ok(Math.abs(xyz[0] - -123.06898494401) < 2e-5 && Math.abs(xyz[1] - 44.05155048776) < 2e-5, `${xyz}`);
  assert.ok(Math.abs(xyz[2] - 520.51 * 0.3048) < 0.001, `height in metres: ${xyz[2]}`);

  // The whole Autzen file (WKT CRS in the file), to LAZ: every point as the CRS module computes it.
  const r = await convert([sharedFile("autzen_trim.las")], { outputFormat: "LAZ", outputCrs: "EPSG:4326" });
  const out = await openLasOrLaz(bytesSource(r.sink.files.get("autzen_trim.laz")!, "a.laz"));
  const src = await openLasOrLaz(sharedFile("autzen_trim.las"));
  const a = await flatten(src);
  const t = createTransform(parseCrs(src.crs!, epsgDefinitions), parseCrs("EPSG:4326", epsgDefinitions));
  const n = a.count;
  const x = new Float64Array(n), y = new Float64Array(n), z = new Float64Array(n);
  for (let i = 0; i < n; i++) [x[i], y[i], z[i]] = [a.xyz[3 * i], a.xyz[3 * i + 1], a.xyz[3 * i + 2]];
  t.transform(x, y, z);
  const want = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) [want[3 * i], want[3 * i + 1], want[3 * i + 2]] = [x[i], y[i], z[i]];
  assertNear((await flatten(out)).xyz, want, [5e-8 + 1e-12, 5e-8 + 1e-12, 5e-4 + 1e-9], "autzen 4326");
  assert.equal(r.sink.crs, "EPSG:4326");
  const e = r.sink.extent!;
  assert.ok(e.southWest.longitude > -123.08 && e.northEast.longitude < -123.06 && e.southWest.latitude > 44.04 && e.northEast.latitude < 44.06, JSON.stringify(e));
});

test("a vertical datum change without a geoid grid fails, naming both datums", async () => {
  await assert.rejects(
    convert([sharedFile("epsg_4326.las")], { outputFormat: "LAS", inputCrs: "EPSG:4979", outputCrs: "EPSG:4326+5703" }),
    (e: unknown) => e instanceof ConversionError && e.code === "UnsupportedCrs" && /ellipsoidal/.test(e.params[3]) && /NAVD88/.test(e.params[3]) && e.params[0] === "epsg_4326.las",
  );
  // An unknown CRS option is refused up front.
  await assert.rejects(
    convert([sharedFile("epsg_4326.las")], { outputFormat: "LAS", outputCrs: "EPSG:999999" }),
    (e: unknown) => e instanceof ConversionError && e.code === "UnsupportedCrs",
  );
});

test("local sink: LAZ and E57 written to disk with their patches applied", async () => {
  const dir = await mkdtemp(join(tmpdir(), "realconv-pc-"));
  try {
    for (const format of ["LAZ", "E57"]) {
      const sink = localOutputSink(dir);
      await run("PointCloudConversion", { pointCloud: [dataset("d", [sharedFile("autzen_trim.las")])] }, { outputFormat: format }, sink);
      const path = `autzen_trim.${format.toLowerCase()}`;
      assert.deepEqual(sink.files, [path]);
      const bytes = new Uint8Array(await readFile(join(dir, path)));
      const reader = format === "LAZ" ? await openLasOrLaz(bytesSource(bytes, path)) : await openE57(bytesSource(bytes, path));
      assert.equal((await flatten(reader)).count, 110_000, format);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("inputCrs overrides the file's CRS with a warning; the records stay as they are", async () => {
  const { sink, warnings } = await convert([sharedFile("autzen_trim.las")], { outputFormat: "LAS", inputCrs: "epsg:2994" });
  assert.equal(sink.crs, "EPSG:2994");
  const out = await openLasOrLaz(bytesSource(sink.files.get("autzen_trim.las")!, "o.las"));
  assert.equal(out.crs, "EPSG:2994");
  await assertSameRecords(out, await openLasOrLaz(sharedFile("autzen_trim.las")), "override");
  assert.ok(warnings.some((w) => w.params[0] === "EPSG:2994" && w.params[2] === "autzen_trim.las" && /NAD_1983_HARN/.test(w.params[1])), JSON.stringify(warnings));
});

test("cancelling a LAZ or E57 output stops with the abort reason", async () => {
  for (const format of ["LAZ", "E57"]) {
    const controller = new AbortController();
    const reason = new Error(`cancelled ${format}`);
    let seen = 0;
    await assert.rejects(
      runInMemory("PointCloudConversion", { pointCloud: [dataset("d", [sharedFile("autzen_trim.las")])] }, { outputFormat: format }, {
        signal: controller.signal,
        onProgress: (p) => {
          seen = p;
          if (p >= 40 && p < 100) controller.abort(reason);
        },
      }),
      (e: unknown) => e === reason,
    );
    assert.ok(seen >= 40 && seen < 80, `${format} stopped at ${seen}%`);
  }
});

test("Optimization to a geocentric CRS (E57): points as the CRS module computes them, extent from the inputs' own coordinates", async () => {
  const inputs = { pointClouds: [dataset("a", [sharedFile("autzen_trim.laz")]), dataset("b", [sharedFile("epsg_4326.las")])] };
  const { sink } = await run("PointCloudOptimization", inputs, { outputFormat: "E57", outputCrs: "EPSG:4978" });
  const e57 = await openE57(bytesSource(sink.files.get("merged.e57")!, "m.e57"));
  assert.match(e57.crs!, /GEOCCS|Geocentric|4978/i);
  const got = await flatten(e57);
  const a = await flatten(await openLasOrLaz(sharedFile("autzen_trim.laz")));
  const b = await flatten(await openLasOrLaz(sharedFile("epsg_4326.las")));
  assert.equal(got.count, a.count + b.count);
  const check = async (src: string, from: Float64Array, at: number) => {
    const t = createTransform(parseCrs(src, epsgDefinitions), parseCrs("EPSG:4978", epsgDefinitions));
    const p = [Float64Array.of(from[0]), Float64Array.of(from[1]), Float64Array.of(from[2])];
    t.transform(p[0], p[1], p[2]);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(got.xyz[3 * at + k] - p[k][0]) < 1e-6, `${src} axis ${k}: ${got.xyz[3 * at + k]} vs ${p[k][0]}`);
  };
  await check((await openLasOrLaz(sharedFile("autzen_trim.laz"))).crs!, a.xyz.subarray(0, 3), 0);
  await check("EPSG:4326", b.xyz.subarray(0, 3), a.count);
  const e = sink.extent!;
  // Autzen (Oregon, 44.05 N) and the Texas sample (31.0 N, 94.6 W); a box around the ECEF bounds would be far wider.
  assert.ok(e.southWest.latitude > 30.9 && e.northEast.latitude < 44.06, JSON.stringify(e));
  assert.ok(e.southWest.longitude > -123.08 && e.northEast.longitude < -94.5, JSON.stringify(e));
});
