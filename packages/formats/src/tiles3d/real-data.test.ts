import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource } from "../io/byte-source.js";
import { positionAt } from "../pointcloud/chunk.js";
import { openLasOrLaz } from "../pointcloud/las/open.js";
import { unmatchedPoint } from "../testing/point-tiles.js";
import { sharedData } from "../testing/shared-data.js";
import type { PointTileContent } from "./content.js";
import { decodePointTile } from "./decode.js";
import { encodePointGlb } from "./glb.js";
import { encodePnts } from "./pnts.js";

/** A real airborne cloud (autzen_trim.las: RGB, intensity, classification, 1 cm scale) as one tile. */
async function autzenTile(): Promise<PointTileContent> {
  const name = "autzen_trim.las";
  const reader = await openLasOrLaz(bytesSource(new Uint8Array(readFileSync(sharedData("pointcloud", name))), name));
  const xyz: number[] = [];
  const rgb: number[] = [];
  const intensity: number[] = [];
  const classification: number[] = [];
  const p = new Float64Array(3);
  for await (const chunk of reader.chunks()) {
    for (let i = 0; i < chunk.count; i++) {
      positionAt(chunk.positions, i, p);
      xyz.push(p[0], p[1], p[2]);
      rgb.push(chunk.red![i] >> 8, chunk.green![i] >> 8, chunk.blue![i] >> 8);
      intensity.push(chunk.intensity![i]);
      classification.push(chunk.classification![i]);
    }
  }
  const count = intensity.length;
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  xyz.forEach((v, i) => {
    min[i % 3] = Math.min(min[i % 3], v);
    max[i % 3] = Math.max(max[i % 3], v);
  });
  const centre = [0, 1, 2].map((a) => (min[a] + max[a]) / 2) as [number, number, number];
  return {
    count,
    positions: Float32Array.from(xyz, (v, i) => v - centre[i % 3]),
    rtcCenter: centre,
    precision: 0.01,
    rgb: Uint8Array.from(rgb),
    intensity: Uint16Array.from(intensity),
    classification: Uint8Array.from(classification),
  };
}

describe("3D Tiles point contents from a real cloud", () => {
  it("keeps every point of autzen_trim.las in .pnts and GLB (sizes in the diagnostics)", async (t) => {
    const c = await autzenTile();
    assert.ok(c.count > 100_000);
    for (const [format, bytes] of [["pnts", encodePnts(c)], ["glb", await encodePointGlb(c)]] as const) {
      const d = await decodePointTile(bytes, `autzen.${format}`);
      assert.equal(d.count, c.count);
      t.diagnostic(`${format}: ${bytes.byteLength} bytes, ${(bytes.byteLength / c.count).toFixed(2)} bytes per point`);
      // Quantised: half a step (< 0.5 cm); float32 relative to the centre: well under 1 mm at this size.
      assert.equal(unmatchedPoint(c, d.positions, d, 0.005 + 1e-4), undefined, format);
    }
  });
});
