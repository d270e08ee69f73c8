import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { epsgDefinitions } from "../../crs/epsg-definitions.js";
import { bytesSource } from "../../io/byte-source.js";
import { sharedData } from "../../testing/shared-data.js";
import { SYNTHETIC_SCHEMA, syntheticCloud } from "../../testing/synthetic.js";
import { chunkBounds, type PointChunk, type PointSchema } from "../chunk.js";
import { readLasHeader } from "../las/header.js";
import { openLasOrLaz } from "../las/open.js";
import { LasWriter } from "../las/writer.js";
import { patchedBytes } from "../../io/patched.js";
import { readCopcHierarchy, readCopcInfo } from "./hierarchy.js";
import { inThreadLazCompressor } from "./laz-chunks.js";
import { copcCube, copcNodeOf, type CopcCube, type CopcKey, type CopcNodeRecords, CopcWriter, type CopcWriterOptions, encodeCopc, writeCopc } from "./writer.js";

/* The `copc` npm package (CommonJS), as far as these tests use it. */
interface CopcHierarchyNode {
  pointCount: number;
  pointDataOffset: number;
  pointDataLength: number;
}
interface CopcPage {
  pageOffset: number;
  pageLength: number;
}
type Getter = (begin: number, end: number) => Promise<Uint8Array>;
interface CopcFile {
  header: { pointCount: number; scale: number[]; offset: number[]; pointDataRecordFormat: number; pointDataRecordLength: number; headerLength: number; minorVersion: number; min: number[]; max: number[]; evlrCount: number; pointCountByReturn: number[] };
  vlrs: { userId: string; recordId: number; contentOffset: number; contentLength: number; isExtended: boolean }[];
  info: { cube: number[]; spacing: number; rootHierarchyPage: CopcPage; gpsTimeRange: [number, number] };
  wkt?: string;
}
interface CopcLib {
  Copc: {
    create(get: Getter): Promise<CopcFile>;
    loadHierarchyPage(get: Getter, page: CopcPage): Promise<{ nodes: Record<string, CopcHierarchyNode | undefined>; pages: Record<string, CopcPage | undefined> }>;
    loadPointDataBuffer(get: Getter, header: CopcFile["header"], node: CopcHierarchyNode): Promise<Uint8Array>;
  };
}
const { Copc } = createRequire(import.meta.url)("copc") as CopcLib;

/** The columns of `chunk` at `indices` (i32 positions kept). */
function subChunk(chunk: PointChunk, schema: PointSchema, indices: number[]): PointChunk {
  const p = chunk.positions;
  if (p.kind !== "i32") throw new Error("test chunks carry i32 positions");
  const pick = <T extends { length: number; [i: number]: number }>(a: T, make: (n: number) => T): T => {
    const out = make(indices.length);
    indices.forEach((i, k) => (out[k] = a[i]));
    return out;
  };
  const out: PointChunk = {
    count: indices.length,
    positions: { kind: "i32", x: pick(p.x, (n) => new Int32Array(n)), y: pick(p.y, (n) => new Int32Array(n)), z: pick(p.z, (n) => new Int32Array(n)), scale: p.scale, offset: p.offset },
  };
  for (const c of schema.columns) {
    const col = chunk[c] as unknown as { length: number; [i: number]: number; constructor: new (n: number) => never } | undefined;
    if (col) (out as unknown as Record<string, unknown>)[c] = pick(col, (n) => new col.constructor(n));
  }
  return out;
}

/** One chunk holding all of a reader's points (small files). */
async function collect(chunks: AsyncIterable<PointChunk>, schema: PointSchema): Promise<PointChunk> {
  const all: PointChunk[] = [];
  for await (const c of chunks) all.push(c);
  const n = all.reduce((s, c) => s + c.count, 0);
  const first = all[0].positions;
  if (first.kind !== "i32") throw new Error("i32 positions expected");
  const cat = <T extends Int32Array | Float64Array | Uint16Array | Uint8Array | Float32Array>(cols: T[]): T => {
    const out = new (cols[0].constructor as new (n: number) => T)(n);
    let at = 0;
    for (const c of cols) {
      out.set(c as never, at);
      at += c.length;
    }
    return out;
  };
  const pos = all.map((c) => c.positions as typeof first);
  const out: PointChunk = { count: n, positions: { kind: "i32", x: cat(pos.map((p) => p.x)), y: cat(pos.map((p) => p.y)), z: cat(pos.map((p) => p.z)), scale: first.scale, offset: first.offset } };
  for (const c of schema.columns) (out as unknown as Record<string, unknown>)[c] = cat(all.map((ch) => ch[c] as Uint8Array));
  return out;
}

/**
 * laz-perf (hence `copc`) spends a fixed ~30 ms setting up each layered chunk's decoder, so the test
 * octrees are shallow: a few dozen nodes.
 *
 * An additive octree of depth `depth`, the way a tiler might cut one: each point goes to one level (a
 * hash of its index) and to the node of that level holding it. Nodes in a fixed, not sorted, order.
 */
function octree(w: CopcWriter, chunk: PointChunk, schema: PointSchema, depth: number): { nodes: CopcNodeRecords[]; chunks: PointChunk[] } {
  const p = chunk.positions as Extract<PointChunk["positions"], { kind: "i32" }>;
  const groups = new Map<string, { key: CopcKey; indices: number[] }>();
  const out = new Int32Array(3);
  for (let i = 0; i < chunk.count; i++) {
    const level = Math.imul(i + 1, 2654435761) >>> 29 > depth ? depth : Math.imul(i + 1, 2654435761) >>> 29;
    const x = p.x[i] * p.scale[0] + p.offset[0];
    const y = p.y[i] * p.scale[1] + p.offset[1];
    const z = p.z[i] * p.scale[2] + p.offset[2];
    copcNodeOf(w.cube, level, x, y, z, out);
    const name = `${level}-${out[0]}-${out[1]}-${out[2]}`;
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { key: { level, x: out[0], y: out[1], z: out[2] }, indices: [] }));
    g.indices.push(i);
  }
  const nodes: CopcNodeRecords[] = [];
  const chunks: PointChunk[] = [];
  for (const g of groups.values()) {
    const c = subChunk(chunk, schema, g.indices);
    chunks.push(c);
    nodes.push({ key: g.key, records: w.encode(c) });
  }
  return { nodes, chunks };
}

/** Every node of a COPC file through the `copc` package, following child pages. */
async function copcNodes(get: Getter, root: CopcPage): Promise<{ nodes: Map<string, CopcHierarchyNode>; pages: number }> {
  const nodes = new Map<string, CopcHierarchyNode>();
  const todo = [root];
  let pages = 0;
  while (todo.length > 0) {
    const page = await Copc.loadHierarchyPage(get, todo.pop()!);
    pages++;
    for (const [k, n] of Object.entries(page.nodes)) if (n) nodes.set(k, n);
    for (const p of Object.values(page.pages)) if (p) todo.push(p);
  }
  return { nodes, pages };
}

/** Reads a COPC file with `copc` (laz-perf) and with our reader; checks every node and the validator's rules. */
async function checkReadBack(bytes: Uint8Array, written: { nodes: CopcNodeRecords[]; chunks: PointChunk[] }, wkt: string | undefined): Promise<{ pages: number }> {
  const get: Getter = async (b, e) => bytes.slice(b, e);
  const file = await Copc.create(get);
  const total = written.chunks.reduce((s, c) => s + c.count, 0);
  assert.equal(file.header.pointCount, total);
  assert.equal(file.header.minorVersion, 4);
  assert.equal(file.header.headerLength, 375);
  assert.ok([6, 7, 8].includes(file.header.pointDataRecordFormat));
  const info = file.vlrs.find((v) => v.userId === "copc" && v.recordId === 1)!;
  assert.ok(!info.isExtended && info.contentOffset === 429 && info.contentLength === 160, "the info VLR is the first VLR");
  assert.ok(file.vlrs.some((v) => v.userId === "copc" && v.recordId === 1000 && v.isExtended), "hierarchy EVLR");
  assert.ok(file.vlrs.some((v) => v.userId === "laszip encoded" && !v.isExtended));
  assert.equal(file.header.evlrCount, 1);
  assert.equal(file.wkt, wkt);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(107, true), 0, "legacy point count 0 for PDRF 6-8");
  const cube = file.info.cube;
  for (let a = 0; a < 3; a++) {
    const mid = (cube[a] + cube[a + 3]) / 2;
    assert.ok(cube[a] <= file.header.min[a] && file.header.max[a] <= cube[a + 3], "the cube holds the bounds");
    if (file.header.max[a] > file.header.min[a]) assert.ok(mid > file.header.min[a] && mid < file.header.max[a], "the cube's centre is inside the bounds");
  }

  const { nodes, pages } = await copcNodes(get, file.info.rootHierarchyPage);
  // Every node is reachable from the root through nodes that exist.
  for (const k of nodes.keys()) {
    let [l, x, y, z] = k.split("-").map(Number);
    while (l > 0) {
      l--;
      x >>= 1;
      y >>= 1;
      z >>= 1;
      assert.ok(nodes.has(`${l}-${x}-${y}-${z}`), `ancestor ${l}-${x}-${y}-${z} of ${k}`);
    }
  }
  const [gpsMin, gpsMax] = file.info.gpsTimeRange;
  let decoded = 0;
  for (let i = 0; i < written.nodes.length; i++) {
    const { key, records } = written.nodes[i];
    const name = `${key.level}-${key.x}-${key.y}-${key.z}`;
    const node = nodes.get(name);
    assert.ok(node, `node ${name} in the hierarchy`);
    assert.equal(node.pointCount, written.chunks[i].count);
    const raw = await Copc.loadPointDataBuffer(get, file.header, node);
    assert.ok(Buffer.from(raw).equals(Buffer.from(records)), `node ${name}: laz-perf decodes the records written`);
    // Positions and GPS time from the decoded records, with the header's quantisation as `copc` parsed it.
    const size = (cube[3] - cube[0]) / 2 ** key.level;
    const rl = file.header.pointDataRecordLength;
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const k = [key.x, key.y, key.z];
    for (let j = 0; j < node.pointCount; j++) {
      for (let a = 0; a < 3; a++) {
        const c = v.getInt32(j * rl + 4 * a, true) * file.header.scale[a] + file.header.offset[a];
        if (!(c >= cube[a] + k[a] * size && c <= cube[a] + (k[a] + 1) * size)) assert.fail(`node ${name}: point ${j} outside its cube`);
      }
      const t = v.getFloat64(j * rl + 22, true);
      if (!(t >= gpsMin && t <= gpsMax)) assert.fail(`node ${name}: GPS time ${t} outside the info range`);
    }
    decoded += node.pointCount;
  }
  assert.equal(decoded, total);
  assert.equal([...nodes.values()].reduce((s, n) => s + n.pointCount, 0), total);

  // Our own reader: the hierarchy, and the points as plain LAZ, node after node in file order.
  const src = bytesSource(bytes, "written.copc.laz");
  const header = await readLasHeader(src);
  const ours = await readCopcHierarchy(src, readCopcInfo(header, src.name)!);
  assert.equal(ours.reduce((s, n) => s + n.pointCount, 0), total);
  const reader = await openLasOrLaz(src);
  let at = 0;
  let node = 0;
  let inNode = 0;
  for await (const c of reader.chunks()) {
    const p = c.positions as Extract<PointChunk["positions"], { kind: "i32" }>;
    for (let i = 0; i < c.count; i++, at++, inNode++) {
      while (inNode === written.chunks[node].count) {
        node++;
        inNode = 0;
      }
      const e = written.chunks[node];
      const ep = e.positions as typeof p;
      if (p.x[i] !== ep.x[inNode] || p.y[i] !== ep.y[inNode] || p.z[i] !== ep.z[inNode]) assert.fail(`point ${at}: position differs`);
      for (const col of ["intensity", "classification", "gpsTime", "red", "green", "blue", "returnNumber", "numberOfReturns"] as const) {
        const a = c[col];
        const b = e[col];
        if (a && b && a[i] !== b[inNode]) assert.fail(`point ${at}: ${col} ${a[i]}, expected ${b[inNode]}`);
      }
    }
  }
  assert.equal(at, total);
  return { pages };
}

const WKT_32633 = epsgDefinitions(32633)!.wkt!;

async function synthetic(n: number): Promise<PointChunk> {
  return collect(syntheticCloud(n, { chunkPoints: 4096 }), SYNTHETIC_SCHEMA);
}

function options(chunk: PointChunk, schema: PointSchema, extra: Partial<CopcWriterOptions> = {}): CopcWriterOptions {
  const p = chunk.positions as Extract<PointChunk["positions"], { kind: "i32" }>;
  const cube: CopcCube = copcCube(chunkBounds(chunk));
  return { schema, scale: p.scale, offset: p.offset, cube, creationDate: new Date(Date.UTC(2024, 0, 15)), ...extra };
}

describe("COPC writer", () => {
  it("writes a synthetic octree that copc (laz-perf) and our reader read back node for node", async () => {
    const chunk = await synthetic(20_000);
    const opts = options(chunk, SYNTHETIC_SCHEMA, { wkt: WKT_32633 });
    const written = octree(new CopcWriter(opts), chunk, SYNTHETIC_SCHEMA, 2);
    const bytes = await encodeCopc(opts, written.nodes);
    const { pages } = await checkReadBack(bytes, written, WKT_32633);
    assert.equal(pages, 1);
  });

  it("pages a large hierarchy: every child page resolves", async () => {
    const chunk = await synthetic(3_000);
    const opts = options(chunk, SYNTHETIC_SCHEMA, { wkt: WKT_32633, pageLevels: 1 });
    const written = octree(new CopcWriter(opts), chunk, SYNTHETIC_SCHEMA, 2);
    const { pages } = await checkReadBack(await encodeCopc(opts, written.nodes), written, WKT_32633);
    assert.ok(pages > 3, `${pages} pages`);
  });

  it("is deterministic and matches the golden hash", async () => {
    const chunk = await synthetic(500);
    const opts = options(chunk, SYNTHETIC_SCHEMA, { wkt: WKT_32633 });
    const written = octree(new CopcWriter(opts), chunk, SYNTHETIC_SCHEMA, 1);
    const a = await encodeCopc(opts, written.nodes);
    assert.deepEqual(a, await encodeCopc(opts, octree(new CopcWriter(opts), chunk, SYNTHETIC_SCHEMA, 1).nodes));
    assert.equal(createHash("sha256").update(a).digest("hex"), "ba7f19d998fbc51223d7b906dd2fcae2a34d6e5a7bc728faa291b254136acec5");
    await checkReadBack(a, written, WKT_32633);
  });

  it("compresses nodes concurrently into the same bytes", async () => {
    const chunk = await synthetic(2_000);
    const opts = options(chunk, SYNTHETIC_SCHEMA, { wkt: WKT_32633 });
    const { nodes } = octree(new CopcWriter(opts), chunk, SYNTHETIC_SCHEMA, 1);
    const serial = await encodeCopc(opts, nodes);
    const inner = inThreadLazCompressor(opts.pdrf ?? 7, new CopcWriter(opts).recordLength);
    // Later nodes finish first: the writer must still lay the chunks out in node order.
    let delay = 20;
    const compressor = { compress: async (r: Uint8Array, n: number) => (await new Promise((ok) => setTimeout(ok, (delay = Math.max(0, delay - 4)))), inner.compress(r, n)) };
    const { stream, patches } = writeCopc(opts, nodes, { compressor, concurrency: 4 });
    assert.deepEqual(await patchedBytes(stream, patches), serial);
  });

  it("counts points in the 64-bit header fields (legacy fields 0), past 2^32", async () => {
    const chunk = await synthetic(10);
    const opts = options(chunk, SYNTHETIC_SCHEMA);
    // The statistics the writer patches come from its LAS header writer; announce 5e9 points to it.
    const header = new LasWriter({ ...opts, pdrf: 7, minorVersion: 4 }).provisionalHeader(5_000_000_000);
    const v = new DataView(header.buffer);
    assert.equal(v.getBigUint64(247, true), 5_000_000_000n);
    assert.equal(v.getUint32(107, true), 0);
  });

  it("refuses points outside their node, a node twice, and EPSG codes instead of WKT", async () => {
    const chunk = await synthetic(100);
    const opts = options(chunk, SYNTHETIC_SCHEMA);
    assert.throws(() => new CopcWriter({ ...opts, wkt: "EPSG:32633" }), /WKT/);
    const w = new CopcWriter(opts);
    w.header();
    const records = w.encode(chunk);
    await w.addNode({ level: 0, x: 0, y: 0, z: 0 }, records);
    await assert.rejects(w.addNode({ level: 0, x: 0, y: 0, z: 0 }, records), /already added/);
    assert.throws(() => w.measureNode({ level: 1, x: 1, y: 1, z: 1 }, records), /outside the node's cube/);
    assert.throws(() => w.measureNode({ level: 1, x: 2, y: 0, z: 0 }, records), /outside the cube/);
  });
});

const SAMPLES = ["1.2-with-color.las", "1_4_w_evlr.las", "autzen_trim.las", "epsg_4326.las", "file_with_both_wkt_and_geotiff_vlrs.las", "mvk-thin.las", "1.2-with-color.copc.laz"];

describe("COPC writer on the shared LAS/LAZ samples", () => {
  for (const name of SAMPLES) {
    it(`${name}: copc and our reader read back every point`, async () => {
      const reader = await openLasOrLaz(bytesSource(new Uint8Array(readFileSync(sharedData("pointcloud", name))), name));
      const chunk = await collect(reader.chunks(), reader.schema);
      const epsg = /^EPSG:(\d+)$/.exec(reader.crs ?? "");
      const wkt = epsg ? (epsgDefinitions(Number(epsg[1]))?.wkt ?? undefined) : reader.crs;
      const opts = options(chunk, reader.schema, { wkt });
      const written = octree(new CopcWriter(opts), chunk, reader.schema, 1);
      await checkReadBack(await encodeCopc(opts, written.nodes), written, wkt);
    });
  }
});
