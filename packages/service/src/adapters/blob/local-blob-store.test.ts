import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { LocalBlobStore, decodeSegment, encodeSegment } from "./local-blob-store.js";
import { blobStoreSuite } from "./blob-store.suite.js";

blobStoreSuite("LocalBlobStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "realconv-blobs-"));
  return { store: new LocalBlobStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

async function allFiles(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await allFiles(p, out);
    else out.push(p);
  }
  return out;
}

test("LocalBlobStore: names map to escaped paths inside the container folder", async () => {
  const root = await mkdtemp(join(tmpdir(), "realconv-blobs-"));
  try {
    const s = new LocalBlobStore(root);
    await s.createContainer("cont1");
    for (const seg of ["plain.txt", ".dot", "trail.", "trail ", "a%b~c", 'w<>:"|?*', "ü 文件"]) {
      assert.equal(decodeSegment(encodeSegment(seg)), seg);
      assert.ok(!encodeSegment(seg).startsWith("."));
      assert.ok(!encodeSegment(seg).endsWith("~"));
    }
    await s.put("cont1", "trailing dot./name.", new Uint8Array([1]));
    await s.put("cont1", "a/b/tileset.json", new TextEncoder().encode("{}"), { contentType: "application/json" });
    assert.equal(s.filePath("cont1", "a/b/tileset.json"), join(root, "cont1", "a~", "b~", "tileset.json"));
    assert.deepEqual(await readFile(s.filePath("cont1", "a/b/tileset.json"), "utf8"), "{}");
    assert.equal((await s.head("cont1", "trailing dot./name."))?.size, 1);
    for (const f of await allFiles(root)) assert.ok(!relative(root, f).startsWith(".."), f);
    assert.throws(() => s.filePath("cont1", "../../etc/passwd"), /invalid blob name/);
    assert.throws(() => s.filePath("../x", "a"), /invalid container name/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("LocalBlobStore: a failed streamed put leaves no half file and no temp file", async () => {
  const root = await mkdtemp(join(tmpdir(), "realconv-blobs-"));
  try {
    const s = new LocalBlobStore(root);
    await s.createContainer("cont1");
    await s.put("cont1", "x.bin", new TextEncoder().encode("old"));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1024 * 1024);
      throw new Error("client went away");
    }
    await assert.rejects(s.put("cont1", "x.bin", failing()), /client went away/);
    await assert.rejects(s.put("cont1", "new/y.bin", failing()), /client went away/);
    const ac = new AbortController();
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
      ac.abort();
      yield new Uint8Array(10);
    }
    await assert.rejects(s.put("cont1", "z.bin", slow(), { signal: ac.signal }));
    assert.equal(Buffer.from(await s.read("cont1", "x.bin", { offset: 0, length: 10 })).toString(), "old");
    assert.equal(await s.head("cont1", "new/y.bin"), undefined);
    assert.equal(await s.head("cont1", "z.bin"), undefined);
    assert.deepEqual(await readdir(join(root, "cont1", ".tmp")), []);
    await assert.rejects(s.commitBlocks("cont1", "q", ["AAAA"]), /not staged/);
    assert.deepEqual(await readdir(join(root, "cont1", ".tmp")), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("LocalBlobStore: a stale sidecar (data replaced behind its back) is ignored", async () => {
  const root = await mkdtemp(join(tmpdir(), "realconv-blobs-"));
  try {
    const s = new LocalBlobStore(root);
    await s.createContainer("cont1");
    await s.put("cont1", "m.txt", new TextEncoder().encode("one"), { contentType: "text/plain" });
    assert.equal((await s.head("cont1", "m.txt"))?.contentType, "text/plain");
    // Simulates a crash after the data rename but before the sidecar rename of a later write.
    await writeFile(s.filePath("cont1", "m.txt"), "other data");
    const h = await s.head("cont1", "m.txt");
    assert.equal(h?.size, 10);
    assert.equal(h?.contentType, "application/octet-stream");
    assert.equal(h?.contentMD5, undefined);
    // Staging folders go away on commit; deleting the container leaves nothing behind.
    const id = Buffer.from("b1").toString("base64");
    await s.stageBlock("cont1", "k", id, new Uint8Array(3));
    await s.commitBlocks("cont1", "k", [id]);
    assert.deepEqual(await readdir(join(root, "cont1", ".staging")), []);
    await s.deleteContainer("cont1");
    await assert.rejects(stat(join(root, "cont1")));
    assert.deepEqual(await readdir(join(root, ".trash")), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("LocalBlobStore.sweep: drops abandoned staged blocks and temp files past the age, keeps fresh ones", async () => {
  const root = await mkdtemp(join(tmpdir(), "realconv-blobs-"));
  try {
    const s = new LocalBlobStore(root);
    await s.createContainer("cont1");
    const id = Buffer.from("b1").toString("base64");
    await s.stageBlock("cont1", "abandoned", id, new Uint8Array(3));
    await writeFile(join(root, "cont1", ".tmp", "dead-write"), "x");
    await s.put("cont1", "kept", new Uint8Array(1));
    assert.equal(await s.sweep(60_000), 0, "fresh leftovers stay (an upload may be in progress)");
    assert.equal(await s.sweep(60_000, Date.now() + 120_000), 2);
    assert.deepEqual(await readdir(join(root, "cont1", ".staging")), []);
    assert.deepEqual(await readdir(join(root, "cont1", ".tmp")), []);
    await assert.rejects(s.commitBlocks("cont1", "abandoned", [id]), /not staged/);
    assert.equal((await s.head("cont1", "kept"))?.size, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
