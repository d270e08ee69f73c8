#!/usr/bin/env node
// LAZ chunk decoding speed: our pure-TypeScript decoder (lazdec: point-wise and layered chunks, with the
// reader's checks: stream ends and header bounds) against laz-perf's WASM ChunkDecoder (one getPoint call
// per point), on the same file, in one process. Both decode every chunk to raw LAS records; an XYZ
// checksum shows they agree.
//   node bench/laz-decode.mjs [file.laz] [--runs 3] [--decoders ours,lazperf] [--before <checkout>]
// `--decoders` runs one of them alone, e.g. under `valgrind --tool=callgrind`, where the instruction
// count of one warm run is the difference between `--runs N+1` and `--runs N` (repeatable, unlike time
// on a shared machine). `--before <checkout>` adds decoder `before`: lazdec of another built checkout
// (its packages/formats/dist), run alternately with this tree's in the same process.
// Needs `npx tsc -b` first (imports the built dist). Default input: bench/data/synthetic-5m.laz.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const f = await import("../packages/formats/dist/index.js");
const { decodeChunk } = await import("../packages/formats/dist/pointcloud/lazdec/chunk.js");
const { rawLimits } = await import("../packages/formats/dist/pointcloud/laz/reader.js");
const { lazPerf } = await import("../packages/formats/dist/testing/lazperf-decode.js");

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: "string", default: "3" }, decoders: { type: "string" }, before: { type: "string" } },
});
const path = positionals[0] ?? join(HERE, "data", "synthetic-5m.laz");
const runs = Number(values.runs);
const decoders = new Set((values.decoders ?? (values.before ? "ours,before,lazperf" : "ours,lazperf")).split(","));
for (const d of decoders) if (d !== "ours" && d !== "lazperf" && d !== "before") throw new Error(`--decoders: unknown decoder ${d} (ours, before, lazperf)`);
if (decoders.has("before") && !values.before) throw new Error("decoder before needs --before <checkout>");
const beforeDist = values.before && pathToFileURL(join(values.before, "packages/formats/dist/pointcloud/")).href;
const before = beforeDist && {
  decodeChunk: (await import(`${beforeDist}lazdec/chunk.js`)).decodeChunk,
  rawLimits: (await import(`${beforeDist}laz/reader.js`)).rawLimits,
};

const bytes = new Uint8Array(readFileSync(path));
const src = {
  size: bytes.length,
  name: path,
  async read(offset, length) {
    return bytes.subarray(offset, Math.min(bytes.length, offset + length));
  },
};
const h = await f.readLasHeader(src);
const vlr = h.vlrs.find((r) => r.userId === "laszip encoded" && r.recordId === 22204);
const lz = f.parseLaszipVlr(vlr.data, path, vlr.dataOffset);
const chunks = await f.readLazChunkTable(src, h, lz);
const rl = h.recordLength;
const maxPoints = Math.max(...chunks.map((c) => c.pointCount));
const total = chunks.reduce((n, c) => n + c.pointCount, 0);

/** XYZ sum over decoded records (consumes the output, cross-checks the two decoders). */
function tally(out, count, acc) {
  const dv = new DataView(out.buffer, out.byteOffset, count * rl);
  for (let i = 0, p = 0; i < count; i++, p += rl) acc.s = (acc.s + dv.getInt32(p, true) + dv.getInt32(p + 4, true) + dv.getInt32(p + 8, true)) | 0;
}

function runLazdec({ decodeChunk, rawLimits }) {
  const out = new Uint8Array(maxPoints * rl);
  const acc = { s: 0 };
  const c0 = process.cpuUsage().user;
  const t0 = performance.now();
  const limits = rawLimits(h);
  for (const ch of chunks) {
    decodeChunk(bytes.subarray(ch.start, ch.start + ch.byteLength), h.pdrf, rl, ch.pointCount, limits, out);
    tally(out, ch.pointCount, acc);
  }
  return { s: (performance.now() - t0) / 1000, cpu: (process.cpuUsage().user - c0) / 1e6, sum: acc.s };
}

const m = decoders.has("lazperf") ? await lazPerf() : undefined;
async function runLazPerf() {
  const out = new Uint8Array(maxPoints * rl);
  const acc = { s: 0 };
  const c0 = process.cpuUsage().user;
  const t0 = performance.now();
  const cptr = m._malloc(Math.max(...chunks.map((c) => c.byteLength)) + 64);
  const optr = m._malloc(maxPoints * rl);
  for (const ch of chunks) {
    m.HEAPU8.fill(0, cptr + ch.byteLength, cptr + ch.byteLength + 64);
    m.HEAPU8.set(bytes.subarray(ch.start, ch.start + ch.byteLength), cptr);
    const dec = new m.ChunkDecoder();
    dec.open(h.pdrf, rl, cptr);
    for (let i = 0; i < ch.pointCount; i++) dec.getPoint(optr + i * rl);
    dec.delete();
    // the same hand-over the LAZ reader does: records copied out of the WASM heap
    out.set(m.HEAPU8.subarray(optr, optr + ch.pointCount * rl));
    tally(out, ch.pointCount, acc);
  }
  m._free(optr);
  m._free(cptr);
  return { s: (performance.now() - t0) / 1000, cpu: (process.cpuUsage().user - c0) / 1e6, sum: acc.s };
}

console.log(`${path}: ${total} points, PDRF ${h.pdrf}, ${rl}-byte records, ${chunks.length} chunks; ${runs} runs each, alternating`);
const names = { ours: "lazdec", before: "lazdec before", lazperf: "laz-perf ChunkDecoder" };
const order = ["ours", "before", "lazperf"].filter((d) => decoders.has(d));
const res = Object.fromEntries(order.map((d) => [d, []]));
const rate = (r) => `${(total / r.s / 1e6).toFixed(2)} M pts/s (${(total / r.cpu / 1e6).toFixed(2)} per CPU-s)`;
for (let r = 0; r < runs; r++) {
  const line = [];
  let sum;
  for (const d of order) {
    const x = d === "ours" ? runLazdec({ decodeChunk, rawLimits }) : d === "before" ? runLazdec(before) : await runLazPerf();
    if (sum !== undefined && x.sum !== sum) throw new Error(`checksums differ: ${d} ${x.sum}, ${order[0]} ${sum}`);
    sum = x.sum;
    res[d].push(x);
    // per CPU-second too: on a shared machine the wall clock also counts the time other work took the core
    line.push(`${names[d]} ${rate(x)}`);
  }
  console.log(`run ${r + 1}: ${line.join(", ")}`);
}
const best = (xs) => `${(total / Math.min(...xs.map((x) => x.s)) / 1e6).toFixed(2)} M pts/s, ${(total / Math.min(...xs.map((x) => x.cpu)) / 1e6).toFixed(2)} per CPU-s`;
console.log(`best: ${order.map((d) => `${names[d]} ${best(res[d])}`).join("; ")}${order.length > 1 ? " (checksums equal)" : ""}`);
