/**
 * `realconv convert MeshSampling` (the real binary, a child process with a time limit) on every mesh of the
 * shared data at two spacings: the point count is within 10 % of area / d^2, every point has a neighbour
 * within 2d, every surface point (away from open borders) has a sample within 1.5d, the LAS and LAZ outputs
 * read back; the streamable outputs (COPC, OPC, 3D Tiles) hold the same points as the LAS output; a damaged
 * mesh exits 1 naming it.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesSource, openLasOrLaz, positionAt } from "@realconv/formats";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { localInputDataset } from "@realconv/convert/host/local-io";
import { openMeshInputs } from "@realconv/convert/mesh/sources";
import { meshTriangles, PointGrid, widestGap } from "@realconv/convert/mesh/surface-check";
import { CLI_PATH } from "../testing/harness.js";
import { fileBytes, readCopc, readOpc, readTileset } from "../testing/streamable.js";

function run(args: string[], timeoutMs = 120_000) {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL", env: { ...process.env, REALCONV_DATABASE_URL: "" } });
  assert.equal(r.signal, null, `realconv ${args.join(" ")} did not exit within ${timeoutMs} ms`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function readXyz(path: string): Promise<Float64Array> {
  const r = await openLasOrLaz(bytesSource(new Uint8Array(readFileSync(path)), path));
  const xyz = new Float64Array(r.pointCount * 3);
  const t = new Float64Array(3);
  let i = 0;
  for await (const c of r.chunks()) for (let k = 0; k < c.count; k++, i++) {
    positionAt(c.positions, k, t);
    xyz.set(t, i * 3);
  }
  assert.equal(i, r.pointCount);
  return xyz;
}

const MESHES = ["fuze", "autzen-obj", "fuze.ply", "bunny.ply", "ankylosaurus_mesh.ply", "Box.glb", "Box-embedded.gltf", "CesiumMilkTruck.glb", "2CylinderEngine.glb"];

it("every shared mesh samples at two spacings with area / d^2 points and no gaps", async () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-mesh-"));
  try {
    for (const name of MESHES) {
      const path = sharedData("mesh", name);
      const [input] = await openMeshInputs([await localInputDataset(path, "OBJ")], new AbortController().signal);
      const mesh = await meshTriangles(input.reader);
      // About 3 000 and 25 000 points, LAS then LAZ.
      for (const [target, format] of [[3_000, "LAS"], [25_000, "LAZ"]] as const) {
        const d = Number(Math.sqrt(mesh.area / target).toPrecision(2));
        const out = join(dir, `${name}-${target}`);
        const r = run(["convert", "MeshSampling", path, "-o", out, "--format", format, "--sampling", String(d)]);
        assert.equal(r.code, 0, `${name}: ${r.err}`);
        const file = join(out, `merged.${format.toLowerCase()}`);
        assert.ok(statSync(file).size > 0);
        const xyz = await readXyz(file);
        const count = xyz.length / 3;
        const expected = mesh.area / (d * d);
        assert.ok(Math.abs(count / expected - 1) < 0.1, `${name} d=${d}: ${count} points, area / d^2 = ${expected.toFixed(0)}`);
        // Nearest-neighbour spacing: no point without a neighbour within 2d.
        const grid = new PointGrid(xyz, d);
        let lonely = 0;
        for (let i = 0; i < count; i++) if (grid.nearest(xyz[i * 3], xyz[i * 3 + 1], xyz[i * 3 + 2], 2, i) > 2 * d) lonely++;
        assert.equal(lonely, 0, `${name} d=${d}: ${lonely} points without a neighbour within 2d`);
        // Coverage: surface points (away from open borders) lie within 1.5d of a sample; 99 % within 0.9d.
        const gap = widestGap(mesh, xyz, d, 4000);
        assert.ok(gap.maxDistance <= 1.5 * d, `${name} d=${d}: a surface point ${(gap.maxDistance / d).toFixed(2)}d from the nearest sample`);
        assert.ok(gap.quantile99 <= 0.9 * d, `${name} d=${d}: 99th percentile ${(gap.quantile99 / d).toFixed(2)}d`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("a textured mesh samples into COPC, OPC and 3D Tiles with the LAS output's point count", async () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-mesh-tiled-"));
  try {
    const path = sharedData("mesh", "CesiumMilkTruck.glb");
    const sampling = ["--sampling", "0.02"];
    const las = run(["convert", "MeshSampling", path, "-o", join(dir, "las"), "--format", "LAS", ...sampling]);
    assert.equal(las.code, 0, las.err);
    const points = (await readXyz(join(dir, "las", "merged.las"))).length / 3;
    assert.ok(points > 10_000, `${points} points`);
    for (const format of ["COPC", "OPC", "3DTilesPnts", "3DTilesGlbc"]) {
      const out = join(dir, format);
      const r = run(["convert", "MeshSampling", path, "-o", out, "--format", format, ...sampling]);
      assert.equal(r.code, 0, `${format}: ${r.err}`);
      let count: number;
      if (format === "COPC") {
        const c = await readCopc(fileBytes(join(out, "merged.copc.laz")));
        assert.equal(c.nodeCount, c.headerCount);
        assert.ok(c.rootDecoded > 0 && c.rootInCube);
        count = c.headerCount;
      } else if (format === "OPC") {
        const o = await readOpc(fileBytes(join(out, "merged.opc")));
        assert.ok(o.levelCount >= 2);
        count = o.levels[0].pointCount;
      } else {
        const t = await readTileset(out);
        assert.equal(t.version, format === "3DTilesPnts" ? "1.0" : "1.1");
        count = t.points;
      }
      assert.equal(count, points, `${format}: the same points as the LAS output`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("a damaged mesh exits 1 with a one-line reason naming it", () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-mesh-bad-"));
  try {
    const bad = join(dir, "cut.ply");
    writeFileSync(bad, readFileSync(sharedData("mesh", "bunny.ply")).subarray(0, 300_000));
    const r = run(["convert", "MeshSampling", bad, "-o", join(dir, "out"), "--format", "LAS", "--sampling", "0.01"]);
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, /^realconv: .*cut\.ply/);
    const pod = run(["convert", "MeshSampling", sharedData("mesh", "Box.glb"), "-o", join(dir, "t"), "--format", "POD"]);
    assert.equal(pod.code, 1);
    assert.match(pod.err, /not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
