/**
 * A 100 MB file up in blocks and back down, checked byte for byte; an upload interrupted half-way resumes
 * without sending again the blocks the container already holds.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, open, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "@realconv/service/testing/harness";
import { createClient, type RealconvClient } from "@realconv/sdk";

const MiB = 1024 * 1024;
const SIZE = 100 * MiB + 12345;

let s: TestServer;
let client: RealconvClient;
let itwin: string;
const tmp = mkdtempSync(join(tmpdir(), "realconv-sdk-transfer-"));
const source = join(tmp, "generated.bin");

/** Deterministic pseudo-random bytes (xorshift32), written in 4 MiB chunks. */
async function generate(path: string, size: number): Promise<void> {
  const f = await open(path, "w");
  let x = 0x2545f491;
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(4 * MiB, size - done);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        chunk[i] = x & 0xff;
      }
      await f.write(chunk);
      done += n;
    }
  } finally {
    await f.close();
  }
}

/** Byte-for-byte comparison of two files, 4 MiB at a time. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  if ((await stat(a)).size !== (await stat(b)).size) return false;
  const [fa, fb] = [await open(a), await open(b)];
  try {
    const [ba, bb] = [Buffer.alloc(4 * MiB), Buffer.alloc(4 * MiB)];
    for (;;) {
      const ra = await fa.read(ba, 0, ba.length, null);
      const rb = await fb.read(bb, 0, bb.length, null);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (ba.subarray(0, ra.bytesRead).compare(bb.subarray(0, rb.bytesRead)) !== 0) return false;
    }
  } finally {
    await fa.close();
    await fb.close();
  }
}

before(async () => {
  s = await startTestServer();
  const token = await s.token("mover@example.com");
  itwin = await s.createITwin("Transfers", ["mover@example.com"]);
  client = createClient({ baseUrl: s.url, getToken: () => token });
  await generate(source, SIZE);
});
after(async () => {
  await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

it("uploads and downloads 100 MB in blocks, byte for byte", async () => {
  const rd = await client.realityData.create({ iTwinId: itwin, displayName: "Big", type: "Unstructured" });
  const loaded: number[] = [];
  const [uploaded] = await client.realityData.upload(rd.id, [source], { onProgress: (p) => loaded.push(p.loadedBytes) });
  assert.deepEqual(uploaded, { name: "generated.bin", size: SIZE, reusedBytes: 0 });
  assert.equal(loaded.at(-1), SIZE);
  assert.ok(loaded.length >= 13, "progress per block");
  const dest = join(tmp, "down");
  const seen: number[] = [];
  const [written] = await client.realityData.download(rd.id, dest, { onProgress: (p) => seen.push(p.loadedBytes) });
  assert.equal(written, join(dest, "generated.bin"));
  assert.equal(seen.at(-1), SIZE);
  assert.ok(await sameBytes(source, written), "downloaded bytes equal the uploaded file");
});

it("an interrupted upload resumes from the blocks already staged", async () => {
  const rd = await client.realityData.create({ iTwinId: itwin, displayName: "Resumed", type: "Unstructured" });
  const controller = new AbortController();
  const interrupted = client.realityData.upload(rd.id, [source], {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.loadedBytes >= 50 * MiB) controller.abort(new Error("connection lost"));
    },
  });
  await assert.rejects(interrupted, /connection lost/);
  const files = [];
  for await (const f of client.realityData.files(rd.id)) files.push(f);
  assert.deepEqual(files, [], "nothing committed by the interrupted upload");

  const [resumed] = await client.realityData.upload(rd.id, [source]);
  assert.ok(resumed.reusedBytes >= 40 * MiB && resumed.reusedBytes < SIZE, `reused ${resumed.reusedBytes} bytes`);
  const [written] = await client.realityData.download(rd.id, join(tmp, "resumed"));
  assert.ok(await sameBytes(source, written));

  // A changed file (another modification time) shares no block with the old one.
  const other = join(tmp, "other", "generated.bin");
  await mkdir(join(tmp, "other"));
  await writeFile(other, Buffer.alloc(20 * MiB, 7));
  const controller2 = new AbortController();
  await assert.rejects(
    client.realityData.upload(rd.id, [other], { signal: controller2.signal, onProgress: (p) => p.loadedBytes >= 8 * MiB && controller2.abort(new Error("cut")) }),
    /cut/,
  );
  await writeFile(other, Buffer.alloc(20 * MiB, 9));
  await utimes(other, new Date(), new Date(Date.now() + 60_000));
  const [fresh] = await client.realityData.upload(rd.id, [other]);
  assert.equal(fresh.reusedBytes, 0, "blocks of another version of the file are not reused");
  const [back] = await client.realityData.download(rd.id, join(tmp, "changed"));
  assert.ok(await sameBytes(other, back));
});
