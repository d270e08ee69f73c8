/**
 * `realconv convert` (the real binary, a child process with a time limit) from every point cloud of
 * shared/data/pointcloud to the streamable outputs, read back by independent readers: COPC by the `copc`
 * package (every hierarchy page, the root decoded by laz-perf), OPC by `@itwin/core-orbitgt` (level 0).
 * The points over the tree equal the input's; the bytes are the same with 1 and 2 threads.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { writeLasStream, type PointChunk, type PointSchema } from "@realconv/formats";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { CLI_PATH } from "../testing/harness.js";
import { fileBytes, inputCounts, readCopc, readOpc, readTileset } from "../testing/streamable.js";

const SAMPLES = readdirSync(sharedData("pointcloud")).filter((f) => /\.(las|laz|e57|ply|pts|xyz)$/i.test(f)).sort();

function convert(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, "convert", ...args], { env: { ...process.env, REALCONV_DATABASE_URL: "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`realconv convert ${args.join(" ")} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, err });
    });
  });
}

function outputs(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(ext))
    .sort();
}

const EXTENSION = { COPC: ".copc.laz", OPC: ".opc", "3DTilesPnts": "tileset.json", "3DTilesGlbc": "tileset.json" };

for (const format of ["COPC", "OPC", "3DTilesPnts", "3DTilesGlbc"] as const) {
  it(`every sample to ${format} through realconv convert`, { timeout: 900_000 }, async () => {
    const ext = EXTENSION[format];
    for (const sample of SAMPLES) {
      const out = mkdtempSync(join(tmpdir(), "realconv-tiling-"));
      try {
        const input = sharedData("pointcloud", sample);
        const r = await convert(["PointCloudConversion", input, "-f", format, "-o", out]);
        assert.equal(r.code, 0, `${sample}: ${r.err}`);
        const expected = await inputCounts(input);
        const files = outputs(out, ext);
        assert.equal(files.length, expected.length, `${sample}: one output per source`);
        let total = 0;
        for (const f of files) {
          const bytes = fileBytes(join(out, f));
          if (format === "COPC") {
            const c = await readCopc(bytes);
            assert.equal(c.nodeCount, c.headerCount, `${sample}: the nodes hold the header's count`);
            assert.ok(c.rootDecoded > 0 && c.rootInCube, `${sample}: the root decodes, inside the cube`);
            total += c.headerCount;
          } else if (format !== "OPC") {
            const t = await readTileset(out, f);
            assert.equal(t.version, format === "3DTilesPnts" ? "1.0" : "1.1");
            total += t.points;
          } else {
            const o = await readOpc(bytes);
            assert.ok(o.levelCount >= 2, `${sample}: at least 2 levels`);
            total += o.levels[0].pointCount;
          }
        }
        assert.equal(total, expected.reduce((a, b) => a + b, 0), `${sample}: every input point in the output`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
  });
}

it("the same bytes with 1 and 2 threads, merged inputs too (every file of a tileset)", { timeout: 300_000 }, async () => {
  const inputs = ["autzen_trim.laz", "1.2-with-color.las"].map((f) => sharedData("pointcloud", f));
  for (const format of ["COPC", "OPC", "3DTilesGlbc"] as const) {
    const hashes: string[] = [];
    for (const threads of ["1", "2"]) {
      const out = mkdtempSync(join(tmpdir(), "realconv-tiling-"));
      try {
        // A small memory budget splits the clouds into several chunks.
        const r = await convert(["PointCloudOptimization", ...inputs, "-f", format, "-o", out], { REALCONV_THREADS: threads, REALCONV_MEMORY_MB: "64" });
        assert.equal(r.code, 0, r.err);
        // Every file of the output, by name: a tileset's contents and subtree files too.
        const hash = createHash("sha256");
        const files = outputs(out, format === "COPC" ? ".copc.laz" : format === "OPC" ? ".opc" : "").filter((f) => statSync(join(out, f)).isFile());
        if (format === "3DTilesGlbc") assert.ok(files.some((f) => f.endsWith(".subtree")), "an implicit tileset");
        for (const f of files) hash.update(f).update(fileBytes(join(out, f)));
        hashes.push(hash.digest("hex"));
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    assert.equal(hashes[0], hashes[1], `${format}: same bytes whatever the thread count`);
  }
});

/** A LAS file of `n` points, all at one position when `same`. */
async function writeCloud(path: string, n: number, same: boolean): Promise<void> {
  const schema: PointSchema = { columns: ["intensity", "red", "green", "blue", "classification"], extra: [] };
  async function* cloud(): AsyncIterable<PointChunk> {
    if (n === 0) return;
    const x = new Int32Array(n), y = new Int32Array(n), z = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = same ? 100 : i % 1000;
      y[i] = same ? 100 : Math.floor(i / 1000);
      z[i] = same ? 5 : i % 7;
    }
    const red = new Uint16Array(n).fill(200);
    yield { count: n, positions: { kind: "i32", x, y, z, scale: [0.01, 0.01, 0.01], offset: [1000, 2000, 0] }, intensity: new Uint16Array(n), red, green: red, blue: red, classification: new Uint8Array(n).fill(2) };
  }
  await pipeline(Readable.from(writeLasStream({ schema, scale: [0.01, 0.01, 0.01], offset: [1000, 2000, 0] }, cloud)), createWriteStream(path));
}

it("an empty cloud, a single point and 200 000 duplicates of one point, to every format", { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "realconv-tiling-edge-"));
  try {
    for (const [name, n, same] of [["empty", 0, false], ["one", 1, false], ["duplicates", 200_000, true]] as const) {
      const input = join(dir, `${name}.las`);
      await writeCloud(input, n, same);
      for (const format of ["COPC", "OPC", "3DTilesPnts", "3DTilesGlbc"] as const) {
        const out = join(dir, `${name}-${format}`);
        const r = await convert(["PointCloudConversion", input, "-f", format, "-o", out]);
        assert.equal(r.code, 0, `${name} to ${format}: ${r.err}`);
        const count =
          format === "COPC"
            ? (await readCopc(fileBytes(join(out, `${name}.copc.laz`)))).nodeCount
            : format === "OPC"
              ? (await readOpc(fileBytes(join(out, `${name}.opc`)))).levels[0].pointCount
              : (await readTileset(out)).points;
        assert.equal(count, n, `${name} to ${format}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
