import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sharedData } from "../../testing/shared-data.js";
import { bytesSource, FormatError } from "../../io/byte-source.js";
import { openLasOrLaz } from "../las/open.js";
import { openLaz } from "../laz/reader.js";
import { inThreadLazDecompressor, LazChunkError, type LazChunkDecompressor } from "../laz/decompressor.js";
import { writeLazFile } from "./laz-file.js";
import { ChunkingLasToLazTransformer, inThreadLazCompressor, lasToLazStreamParallel, type LazChunkCompressor, type ParallelLazOptions } from "./parallel.js";
import { firstDifference, prng } from "../../testing/laz-records.js";

const shared = (name: string) => new Uint8Array(readFileSync(sharedData("pointcloud", name)));

/** Resolves after a pseudo-random delay, so concurrent chunks finish out of order. */
const later = <T>(v: () => T, rnd: () => number) => new Promise<T>((resolve, reject) => setTimeout(() => {
  try {
    resolve(v());
  } catch (e) {
    reject(e);
  }
}, Math.floor(rnd() * 4)));

async function parallelLaz(las: Uint8Array, chunkSize: number, options: ParallelLazOptions, pieceSize = 9_999): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let p = 0; p < las.length; p += pieceSize) pieces.push(las.slice(p, p + pieceSize));
  const t = new ChunkingLasToLazTransformer({ chunkSize });
  const out: Uint8Array[] = [];
  for await (const b of lasToLazStreamParallel(pieces, t, options)) out.push(b);
  const file = new Uint8Array(Buffer.concat(out));
  for (const p of t.patches) file.set(p.bytes, p.position);
  return file;
}

test("chunks compressed out of order are laid out in order: bytes identical to writeLazFile (PDRF 3, PDRF 6 + EVLRs)", async () => {
  const rnd = prng(7);
  for (const [name, chunkSize] of [["autzen_trim.las", 1000], ["1_4_w_evlr.las", 300]] as const) {
    const las = shared(name);
    const ref = writeLazFile(las, { chunkSize });
    const slow = (pf: number, rl: number): LazChunkCompressor => {
      const inner = inThreadLazCompressor(pf, rl);
      let inFlight = 0;
      return {
        async compress(records, count) {
          inFlight++;
          assert.ok(inFlight <= 3, "no more chunks in flight than the concurrency");
          // compress at once (the encoder is shared), answer later and out of order
          const bytes = await inner.compress(records, count);
          return later(() => (inFlight--, bytes), rnd);
        },
      };
    };
    assert.equal(firstDifference(await parallelLaz(las, chunkSize, { compressor: slow, concurrency: 3 }), ref), -1, name);
    // in-thread default, a whole file pushed at once
    assert.equal(firstDifference(await parallelLaz(las, chunkSize, {}, las.length), ref), -1, `${name} in-thread`);
  }
});

test("a compressor failure ends the stream with its error", async () => {
  const las = shared("autzen_trim.las");
  const failing = (): LazChunkCompressor => ({ compress: async () => Promise.reject(new Error("boom")) });
  await assert.rejects(parallelLaz(las, 1000, { compressor: failing, concurrency: 2 }), /boom/);
});

test("LAZ chunks decompressed out of order come back in order; errors and abort as in-thread", async () => {
  const rnd = prng(3);
  const laz = writeLazFile(shared("autzen_trim.las"), { chunkSize: 1000 });
  const slow: LazChunkDecompressor = {
    decompress: (chunk, pdrf, rl, n, limits) => inThreadLazDecompressor.decompress(chunk, pdrf, rl, n, limits).then((r) => later(() => r, rnd)),
  };
  const serial = await openLasOrLaz(bytesSource(laz, "a.laz"), { chunkPoints: 777 });
  const par = await openLaz(bytesSource(laz, "a.laz"), { chunkPoints: 777, lazDecompressor: slow, lazConcurrency: 4 });
  const a = serial.chunks()[Symbol.asyncIterator]();
  const b = par.chunks()[Symbol.asyncIterator]();
  let n = 0;
  for (;;) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    assert.equal(x.done, y.done);
    if (x.done || y.done) break;
    assert.deepEqual(y.value, x.value);
    n += x.value.count;
  }
  assert.equal(n, 110_000);

  // A chunk the decompressor refuses: FormatError naming the file and the chunk's offset.
  const refusing: LazChunkDecompressor = {
    decompress: (chunk, pdrf, rl, count, limits) => (count === 1000 && chunk[0] === laz[par.lazChunks[5].start] && chunk.byteLength === par.lazChunks[5].byteLength
      ? Promise.reject(new LazChunkError("is corrupt: test", 0))
      : slow.decompress(chunk, pdrf, rl, count, limits)),
  };
  const bad = await openLaz(bytesSource(laz, "bad.laz"), { chunkPoints: 1000, lazDecompressor: refusing, lazConcurrency: 3 });
  let before = 0;
  await assert.rejects(
    async () => {
      for await (const c of bad.chunks()) before += c.count;
    },
    (e: unknown) => e instanceof FormatError && e.file === "bad.laz" && e.offset === bad.lazChunks[5].start && /LAZ chunk 5 is corrupt: test/.test(e.message),
  );
  assert.equal(before, 5000, "the chunks before the bad one were handed out");

  // Abort while a decompression is pending: rejects with the signal's reason without waiting for it.
  const never: LazChunkDecompressor = { decompress: () => new Promise<Uint8Array>(() => undefined) };
  const stuck = await openLasOrLaz(bytesSource(laz, "a.laz"), { lazDecompressor: never, lazConcurrency: 2 });
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("stop")), 20);
  await assert.rejects(async () => {
    for await (const c of stuck.chunks(ac.signal)) void c;
  }, /stop/);
});
