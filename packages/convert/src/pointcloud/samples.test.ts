/**
 * Every sample point cloud in shared/data/pointcloud opens by content, announces the point count of its
 * header (unless points may be dropped), yields that many points with the attributes SOURCES.md lists,
 * and a damaged copy of each fails with a message naming the file and a byte offset.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { FormatError } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { localInputFile } from "../host/local-io.js";
import { openSources, type SourceFormat } from "./sources.js";
import { memoryFile } from "../testing/memory-io.js";

/** From SOURCES.md: format, header counts per source (E57: per scan), points yielded, columns expected. */
const EXPECTED: Record<string, { format: SourceFormat; counts: (number | undefined)[]; yielded?: number; columns: string[] }> = {
  "1.2-with-color.las": { format: "LAS", counts: [1065], columns: ["gpsTime", "red", "green", "blue", "intensity", "classification"] },
  "autzen_trim.las": { format: "LAS", counts: [110_000], columns: ["gpsTime", "red"] },
  "autzen_trim.laz": { format: "LAZ", counts: [110_000], columns: ["gpsTime", "red"] },
  "epsg_4326.las": { format: "LAS", counts: [5380], columns: ["intensity", "classification"] },
  "mvk-thin.las": { format: "LAS", counts: [6280], columns: ["gpsTime"] },
  "1_4_w_evlr.las": { format: "LAS", counts: [1000], columns: ["gpsTime", "scannerChannel"] },
  "file_with_both_wkt_and_geotiff_vlrs.las": { format: "LAS", counts: [25_408], columns: ["gpsTime"] },
  "append-bug.laz": { format: "LAZ", counts: [37_805], columns: ["gpsTime", "red", "nir"] },
  "1.2-with-color.copc.laz": { format: "LAZ", counts: [1065], columns: ["gpsTime", "red"] },
  "indoor.laz": { format: "LAZ", counts: [808_042], columns: ["gpsTime", "red"] },
  // Records carrying an invalid state (here all valid) may be dropped: no count is announced before reading.
  "pumpAVisualReferenceImage.e57": { format: "E57", counts: [undefined], yielded: 155_201, columns: ["intensity", "red"] },
  "bunnyInt32.e57": { format: "E57", counts: [undefined], yielded: 30_571, columns: [] },
  "A_B.e57": { format: "E57", counts: [2, 4], columns: ["intensity", "red"] },
  // 180 of its 360 records are direction-only (no range): not points, so no count is announced.
  "tiny_spherical.e57": { format: "E57", counts: [undefined], yielded: 180, columns: [] },
  "fragment_002.ply": { format: "PLY", counts: [112_698], columns: ["red", "green", "blue"] },
  "train-1000.ply": { format: "PLY", counts: [1000], columns: ["normalX"] },
  "test.pts": { format: "PTS", counts: [19], columns: ["intensity", "red"] },
  "bunnyData.pts": { format: "PTS", counts: [30_571], columns: [] },
  "points_agisoft.xyz": { format: "XYZ", counts: [undefined], yielded: 100, columns: ["red"] },
};

it("every sample point cloud reads with its header's point count and attributes", async () => {
  const dir = sharedData("pointcloud");
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort(), "every sample is covered");
  for (const name of files) {
    const want = EXPECTED[name];
    const sources = await openSources(await localInputFile(`${dir}/${name}`, name));
    assert.deepEqual(sources.map((s) => s.format), want.counts.map(() => want.format), name);
    assert.deepEqual(sources.map((s) => s.pointCount), want.counts, name);
    let yielded = 0;
    for (const s of sources) {
      for (const c of want.columns) assert.ok(s.schema.columns.includes(c as never), `${name}: ${c} in ${s.schema.columns.join(",")}`);
      for await (const chunk of s.chunks(new AbortController().signal)) {
        yielded += chunk.count;
        for (const c of s.schema.columns) assert.equal((chunk as unknown as Record<string, ArrayLike<number>>)[c].length, chunk.count);
      }
    }
    assert.equal(yielded, want.yielded ?? want.counts.reduce((a, b) => a! + b!, 0), name);
  }
});

it("a truncated copy of each sample fails with a message naming the file and a byte offset, never a crash", async () => {
  const dir = sharedData("pointcloud");
  for (const name of Object.keys(EXPECTED)) {
    if (name === "indoor.laz") continue; // same code path as the other LAZ files, 8x their size
    const whole = new Uint8Array(readFileSync(`${dir}/${name}`));
    const cut = whole.subarray(0, Math.floor(whole.byteLength * 0.6));
    const failure = await (async () => {
      const sources = await openSources(memoryFile(cut, name));
      for (const s of sources) for await (const _ of s.chunks(new AbortController().signal)) void _;
      return undefined;
    })().catch((e: unknown) => e);
    assert.ok(failure instanceof Error, `${name}: a truncated copy must fail`);
    const message = (failure as Error).message + JSON.stringify((failure as { params?: unknown }).params ?? []);
    assert.ok(message.includes(name), `${name}: ${message}`);
    if (failure instanceof FormatError) assert.ok(failure.offset >= 0 && failure.offset <= whole.byteLength, `${name}: offset ${failure.offset}`);
    assert.match(message, /\d/, `${name}: names a byte offset or a line: ${message}`);
  }
});
