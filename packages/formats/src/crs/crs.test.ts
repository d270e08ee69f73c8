import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sharedData } from "../testing/shared-data.js";
import { CrsError, parseCrs } from "./crs.js";
import type { CrsRef } from "./crs.js";
import { epsgDefinitions } from "./epsg-definitions.js";
import { createTransform, transformPositions } from "./transform.js";
import type { TransformOptions } from "./transform.js";
import { parseWkt } from "./wkt.js";
import { WKT2_UTM18_NAVD88 } from "./test-wkt2.js";

const crs = (t: string): CrsRef => parseCrs(t, epsgDefinitions);

/** Transforms one point and returns [x, y, z]. */
function tx(from: string, to: string, p: [number, number, number], options?: TransformOptions): number[] {
  const x = new Float64Array([p[0]]);
  const y = new Float64Array([p[1]]);
  const z = new Float64Array([p[2]]);
  createTransform(crs(from), crs(to), options).transform(x, y, z);
  return [x[0], y[0], z[0]];
}

function near(actual: number[], expected: number[], tol: number[], what: string): void {
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol[i], `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function expectCrsError(fn: () => unknown, code: string, re?: RegExp): CrsError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CrsError, `expected CrsError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected CrsError ${code}`);
}

test("parseCrs: code spellings, kinds, compound codes", () => {
  for (const t of ["EPSG:4326", "epsg:4326", "4326", "urn:ogc:def:crs:EPSG::4326"]) {
    const r = crs(t);
    assert.equal(r.horizontal?.kind, "geographic");
    assert.equal(r.horizontal?.epsg, 4326);
    assert.equal(r.vertical, undefined);
  }
  const utm = crs("EPSG:32618");
  assert.equal(utm.horizontal?.kind, "projected");
  assert.equal(utm.name, "WGS 84 / UTM zone 18N");
  const ecef = crs("EPSG:4978");
  assert.equal(ecef.horizontal?.kind, "geocentric");
  assert.equal(ecef.vertical?.kind, "ellipsoidal");
  assert.equal(crs("EPSG:4979").vertical?.kind, "ellipsoidal");
  const comp = crs("EPSG:32618+5703");
  assert.equal(comp.horizontal?.epsg, 32618);
  assert.equal(comp.vertical?.kind, "gravity");
  assert.equal(comp.vertical?.epsg, 5703);
  assert.equal(comp.vertical?.datumAuthority, "EPSG:5103");
  // Its WKT (for file writers) is a COMPD_CS that reads back to the same parts.
  assert.match(comp.wkt!, /^COMPD_CS\["WGS 84 \/ UTM zone 18N \+ NAVD88 height",PROJCS\[/);
  const back = crs(comp.wkt!);
  assert.equal(back.horizontal?.epsg, 32618);
  assert.equal(back.vertical?.datumAuthority, "EPSG:5103");
  // Autzen: Oregon Lambert in international feet; z follows the horizontal unit when no vertical CRS is given.
  const autzen = crs("EPSG:2994");
  assert.equal(autzen.horizontal?.unitToMeter, 0.3048);
  assert.equal(autzen.zUnitToMeter, 0.3048);
  // A compound EPSG code is split into its parts; NAVD88 (ftUS) carries its unit.
  const c5498 = crs("EPSG:5498");
  assert.equal(c5498.horizontal?.kind, "geographic");
  assert.equal(c5498.horizontal?.epsg, 4269);
  assert.equal(c5498.vertical?.epsg, 5703);
  assert.ok(Math.abs(crs("EPSG:2994+6360").zUnitToMeter - 1200 / 3937) < 1e-15);
  // Failures.
  expectCrsError(() => crs("EPSG:999999"), "UnknownCrs", /EPSG:999999/);
  expectCrsError(() => crs("EPSG:32618+4326"), "InvalidCrs", /not a vertical CRS/);
  expectCrsError(() => crs("EPSG:32618+999998"), "UnknownCrs");
  expectCrsError(() => crs("hello"), "InvalidCrs");
  expectCrsError(() => crs('PROJCS["broken",GEOGCS['), "InvalidCrs", /bad WKT/);
});

test("EPSG:4326 -> EPSG:32618 near New York matches PROJ", () => {
  // Expected from `cs2cs -f %.9f EPSG:4326 EPSG:32618` (PROJ 9.1.1) for 40.6892 N, 74.0445 W.
  near(tx("EPSG:4326", "EPSG:32618", [-74.0445, 40.6892, 12.5]), [580735.87070326, 4504695.165218929, 12.5], [1e-6, 1e-6, 0], "utm");
  // And back.
  near(tx("EPSG:32618", "EPSG:4326", [580735.87070326, 4504695.165218929, 0]), [-74.0445, 40.6892, 0], [1e-9, 1e-9, 0], "inverse");
  // A PROJ string in US survey feet gives the metric result divided by 1200/3937 m.
  near(
    tx("EPSG:4326", "+proj=utm +zone=18 +datum=WGS84 +units=us-ft +no_defs", [-74.0445, 40.6892, 0]),
    [(580735.87070326 * 3937) / 1200, (4504695.165218929 * 3937) / 1200],
    [1e-5, 1e-5],
    "us-ft",
  );
});

test("EPSG:2994 (Oregon Lambert, international feet; Autzen) -> geographic", () => {
  // Expected from `cs2cs -f %.11f EPSG:2994 EPSG:4152` (PROJ 9.1.1): NAD83(HARN) geographic, same datum, so the
  // projection inverse alone: lat 44.04990077106, lon -123.07338096771 for autzen_trim.las's min bound.
  near(tx("EPSG:2994", "EPSG:4152", [636001.76, 848935.2, 406.26]), [-123.07338096771, 44.04990077106], [1e-9, 1e-9], "4152");
  // To WGS 84, proj4 uses the EPSG entry's TOWGS84[0,0,0,...]; PROJ applies a ~1 m Helmert (NAD83(HARN) to WGS 84 (3))
  // giving lat 44.051550488, lon -123.068984944 for the max bound (`cs2cs EPSG:2994 EPSG:4326`): agree within 2e-5 deg.
  const p = tx("EPSG:2994", "EPSG:4326", [637179.22, 849497.9, 520.51]);
  near(p, [-123.06898494401, 44.05155048776], [2e-5, 2e-5], "4326");
  // No vertical CRS on either side: z converted from the source's feet to metres.
  assert.equal(p[2], 520.51 * 0.3048);
});

test("WGS 84 -> ECEF (EPSG:4978) and back", () => {
  // Expected from `cs2cs -f %.6f EPSG:4979 EPSG:4978` (PROJ 9.1.1) for 40.6892 N, 74.0445 W, 10 m.
  const expected = [1331342.737559, -4656590.638557, 4136319.918191];
  near(tx("EPSG:4979", "EPSG:4978", [-74.0445, 40.6892, 10]), expected, [1e-5, 1e-5, 1e-5], "4979");
  // 2D geographic with no vertical: heights taken as ellipsoidal.
  near(tx("EPSG:4326", "EPSG:4978", [-74.0445, 40.6892, 10]), expected, [1e-5, 1e-5, 1e-5], "4326");
  near(tx("EPSG:4978", "EPSG:4979", expected as [number, number, number]), [-74.0445, 40.6892, 10], [1e-9, 1e-9, 1e-5], "inverse");
  // Autzen feet -> ECEF: the same as going through metres by hand.
  const viaGeo = tx("EPSG:2994", "EPSG:4326", [636001.76, 848935.2, 406.26]);
  const direct = tx("EPSG:2994", "EPSG:4978", [636001.76, 848935.2, 406.26]);
  near(direct, tx("EPSG:4326", "EPSG:4978", viaGeo as [number, number, number]), [1e-6, 1e-6, 1e-6], "autzen ecef");
  assert.ok(Math.abs(Math.hypot(direct[0], direct[1], direct[2]) - 6.3675e6) < 1e4);
});

test("vertical datums: unsupported changes fail, identical ones keep heights", () => {
  const err = expectCrsError(() => createTransform(crs("EPSG:32618+5703"), crs("EPSG:4978")), "VerticalDatumUnsupported");
  assert.match(err.message, /NAVD88 height/);
  assert.match(err.message, /ellipsoidal/);
  expectCrsError(() => createTransform(crs("EPSG:4979"), crs("EPSG:4326+5703")), "VerticalDatumUnsupported");
  // NAVD88 -> EGM96 height (EPSG:5773): two different gravity datums.
  const e2 = expectCrsError(() => createTransform(crs("EPSG:32618+5703"), crs("EPSG:4326+5773")), "VerticalDatumUnsupported");
  assert.match(e2.message, /EGM96/);
  // Opt-out keeps the heights and says so.
  const t = createTransform(crs("EPSG:32618+5703"), crs("EPSG:4978"), { ignoreVerticalDatum: true });
  assert.ok(t.warnings.some((w) => /geoid/.test(w)));
  // Same datum (NAVD88), different units: heights only change unit.
  near(tx("EPSG:2994+6360", "EPSG:4326+5703", [636001.76, 848935.2, 1000]), [-123.07338096771, 44.04990077106, 1000 * (1200 / 3937)], [1e-9, 1e-9, 1e-9], "navd88 units");
  // No vertical on one side: heights unchanged.
  assert.equal(tx("EPSG:32618+5703", "EPSG:4326", [580735.87070326, 4504695.165218929, 33.25])[2], 33.25);
  // Identity.
  const id = createTransform(crs("EPSG:32618"), crs("32618"));
  assert.equal(id.identity, true);
});

test("WKT: LAS 1.4 WKT VLR of 1_4_w_evlr.las, WKT2 compound, WKT parser", () => {
  // Find the VLR by bytes: user id "LASF_Projection" then record id 2112; its data starts 54 bytes after the user id.
  const las = readFileSync(sharedData("pointcloud", "1_4_w_evlr.las"));
  let wkt: string | undefined;
  for (let i = las.indexOf("LASF_Projection"); i >= 0; i = las.indexOf("LASF_Projection", i + 1)) {
    if (las.readUInt16LE(i + 16) === 2112) {
      wkt = las.subarray(i + 52, i + 52 + las.readUInt16LE(i + 18)).toString("latin1");
      break;
    }
  }
  assert.ok(wkt, "WKT VLR found");
  const r = crs(wkt);
  assert.equal(r.horizontal?.epsg, 2903);
  assert.equal(r.horizontal?.kind, "projected");
  assert.equal(r.horizontal?.unitToMeter, 0.3048006096012192);
  assert.doesNotMatch(r.horizontal!.definition, /VERTCS/);
  assert.equal(r.vertical?.epsg, 5703);
  assert.equal(r.vertical?.datumAuthority, "EPSG:5103");
  // The VLR says UNIT["US survey foot",1.0]: the name wins, with a warning.
  assert.equal(r.vertical?.unitToMeter, 1200 / 3937);
  assert.equal(r.warnings.length, 1);
  // Expected from `cs2cs -f %.11f EPSG:2903 EPSG:4152` (PROJ 9.1.1) for the file's min bound.
  near(tx(wkt, "EPSG:4152", [1694038.45, 1816492.71, 5592.75]), [-106.06872991984, 35.99224862186], [1e-9, 1e-9], "wkt vlr");
  // Its NAVD88 heights in US feet to NAVD88 metres.
  near(tx(wkt, "EPSG:4269+5703", [1694038.45, 1816492.71, 5592.75]), [-106.06872991984, 35.99224862186, 5592.75 * (1200 / 3937)], [1e-9, 1e-9, 1e-9], "vlr heights");
  expectCrsError(() => createTransform(crs(wkt!), crs("EPSG:4978")), "VerticalDatumUnsupported");

  // WKT2 compound (datum given by name only) matches the EPSG compound's datum (given by code).
  const w2 = crs(WKT2_UTM18_NAVD88);
  assert.equal(w2.horizontal?.epsg, 32618);
  assert.equal(w2.vertical?.epsg, 5703);
  assert.equal(w2.vertical?.datumAuthority, undefined);
  near(tx(WKT2_UTM18_NAVD88, "EPSG:32618+5703", [580735.87070326, 4504695.165218929, 7]), [580735.87070326, 4504695.165218929, 7], [1e-6, 1e-6, 0], "wkt2");
  near(tx("EPSG:4326", WKT2_UTM18_NAVD88, [-74.0445, 40.6892, 0]), [580735.87070326, 4504695.165218929], [1e-6, 1e-6], "wkt2 fwd");
  expectCrsError(() => createTransform(crs(WKT2_UTM18_NAVD88), crs("EPSG:4978")), "VerticalDatumUnsupported");

  const node = parseWkt('A["x ""q""",1.5e3,B(EAST),C[]]');
  assert.deepEqual(node.args.slice(0, 2), ['x "q"', 1500]);
  assert.equal((node.args[2] as { keyword: string }).keyword, "B");
});

test("transformPositions: scaled integers decoded, columns transformed in place", () => {
  const t = createTransform(crs("EPSG:2994"), crs("EPSG:4152"));
  const positions = {
    kind: "i32" as const,
    x: new Int32Array([63600176]),
    y: new Int32Array([84893520]),
    z: new Int32Array([40626]),
    scale: [0.01, 0.01, 0.01] as const,
    offset: [0, 0, 0] as const,
  };
  const out = transformPositions(positions, 1, t);
  assert.equal(out.kind, "f64");
  near([out.x[0], out.y[0], out.z[0]], [-123.07338096771, 44.04990077106, 406.26 * 0.3048], [1e-9, 1e-9, 1e-9], "i32");
  // A point outside what the projection can take fails loudly instead of writing garbage.
  const bad = createTransform(crs("EPSG:4326"), crs("EPSG:32618"));
  const x = new Float64Array([0, -74]);
  const y = new Float64Array([95, 40]);
  assert.throws(() => bad.transform(x, y), (e: unknown) => e instanceof CrsError && e.code === "TransformFailed");
});
