#!/usr/bin/env node
// Deterministic synthetic point clouds for the point-cloud I/O benchmark: a LAS 1.2 PDRF 3 file
// (rolling terrain, colour, intensity, returns, classes, GPS time; packages/formats testing/synthetic)
// and its LAZ twin made with our LASzip-compatible encoder. Both are streamed to disk, so memory
// stays at one chunk whatever the size. `--pdrf` picks another point format (6-10 as LAS 1.4, NIR
// derived from the colour for 8 and 10), for the per-format LAZ decoding figures.
//   node bench/generate-pointcloud.mjs --points 5000000 --out bench/data/synthetic-5m.las [--laz path] [--no-laz] [--seed 1] [--pdrf 3]
// LAZ alone, without the LAS file (one pass, LAZ chunks compressed on `--threads` worker threads; the
// bytes equal the LAZ twin's), for clouds whose LAS would not fit on disk, e.g. a billion points:
//   node bench/generate-pointcloud.mjs --points 1000000000 --laz-only --laz bench/data/synthetic-1000m.laz [--threads 2]
import { open, rename, rm, mkdir } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { availableParallelism } from "node:os";
import { writeLasOnePass, writeLasStream } from "../packages/formats/dist/pointcloud/las/writer.js";
import { LasToLazTransformer, lasToLazStream } from "../packages/formats/dist/pointcloud/lazenc/laz-file.js";
import { ChunkingLasToLazTransformer, lasToLazStreamParallel } from "../packages/formats/dist/pointcloud/lazenc/parallel.js";
import { SYNTHETIC_OFFSET, SYNTHETIC_SCALE, SYNTHETIC_SCHEMA, syntheticCloud } from "../packages/formats/dist/testing/synthetic.js";

/** Writes every byte (a positional write may in principle be short). */
export async function writeFully(fh, bytes, position = null) {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, position === null ? null : position + done);
    done += bytesWritten;
  }
}

/**
 * Streams `pieces` into `path` through a temporary name, then applies `patches()` (absolute
 * position + bytes, known only once the stream ended) and renames: an interrupted run never
 * leaves a file that looks complete.
 */
export async function streamToFile(path, pieces, patches = () => []) {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.partial`;
  const fh = await open(tmp, "w");
  let bytes = 0;
  try {
    for await (const b of pieces) {
      await writeFully(fh, b);
      bytes += b.byteLength;
    }
    for (const p of patches()) await writeFully(fh, p.bytes, p.position ?? p.offset);
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
  return bytes;
}

/** Point formats with a near-infrared channel. */
const NIR_FORMATS = new Set([8, 10]);

/** The synthetic cloud with a NIR channel (from red and green, so it varies as colour does). */
async function* withNir(chunks) {
  for await (const c of chunks) {
    const nir = new Uint16Array(c.count);
    for (let i = 0; i < c.count; i++) nir[i] = (c.red[i] + c.green[i]) >>> 1;
    yield { ...c, nir };
  }
}

function lasOptions(pdrf = 3) {
  const nir = NIR_FORMATS.has(pdrf);
  return {
    schema: nir ? { ...SYNTHETIC_SCHEMA, columns: [...SYNTHETIC_SCHEMA.columns, "nir"] } : SYNTHETIC_SCHEMA,
    pdrf,
    minorVersion: 2,
    scale: SYNTHETIC_SCALE,
    offset: SYNTHETIC_OFFSET,
    crs: "EPSG:32631",
    systemIdentifier: "realconv synthetic",
    generatingSoftware: "bench/generate-pointcloud",
    // Fixed date: the same arguments give the same bytes.
    creationDate: new Date(Date.UTC(2026, 0, 1)),
  };
}

/** Synthetic LAS file of `points` points, PDRF 3 (LAS 1.2) by default (two passes over the generator: measure, encode). */
export async function generateLas(points, path, seed = 1, pdrf = 3) {
  const cloud = () => (NIR_FORMATS.has(pdrf) ? withNir(syntheticCloud(points, { seed })) : syntheticCloud(points, { seed }));
  return streamToFile(path, writeLasStream(lasOptions(pdrf), cloud));
}

/**
 * The LAZ of `generateLas` + `generateLaz` without the LAS file: one pass over the generator, the header
 * announcing `points` (LAS 1.2 counts are 32-bit: up to 4 294 967 295 points), the LAS records streamed
 * into the LAZ encoder, chunks compressed on `threads` worker threads, then the header's statistics and the
 * chunk-table offset patched. Memory: a few chunks, whatever `points`.
 */
export async function generateLazDirect(points, path, { seed = 1, threads = 1, progress } = {}) {
  if (points > 0xffffffff) throw new RangeError(`LAS 1.2 holds at most 4294967295 points, asked for ${points}`);
  const { createLazPool, lazWriteOptions } = await import("../packages/convert/dist/parallel/laz-pool.js");
  const pool = createLazPool(threads);
  try {
    const las = writeLasOnePass(lasOptions(), points, { chunks: () => counted(syntheticCloud(points, { seed }), progress) });
    const writeOptions = lazWriteOptions(pool);
    const transformer = writeOptions ? new ChunkingLasToLazTransformer() : new LasToLazTransformer();
    const laz = writeOptions ? lasToLazStreamParallel(las.stream, transformer, writeOptions) : lasToLazStream(las.stream, transformer);
    // The LAZ header is the LAS header with the point format's compression bit and the laszip VLR added:
    // the statistics fields sit at the same offsets in both.
    return await streamToFile(path, laz, () => [...las.patches(), ...transformer.patches]);
  } finally {
    await pool?.close();
  }
}

/** Passes chunks through, telling `progress` the points yielded so far. */
async function* counted(chunks, progress) {
  let done = 0;
  for await (const c of chunks) {
    done += c.count;
    progress?.(done);
    yield c;
  }
}

/** LAZ twin of a LAS file: the LAS bytes streamed through our encoder, chunk-table offset patched at the end. */
export async function generateLaz(lasPath, lazPath) {
  const transformer = new LasToLazTransformer();
  const input = createReadStream(lasPath, { highWaterMark: 4 << 20 });
  return streamToFile(lazPath, lasToLazStream(input, transformer), () => transformer.patches);
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      points: { type: "string", default: "5000000" },
      out: { type: "string" },
      laz: { type: "string" },
      "no-laz": { type: "boolean", default: false },
      "laz-only": { type: "boolean", default: false },
      threads: { type: "string", default: String(availableParallelism()) },
      seed: { type: "string", default: "1" },
      pdrf: { type: "string", default: "3" },
    },
  });
  const points = Number(args.points);
  if (!Number.isInteger(points) || points <= 0) throw new Error(`--points must be a positive integer, got ${args.points}`);
  if (args["laz-only"]) {
    const laz = resolve(args.laz ?? args.out ?? `bench/data/synthetic-${points}.laz`);
    const t = performance.now();
    let shown = 0;
    const progress = (done) => {
      // A line every 5 % on stderr: long runs show they advance.
      if (done * 20 >= (shown + 1) * points || done === points) {
        shown = Math.floor((done * 20) / points);
        const s = (performance.now() - t) / 1000;
        console.error(`  ${done} points, ${s.toFixed(0)} s, ${(done / s / 1e6).toFixed(2)} M points/s`);
      }
    };
    const bytes = await generateLazDirect(points, laz, { seed: Number(args.seed), threads: Number(args.threads), progress });
    const s = (performance.now() - t) / 1000;
    const rss = process.resourceUsage().maxRSS / 1024;
    console.error(`${laz}: ${points} points, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(1)} s (${(points / s / 1e6).toFixed(2)} M points/s), peak RSS ${rss.toFixed(0)} MiB`);
    return;
  }
  const out = resolve(args.out ?? `bench/data/synthetic-${points}.las`);
  let t = performance.now();
  const pdrf = Number(args.pdrf);
  if (!Number.isInteger(pdrf) || pdrf < 0 || pdrf > 10) throw new Error(`--pdrf must be a point format 0-10, got ${args.pdrf}`);
  const lasBytes = await generateLas(points, out, Number(args.seed), pdrf);
  console.error(`${out}: ${points} points, ${(lasBytes / 1e6).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  if (!args["no-laz"]) {
    const laz = resolve(args.laz ?? out.replace(/\.las$/i, "") + ".laz");
    t = performance.now();
    const lazBytes = await generateLaz(out, laz);
    console.error(`${laz}: ${(lazBytes / 1e6).toFixed(1)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
