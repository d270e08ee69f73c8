import { describe, it } from "node:test";
import assert from "node:assert/strict";
import proj4 from "proj4";
import { boxFromBounds, buildExplicitTileset, ecefToGeodetic, encodeTilesetJson, enuToEcef, geodeticToEcef, multiplyMatrices, transformPoint } from "./tileset.js";

describe("tileset model", () => {
  it("places WGS84 positions in ECEF as proj4 does", () => {
    for (const [lon, lat, h] of [[0, 0, 0], [7.44, 46.95, 540], [-122.4, 37.8, -30], [151.2, -33.9, 1000]]) {
      const ours = geodeticToEcef(lon, lat, h);
      const theirs = proj4("EPSG:4326", "+proj=geocent +datum=WGS84 +units=m +no_defs", [lon, lat, h]) as number[];
      for (let a = 0; a < 3; a++) assert.ok(Math.abs(ours[a] - theirs[a]) < 1e-6, `${lon},${lat} axis ${a}`);
    }
  });

  it("inverts geodetic to ECEF", () => {
    for (const [lon, lat, h] of [[0, 0, 0], [7.44, 46.95, 540], [-122.4, 37.8, -30], [151.2, -33.9, 1000], [10, 89.9, 20], [-170, -70, 5000]]) {
      const [l, p, hh] = ecefToGeodetic(...geodeticToEcef(lon, lat, h));
      assert.ok(Math.abs((l * 180) / Math.PI - lon) < 1e-9 && Math.abs((p * 180) / Math.PI - lat) < 1e-9 && Math.abs(hh - h) < 1e-6, `${lon} ${lat} ${h}: ${l} ${p} ${hh}`);
    }
  });

  it("builds an ENU frame: x east, y north, z up, origin at the position", () => {
    const m = enuToEcef(7.44, 46.95, 540);
    const origin = geodeticToEcef(7.44, 46.95, 540);
    assert.deepEqual(transformPoint(m, [0, 0, 0]).map((v, a) => Math.abs(v - origin[a]) < 1e-6), [true, true, true]);
    // 100 m up lands 100 m higher on the ellipsoid normal; a few metres east moves the longitude only.
    const up = geodeticToEcef(7.44, 46.95, 640);
    transformPoint(m, [0, 0, 100]).forEach((v, a) => assert.ok(Math.abs(v - up[a]) < 1e-6));
    const east = transformPoint(m, [10, 0, 0]);
    const [lon, lat] = proj4("+proj=geocent +datum=WGS84 +units=m +no_defs", "EPSG:4326", east) as number[];
    assert.ok(lon > 7.44 && Math.abs(lat - 46.95) < 1e-6);
    // Orthonormal rotation.
    const r = [m.slice(0, 3), m.slice(4, 7), m.slice(8, 11)];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.ok(Math.abs(r[i].reduce((s, v, k) => s + v * r[j][k], 0) - (i === j ? 1 : 0)) < 1e-12);
    assert.deepEqual(multiplyMatrices([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], m), m);
  });

  it("writes an explicit tree with boxes and content URIs, deterministically", () => {
    const ts = buildExplicitTileset(
      { min: [0, 0, 0], max: [4, 2, 2], geometricError: 1, contentUri: "r.pnts", children: [{ min: [0, 0, 0], max: [2, 2, 2], geometricError: 0, contentUri: "r0.pnts" }] },
      { version: "1.0", refine: "ADD", transform: enuToEcef(0, 0, 0), generator: "realconv" },
    );
    assert.deepEqual(boxFromBounds([0, 0, 0], [4, 2, 2]).box, [2, 1, 1, 2, 0, 0, 0, 1, 0, 0, 0, 1]);
    assert.equal(ts.root.refine, "ADD");
    assert.equal(ts.root.children?.[0].content?.uri, "r0.pnts");
    assert.equal(ts.geometricError, 1);
    const text = new TextDecoder().decode(encodeTilesetJson(ts));
    assert.ok(text.startsWith('{"asset":{"version":"1.0","generator":"realconv"},"geometricError":1,"root":{"boundingVolume":{"box":[2,1,1,2,0,0,0,1,0,0,0,1]},"geometricError":1,"refine":"ADD","transform":['), text);
  });
});
