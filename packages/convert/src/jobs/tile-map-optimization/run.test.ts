import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { writeArrayBuffer } from "geotiff";
import type { TileJson } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { dataset, memoryFile, MemorySink, runInMemory } from "../../testing/memory-io.js";
import { failureMessage, renderMessage } from "../../host/run-job.js";

const TYPE = "TileMapOptimization";
const rasterBytes = (name: string) => new Uint8Array(readFileSync(sharedData("raster", name)));
const rasterFile = (name: string, path = name.slice(name.lastIndexOf("/") + 1)) => memoryFile(rasterBytes(name), path);
const run = (files: ReturnType<typeof memoryFile>[][], options: Record<string, unknown> = {}) =>
  runInMemory(TYPE, { tileMaps: files.map((f, i) => dataset(`rd${i}`, f)) }, { outputFormat: "XYZTileMap", ...options });

const tilesOf = (sink: MemorySink) => [...sink.files.keys()].filter((p) => /^\d+\/\d+\/\d+\./.test(p)).sort();
const rgbaOf = async (bytes: Uint8Array) => sharp(bytes).toColourspace("srgb").ensureAlpha().raw().toBuffer({ resolveWithObject: true });

test("RGB.byte.tif: levels 7..8, JPG tiles on white, TileJSON root, extent and CRS on the sink, monotone progress", async () => {
  const { sink, progress } = await run([[rasterFile("RGB.byte.tif")]]);
  const m = sink as MemorySink;
  assert.equal(m.root, "tilemap.json");
  assert.equal(m.crs, "EPSG:3857");
  const doc = JSON.parse(new TextDecoder().decode(m.files.get("tilemap.json"))) as TileJson;
  assert.equal(doc.tilejson, "3.0.0");
  assert.deepEqual(doc.tiles, ["{z}/{x}/{y}.jpg"]);
  assert.deepEqual([doc.minzoom, doc.maxzoom], [7, 8]);
  // gdalinfo: 78d57'..76d34' W, 23d33'..25d33' N.
  assert.ok(Math.abs(doc.bounds[0] + 78.96) < 0.02 && Math.abs(doc.bounds[3] - 25.55) < 0.02, JSON.stringify(doc.bounds));
  const e = m.extent!;
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-7;
  assert.ok(near(e.southWest.longitude, doc.bounds[0]) && near(e.southWest.latitude, doc.bounds[1]) && near(e.northEast.longitude, doc.bounds[2]) && near(e.northEast.latitude, doc.bounds[3]));
  const tiles = tilesOf(m);
  assert.deepEqual(tiles, ["7/35/55.jpg", "7/36/54.jpg", "7/36/55.jpg", "8/71/110.jpg", "8/72/109.jpg", "8/72/110.jpg", "8/73/109.jpg", "8/73/110.jpg"]);
  for (const t of tiles) {
    const { info, data } = await rgbaOf(m.files.get(t)!);
    assert.deepEqual([info.width, info.height, info.format], [256, 256, "raw"]);
    assert.equal((await sharp(m.files.get(t)!).metadata()).format, "jpeg");
    // Every tile touches the data's edge: nodata and the outside are white.
    let white = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] > 250 && data[i + 1] > 250 && data[i + 2] > 250) white++;
    assert.ok(white > 0, t);
  }
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1]);
  assert.equal(progress.at(-1), 100);
});

test("PNG tiles are transparent outside the data unless a background colour is given; levels can be chosen", async () => {
  const png = (await run([[rasterFile("RGB.byte.tif")]], { imageFormat: "PNG", topLevel: 8, bottomLevel: 9 })).sink as MemorySink;
  const tiles = tilesOf(png);
  assert.ok(tiles.every((t) => /^(8|9)\//.test(t) && t.endsWith(".png")));
  // Every level-9 tile has its parent at level 8.
  const level9 = tiles.filter((t) => t.startsWith("9/"));
  assert.ok(level9.length > 8);
  for (const t of level9) {
    const [, x, y] = t.split(/[/.]/).map(Number);
    assert.ok(tiles.includes(`8/${x >> 1}/${y >> 1}.png`), t);
  }
  const corner = await rgbaOf(png.files.get("8/71/110.png")!);
  assert.equal(corner.info.channels, 4);
  assert.equal(corner.data[3], 0, "north-west corner of 8/71/110 is outside the data");
  const red = (await run([[rasterFile("RGB.byte.tif")]], { imageFormat: "PNG", topLevel: 8, bottomLevel: 8, backgroundColor: "#ff0000" })).sink as MemorySink;
  const filled = await rgbaOf(red.files.get("8/71/110.png")!);
  assert.deepEqual([...filled.data.subarray(0, 4)], [255, 0, 0, 255]);
});

test("a JPEG with a world file and inputCrs, and a mosaic of two reality data, later over earlier", async () => {
  const autzen = [rasterFile("autzen-jpg/autzen.jpg"), rasterFile("autzen-jpg/autzen.wld")];
  await assert.rejects(run([autzen], { bottomLevel: 15 }), (e: unknown) => /CRS of rd0\/autzen.jpg is unknown/.test(renderMessage(failureMessage(e))));
  const { sink } = await run([autzen], { inputCrs: "EPSG:2994", bottomLevel: 17 });
  const doc = JSON.parse(new TextDecoder().decode((sink as MemorySink).files.get("tilemap.json"))) as TileJson;
  assert.deepEqual([doc.minzoom, doc.maxzoom], [14, 17]);
  // Autzen Stadium, Eugene, Oregon.
  assert.ok(doc.center[0] > -123.1 && doc.center[0] < -123.05 && doc.center[1] > 44.04 && doc.center[1] < 44.07, JSON.stringify(doc.center));

  // RGB.byte.tif in two halves that overlap, each georeferenced by its own tags: each tile of the mosaic is
  // the east half's tile over the west half's.
  const halves = await splitRgbByte();
  const options = { imageFormat: "PNG", topLevel: 8, bottomLevel: 8 };
  const west = (await run([[halves[0]]], options)).sink as MemorySink;
  const east = (await run([[halves[1]]], options)).sink as MemorySink;
  const mosaic = (await run([[halves[0]], [halves[1]]], options)).sink as MemorySink;
  assert.deepEqual(tilesOf(mosaic), [...new Set([...tilesOf(west), ...tilesOf(east)])].sort());
  for (const t of tilesOf(mosaic)) {
    const m = await rgbaOf(mosaic.files.get(t)!);
    const w = west.files.has(t) ? (await rgbaOf(west.files.get(t)!)).data : undefined;
    const e = east.files.has(t) ? (await rgbaOf(east.files.get(t)!)).data : undefined;
    let worst = 0;
    for (let i = 0; i < m.data.length; i += 4) {
      const top = e && e[i + 3] === 255 ? e : w && (!e || e[i + 3] === 0) ? w : undefined;
      if (!top) continue;
      for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(m.data[i + c] - top[i + c]));
    }
    assert.ok(worst <= 1, `${t}: ${worst}`);
  }
});

/** RGB.byte.tif as two GeoTIFFs (west part, east part, 40 columns of overlap), written by geotiff.js. */
async function splitRgbByte() {
  const { GeoTiffRaster } = await import("@realconv/formats");
  const { bytesSource } = await import("@realconv/formats");
  const { epsgDefinitions } = await import("@realconv/formats/crs");
  const r = await GeoTiffRaster.open(bytesSource(rasterBytes("RGB.byte.tif"), "RGB.byte.tif"), epsgDefinitions);
  const t = r.info.geoTransform!;
  const parts: [number, number][] = [[0, 420], [380, 791]];
  return Promise.all(
    parts.map(async ([x0, x1], i) => {
      const w = await r.readWindow(0, [x0, 0, x1, 718]);
      const bytes = writeArrayBuffer(w.data as Uint8Array, {
        width: x1 - x0,
        height: 718,
        SamplesPerPixel: 3,
        BitsPerSample: [8, 8, 8],
        PhotometricInterpretation: 2,
        PlanarConfiguration: 1,
        ModelPixelScale: [t[1], -t[5], 0],
        ModelTiepoint: [0, 0, 0, t[0] + x0 * t[1], t[3], 0],
        GDAL_NODATA: "0",
        GTModelTypeGeoKey: 1,
        GTRasterTypeGeoKey: 1,
        ProjectedCSTypeGeoKey: 32618,
      });
      return memoryFile(new Uint8Array(bytes), `half${i}.tif`);
    }),
  );
}

test("16-bit samples are scaled from their value range; an alpha band is kept", async () => {
  const width = 64, height = 64;
  const values = new Uint16Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    values[4 * i] = 1000 + (i % width) * 10;
    values[4 * i + 1] = 1000;
    values[4 * i + 2] = 1630;
    values[4 * i + 3] = i < width * 8 ? 0 : 65535;
  }
  const bytes = writeArrayBuffer(values, {
    width,
    height,
    SamplesPerPixel: 4,
    BitsPerSample: [16, 16, 16, 16],
    ExtraSamples: 2,
    PhotometricInterpretation: 2,
    PlanarConfiguration: 1,
    ModelPixelScale: [0.0001, 0.0001, 0],
    ModelTiepoint: [0, 0, 0, 10, 45, 0],
    GTModelTypeGeoKey: 2,
    GTRasterTypeGeoKey: 1,
    GeographicTypeGeoKey: 4326,
  });
  const { sink, warnings } = await run([[memoryFile(new Uint8Array(bytes), "u16.tif")]], { imageFormat: "PNG" });
  assert.ok(warnings.some((w) => /16-bit samples; values 1000..1630 were scaled/.test(`${w.params[0]} has ${w.params[1]}-bit samples; values ${w.params[2]}..${w.params[3]} were scaled`)), JSON.stringify(warnings));
  const m = sink as MemorySink;
  const doc = JSON.parse(new TextDecoder().decode(m.files.get("tilemap.json"))) as TileJson;
  // Red spans the range (1000..1630 -> 0..255), green is the minimum, blue the maximum; alpha 0 rows stay out.
  let minRed = 255, maxRed = 0, transparent = 0;
  for (const t of tilesOf(m).filter((t) => t.startsWith(`${doc.maxzoom}/`))) {
    const { data } = await rgbaOf(m.files.get(t)!);
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] !== 255) {
        transparent++;
        continue;
      }
      minRed = Math.min(minRed, data[i]);
      maxRed = Math.max(maxRed, data[i]);
      assert.ok(data[i + 1] <= 2 && data[i + 2] >= 253, `${data.subarray(i, i + 4)}`);
    }
  }
  assert.ok(minRed <= 10 && maxRed >= 245 && transparent > 0, `${minRed}..${maxRed}`);
});

test("damaged inputs fail with a message naming the file; the server never sees an internal error", async () => {
  const cut = memoryFile(rasterBytes("cogeo.tif").subarray(0, 150_000), "cut.tif");
  const notImage = memoryFile(new TextEncoder().encode("just some text, not a raster"), "notes.txt");
  const garbageWorld = [rasterFile("autzen-jpg/autzen.jpg"), memoryFile(new TextEncoder().encode("1\n0\nzero\n-1\n1\n1\n"), "autzen.wld")];
  const truncatedJpeg = [memoryFile(rasterBytes("autzen-jpg/autzen.jpg").subarray(0, 50_000), "autzen.jpg"), rasterFile("autzen-jpg/autzen.wld")];
  const cases: [ReturnType<typeof memoryFile>[], RegExp][] = [
    [[cut], /rd0\/cut\.tif.*truncated/],
    [[notImage], /rd0\/notes\.txt.*not an image/],
    [garbageWorld, /rd0\/autzen\.wld.*not a number/],
    [truncatedJpeg, /rd0\/autzen\.jpg.*cannot decode the image/],
  ];
  for (const [files, re] of cases) {
    let failure: unknown;
    await run([files], { inputCrs: "EPSG:2994" }).catch((e: unknown) => (failure = e));
    assert.ok(failure, `${re} should fail`);
    const m = failureMessage(failure);
    assert.notEqual(m.code, "InternalError", JSON.stringify(m));
    assert.match(`${m.params.join(" ")} ${m.message}`, re);
  }
});

test("cancel stops a run within 2 s", async () => {
  const controller = new AbortController();
  const started = Date.now();
  let cancelledAt = 0;
  const onProgress = (p: number) => {
    if (p > 5 && !controller.signal.aborted) {
      cancelledAt = Date.now();
      controller.abort(new Error("cancelled"));
    }
  };
  await assert.rejects(
    runInMemory(TYPE, { tileMaps: [dataset("rd0", [rasterFile("wf_100m_klas.tif")])] }, { outputFormat: "XYZTileMap", bottomLevel: 12 }, { signal: controller.signal, onProgress }),
    /cancelled/,
  );
  assert.ok(cancelledAt > 0 && Date.now() - cancelledAt < 2000, `stopped ${Date.now() - cancelledAt} ms after the cancel (${Date.now() - started} ms in all)`);
});
