import { after, test } from "node:test";
import assert from "node:assert/strict";
import { bytesSource, FormatError, openLaz, openLasOrLaz } from "@realconv/formats";
import { writeLazFile, type LazChunkDecompressor, type LazReader } from "@realconv/formats/laz";
import { ChunkingLasToLazTransformer, lasToLazStreamParallel } from "@realconv/formats/laz";
import { decodeWithLazPerf } from "@realconv/formats/testing/lazperf-decode";
import { firstDifference, makeLas } from "@realconv/formats/testing/laz-records";
import { assertSameRecords, shared } from "../testing/memory-io.js";
import { createLazPool, LazWorkerPool, lazReadOptions, lazWriteOptions } from "./laz-pool.js";

const pool = new LazWorkerPool(2);
after(() => pool.close());

async function parallelLaz(las: Uint8Array, chunkSize: number): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let p = 0; p < las.length; p += 65_521) pieces.push(las.subarray(p, p + 65_521));
  const t = new ChunkingLasToLazTransformer({ chunkSize });
  const out: Uint8Array[] = [];
  for await (const b of lasToLazStreamParallel(pieces, t, lazWriteOptions(pool))) out.push(b.slice());
  const file = new Uint8Array(Buffer.concat(out));
  for (const p of t.patches) file.set(p.bytes, p.position);
  return file;
}

/** PDRF 8 records (+ extra bytes) from a LASzip-written file, as an uncompressed LAS 1.4. */
async function pdrf8Las(): Promise<Uint8Array> {
  const dec = await decodeWithLazPerf(shared("append-bug.laz"));
  assert.equal(dec.pointFormat, 8);
  return makeLas(dec.pointFormat, dec.recordLength, dec.records);
}

test("LAS -> LAZ on worker threads is byte-identical to writeLazFile (PDRF 3, 6 with EVLRs, 8 with extra bytes)", async () => {
  for (const [name, las] of [
    ["autzen_trim.las", shared("autzen_trim.las")],
    ["1_4_w_evlr.las", shared("1_4_w_evlr.las")],
    ["append-bug (PDRF 8)", await pdrf8Las()],
  ] as const) {
    const ref = writeLazFile(las, { chunkSize: 1000 });
    const laz = await parallelLaz(las, 1000);
    assert.equal(firstDifference(laz, ref), -1, name);
    // and with the default chunk size (several 50 000-point chunks for autzen)
    assert.equal(firstDifference(await parallelLaz(las, 50_000), writeLazFile(las)), -1, `${name} default chunks`);
  }
});

test("LAZ points decompressed and decoded into columns on worker threads equal the in-thread reader's, block for block", async () => {
  const many = writeLazFile(await pdrf8Las(), { chunkSize: 1000 });
  for (const [name, bytes, chunkPoints] of [
    ["autzen_trim.laz", shared("autzen_trim.laz"), undefined],
    ["indoor.laz", shared("indoor.laz"), 30_000],
    ["append-bug.laz", shared("append-bug.laz"), 7000],
    ["1.2-with-color.copc.laz", shared("1.2-with-color.copc.laz"), 100],
    ["38 chunks of 1000 (PDRF 8)", many, 777],
    ["38 chunks of 1000 (PDRF 8), blocks of 1000", many, 1000],
  ] as const) {
    const serial = await openLasOrLaz(bytesSource(bytes, name), { chunkPoints });
    // The blocks of columns from the threads, and the records they were decoded from, both match.
    const options = lazReadOptions(pool);
    const inner = options.lazDecompressor!;
    let columnTasks = 0;
    const counting: LazChunkDecompressor = { ...inner, decompressColumns: (...a) => (columnTasks++, inner.decompressColumns!(...a)) };
    const par = await openLasOrLaz(bytesSource(bytes, name), { chunkPoints, ...options, lazDecompressor: counting });
    await assertSameRecords(par, serial, name);
    assert.ok(columnTasks > 0, `${name}: decoded on the threads`);
    const parRecords = await openLasOrLaz(bytesSource(bytes, name), { chunkPoints, ...lazReadOptions(pool) });
    const serialRecords = await openLasOrLaz(bytesSource(bytes, name), { chunkPoints });
    const [a, b] = [[] as Uint8Array[], [] as Uint8Array[]];
    for await (const r of (parRecords as LazReader).records()) a.push(r.bytes.slice());
    for await (const r of (serialRecords as LazReader).records()) b.push(r.bytes.slice());
    assert.equal(firstDifference(Buffer.concat(a), Buffer.concat(b)), -1, `${name} records`);
  }
});

test("a corrupt chunk fails with FormatError (file + offset); a crashed thread fails its task; the pool keeps working", async () => {
  const full = shared("autzen_trim.laz");
  const chunks = (await openLaz(bytesSource(full, "x.laz"))).lazChunks;
  const bad = full.slice();
  const ch = chunks[1];
  bad.fill(0xff, ch.start + 40, ch.start + ch.byteLength);
  const r = await openLasOrLaz(bytesSource(bad, "bad.laz"), lazReadOptions(pool));
  await assert.rejects(
    async () => {
      for await (const c of r.chunks()) void c;
    },
    // the offset points into the damaged chunk (here: its end, which the decoder overran)
    (e: unknown) => e instanceof FormatError && e.file === "bad.laz" && e.offset >= ch.start && e.offset <= ch.start + ch.byteLength && /LAZ chunk 1 is corrupt/.test(e.message),
  );
  await assert.rejects(pool.crashOneThread(), (e: unknown) => e instanceof Error && /LAZ worker thread exited/.test(e.message));
  const serial = await openLasOrLaz(bytesSource(full, "ok.laz"));
  const par = await openLasOrLaz(bytesSource(full, "ok.laz"), lazReadOptions(pool));
  await assertSameRecords(par, serial, "after the failures");
  assert.ok(pool.threadCount <= 2);
});

test("abort stops a parallel LAZ read", async () => {
  const laz = writeLazFile(shared("autzen_trim.las"), { chunkSize: 1000 });
  const r = await openLasOrLaz(bytesSource(laz, "a.laz"), { chunkPoints: 1000, ...lazReadOptions(pool) });
  const ac = new AbortController();
  let n = 0;
  await assert.rejects(
    async () => {
      for await (const c of r.chunks(ac.signal)) {
        n += c.count;
        if (n === 3000) ac.abort(new Error("stopped"));
      }
    },
    /stopped/,
  );
  assert.equal(n, 3000);
});

test("records handed to the pool are transferred, chunks read from the caller's data are copied", async () => {
  const las = shared("autzen_trim.las");
  const at = new DataView(las.buffer, las.byteOffset).getUint32(96, true);
  const records = las.slice(at, at + 34 * 500);
  const laz = await pool.compress(3, 34, records, 500);
  assert.equal(records.byteLength, 0, "transferred, not copied");
  assert.ok(laz.byteLength > 34);
  const view = new Uint8Array(laz.byteLength + 10);
  view.set(laz, 5);
  const chunk = view.subarray(5, 5 + laz.byteLength);
  const back = await pool.decompress(chunk, 3, 34, 500);
  assert.equal(chunk.byteLength, laz.byteLength, "the caller's view is intact");
  assert.equal(firstDifference(back, las.subarray(at, at + 34 * 500)), -1);
});

test("one thread is no pool: the work stays in the calling thread", () => {
  assert.equal(createLazPool(1), undefined);
  assert.deepEqual(lazReadOptions(createLazPool(1)), {});
  assert.equal(lazWriteOptions(createLazPool(1)), undefined);
  assert.equal(createLazPool(3)?.size, 3);
  assert.throws(() => createLazPool(0), RangeError);
});
