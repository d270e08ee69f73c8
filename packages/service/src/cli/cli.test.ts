/**
 * The realconv command: help everywhere, tokens, iTwins, and a local conversion with its exit codes.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { mulberry32 } from "@realconv/formats/testing/prng";
import { declarations, optionFlag, registry } from "@realconv/convert";
import { compareWithGdal, inParallel, ogrAllLayers, skipWithoutGdal, vectorSamples } from "@realconv/convert/testing/vector";
import { CLI_PATH } from "../testing/harness.js";
import { readCloud } from "../testing/points.js";

/** Runs the real binary with a time limit: a command that does not exit by then fails the test. */
function run(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], {
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
    env: { ...process.env, REALCONV_DATABASE_URL: "", ...env },
  });
  assert.equal(r.signal, null, `realconv ${args.join(" ")} did not exit within ${timeoutMs} ms`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

it("--help on every command", () => {
  const remote = [["submit"], ["jobs"], ["jobs", "list"], ["jobs", "wait"], ["data"], ["data", "upload"], ["data", "download"]];
  for (const args of [[], ["serve"], ["worker"], ["token"], ["itwins"], ["itwins", "create"], ["itwins", "add-member"], ["convert"], ...remote]) {
    const r = run([...args, "--help"]);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.out, /Usage: realconv/);
  }
});

it("token and itwins work on a home folder", () => {
  const home = mkdtempSync(join(tmpdir(), "realconv-cli-"));
  try {
    const t = run(["token", "--email", "Eve@Example.com", "--home", home]);
    assert.equal(t.code, 0, t.err);
    const claims = decodeJwt(t.out.trim());
    assert.equal(claims.email, "eve@example.com");
    assert.match(String(claims.scope), /itwin-platform/);
    const c = run(["itwins", "create", "--name", "Site", "--home", home]);
    assert.equal(c.code, 0, c.err);
    const id = c.out.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(run(["itwins", "add-member", id, "eve@example.com", "--home", home]).code, 0);
    assert.match(run(["itwins", "list", "--email", "eve@example.com", "--home", home]).out, new RegExp(id));
    const missing = run(["itwins", "add-member", "00000000-0000-0000-0000-000000000000", "eve@example.com", "--home", home]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^realconv: no iTwin/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

it("convert runs a conversion locally; a bad input exits 1 with a one-line reason", async () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-convert-"));
  try {
    const src = sharedData("pointcloud", "autzen_trim.laz");
    const ok = run(["convert", "PointCloudConversion", src, "-o", join(dir, "out"), "--format", "LAS"]);
    assert.equal(ok.code, 0, ok.err);
    const files = readdirSync(join(dir, "out"));
    assert.equal(files.length, 1);
    const out = await readCloud(new Uint8Array(readFileSync(join(dir, "out", files[0]))));
    const expected = await readCloud(new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.las"))));
    assert.deepEqual(out.xyz, expected.xyz);

    const junk = join(dir, "junk.las");
    writeFileSync(junk, "not a point cloud at all");
    const bad = run(["convert", "PointCloudConversion", junk, "-o", join(dir, "bad"), "--format", "LAS"]);
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split("\n").length, 1, bad.err);
    assert.match(bad.err, /^realconv: .*junk\.las/);

    // 4 KiB overwritten in the middle of a LAZ: exit 1 naming the file and the chunk, and no file left behind.
    const damaged = new Uint8Array(readFileSync(src));
    const random = mulberry32(7);
    for (let i = 0; i < 4096; i++) damaged[(damaged.length >> 1) + i] = Math.floor(random() * 256);
    writeFileSync(join(dir, "damaged.laz"), damaged);
    for (const format of ["LAS", "LAZ", "E57"]) {
      const out = join(dir, `damaged-${format}`);
      const r = run(["convert", "PointCloudConversion", join(dir, "damaged.laz"), "-o", out, "--format", format]);
      assert.equal(r.code, 1, `${format}: ${r.out}`);
      assert.match(r.err, /^realconv: .*damaged\.laz: LAZ chunk \d+ is corrupt.*at byte \d+/m);
      assert.deepEqual(readdirSync(out), [], `${format}: nothing written`);
    }

    const opt = run(["convert", "TileMapOptimization", junk, "-o", join(dir, "t"), "--format", "XYZTileMap", "--jpg-quality", "5"]);
    assert.equal(opt.code, 1);
    assert.match(opt.err, /jpgQuality/);
    const unsupported = run(["convert", "PointCloudConversion", src, "-o", join(dir, "p"), "--format", "POD"]);
    assert.equal(unsupported.code, 1);
    assert.match(unsupported.err, /not supported/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("convert TileMapOptimization makes an XYZ pyramid of every shared raster; a damaged one exits 1 naming it", () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-tiles-"));
  try {
    const cases: [string, string[]][] = [
      ["RGB.byte.tif", []],
      ["world.rgb.tif", []],
      ["cogeo.tif", ["--image-format", "PNG"]],
      ["wf_100m_klas.tif", ["--image-format", "PNG", "--background-color", "#000080"]],
      ["autzen-jpg", ["--input-crs", "EPSG:2994", "--bottom-level", "16"]],
    ];
    for (const [name, options] of cases) {
      const out = join(dir, name);
      const r = run(["convert", "TileMapOptimization", sharedData("raster", name), "-o", out, "--format", "XYZTileMap", ...options], {}, 120_000);
      assert.equal(r.code, 0, `${name}: ${r.err}`);
      const doc = JSON.parse(readFileSync(join(out, "tilemap.json"), "utf8"));
      assert.equal(doc.tilejson, "3.0.0");
      const ext = options.includes("PNG") ? "png" : "jpg";
      assert.deepEqual(doc.tiles, [`{z}/{x}/{y}.${ext}`]);
      for (let z = doc.minzoom; z <= doc.maxzoom; z++) {
        const columns = readdirSync(join(out, String(z)));
        assert.ok(columns.length > 0, `${name}: level ${z}`);
        assert.ok(readdirSync(join(out, String(z), columns[0])).every((f) => f.endsWith(`.${ext}`)));
      }
    }
    const cut = join(dir, "cut.tif");
    writeFileSync(cut, readFileSync(sharedData("raster", "cogeo.tif")).subarray(0, 150_000));
    const bad = run(["convert", "TileMapOptimization", cut, "-o", join(dir, "bad"), "--format", "XYZTileMap"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^realconv: The file .*cut\.tif could not be read at byte \d+: .*truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("convert --help lists every job type, its formats and every option with its default", () => {
  const r = run(["convert", "--help"]);
  assert.equal(r.code, 0);
  for (const d of declarations) {
    assert.match(r.out, new RegExp(`\\b${d.type}\\b`));
    for (const [key, decl] of Object.entries(d.options)) {
      assert.ok(r.out.includes(optionFlag(key)), `${optionFlag(key)} in help`);
      if ("default" in decl && decl.default !== undefined) assert.ok(r.out.includes(`${key}=${String(decl.default)}`), `${key} default`);
    }
    for (const f of Object.keys(d.outputFormats ?? {})) assert.ok(r.out.includes(f), `${d.type} ${f}`);
  }
});

it("convert exits, with code 0 and its files written, for every format this server produces", () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-formats-"));
  try {
    // A sample input per job type (point clouds by default); tile pyramids are many files under one root document.
    const samples: Record<string, string> = {
      TileMapOptimization: sharedData("raster", "cogeo.tif"),
      VectorOptimization: sharedData("vector", "trio.geojson"),
      MeshSampling: sharedData("mesh", "Box.glb"),
      ContextSceneTiler: sharedData("contextscene", "OrientedPhotos"),
    };
    for (const entry of registry) {
      const src = samples[entry.declaration.type] ?? sharedData("pointcloud", "1.2-with-color.las");
      for (const format of entry.produces) {
        for (const threads of ["1", "2"]) {
          const out = join(dir, `${entry.declaration.type}-${format}-${threads}`);
          const r = run(["convert", entry.declaration.type, src, "-o", out, "--format", format], { REALCONV_THREADS: threads }, 30_000);
          assert.equal(r.code, 0, `${entry.declaration.type} ${format}: ${r.err}`);
          if (entry.declaration.type === "TileMapOptimization") assert.match(r.out, /^wrote \d+ file\(s\) .*\(root document tilemap\.json\)/);
          else {
            const written = Number(/^wrote (\d+) file/.exec(r.out)?.[1]);
            assert.ok(written >= 1, r.out);
            const files = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
            assert.equal(files.length, written);
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("convert ContextSceneTiler writes the cameras tileset; a scene without annotations exits 1 saying so", () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-scene-"));
  try {
    const scene = sharedData("contextscene", "OrientedPhotos/ContextScene.xml");
    const ok = run(["convert", "ContextSceneTiler", scene, "-o", join(dir, "out"), "--object-to-tile", "Cameras"], {}, 30_000);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /root document tileset\.json/);
    const tileset = JSON.parse(readFileSync(join(dir, "out", "tileset.json"), "utf8"));
    assert.equal(tileset.asset.version, "1.1");
    const none = run(["convert", "ContextSceneTiler", scene, "-o", join(dir, "t"), "--object-to-tile", "Annotations"], {}, 30_000);
    assert.equal(none.code, 1);
    assert.match(none.err, /has no annotations to tile/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("convert turns every shared vector sample into GeoJSON as ogr2ogr reads it, and into FeatureDB", { skip: skipWithoutGdal() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-vectors-"));
  try {
    const samples = vectorSamples();
    const gdal = await inParallel(samples.map((sm) => () => ogrAllLayers(sm.ogrPath)));
    for (const [i, sm] of samples.entries()) {
      const out = join(dir, `${sm.name}-geojson`);
      const r = run(["convert", "VectorOptimization", sm.input, "-o", out, "--format", "GeoJSON"], {}, 30_000);
      assert.equal(r.code, 0, `${sm.name}: ${r.err}`);
      compareWithGdal(sm.name, JSON.parse(readFileSync(join(out, "features.geojson"), "utf8")).features, gdal[i]);
      const fdb = join(dir, `${sm.name}-fdb`);
      const f = run(["convert", "VectorOptimization", sm.input, "-o", fdb, "--format", "FeatureDB", "--feature-class-display-name", "Roads"], {}, 30_000);
      assert.equal(f.code, 0, `${sm.name}: ${f.err}`);
      assert.deepEqual(readdirSync(fdb).sort(), ["featuredb.json", "features.fgb"]);
      const manifest = JSON.parse(readFileSync(join(fdb, "featuredb.json"), "utf8"));
      assert.equal(manifest.collections[0].title, "Roads");
      assert.equal(manifest.collections[0].featureCount, gdal[i].reduce((n, l) => n + l.features.length, 0), sm.name);
    }
    const bad = join(dir, "bad.geojson");
    writeFileSync(bad, '{"type":"FeatureCollection","features":[');
    const b = run(["convert", "VectorOptimization", bad, "-o", join(dir, "bad"), "--format", "GeoJSON"]);
    assert.equal(b.code, 1);
    assert.match(b.err, /^realconv: .*bad\.geojson/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
