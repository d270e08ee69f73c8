/**
 * The remote commands, as the real binary (a child process with a time limit) against a running server:
 * `submit` from files to a downloaded output, the server's 422 for a format it does not produce, and the
 * `jobs` and `data` commands.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { entryOf, formatsOf } from "@realconv/convert";
import { createClient } from "@realconv/sdk";
import { CLI_PATH, startTestServer, type TestServer } from "../testing/harness.js";
import { readCloud } from "../testing/points.js";

/** A format `submit` is tested with that the server produces (3D Tiles have their own test below). */
const SUBMIT_FORMAT = "LAZ";
const TYPE = "PointCloudConversion";
/** A declared format the server refuses with 422: 3DTilesPnts while it is not produced, else another such one. */
const REFUSED_FORMAT = (() => {
  const entry = entryOf(TYPE)!;
  const refused = formatsOf(entry.declaration).filter((f) => !entry.produces.includes(f));
  return refused.includes("3DTilesPnts") ? "3DTilesPnts" : refused[0];
})();

/**
 * The content files of a 3D Tiles tileset, following external tilesets: checks the structure the
 * specification requires on the way (asset version, geometric errors, bounding volumes, files present).
 */
function readTileset(path: string): string[] {
  assert.ok(existsSync(path), `${path} exists`);
  const tileset = JSON.parse(readFileSync(path, "utf8")) as { asset?: { version?: string }; geometricError?: unknown; root?: Tile };
  assert.match(String(tileset.asset?.version), /^1\.[01]$/, `${path}: asset.version`);
  assert.equal(typeof tileset.geometricError, "number", `${path}: geometricError`);
  assert.ok(tileset.root, `${path}: root`);
  const contents: string[] = [];
  const visit = (tile: Tile) => {
    assert.equal(typeof tile.geometricError, "number", `${path}: a tile's geometricError`);
    assert.ok(tile.boundingVolume && ("box" in tile.boundingVolume || "region" in tile.boundingVolume || "sphere" in tile.boundingVolume), `${path}: a tile's boundingVolume`);
    for (const c of [tile.content, ...(tile.contents ?? [])]) {
      if (!c) continue;
      const file = join(dirname(path), ...decodeURIComponent(c.uri ?? c.url ?? "").split("/"));
      if (file.endsWith(".json")) contents.push(...readTileset(file));
      else contents.push(file);
    }
    for (const child of tile.children ?? []) visit(child);
  };
  visit(tileset.root);
  return contents;
}

interface Tile {
  geometricError?: unknown;
  boundingVolume?: Record<string, unknown>;
  content?: { uri?: string; url?: string };
  contents?: { uri?: string; url?: string }[];
  children?: Tile[];
}

/** POINTS_LENGTH of a .pnts tile, after checking its header and that its feature table holds the positions. */
function pntsPointCount(file: string): number {
  const bytes = readFileSync(file);
  assert.equal(bytes.toString("latin1", 0, 4), "pnts", `${file}: magic`);
  assert.equal(bytes.readUInt32LE(4), 1, `${file}: version`);
  assert.equal(bytes.readUInt32LE(8), bytes.byteLength, `${file}: byteLength`);
  const jsonLength = bytes.readUInt32LE(12);
  const binaryLength = bytes.readUInt32LE(16);
  assert.ok(28 + jsonLength + binaryLength <= bytes.byteLength, `${file}: feature table inside the file`);
  const table = JSON.parse(bytes.toString("utf8", 28, 28 + jsonLength)) as Record<string, { byteOffset?: number } | number | undefined>;
  const count = table.POINTS_LENGTH;
  assert.ok(typeof count === "number" && Number.isInteger(count) && count > 0, `${file}: POINTS_LENGTH`);
  const position = (table.POSITION ?? table.POSITION_QUANTIZED) as { byteOffset?: number } | undefined;
  assert.ok(position && typeof position.byteOffset === "number", `${file}: POSITION or POSITION_QUANTIZED`);
  const stride = table.POSITION ? 12 : 6;
  assert.ok(position.byteOffset + count * stride <= binaryLength, `${file}: positions inside the feature table`);
  return count;
}

/** Runs the real binary without blocking this process (the server answers from it); killed past the time limit. */
function run(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI_PATH, ...args],
      { timeout: timeoutMs, killSignal: "SIGKILL", env: { ...process.env, REALCONV_TOKEN: "", REALCONV_SERVER: "", ...env } },
      (error, stdout, stderr) => {
        if (error && error.killed) return reject(new Error(`realconv ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stderr}`));
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, out: stdout, err: stderr });
      },
    );
  });
}

describe("realconv submit, jobs and data against a server", () => {
  let s: TestServer;
  let remote: string[];
  const email = "cli@example.com";
  const tmp = mkdtempSync(join(tmpdir(), "realconv-remote-"));
  const source = sharedData("pointcloud", "autzen_trim.laz");

  before(async () => {
    s = await startTestServer({ workers: 1 });
    remote = ["--server", s.url, "--home", s.config.home, "--email", email];
  });
  after(async () => {
    await s.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(`submit turns autzen_trim.laz into a downloaded ${SUBMIT_FORMAT} output`, async () => {
    const out = join(tmp, "out");
    const r = await run(["submit", TYPE, source, "--format", SUBMIT_FORMAT, "-o", out, ...remote]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^job [0-9a-f-]{36} created/m);
    assert.match(r.out, /^job [0-9a-f-]{36} Success$/m);
    const written = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.ok(written.length >= 1, "files downloaded");
    assert.match(r.out, new RegExp(`wrote ${written.length} file\\(s\\) to`));
    assert.ok(!written.some((e) => e.name.endsWith(".partial")));

    // The folder holds exactly the output reality data, byte for byte.
    const token = await s.token(email);
    const client = createClient({ baseUrl: s.url, getToken: () => token });
    const jobId = /^job ([0-9a-f-]{36}) Success$/m.exec(r.out)![1];
    const job = await client.jobs.get(jobId);
    const output = await client.realityData.get(job.specifications.output);
    for await (const f of client.realityData.files(output.id)) {
      const local = readFileSync(join(out, ...f.name.split("/")));
      assert.ok(Buffer.from(await (await client.realityData.readFile(f)).arrayBuffer()).equals(local), f.name);
    }
    if (output.rootDocument) assert.ok(readFileSync(join(out, output.rootDocument)).byteLength > 0, "root document downloaded");
    if (SUBMIT_FORMAT === "LAZ") {
      const [file] = written;
      const got = await readCloud(new Uint8Array(readFileSync(join(file.parentPath, file.name))), file.name);
      const expected = await readCloud(new Uint8Array(readFileSync(source)), "autzen_trim.laz");
      assert.deepEqual(got.xyz, expected.xyz);
    }
  });

  it(
    "submit turns autzen_trim.laz into a downloaded 3D Tiles (3DTilesPnts) folder holding every point once",
    async () => {
      const out = join(tmp, "tiles");
      const r = await run(["submit", TYPE, source, "--format", "3DTilesPnts", "-o", out, ...remote], {}, 120_000);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^job [0-9a-f-]{36} Success$/m);
      const files = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      assert.ok(!files.some((e) => e.name.endsWith(".partial")));
      const tiles = readTileset(join(out, "tileset.json"));
      assert.ok(tiles.length > 0, "the tileset has content");
      let points = 0;
      for (const file of tiles) points += pntsPointCount(file);
      const expected = await readCloud(new Uint8Array(readFileSync(source)), "autzen_trim.laz");
      assert.equal(points, expected.count, "every point of the source, each in one tile");
    },
  );

  it(`submit --format ${REFUSED_FORMAT} answers the server's 422 in one line and leaves no input behind`, async () => {
    const before = await dataIds();
    const r = await run(["submit", TYPE, source, "--format", REFUSED_FORMAT, "-o", join(tmp, "refused"), ...remote]);
    assert.equal(r.code, 1);
    const lines = r.err.trim().split("\n");
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /^realconv: .*HTTP 422.*UnsupportedFormat/);
    assert.ok(lines[0].includes(REFUSED_FORMAT), lines[0]);
    assert.deepEqual(await dataIds(), before, "the uploaded input was deleted");
  });

  it("submit checks options before uploading; a failed job exits 1 with its messages", async () => {
    const bad = await run(["submit", TYPE, source, "--format", "LAZ", "--output-crs", "EPSG:999999", ...remote]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /outputCrs/);
    const junk = join(tmp, "junk.las");
    await import("node:fs/promises").then((fs) => fs.writeFile(junk, "not a point cloud"));
    const failed = await run(["submit", TYPE, junk, "--format", "LAS", ...remote]);
    assert.equal(failed.code, 1);
    assert.match(failed.out, /Failed$/m);
    assert.match(failed.err, /^error: .*junk\.las/m);
    const noToken = await run(["submit", TYPE, source, "--format", "LAS", "--server", s.url, "--itwin", "00000000-0000-0000-0000-000000000000"]);
    assert.equal(noToken.code, 1);
    assert.match(noToken.err, /no token/);
  });

  it("jobs list, get, cancel, wait and data list, upload, download", async () => {
    const list = await run(["jobs", "list", ...remote]);
    assert.equal(list.code, 0, list.err);
    const rows = list.out.trim().split("\n").map((l) => l.split("\t"));
    assert.ok(rows.length >= 2, list.out);
    const [id] = rows[0];
    const top = await run(["jobs", "list", "--top", "1", "--filter", "state eq 'Success'", ...remote]);
    assert.equal(top.out.trim().split("\n").length, 1);
    assert.equal(top.out.split("\t")[1], "Success");
    const got = await run(["jobs", "get", id, ...remote]);
    assert.equal(JSON.parse(got.out).id, id);
    const cancelled = await run(["jobs", "cancel", id, ...remote]);
    assert.match(cancelled.out, new RegExp(`^job ${id} (Success|Failed|Cancelled)`));
    const waited = await run(["jobs", "wait", rows.find((r) => r[1] === "Success")![0], ...remote]);
    assert.equal(waited.code, 0);
    assert.match(waited.out, / Success$/m);

    const token = await s.token(email);
    const client = createClient({ baseUrl: s.url, getToken: () => token });
    const itwin = JSON.parse(got.out).iTwinId as string;
    const rd = await client.realityData.create({ iTwinId: itwin, displayName: "Uploaded", type: "LAZ" });
    const up = await run(["data", "upload", rd.id, source, ...remote]);
    assert.equal(up.code, 0, up.err);
    const dest = join(tmp, "data-down");
    const down = await run(["data", "download", rd.id, "-o", dest, ...remote]);
    assert.equal(down.code, 0, down.err);
    assert.ok(readFileSync(join(dest, "autzen_trim.laz")).equals(readFileSync(source)));
    const data = await run(["data", "list", "--itwin", itwin, ...remote]);
    assert.equal(data.code, 0, data.err);
    assert.match(data.out, new RegExp(`^${rd.id}\tLAZ\tUploaded$`, "m"));
    assert.ok(data.out.includes(JSON.parse(got.out).specifications.output), "the job's output is listed");
  });

  async function dataIds(): Promise<string[]> {
    const token = await s.token(email);
    const client = createClient({ baseUrl: s.url, getToken: () => token });
    const ids: string[] = [];
    for await (const rd of client.realityData.list()) ids.push(rd.id);
    return ids.sort();
  }
});
