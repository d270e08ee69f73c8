import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource, FormatError, type ByteSource } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import type { PointChunk } from "../chunk.js";
import { openLasOrLaz } from "./open.js";
import { openLas, type LasReader } from "./reader.js";
import { encodeLas } from "./writer.js";
import { epsgFromWkt } from "./crs.js";

const file = (name: string) => bytesSource(new Uint8Array(readFileSync(sharedData("pointcloud", name))), name);

/** Header counts from /work/shared/data/SOURCES.md. */
const COUNTS: Record<string, number> = {
  "1.2-with-color.las": 1065,
  "autzen_trim.las": 110_000,
  "epsg_4326.las": 5380,
  "mvk-thin.las": 6280,
  "1_4_w_evlr.las": 1000,
  "file_with_both_wkt_and_geotiff_vlrs.las": 25_408,
};

async function readAll(r: LasReader): Promise<PointChunk[]> {
  const out: PointChunk[] = [];
  for await (const c of r.chunks()) out.push(c);
  return out;
}

test("every shared LAS file reads all the points its header announces, within the header bounds", async () => {
  for (const [name, count] of Object.entries(COUNTS)) {
    const r = await openLas(file(name));
    assert.equal(r.pointCount, count, name);
    let n = 0;
    const h = r.header;
    for await (const c of r.chunks()) {
      assert.equal(c.positions.kind, "i32");
      if (c.positions.kind !== "i32") continue;
      for (const col of r.schema.columns) assert.equal((c[col] as ArrayLike<number>).length, c.count, `${name} ${col}`);
      for (let i = 0; i < c.count; i++) {
        const x = c.positions.x[i] * h.scale[0] + h.offset[0];
        const z = c.positions.z[i] * h.scale[2] + h.offset[2];
        assert.ok(x >= h.bounds[0] - 1e-6 && x <= h.bounds[3] + 1e-6, `${name} x ${x}`);
        assert.ok(z >= h.bounds[2] - 1e-6 && z <= h.bounds[5] + 1e-6, `${name} z ${z}`);
      }
      n += c.count;
    }
    assert.equal(n, count, name);
  }
});

test("header fields and first point of 1.2-with-color.las", async () => {
  const r = await openLas(file("1.2-with-color.las"));
  const h = r.header;
  assert.equal(h.version, "1.2");
  assert.equal(h.pdrf, 3);
  assert.equal(h.recordLength, 34);
  assert.equal(h.generatingSoftware, "TerraScan");
  assert.deepEqual(h.scale, [0.01, 0.01, 0.01]);
  assert.deepEqual(r.schema.columns.includes("gpsTime") && r.schema.columns.includes("red"), true);
  const [c] = await readAll(r);
  // First record of the file, decoded by hand from its bytes (e800cc03 af830f05 9ea80000 8f00 49 01 ...).
  assert.equal(c.positions.x[0], 0x03cc00e8);
  assert.equal(c.positions.y[0], 0x050f83af);
  assert.equal(c.positions.z[0], 0xa89e);
  assert.equal(c.intensity![0], 0x8f);
  assert.equal(c.returnNumber![0], 0x49 & 7);
  assert.equal(c.numberOfReturns![0], (0x49 >> 3) & 7);
  assert.equal(c.scanFlags![0], 0x49 >> 6);
  assert.equal(c.classification![0], 1);
  assert.equal(c.scanAngle![0], -9);
  assert.equal(c.red![0], 0x44);
  assert.equal(c.green![0], 0x4d);
  assert.equal(c.blue![0], 0x58);
  assert.equal(r.crs, undefined);
});

test("LAS 1.4 header: 64-bit count, EVLR, WKT CRS", async () => {
  const r = await openLas(file("1_4_w_evlr.las"));
  assert.equal(r.header.version, "1.4");
  assert.equal(r.header.pdrf, 6);
  assert.equal(r.header.evlrCount, 1);
  assert.ok(r.header.vlrs.some((v) => v.extended && v.userId === "pylastest" && v.recordId === 42));
  assert.match(r.crs!, /New Mexico Central/);
  assert.ok(r.schema.columns.includes("scannerChannel"));
  assert.deepEqual(r.warnings, []);
});

test("CRS precedence and conflict warnings", async () => {
  const epsg = await openLas(file("epsg_4326.las"));
  assert.equal(epsg.crs, "EPSG:4326");

  // GeoTIFF keys EPSG:26995 plus a US-foot units key: the code is used and the contradiction reported.
  const mvk = await openLas(file("mvk-thin.las"));
  assert.equal(mvk.crs, "EPSG:26995");
  assert.equal(mvk.warnings.length, 1);
  assert.match(mvk.warnings[0], /mvk-thin\.las.*9003/);

  // LAS 1.4 format 6 with both records disagreeing: WKT wins, with a warning naming both.
  const both = await openLas(file("file_with_both_wkt_and_geotiff_vlrs.las"));
  assert.match(both.crs!, /^PROJCS\["NAD83_2011_Nebraska_ft"/);
  assert.equal(both.warnings.length, 1);
  assert.match(both.warnings[0], /EPSG:32104.*WKT|WKT.*EPSG:32104/);

  // LAS 1.2 with a WKT and user-defined GeoTIFF keys (32767): the WKT is the only usable record.
  const autzen = await openLas(file("autzen_trim.las"));
  assert.match(autzen.crs!, /NAD_1983_HARN_Lambert_Conformal_Conic/);
  assert.deepEqual(autzen.warnings, []);

  assert.equal(epsgFromWkt('PROJCS["x",GEOGCS["y",AUTHORITY["EPSG","4269"]],AUTHORITY["EPSG","26915"]]'), "EPSG:26915");
  assert.equal(epsgFromWkt('PROJCRS["x",BASEGEOGCRS["y",ID["EPSG",4171]],ID["EPSG",2154]]'), "EPSG:2154");
  assert.equal(epsgFromWkt('PROJCS["x",GEOGCS["y",AUTHORITY["EPSG","4269"]],UNIT["m",1,AUTHORITY["EPSG","9001"]]]'), undefined);
});

test("chunks hold at most chunkPoints points, and reads stay within one chunk of records", async () => {
  const inner = file("autzen_trim.las");
  let maxRead = 0;
  const counting: ByteSource = {
    size: inner.size,
    name: inner.name,
    read: async (o, l) => {
      maxRead = Math.max(maxRead, l);
      return inner.read(o, l);
    },
  };
  const r = await openLas(counting, { chunkPoints: 1000 });
  let chunks = 0;
  let n = 0;
  for await (const c of r.chunks()) {
    assert.ok(c.count <= 1000);
    chunks++;
    n += c.count;
  }
  assert.equal(n, 110_000);
  assert.equal(chunks, 110);
  assert.ok(maxRead <= 1000 * 34, `largest read ${maxRead}`);
});

function expectFormatError(name: string, re: RegExp, offset?: (e: FormatError) => boolean) {
  return (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${e}`);
    assert.equal(e.file, name);
    assert.match(e.message, re);
    assert.ok(e.message.includes(name));
    if (offset) assert.ok(offset(e), `offset ${e.offset}`);
    return true;
  };
}

test("truncated and corrupt files fail with FormatError naming the file and the byte offset", async () => {
  const full = new Uint8Array(readFileSync(sharedData("pointcloud", "1.2-with-color.las")));
  const pointStart = new DataView(full.buffer).getUint32(96, true);

  // Point data cut in the middle of record 500: detected at open, before any point is given.
  const cutAt = pointStart + 500 * 34 + 10;
  await assert.rejects(
    openLasOrLaz(bytesSource(full.subarray(0, cutAt), "cut.las"), { chunkPoints: 100 }),
    expectFormatError("cut.las", /truncated.*1065.*hold 500/, (e) => e.offset === pointStart + 500 * 34),
  );

  await assert.rejects(openLasOrLaz(bytesSource(full.subarray(0, 100), "short.las")), expectFormatError("short.las", /too short/));
  const bad = full.slice(0, 2000);
  bad[0] = 0x58;
  await assert.rejects(openLasOrLaz(bytesSource(bad, "sig.las")), expectFormatError("sig.las", /signature/, (e) => e.offset === 0));
  const past = full.slice();
  new DataView(past.buffer).setUint32(96, full.length + 10, true);
  await assert.rejects(openLasOrLaz(bytesSource(past, "past.las")), expectFormatError("past.las", /offset to point data/, (e) => e.offset === 96));
  const fmt = full.slice();
  fmt[104] = 11;
  await assert.rejects(openLasOrLaz(bytesSource(fmt, "fmt.las")), expectFormatError("fmt.las", /record format 11/, (e) => e.offset === 104));
  const rec = full.slice();
  new DataView(rec.buffer).setUint16(105, 20, true);
  await assert.rejects(openLasOrLaz(bytesSource(rec, "rec.las")), expectFormatError("rec.las", /record length 20/, (e) => e.offset === 105));

  // A VLR whose length runs into the points (1_4_w_evlr.las has two VLRs before its points).
  const v14 = new Uint8Array(readFileSync(sharedData("pointcloud", "1_4_w_evlr.las")));
  const vlrBad = v14.slice();
  new DataView(vlrBad.buffer).setUint16(375 + 20, 60000, true);
  await assert.rejects(openLasOrLaz(bytesSource(vlrBad, "vlr.las")), expectFormatError("vlr.las", /VLR 1/, (e) => e.offset === 375));
  // The EVLR area cut off.
  const evlrAt = Number(new DataView(v14.buffer).getBigUint64(235, true));
  await assert.rejects(openLasOrLaz(bytesSource(v14.subarray(0, evlrAt + 30), "evlr.las")), expectFormatError("evlr.las", /EVLR/));
});

test("waveform formats 4, 5, 9 and 10 read their points and skip the wave packets", async () => {
  const [src] = await readAll(await openLas(file("1.2-with-color.las")));
  for (const pdrf of [4, 5, 9, 10]) {
    const bytes = await encodeLas({ schema: { columns: ["intensity", "returnNumber", "gpsTime", "red", "green", "blue", "classification"], extra: [] }, pdrf }, [src]);
    const r = await openLasOrLaz(bytesSource(bytes, `wave${pdrf}.las`));
    assert.equal(r.header.pdrf, pdrf);
    const [c] = await readAll(r);
    assert.equal(c.count, 1065);
    assert.deepEqual(c.positions.x, src.positions.x);
    assert.deepEqual(c.gpsTime, src.gpsTime);
    if (pdrf !== 4 && pdrf !== 9) assert.deepEqual(c.red, src.red);
    else assert.equal(c.red, undefined);
  }
});

test("LAS 1.0, 1.1, 1.3 and 1.4 headers with legacy formats read the same points", async () => {
  const r = await openLas(file("1.2-with-color.las"));
  const [src] = await readAll(r);
  for (const minor of [0, 1, 3, 4]) {
    const bytes = await encodeLas({ schema: r.schema, minorVersion: minor }, [src]);
    const back = await openLas(bytesSource(bytes, `v1${minor}.las`));
    assert.equal(back.header.version, `1.${minor}`);
    assert.equal(back.header.headerSize, minor === 4 ? 375 : minor === 3 ? 235 : 227);
    assert.equal(back.pointCount, 1065);
    // LAS 1.4 with a legacy format fills both the legacy and the 64-bit counts.
    if (minor === 4) assert.equal(back.header.legacyPointCount, 1065);
    const [c] = await readAll(back);
    assert.deepEqual(c.positions, src.positions);
    assert.deepEqual(c.gpsTime, src.gpsTime);
    assert.deepEqual(c.red, src.red);
  }
});

test("chunks of only some columns hold the values of the full decode, for every record format", async () => {
  const [src] = await readAll(await openLas(file("1.2-with-color.las")));
  const all = ["intensity", "returnNumber", "numberOfReturns", "scanFlags", "classification", "classificationFlags", "scanAngle", "userData", "pointSourceId", "gpsTime", "red", "green", "blue"] as const;
  for (let pdrf = 0; pdrf <= 10; pdrf++) {
    const bytes = await encodeLas({ schema: { columns: [...all], extra: [] }, pdrf }, [src]);
    const r = await openLas(bytesSource(bytes, `f${pdrf}.las`));
    const [full] = await readAll(r);
    for (const col of [...r.schema.columns, "red" as const]) {
      const parts: PointChunk[] = [];
      for await (const c of r.chunks(undefined, { columns: [col, "intensity"], extra: false })) parts.push(c);
      assert.equal(parts.length, 1);
      const [c] = parts;
      assert.deepEqual(c.positions, full.positions, `format ${pdrf}`);
      assert.deepEqual(c[col], full[col], `format ${pdrf} ${col}`);
      assert.deepEqual(c.intensity, full.intensity);
      const kept = Object.keys(c).filter((k) => k !== "count" && k !== "positions").sort();
      assert.deepEqual(kept, [...new Set(["intensity", col])].filter((k) => full[k as keyof PointChunk] !== undefined).sort(), `format ${pdrf} keeps only the columns asked`);
    }
  }
  // Extra attributes: only when asked.
  const withExtra = await encodeLas({ schema: { columns: ["intensity"], extra: [{ name: "height", type: "f64" }] }, pdrf: 1 }, [{ ...src, extra: { height: Float64Array.from({ length: src.count }, (_, i) => i * 0.25) } }]);
  const r = await openLas(bytesSource(withExtra, "extra.las"));
  const [full] = await readAll(r);
  for await (const c of r.chunks(undefined, { columns: [], extra: true })) assert.deepEqual(c.extra, full.extra);
  for await (const c of r.chunks(undefined, { columns: [], extra: false })) assert.equal(c.extra, undefined);
});
