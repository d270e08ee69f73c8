import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource, FormatError, openLasOrLaz, type PointChunk } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { ConversionError, type InputDataset, type InputFile, type JobMessage } from "../../contract/runner.js";
import { assertSameRecords, dataset as anyDataset, flatten, MemorySink, memoryFile, runInMemory, sharedFile } from "../../testing/memory-io.js";

const dataset = (id: string, files: InputFile[]) => anyDataset(id, files, "LAS");


interface Run {
  sink: MemorySink;
  progress: number[];
  warnings: JobMessage[];
}

async function run(type: string, inputs: Record<string, InputDataset[]>, options: Record<string, unknown> = {}, controller = new AbortController(), onProgress?: (p: number) => void): Promise<Run> {
  const r = await runInMemory(type, inputs, { outputFormat: "LAS", ...options }, { signal: controller.signal, onProgress });
  return { ...r, sink: r.sink as MemorySink };
}

function assertMonotone(progress: number[]) {
  assert.ok(progress.length > 1);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1], `progress ${progress}`);
  assert.equal(progress.at(-1), 100);
}

test("PointCloudConversion LAS -> LAS keeps every point bit-exact", async () => {
  const { sink, progress, warnings } = await run("PointCloudConversion", { pointCloud: [dataset("d1", [sharedFile("autzen_trim.las", "scans/autzen_trim.las")])] });
  assert.deepEqual([...sink.files.keys()], ["scans/autzen_trim.las"]);
  assert.equal(sink.root, "scans/autzen_trim.las");
  const out = await openLasOrLaz(bytesSource(sink.files.get("scans/autzen_trim.las")!, "out.las"));
  const src = await openLasOrLaz(sharedFile("autzen_trim.las"));
  assert.equal(out.compression, "las");
  await assertSameRecords(out, src, "autzen_trim");
  out.header.bounds.forEach((v, k) => assert.ok(Math.abs(v - src.header.bounds[k]) < 1e-6, `bound ${k}`));
  assert.equal(out.crs, src.crs);
  assert.equal(sink.crs, src.crs);
  assert.deepEqual(warnings, []);
  assertMonotone(progress);
});

test("PointCloudConversion LAS -> LAS copies the point records byte for byte", async () => {
  const names = ["1.2-with-color.las", "epsg_4326.las", "mvk-thin.las", "1_4_w_evlr.las", "file_with_both_wkt_and_geotiff_vlrs.las"];
  const { sink } = await run("PointCloudConversion", { pointCloud: [dataset("d1", names.map((n) => sharedFile(n)))] });
  for (const name of names) {
    const src = new Uint8Array(readFileSync(sharedData("pointcloud", name)));
    const out = sink.files.get(name)!;
    const sv = new DataView(src.buffer, src.byteOffset);
    const ov = new DataView(out.buffer, out.byteOffset);
    const srcStart = sv.getUint32(96, true);
    const outStart = ov.getUint32(96, true);
    const length = sv.getUint32(107, true) === 0 ? Number(sv.getBigUint64(247, true)) * sv.getUint16(105, true) : sv.getUint32(107, true) * sv.getUint16(105, true);
    assert.equal(out[104], src[104], `${name} format`);
    assert.equal(out.byteLength, outStart + length, `${name} size`);
    assert.ok(Buffer.from(out.subarray(outStart)).equals(Buffer.from(src.subarray(srcStart, srcStart + length))), `${name} records`);
  }
});

test("PointCloudConversion LAZ -> LAS: one output per file, same points (1.2 point-wise, 1.4 layered with extra bytes, COPC)", async () => {
  const names = ["autzen_trim.laz", "append-bug.laz", "1.2-with-color.copc.laz", "mvk-thin.las"];
  const { sink, warnings } = await run("PointCloudConversion", { pointCloud: [dataset("d1", names.map((n) => sharedFile(n)))] });
  assert.deepEqual([...sink.files.keys()].sort(), ["1.2-with-color.copc.las", "append-bug.las", "autzen_trim.las", "mvk-thin.las"]);
  for (const name of names) {
    // Named after the input: the last extension becomes .las.
    const outName = name.replace(/\.la[sz]$/, ".las");
    const out = await openLasOrLaz(bytesSource(sink.files.get(outName)!, outName));
    assert.equal(out.compression, "las");
    await assertSameRecords(out, await openLasOrLaz(sharedFile(name)), name);
  }
  // Reader warnings reach the job (mvk-thin's contradictory units key).
  assert.ok(warnings.some((w) => /mvk-thin\.las/.test(w.params[0] ?? "")), JSON.stringify(warnings));
});

test("inputs are recognised by content, not by name", async () => {
  const las = readFileSync(sharedData("pointcloud", "epsg_4326.las"));
  const { sink } = await run("PointCloudConversion", { pointCloud: [dataset("d1", [memoryFile(new Uint8Array(las), "data.bin")])] });
  assert.deepEqual([...sink.files.keys()], ["data.las"]);
  assert.equal(sink.crs, "EPSG:4326");
  assert.ok(sink.extent && sink.extent.southWest.longitude < -94.6 && sink.extent.northEast.latitude > 31.04);

  // A PLY file named .las is read as the PLY it is.
  const ply = new Uint8Array(readFileSync(sharedData("pointcloud", "train-1000.ply")));
  const fake = await run("PointCloudConversion", { pointCloud: [dataset("d1", [memoryFile(ply, "fake.las")])] });
  assert.equal((await openLasOrLaz(bytesSource(fake.sink.files.get("fake.las")!, "fake.las"))).pointCount, 1000);
  const e57 = new Uint8Array(readFileSync(sharedData("pointcloud", "tiny_spherical.e57")));
  await assert.rejects(
    run("PointCloudConversion", { pointCloud: [dataset("d1", [memoryFile(e57.subarray(48), "fake.e57")])] }),
    (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && e.params[0] === "fake.e57",
  );
});

test("PointCloudOptimization merges all files of all datasets into one LAS", async () => {
  const inputs = { pointClouds: [dataset("a", [sharedFile("autzen_trim.las")]), dataset("b", [sharedFile("1.2-with-color.las")])] };
  const { sink, warnings, progress } = await run("PointCloudOptimization", inputs);
  assert.deepEqual([...sink.files.keys()], ["merged.las"]);
  assert.equal(sink.root, "merged.las");
  const out = await openLasOrLaz(bytesSource(sink.files.get("merged.las")!, "merged.las"));
  assert.equal(out.pointCount, 111_065);
  const merged = await flatten(out, { extras: true });
  const a = await flatten(await openLasOrLaz(sharedFile("autzen_trim.las")), { extras: true });
  const b = await flatten(await openLasOrLaz(sharedFile("1.2-with-color.las")), { extras: true });
  assert.equal(merged.count, a.count + b.count);
  for (let i = 0; i < merged.xyz.length; i++) {
    const want = i < a.xyz.length ? a.xyz[i] : b.xyz[i - a.xyz.length];
    assert.ok(Math.abs(merged.xyz[i] - want) < 1e-6, `coordinate ${i}: ${merged.xyz[i]} vs ${want}`);
  }
  for (const [col, values] of merged.cols) assert.deepEqual(values, [...a.cols.get(col)!, ...b.cols.get(col)!], col);
  // 1.2-with-color.las has no CRS: merged as if in autzen_trim's, with a warning.
  assert.ok(warnings.some((w) => w.params[0]?.includes("1.2-with-color.las")));
  assert.match(out.crs!, /NAD_1983_HARN_Lambert_Conformal_Conic/);
  assertMonotone(progress);
});

test("PointCloudOptimization re-quantises files with different scales onto the finest common grid", async () => {
  // The same points twice: as shipped, and rewritten by the LAS writer with a 10x finer x/y scale.
  const { encodeLas } = await import("@realconv/formats");
  const src = await openLasOrLaz(sharedFile("epsg_4326.las"));
  const finer: [number, number, number] = [src.header.scale[0] / 10, src.header.scale[1] / 10, src.header.scale[2]];
  const chunks: PointChunk[] = [];
  for await (const c of src.chunks()) chunks.push(c);
  const fine = await encodeLas({ schema: src.schema, scale: finer, offset: [-94.7, 31, 0], crs: src.crs }, chunks);
  const { sink, warnings } = await run("PointCloudOptimization", {
    pointClouds: [dataset("a", [sharedFile("epsg_4326.las")]), dataset("b", [memoryFile(fine, "fine.las")])],
  });
  const out = await openLasOrLaz(bytesSource(sink.files.get("merged.las")!, "merged.las"));
  assert.deepEqual(out.header.scale, finer);
  assert.deepEqual(warnings, []);
  const merged = await flatten(out, { extras: true });
  const once = await flatten(src, { extras: true });
  for (let i = 0; i < merged.xyz.length; i++) assert.ok(Math.abs(merged.xyz[i] - once.xyz[i % once.xyz.length]) < 1e-9);
});

test("CRS options: same CRS keeps the data; inputCrs supplies a missing CRS; merging different CRSs reprojects", async () => {
  const ok = await run("PointCloudConversion", { pointCloud: [dataset("d", [sharedFile("epsg_4326.las")])] }, { outputCrs: "EPSG:4326", inputCrs: "epsg:4326" });
  assert.equal(ok.sink.crs, "EPSG:4326");
  await assertSameRecords(await openLasOrLaz(bytesSource(ok.sink.files.get("epsg_4326.las")!, "o.las")), await openLasOrLaz(sharedFile("epsg_4326.las")), "same crs");
  // No CRS in the file: inputCrs supplies it.
  const given = await run("PointCloudConversion", { pointCloud: [dataset("d", [sharedFile("1.2-with-color.las")])] }, { inputCrs: "EPSG:2994" });
  const out = await openLasOrLaz(bytesSource(given.sink.files.get("1.2-with-color.las")!, "o.las"));
  assert.equal(out.crs, "EPSG:2994");
  // No CRS anywhere and an outputCrs: refused, naming the file.
  await assert.rejects(
    run("PointCloudConversion", { pointCloud: [dataset("d", [sharedFile("1.2-with-color.las")])] }, { outputCrs: "EPSG:4326" }),
    (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && /no CRS/.test(e.message) && e.params[0] === "1.2-with-color.las",
  );
  // Optimization of files in different CRSs: reprojected to the first one's instead of failing.
  const merged = await run("PointCloudOptimization", { pointClouds: [dataset("a", [sharedFile("epsg_4326.las")]), dataset("b", [sharedFile("autzen_trim.las")])] });
  const m = await openLasOrLaz(bytesSource(merged.sink.files.get("merged.las")!, "m.las"));
  assert.equal(m.pointCount, 110_000 + (await openLasOrLaz(sharedFile("epsg_4326.las"))).pointCount);
  assert.equal(m.crs, "EPSG:4326");
  assert.deepEqual(m.header.scale.slice(0, 2), [1e-7, 1e-7]);
  // Autzen (Oregon) and the Texas sample both inside the extent.
  assert.ok(m.header.bounds[0] < -123 && m.header.bounds[3] > -94.7, `${m.header.bounds}`);
  assert.ok(merged.sink.extent!.southWest.longitude < -123 && merged.sink.extent!.northEast.latitude > 44);
});

test("abort mid-way stops with the abort reason", async () => {
  const controller = new AbortController();
  const reason = new Error("cancelled by the test");
  let seen = 0;
  await assert.rejects(
    run("PointCloudConversion", { pointCloud: [dataset("d", [sharedFile("indoor.laz")])] }, {}, controller, (p) => {
      seen = p;
      if (p >= 10 && p < 100) controller.abort(reason);
    }),
    (e: unknown) => e === reason,
  );
  assert.ok(seen >= 10 && seen < 50, `stopped at ${seen}%`);
});

test("a truncated input fails with a FormatError naming the file", async () => {
  const full = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.las")));
  await assert.rejects(
    run("PointCloudConversion", { pointCloud: [dataset("d", [memoryFile(full.subarray(0, 2_000_000), "broken/autzen_cut.las")])] }),
    (e: unknown) => e instanceof FormatError && e.file === "autzen_cut.las" && /truncated/.test(e.message) && e.offset > 0,
  );
  const laz = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.laz")));
  await assert.rejects(
    run("PointCloudOptimization", { pointClouds: [dataset("d", [memoryFile(laz.subarray(0, 400_000), "cut.laz")])] }),
    (e: unknown) => e instanceof FormatError && e.file === "cut.laz",
  );
});

test("the runner streams: reads and written pieces stay within one chunk, whatever the file size", async () => {
  const bytes = new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.las")));
  const inner = memoryFile(bytes, "autzen_trim.las");
  let largestRead = 0;
  const file: InputFile = { ...inner, read: (o, l) => ((largestRead = Math.max(largestRead, l)), inner.read(o, l)) };
  const { sink } = await run("PointCloudConversion", { pointCloud: [dataset("d", [file])] });
  const chunkBytes = 65_536 * 34;
  assert.ok(largestRead <= chunkBytes, `largest read ${largestRead}`);
  assert.ok(sink.largestPart <= chunkBytes, `largest written piece ${sink.largestPart}`);
  const out = sink.files.get("autzen_trim.las")!;
  assert.equal(out.byteLength, new DataView(out.buffer, out.byteOffset).getUint32(96, true) + 110_000 * 34);
});
