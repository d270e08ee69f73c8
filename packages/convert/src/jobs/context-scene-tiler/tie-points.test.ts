import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { decodePointTile, ecefToGeodetic } from "@realconv/formats";
import { ConversionError } from "../../contract/runner.js";
import { checkTileset } from "../../testing/tileset-check.js";
import { dataset, MemorySink, memoryFile, runInMemory } from "../../testing/memory-io.js";
import { blocksExchangeWithTiePoints, tiePointFile } from "../../testing/scenes.js";

const validator = createRequire(import.meta.url)("gltf-validator") as {
  validateBytes(bytes: Uint8Array): Promise<{ issues: { numErrors: number; messages: Array<{ code: string; severity: number }> } }>;
};

async function onDisk(sink: MemorySink): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "realconv-tiepoints-"));
  for (const [path, bytes] of sink.files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  return dir;
}

const input = (files: Array<[string, string]>) => ({ scene: [dataset("scene", files.map(([p, t]) => memoryFile(new TextEncoder().encode(t), p)), "ContextScene")] });

test("BlocksExchange tie points in UTM 18N: a GLB point tileset on the globe with every tie point once, coloured", async () => {
  const n = 60_000;
  const { xml, positions } = blocksExchangeWithTiePoints(n, { srs: "EPSG:32618", colour: true });
  const sink = new MemorySink();
  const { warnings } = await runInMemory("ContextSceneTiler", input([["Orientations.xml", xml]]), { objectToTile: "TiePoints" }, { sink });
  assert.equal(sink.root, "tileset.json");
  assert.equal(sink.crs, "EPSG:32618");
  const e = sink.extent!;
  assert.ok(e.southWest.longitude > -76 && e.northEast.longitude < -74 && e.southWest.latitude > 40 && e.northEast.latitude < 41.5, JSON.stringify(e));
  assert.deepEqual(warnings, []);
  const dir = await onDisk(sink);
  try {
    const check = await checkTileset(dir, { collectPositions: true });
    assert.deepEqual(check.errors, []);
    assert.equal(check.points, n, "tie points over the tree");
    assert.ok(check.contents > 1, `${check.contents} tiles`);
    // The points on the globe where the scene puts them (ECEF back to degrees: UTM 18N around 74 W, 40.7 N).
    for (let i = 0; i < n; i += 997) {
      const [lon, lat, h] = ecefToGeodetic(check.positions![3 * i], check.positions![3 * i + 1], check.positions![3 * i + 2]);
      const [lonDeg, latDeg] = [(lon * 180) / Math.PI, (lat * 180) / Math.PI];
      assert.ok(lonDeg > -74.1 && lonDeg < -73.9 && latDeg > 40.6 && latDeg < 40.8 && h > 0 && h < 50, `${lonDeg} ${latDeg} ${h}`);
    }
    const glbs = [...sink.files.keys()].filter((k) => k.endsWith(".glb"));
    for (const g of glbs) {
      const report = await validator.validateBytes(sink.files.get(g)!);
      assert.equal(report.issues.numErrors, 0, `${g}: ${JSON.stringify(report.issues.messages.filter((m) => m.severity === 0))}`);
    }
    const tile = await decodePointTile(sink.files.get(glbs[0])!, glbs[0]);
    assert.ok(tile.rgb && tile.rgb.length === 3 * tile.count, "colours kept");
    assert.equal(positions.length, 3 * n);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("outputCrs reprojects the tie points; a scene without SRS stays local with a warning", async () => {
  const { xml } = blocksExchangeWithTiePoints(500, { srs: "EPSG:32618", colour: false });
  const sink = new MemorySink();
  await runInMemory("ContextSceneTiler", input([["Orientations.xml", xml]]), { objectToTile: "TiePoints", outputCrs: "EPSG:32617" }, { sink });
  assert.equal(sink.crs, "EPSG:32617");
  const local = blocksExchangeWithTiePoints(500, { srs: undefined, colour: true });
  const localSink = new MemorySink();
  const run = await runInMemory("ContextSceneTiler", input([["Orientations.xml", local.xml]]), { objectToTile: "TiePoints" }, { sink: localSink });
  assert.ok(run.warnings.some((w) => /local coordinates/.test(w.message)), JSON.stringify(run.warnings));
  assert.equal(localSink.crs, undefined);
  const dir = await onDisk(localSink);
  try {
    const check = await checkTileset(dir);
    assert.deepEqual(check.errors, []);
    assert.equal(check.points, 500);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tie points in the file <TiePoints><Path> names; a missing file fails naming it", async () => {
  const { xml, body } = tiePointFile(70_000);
  const sink = new MemorySink();
  await runInMemory("ContextSceneTiler", input([["block/Orientations.xml", xml], ["block/CCOrientations - Tiepoints.xml", body]]), { objectToTile: "TiePoints" }, { sink });
  const dir = await onDisk(sink);
  try {
    const check = await checkTileset(dir);
    assert.deepEqual(check.errors, []);
    assert.equal(check.points, 70_000, "every tie point of the file, streamed in several batches");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await assert.rejects(
    runInMemory("ContextSceneTiler", input([["block/Orientations.xml", xml]]), { objectToTile: "TiePoints" }),
    (e: unknown) => e instanceof ConversionError && e.code === "InputData_Invalid" && e.params[0] === "CCOrientations - Tiepoints.xml" && /not in its reality data/.test(e.message),
  );
});

test("a tie point path through the scene's references: a folder of the reality data, or another reality data (refused, naming it)", async () => {
  const { body } = tiePointFile(300);
  const scene = (reference: string) =>
    `<ContextScene version="4.0"><PhotoCollection><TiePoints><Path>0:tie.xml</Path></TiePoints></PhotoCollection><References><Reference id="0"><Path>${reference}</Path></Reference></References></ContextScene>`;
  const sink = new MemorySink();
  await runInMemory("ContextSceneTiler", input([["scene/ContextScene.xml", scene("points")], ["scene/points/tie.xml", body]]), { objectToTile: "TiePoints" }, { sink });
  const dir = await onDisk(sink);
  try {
    assert.equal((await checkTileset(dir)).points, 300);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const rds = "rds:1a043cb1-c8d8-4af9-9b3a-10ba8cd47800";
  await assert.rejects(
    runInMemory("ContextSceneTiler", input([["ContextScene.xml", scene(rds)]]), { objectToTile: "TiePoints" }),
    (e: unknown) => e instanceof ConversionError && e.params[1] === rds && /another reality data/.test(e.message),
  );
});
