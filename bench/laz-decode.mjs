#!/usr/bin/env node
// LAZ chunk decoding speed: our pure-TypeScript decoder (lazdec: point-wise and layered chunks, with the
// reader's checks: stream ends and header bounds) against laz-perf's WASM ChunkDecoder (one getPoint call
// per point), on the same file, in one process. Both decode every chunk to raw LAS records; an XYZ
// checksum shows they agree.
//   node bench/laz-decode.mjs [file.laz] [--runs 3]
// Needs `npx tsc -b` first (imports the built dist). Default input: bench/data/synthetic-5m.laz.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const f = await import("../packages/formats/dist/index.js");
const { decodeChunk } = await import("../packages/formats/dist/pointcloud/lazdec/chunk.js");
const { rawLimits } = await import("../packages/formats/dist/pointcloud/laz/reader.js");
const { lazPerf } = await import("../packages/formats/dist/testing/lazperf-decode.js");

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "3" } } });
const path = positionals[0] ?? join(HERE, "data", "synthetic-5m.laz");
const runs = Number(values.runs);

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

function runOurs() {
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

const m = await lazPerf();
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
const res = { ours: [], lazperf: [] };
for (let r = 0; r < runs; r++) {
  const a = runOurs();
  const b = await runLazPerf();
  if (a.sum !== b.sum) throw new Error(`checksums differ: ours ${a.sum}, laz-perf ${b.sum}`);
  res.ours.push(a.s);
  res.lazperf.push(b.s);
  // per CPU-second too: on a shared machine the wall clock also counts the time other work took the core
  console.log(
    `run ${r + 1}: lazdec ${(total / a.s / 1e6).toFixed(2)} M pts/s (${(total / a.cpu / 1e6).toFixed(2)} per CPU-s), ` +
      `laz-perf ChunkDecoder ${(total / b.s / 1e6).toFixed(2)} M pts/s (${(total / b.cpu / 1e6).toFixed(2)} per CPU-s)`,
  );
}
const best = (xs) => Math.min(...xs);
console.log(
  `best: lazdec ${(total / best(res.ours) / 1e6).toFixed(2)} M pts/s, laz-perf ChunkDecoder ${(total / best(res.lazperf) / 1e6).toFixed(2)} M pts/s (checksums equal)`,
);
