import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import proj4 from "proj4";
import { bytesSource, FormatError } from "../io/byte-source.js";
import { sharedData } from "../testing/shared-data.js";
import { epsgDefinitions } from "../crs/epsg-definitions.js";
import { parseCrs } from "../crs/crs.js";
import { GeoTiffRaster } from "./geotiff.js";
import { toRgba } from "./rgba.js";
import { parseWorldFile, invertGeoTransform, worldFileNames, readPrj } from "./world-file.js";
import { resolution, tileBounds, tileRange, zoomForPixelSize, lonLatToMeters, metersToLonLat, ORIGIN_SHIFT } from "./web-mercator.js";
import { tileJson } from "./tilejson.js";

const raster = (name: string) => new Uint8Array(readFileSync(sharedData("raster", name)));
const open = (name: string, bytes = raster(name)) => GeoTiffRaster.open(bytesSource(bytes, name), epsgDefinitions);

test("Web Mercator grid: resolutions, tile bounds and ranges as gdal2tiles' GlobalMercator", () => {
  assert.ok(Math.abs(resolution(0) - 156543.03392804097) < 1e-9);
  assert.deepEqual(tileBounds(0, 0, 0), [-ORIGIN_SHIFT, -ORIGIN_SHIFT, ORIGIN_SHIFT, ORIGIN_SHIFT]);
  // XYZ rows count from the north: tile (1, 0, 0) is the north-west quarter.
  assert.deepEqual(tileBounds(1, 0, 0), [-ORIGIN_SHIFT, 0, 0, ORIGIN_SHIFT]);
  // gdal2tiles ZoomForPixelSize: the finest zoom whose pixels are not smaller.
  assert.equal(zoomForPixelSize(resolution(12)), 12);
  assert.equal(zoomForPixelSize(resolution(12) * 0.99), 12);
  assert.equal(zoomForPixelSize(resolution(12) * 1.01), 11);
  assert.equal(zoomForPixelSize(1e9), 0);
  // A box inside one tile of zoom 2, touching no other.
  const [x0, y0, x1, y1] = tileBounds(2, 1, 2);
  assert.deepEqual(tileRange([x0 + 1, y0 + 1, x1 - 1, y1 - 1], 2), { z: 2, minX: 1, minY: 2, maxX: 1, maxY: 2 });
  assert.deepEqual(tileRange([x0, y0, x1, y1], 2), { z: 2, minX: 1, minY: 2, maxX: 1, maxY: 2 });
  const [mx, my] = lonLatToMeters(-77.5, 24.5);
  const ref = proj4("EPSG:4326", "EPSG:3857", [-77.5, 24.5]);
  assert.ok(Math.abs(mx - ref[0]) < 1e-6 && Math.abs(my - ref[1]) < 1e-6);
  const [lon, lat] = metersToLonLat(mx, my);
  assert.ok(Math.abs(lon + 77.5) < 1e-9 && Math.abs(lat - 24.5) < 1e-9);
});

test("world files: the autzen.wld geotransform is GDAL's; garbage and short files name the file and line", () => {
  const t = parseWorldFile(raster("autzen-jpg/autzen.wld"), "autzen.wld");
  // gdalinfo autzen.jpg: Origin = (635615.427866, 853362.643085), pixel 1 x -1.
  assert.ok(Math.abs(t[0] - 635615.427866) < 1e-5 && Math.abs(t[3] - 853362.643085) < 1e-5);
  assert.deepEqual([t[1], t[2], t[4], t[5]], [1, 0, 0, -1]);
  const inv = invertGeoTransform(t);
  assert.ok(Math.abs(inv[0] + t[0] * inv[1]) < 1e-6);
  const bad = new TextEncoder().encode("1.0\n0.0\n0.0\nminus one\n635615.9\n853362.1\n");
  assert.throws(() => parseWorldFile(bad, "x.jgw"), (e: unknown) => e instanceof FormatError && e.file === "x.jgw" && e.offset === 12 && /not a number/.test(e.message));
  assert.throws(() => parseWorldFile(new TextEncoder().encode("1\n0\n0\n-1\n"), "short.wld"), (e: unknown) => e instanceof FormatError && /six numbers; found 4/.test(e.message));
  assert.throws(() => parseWorldFile(new TextEncoder().encode("0\n0\n0\n0\n1\n1\n"), "flat.wld"), /degenerate/);
  assert.deepEqual(worldFileNames("a/b.jpg"), ["a/b.jgw", "a/b.jpgw", "a/b.wld"]);
  assert.throws(() => readPrj(new Uint8Array([0, 1, 2, 3]), "b.prj"), (e: unknown) => e instanceof FormatError && /not text/.test(e.message));
});

test("GeoTIFF georeferencing and CRS of every shared raster, as gdalinfo reports them", async () => {
  const rgb = await open("RGB.byte.tif");
  assert.equal(rgb.info.crs, "EPSG:32618");
  assert.deepEqual(rgb.info.geoTransform?.map((v) => Number(v.toFixed(6))), [101985, 300.037927, 0, 2826915, 0, -300.041783]);
  assert.equal(rgb.info.nodata, 0);
  assert.equal(rgb.levels.length, 1);
  const world = await open("world.rgb.tif");
  assert.equal(world.info.crs, "EPSG:4326");
  assert.deepEqual(world.info.geoTransform, [-180, 0.703125, 0, 90, 0, -0.703125]);
  const cog = await open("cogeo.tif");
  assert.equal(cog.info.crs, "EPSG:3857");
  // 1024 px and 6 overviews, each with its internal mask.
  assert.deepEqual(cog.levels.map((l) => l.width), [1024, 512, 256, 128, 64, 32, 16]);
  assert.ok(cog.levels.every((l) => l.mask !== undefined));
  // User-defined keys (UTM projection code 16032 on a GRS 1980 ellipsoid): ETRS89 / UTM 32N.
  const klas = await open("wf_100m_klas.tif");
  assert.match(klas.info.crs ?? "", /^\+proj=utm \+zone=32 \+a=6378137 \+rf=298.257222101/);
  assert.equal(klas.info.nodata, 255);
  const p = proj4(parseCrs(klas.info.crs!, epsgDefinitions).horizontal!.definition, "EPSG:4326", [280374.044, 5820178.332]);
  // gdalinfo: Upper Left (5d45'54.43"E, 52d29'14.89"N).
  assert.ok(Math.abs(p[0] - (5 + 45 / 60 + 54.43 / 3600)) < 1e-5 && Math.abs(p[1] - (52 + 29 / 60 + 14.89 / 3600)) < 1e-5);
});

test("pixel windows decode as GDAL reads them (YCbCr JPEG, LZW tiled, striped) and become RGBA", async () => {
  // gdallocationinfo -valonly of each file.
  const cases: [string, number, number, number[]][] = [
    ["cogeo.tif", 0, 0, [228, 226, 231]],
    ["cogeo.tif", 700, 300, [232, 232, 232]],
    ["RGB.byte.tif", 400, 300, [11, 15, 20]],
    ["wf_100m_klas.tif", 1200, 1200, [6]],
    ["world.rgb.tif", 100, 100, [58, 123, 163]],
  ];
  for (const [name, x, y, expected] of cases) {
    const r = await open(name);
    const w = await r.readWindow(0, [x, y, x + 1, y + 1]);
    const got = Array.from(w.data.slice(0, expected.length) as ArrayLike<number>);
    // JPEG decoders differ by a level or so.
    got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= (name === "cogeo.tif" ? 2 : 0), `${name} ${x},${y}: ${got} vs ${expected}`));
    const rgba = toRgba(r.info, w);
    assert.equal(rgba[3], 255);
  }
  // Nodata becomes transparent: RGB.byte's corner is 0,0,0.
  const rgb = await open("RGB.byte.tif");
  assert.equal(toRgba(rgb.info, await rgb.readWindow(0, [0, 0, 1, 1]))[3], 0);
});

test("a truncated TIFF and a file that is not a TIFF throw FormatError naming the file", async () => {
  const bytes = raster("RGB.byte.tif");
  // RGB.byte.tif keeps its directory at the end; cogeo.tif at the start, before its tiles.
  await assert.rejects(open("cut.tif", bytes.subarray(0, 200_000)), (e: unknown) => e instanceof FormatError && e.file === "cut.tif" && /truncated/.test(e.message));
  await assert.rejects(
    open("cog-cut.tif", raster("cogeo.tif").subarray(0, 200_000)),
    (e: unknown) => e instanceof FormatError && /truncated: tile \d+ needs bytes up to \d+ of 200000/.test(e.message) && e.offset > 0,
  );
  await assert.rejects(open("head.tif", bytes.subarray(0, 100)), (e: unknown) => e instanceof FormatError && e.file === "head.tif");
  await assert.rejects(open("text.tif", new TextEncoder().encode("hello, not a tiff")), (e: unknown) => e instanceof FormatError && /not a TIFF/.test(e.message));
});

test("TileJSON 3.0.0 document", () => {
  const doc = tileJson({ name: "a", tiles: "{z}/{x}/{y}.png", minzoom: 7, maxzoom: 9, bounds: [-79, 23.5, -76.5, 25.5] });
  assert.equal(doc.tilejson, "3.0.0");
  assert.deepEqual(doc.tiles, ["{z}/{x}/{y}.png"]);
  assert.deepEqual(doc.center, [-77.75, 24.5, 8]);
  assert.throws(() => tileJson({ name: "a", tiles: "x", minzoom: 9, maxzoom: 7, bounds: [0, 0, 1, 1] }), RangeError);
});
