/**
 * `realconv convert ContextSceneTiler` (the real binary, a child process with a time limit) on generated
 * scene folders: BlocksExchange tie points in their own file become a point tileset holding every tie point
 * (the tileset checker), a ContextScene JSON's 3D objects become validated GLB boxes, one feature each; a
 * sample without tie points exits 1 saying so.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { annotatedScene, tiePointFile } from "@realconv/convert/testing/scenes";
import { checkTileset } from "@realconv/convert/testing/tileset-check";
import { CLI_PATH } from "../testing/harness.js";

const validator = createRequire(import.meta.url)("gltf-validator") as { validateBytes(b: Uint8Array): Promise<{ issues: { numErrors: number } }> };

function convert(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, "convert", "ContextSceneTiler", ...args], { env: { ...process.env, REALCONV_DATABASE_URL: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`realconv convert ContextSceneTiler ${args.join(" ")} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

it("convert ContextSceneTiler: tie points from a BlocksExchange folder, annotations from a ContextScene JSON, samples without them exit 1", async () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-scene-cli-"));
  try {
    const block = join(dir, "block");
    mkdirSync(block);
    const { xml, body } = tiePointFile(5000);
    writeFileSync(join(block, "Orientations.xml"), xml);
    writeFileSync(join(block, "CCOrientations - Tiepoints.xml"), body);
    const tie = await convert([block, "-o", join(dir, "tie"), "--object-to-tile", "TiePoints"]);
    assert.equal(tie.code, 0, tie.err);
    assert.match(tie.out, /root document tileset\.json/);
    const check = await checkTileset(join(dir, "tie"));
    assert.deepEqual(check.errors, []);
    assert.equal(check.points, 5000);

    const annotated = join(dir, "annotated");
    mkdirSync(annotated);
    const { json, objects } = annotatedScene(300, 4);
    writeFileSync(join(annotated, "ContextScene.json"), json);
    const ann = await convert([annotated, "-o", join(dir, "ann"), "--object-to-tile", "Annotations"]);
    assert.equal(ann.code, 0, ann.err);
    assert.match(ann.err + ann.out, /2D annotations/);
    let features = 0;
    const glbs = readdirSync(join(dir, "ann"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".glb"));
    for (const f of glbs) {
      const bytes = new Uint8Array(readFileSync(join(dir, "ann", f)));
      assert.equal((await validator.validateBytes(bytes)).issues.numErrors, 0, f);
      const jsonLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
      features += JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLength))).extensions.EXT_structural_metadata.propertyTables[0].count;
    }
    assert.equal(features, objects.length);

    const none = await convert([sharedData("contextscene", "OrientedPhotos/ContextScene.xml"), "-o", join(dir, "none"), "--object-to-tile", "TiePoints"]);
    assert.equal(none.code, 1);
    assert.match(none.err, /has no tie points to tile/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
