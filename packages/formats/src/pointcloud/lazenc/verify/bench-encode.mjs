// Encoder throughput on the shared LAS files, repeated to ~1 M points; reports points per CPU-second
// (process.cpuUsage, robust on a shared machine). Run after `npx tsc -b packages/formats`:
//   node packages/formats/src/pointcloud/lazenc/verify/bench-encode.mjs [name,name...]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
const here = path.dirname(fileURLToPath(import.meta.url));
const M = path.resolve(here, "../../../../dist/pointcloud/lazenc") + "/";
const DATA = path.resolve(here, "../../../../../../../shared/data/pointcloud");
const { createLazEncoder } = await import(M + "index.js");
const { lasRecords } = await import(M + "test-support.js");
for (const f of (process.argv[2] ?? "autzen_trim,file_with_both_wkt_and_geotiff_vlrs").split(",")) {
  const src = lasRecords(new Uint8Array(fs.readFileSync(path.join(DATA, f + ".las"))));
  const reps = Math.ceil(1e6 / src.count);
  const big = new Uint8Array(src.records.length * reps);
  for (let i = 0; i < reps; i++) big.set(src.records, i * src.records.length);
  const batch = src.recordLength * 65536;
  for (let it = 0; it < 5; it++) {
    const c0 = process.cpuUsage();
    const enc = createLazEncoder(src.pointFormat, src.recordLength);
    let bytes = 0;
    for (let p = 0; p < big.length; p += batch) for (const c of enc.encode(big.subarray(p, Math.min(big.length, p + batch)))) bytes += c.length;
    const fin = enc.finish();
    for (const c of fin.chunks) bytes += c.length;
    const cu = process.cpuUsage(c0);
    const s = (cu.user + cu.system) / 1e6;
    // the first two rounds warm up the JIT
    if (it >= 2) console.log(`${f} PF${src.pointFormat}: ${((src.count * reps) / s / 1e6).toFixed(2)} M points/CPU-s, ratio ${(bytes / big.length).toFixed(3)}`);
  }
}
