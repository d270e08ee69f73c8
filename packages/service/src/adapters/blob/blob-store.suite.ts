/**
 * The one behaviour suite every BlobStore must pass (local files and Azure/Azurite run the same tests), so the
 * embedded store cannot drift from Azure's semantics.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { BlobStore } from "../../ports/blob-store.js";
import { isBlobStoreError } from "./errors.js";
import type { BlobStoreErrorCode } from "./errors.js";
import { compareNames } from "./names.js";

export interface SuiteTarget {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const md5b64 = (b: Uint8Array) => createHash("md5").update(b).digest("base64");

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* chunksOf(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield enc(p);
}

function isCode(code: BlobStoreErrorCode) {
  return (e: unknown) => {
    assert.ok(isBlobStoreError(e, code), `expected BlobStoreError ${code}, got ${String(e)}`);
    return true;
  };
}

/**
 * A full garbage collection, so RSS samples measure live memory rather than freed chunks V8 has not collected yet
 * (without it, tens of MB of already-written garbage blur a "bounded memory" check).
 */
export const collectGarbage: () => void = (() => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** Deterministic pseudo-random bytes, generated chunk by chunk so no test holds the whole payload. */
async function* generated(totalBytes: number, chunk: number, onChunk?: () => void): AsyncGenerator<Uint8Array> {
  let x = 0x9e3779b9;
  for (let done = 0; done < totalBytes; done += chunk) {
    const n = Math.min(chunk, totalBytes - done);
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i + 4 <= n; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b.writeInt32LE(x | 0, i);
    }
    for (let i = n - (n % 4); i < n; i++) b[i] = i & 0xff;
    onChunk?.();
    yield b;
  }
}

export function blobStoreSuite(label: string, factory: () => Promise<SuiteTarget>): void {
  describe(`BlobStore contract: ${label}`, () => {
    let target: SuiteTarget;
    let store: BlobStore;
    let n = 0;
    /** A fresh container per test, so tests are independent. */
    const fresh = async () => {
      const c = `suite-${process.pid}-${++n}`;
      await store.createContainer(c);
      return c;
    };

    before(async () => {
      target = await factory();
      store = target.store;
    });
    after(async () => {
      await target?.cleanup();
    });

    test("containers: create is idempotent, exists, delete removes everything and is idempotent", async () => {
      const c = await fresh();
      await store.createContainer(c);
      assert.equal(await store.containerExists(c), true);
      await store.put(c, "a/b.txt", enc("x"));
      await store.deleteContainer(c);
      assert.equal(await store.containerExists(c), false);
      await store.deleteContainer(c);
      await assert.rejects(store.list(c), isCode("ContainerNotFound"));
      await assert.rejects(store.put(c, "x", enc("y")), isCode("ContainerNotFound"));
      assert.equal(await store.containerExists("never-made-" + process.pid), false);
      await assert.rejects(store.createContainer("Bad_Name"), isCode("InvalidContainerName"));
      await assert.rejects(store.createContainer("../etc"), isCode("InvalidContainerName"));
    });

    test("put/get/head round-trip with content type, MD5 and etag", async () => {
      const c = await fresh();
      const data = enc("hello, reality data");
      const info = await store.put(c, "hello.txt", data, { contentType: "text/plain" });
      assert.equal(info.name, "hello.txt");
      assert.equal(info.size, data.byteLength);
      assert.match(info.etag, /^".+"$/);
      assert.equal(info.contentType, "text/plain");
      assert.equal(info.contentMD5, md5b64(data));
      assert.ok(Math.abs(info.lastModified.getTime() - Date.now()) < 60_000);
      const h = await store.head(c, "hello.txt");
      assert.ok(h);
      assert.equal(h.size, data.byteLength);
      assert.equal(h.etag, info.etag);
      assert.equal(h.contentType, "text/plain");
      assert.equal(h.contentMD5, md5b64(data));
      const got = await store.get(c, "hello.txt");
      assert.ok(got);
      assert.equal(got.info.etag, info.etag);
      assert.deepEqual(await collect(got.body), Buffer.from(data));
      // Overwrite: new content, new etag, content type back to the default when not given.
      const info2 = await store.put(c, "hello.txt", chunksOf("new ", "content"));
      assert.notEqual(info2.etag, info.etag);
      assert.equal(info2.size, 11);
      assert.equal(info2.contentType, "application/octet-stream");
      const got2 = await store.get(c, "hello.txt");
      assert.ok(got2);
      assert.equal((await collect(got2.body)).toString(), "new content");
      // Empty blob.
      const e = await store.put(c, "empty", new Uint8Array(0));
      assert.equal(e.size, 0);
      const ge = await store.get(c, "empty");
      assert.ok(ge);
      assert.equal((await collect(ge.body)).length, 0);
    });

    test("absent blobs: head/get undefined, read rejects", async () => {
      const c = await fresh();
      assert.equal(await store.head(c, "nope"), undefined);
      assert.equal(await store.get(c, "nope"), undefined);
      assert.equal(await store.get(c, "dir/nope", { offset: 1, length: 2 }), undefined);
      await assert.rejects(store.read(c, "nope", { offset: 0, length: 1 }));
    });

    test("names with spaces, unicode, `/`, %, ~ and dots round-trip; a blob and a folder may share a name", async () => {
      const c = await fresh();
      const names = [
        "dir one/naïve 文件.txt",
        "a",
        "a/b",
        "a/b/c.bin",
        "x%41y~z+q=1&w.bin",
        ".hidden/.file",
        "emoji 🎉/ü.json",
        "with:colon?and*star\"quote<>|.txt",
      ];
      for (const [i, name] of names.entries()) await store.put(c, name, enc(`content ${i}`));
      for (const [i, name] of names.entries()) {
        const got = await store.get(c, name);
        assert.ok(got, name);
        assert.equal(got.info.name, name);
        assert.equal((await collect(got.body)).toString(), `content ${i}`);
      }
      const listed = (await store.list(c)).blobs.map((b) => b.name);
      assert.deepEqual(new Set(listed), new Set(names));
      assert.equal(listed.length, names.length);
    });

    test("unsafe names are rejected", async () => {
      const c = await fresh();
      for (const bad of ["../x", "a/../../x", "/abs", "a//b", "a/./b", "..", ".", "nul\u0000x", "ctl\u0001", "back\\slash", "x/", ""]) {
        await assert.rejects(store.put(c, bad, enc("x")), isCode("InvalidBlobName"), JSON.stringify(bad));
        await assert.rejects(store.head(c, bad), isCode("InvalidBlobName"), JSON.stringify(bad));
      }
      assert.equal((await store.list(c)).blobs.length, 0);
    });

    test("list: flat sorted, prefix, delimiter folders, paging with maxResults", async () => {
      const c = await fresh();
      const names = ["b.txt", "a/1.bin", "a/2.bin", "a/sub/3.bin", "a-b.txt", "ab/4.bin", "c/d/e/5.bin", "a.txt", "z"];
      for (const name of names) await store.put(c, name, enc(name));
      const sorted = [...names].sort(compareNames);

      const flat = await store.list(c);
      assert.deepEqual(flat.blobs.map((b) => b.name), sorted);
      assert.deepEqual(flat.prefixes, []);
      assert.equal(flat.nextMarker, undefined);
      const a1 = flat.blobs.find((b) => b.name === "a/1.bin");
      assert.ok(a1);
      assert.equal(a1.size, 7);
      assert.match(a1.etag, /^".+"$/);

      const pre = await store.list(c, { prefix: "a/" });
      assert.deepEqual(pre.blobs.map((b) => b.name), ["a/1.bin", "a/2.bin", "a/sub/3.bin"]);
      const pre2 = await store.list(c, { prefix: "a" });
      assert.deepEqual(pre2.blobs.map((b) => b.name), sorted.filter((s) => s.startsWith("a")));

      const top = await store.list(c, { delimiter: "/" });
      assert.deepEqual(top.blobs.map((b) => b.name), ["a-b.txt", "a.txt", "b.txt", "z"]);
      assert.deepEqual(top.prefixes, ["a/", "ab/", "c/"]);
      const inA = await store.list(c, { prefix: "a/", delimiter: "/" });
      assert.deepEqual(inA.blobs.map((b) => b.name), ["a/1.bin", "a/2.bin"]);
      assert.deepEqual(inA.prefixes, ["a/sub/"]);
      const deep = await store.list(c, { prefix: "c/", delimiter: "/" });
      assert.deepEqual(deep.blobs, []);
      assert.deepEqual(deep.prefixes, ["c/d/"]);
      const partial = await store.list(c, { prefix: "a/s", delimiter: "/" });
      assert.deepEqual(partial.prefixes, ["a/sub/"]);
      assert.deepEqual(await store.list(c, { prefix: "nothing/" }), { blobs: [], prefixes: [] });

      // Paging: every name exactly once, in order.
      const seen: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      do {
        const page = await store.list(c, { maxResults: 2, marker });
        assert.ok(page.blobs.length <= 2);
        seen.push(...page.blobs.map((b) => b.name));
        marker = page.nextMarker;
        pages++;
        assert.ok(pages < 20, "paging does not terminate");
      } while (marker);
      assert.deepEqual(seen, sorted);
      assert.ok(pages >= 5);

      // Paging with a delimiter: blobs and folders interleave by name, each exactly once.
      const entries: string[] = [];
      marker = undefined;
      do {
        const page = await store.list(c, { delimiter: "/", maxResults: 1, marker });
        entries.push(...page.blobs.map((b) => b.name), ...page.prefixes);
        assert.ok(page.blobs.length + page.prefixes.length <= 1);
        marker = page.nextMarker;
      } while (marker);
      assert.deepEqual(entries, ["a-b.txt", "a.txt", "a/", "ab/", "b.txt", "c/", "z"]);
    });

    test("ranged get and read", async () => {
      const c = await fresh();
      const data = enc("0123456789abcdef");
      await store.put(c, "r.bin", data);
      const slice = async (offset: number, length?: number) => {
        const got = await store.get(c, "r.bin", length === undefined ? { offset } : { offset, length });
        assert.ok(got);
        assert.equal(got.info.size, 16, "info describes the whole blob");
        return (await collect(got.body)).toString();
      };
      assert.equal(await slice(0, 4), "0123");
      assert.equal(await slice(10), "abcdef");
      assert.equal(await slice(15, 1), "f");
      assert.equal(await slice(12, 100), "cdef");
      assert.equal(await slice(0), "0123456789abcdef");
      await assert.rejects(store.get(c, "r.bin", { offset: 16 }), isCode("InvalidRange"));
      await assert.rejects(store.get(c, "r.bin", { offset: 100, length: 2 }), isCode("InvalidRange"));
      assert.equal(Buffer.from(await store.read(c, "r.bin", { offset: 4, length: 3 })).toString(), "456");
      assert.equal(Buffer.from(await store.read(c, "r.bin", { offset: 14, length: 10 })).toString(), "ef");
    });

    test("stageBlock/commitBlocks: order, repeats, streamed blocks, unknown ids", async () => {
      const c = await fresh();
      const id = (i: number) => Buffer.from(`block-${String(i).padStart(6, "0")}`).toString("base64");
      await store.stageBlock(c, "dir/blocks.bin", id(2), enc("CC"));
      await store.stageBlock(c, "dir/blocks.bin", id(0), enc("AA"));
      await store.stageBlock(c, "dir/blocks.bin", id(1), chunksOf("B", "B"));
      await store.stageBlock(c, "dir/blocks.bin", id(9), enc("never committed"));
      assert.equal(await store.head(c, "dir/blocks.bin"), undefined, "staged blocks are not a blob yet");
      const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      const staged = (await store.stagedBlocks(c, "dir/blocks.bin")).sort(byId);
      assert.deepEqual(staged, [{ id: id(0), size: 2 }, { id: id(1), size: 2 }, { id: id(2), size: 2 }, { id: id(9), size: 15 }].sort(byId));
      assert.deepEqual(await store.stagedBlocks(c, "nothing-staged.bin"), []);
      const info = await store.commitBlocks(c, "dir/blocks.bin", [id(0), id(1), id(2), id(0)], { contentType: "application/x-test" });
      assert.equal(info.size, 8);
      assert.equal(info.contentType, "application/x-test");
      assert.equal(Buffer.from(await store.read(c, "dir/blocks.bin", { offset: 0, length: 8 })).toString(), "AABBCCAA");
      // After a commit, leftovers are gone: committing an id only staged before fails.
      assert.deepEqual(await store.stagedBlocks(c, "dir/blocks.bin"), []);
      await assert.rejects(store.commitBlocks(c, "dir/blocks.bin", [id(9)]), isCode("InvalidBlockList"));
      await assert.rejects(store.commitBlocks(c, "other.bin", [id(5)]), isCode("InvalidBlockList"));
      assert.equal((await store.head(c, "dir/blocks.bin"))?.size, 8, "a failed commit leaves the blob alone");
      // Block ids with base64's '/' and '+' characters.
      const odd = [Buffer.from([0xfb, 0xff, 0xfe]).toString("base64"), Buffer.from([0xfa, 0xef, 0xbf]).toString("base64")];
      assert.match(odd.join(""), /[/+]/);
      await store.stageBlock(c, "odd", odd[1], enc("2"));
      await store.stageBlock(c, "odd", odd[0], enc("1"));
      await store.commitBlocks(c, "odd", odd);
      assert.equal(Buffer.from(await store.read(c, "odd", { offset: 0, length: 2 })).toString(), "12");
    });

    test("delete: true once, then false; folders vanish with their last blob", async () => {
      const c = await fresh();
      await store.put(c, "f/g/h.txt", enc("1"));
      await store.put(c, "f/g/i.txt", enc("2"));
      assert.equal(await store.delete(c, "f/g/h.txt"), true);
      assert.equal(await store.delete(c, "f/g/h.txt"), false);
      assert.equal(await store.head(c, "f/g/h.txt"), undefined);
      assert.deepEqual((await store.list(c, { delimiter: "/" })).prefixes, ["f/"]);
      assert.equal(await store.delete(c, "f/g/i.txt"), true);
      assert.deepEqual(await store.list(c, { delimiter: "/" }), { blobs: [], prefixes: [] });
      assert.equal(await store.delete(c, "never/was"), false);
    });

    test("containerSize sums blob sizes", async () => {
      const c = await fresh();
      assert.equal(await store.containerSize(c), 0);
      await store.put(c, "s/1", new Uint8Array(1000));
      await store.put(c, "s/2/3", new Uint8Array(234));
      await store.put(c, "4", new Uint8Array(1));
      assert.equal(await store.containerSize(c), 1235);
      await store.delete(c, "4");
      assert.equal(await store.containerSize(c), 1234);
    });

    test("50 MB streamed put and get keep memory bounded", async () => {
      const c = await fresh();
      const total = 50 * 1024 * 1024;
      collectGarbage();
      const base = process.memoryUsage().rss;
      let peak = base;
      let samples = 0;
      const sample = () => {
        if (++samples % 4 === 0) collectGarbage();
        peak = Math.max(peak, process.memoryUsage().rss);
      };
      const hIn = createHash("md5");
      async function* hashed(): AsyncGenerator<Uint8Array> {
        for await (const b of generated(total, 1024 * 1024, sample)) {
          hIn.update(b);
          yield b;
        }
      }
      const info = await store.put(c, "big/50mb.bin", hashed());
      assert.equal(info.size, total);
      const putPeak = peak;
      const got = await store.get(c, "big/50mb.bin");
      assert.ok(got);
      const hOut = createHash("md5");
      let received = 0;
      for await (const chunk of got.body) {
        hOut.update(chunk);
        received += chunk.byteLength;
        sample();
      }
      assert.equal(received, total);
      assert.equal(hOut.digest("hex"), hIn.digest("hex"));
      const growthMB = (peak - base) / (1024 * 1024);
      if (process.env.BLOB_SUITE_VERBOSE) console.log(`rss growth: put ${((putPeak - base) / 1048576).toFixed(1)} MB, total ${growthMB.toFixed(1)} MB`);
      // Holding the payload would cost at least 50 MB; streaming stays well below that.
      assert.ok(growthMB < 40, `RSS grew by ${growthMB.toFixed(1)} MB during a 50 MB transfer`);
    });
  });
}
