/**
 * Damaged copies of every sample point cloud, converted by the PointCloudConversion runner to LAS and LAZ.
 * Corruptions are deterministic (a PRNG seeded by file and case): bytes overwritten in the header, the
 * VLRs / XML, the point data; truncations; lying point counts. E57 copies are damaged both as they are
 * (the page CRCs must catch it) and with their CRCs recomputed (to reach the parsers behind them).
 *
 * The rule every case must keep:
 * - a failure is a FormatError naming the file, or a ConversionError whose parameters name it: what the
 *   worker reports as invalid input, never as an internal error (service/worker/host.ts `failureMessage`);
 * - a success gives, per case kind,
 *   - "intact" (only bytes that decode no point changed: GUID, names, header bounds): must succeed, with
 *     the points of a clean decode of the original;
 *   - "detected" (the format can tell: CRC-checked E57 pages, LAZ point data, truncations of formats that
 *     state their size, lying counts): the points of the original, point for point (no dropped or
 *     invented point);
 *   - "faithful" (other bytes of an uncompressed format, which may decode to other values): the points of a
 *     decode of the damaged copy through the same reader, point for point.
 * Points compare positions within half the output's quantisation step and every column both sides have.
 *
 * Bounded to about a minute on two cores: files of up to LIGHT_POINTS points (not LAZ) get several
 * offsets per kind and every case to LAS and LAZ; bigger ones and LAZ files (slow to decode) one offset per
 * kind, to LAS, the intact case to LAZ too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { bytesSource, FormatError, openLasOrLaz, type PointCloudReader } from "@realconv/formats";
import { crc32c } from "@realconv/formats/e57";
import { sharedData } from "@realconv/formats/testing/shared-data";
import { ConversionError } from "../contract/runner.js";
import { flatten, memoryFile, runPointCloudConversion, shared } from "../testing/memory-io.js";

import { openSources } from "./sources.js";
import { mulberry32Of as prng } from "@realconv/formats/testing/prng";

type Expectation = "intact" | "detected" | "faithful";

interface Corruption {
  label: string;
  bytes: Uint8Array;
  expect: Expectation;
}

const LIGHT_POINTS = 20_000;
const OUTPUT_FORMATS = ["LAS", "LAZ"] as const;


class Damage {
  readonly cases: Corruption[] = [];
  constructor(
    readonly name: string,
    readonly original: Uint8Array,
    /** Fewer cases for files slow to convert: one offset per kind. */
    readonly heavy: boolean,
  ) {}

  /** Random bytes over `length` bytes at `offset` (clipped to the file). */
  overwrite(label: string, offset: number, length: number, expect: Expectation, options: { after?: (b: Uint8Array) => void } = {}): void {
    const bytes = this.original.slice();
    const random = prng(`${this.name}:${label}:${offset}`);
    for (let i = offset; i < Math.min(bytes.length, offset + length); i++) bytes[i] = Math.floor(random() * 256);
    options.after?.(bytes);
    this.cases.push({ label: `${label} at ${offset}`, bytes, expect });
  }

  truncate(at: number, expect: Expectation): void {
    this.cases.push({ label: `truncated at ${at}`, bytes: this.original.slice(0, at), expect });
  }

  edit(label: string, expect: Expectation, change: (bytes: Uint8Array, view: DataView) => void): void {
    const bytes = this.original.slice();
    change(bytes, new DataView(bytes.buffer));
    this.cases.push({ label, bytes, expect });
  }

  /** `count` offsets (1 for heavy files) spread over [start, end), each moved by the PRNG within its slice. */
  offsets(label: string, start: number, end: number, count: number): number[] {
    const random = prng(`${this.name}:${label}:offsets`);
    if (this.heavy) count = 1;
    const span = (end - start) / count;
    return Array.from({ length: count }, (_, i) => Math.floor(start + span * (i + random())));
  }
}

function lasCases(d: Damage): void {
  const v = new DataView(d.original.buffer, d.original.byteOffset);
  const compressed = d.name.endsWith(".laz");
  const headerSize = v.getUint16(94, true);
  const pointStart = v.getUint32(96, true);
  const minor = d.original[25];
  const legacyCount = v.getUint32(107, true);
  const count = minor >= 4 && v.getBigUint64(247, true) > 0n ? Number(v.getBigUint64(247, true)) : legacyCount;
  const evlrs = minor >= 4 && v.getUint32(243, true) > 0 ? Number(v.getBigUint64(235, true)) : d.original.length;
  const pointEnd = compressed ? evlrs : pointStart + count * v.getUint16(105, true);

  d.overwrite("GUID, names and bounds", 8, 16, "intact", {
    after: (b) => {
      const random = prng(`${d.name}:names`);
      for (const [from, to] of [[26, 90], [179, 227]]) for (let i = from; i < to; i++) b[i] = Math.floor(random() * 256);
    },
  });
  for (const at of d.offsets("header", 90, headerSize, 3)) d.overwrite("header bytes", at, 8, "faithful");
  if (pointStart > headerSize) for (const at of d.offsets("vlr", headerSize, pointStart, 2)) d.overwrite("VLR bytes", at, 16, "faithful");
  for (const at of d.offsets("points", pointStart, pointEnd, 2)) d.overwrite("point bytes", at, 32, compressed ? "detected" : "faithful");
  const cuts = [100, Math.floor((headerSize + pointStart) / 2), pointStart + 1, Math.floor((pointStart + pointEnd) / 2), d.original.length - 1];
  for (const at of d.heavy ? cuts.slice(2) : cuts) d.truncate(at, "detected");
  const legacy = legacyCount === 0 ? [1, 0xffffffff] : d.heavy ? [legacyCount - 1, legacyCount + 1] : [0, legacyCount - 1, legacyCount + 1, 0xffffffff];
  for (const n of legacy) d.edit(`legacy count ${n}`, "detected", (_, view) => view.setUint32(107, n, true));
  if (minor >= 4) {
    const counts = [BigInt(count - 1), BigInt(count + 1), 1n << 63n];
    for (const n of d.heavy ? counts.slice(0, 1) : counts) d.edit(`LAS 1.4 count ${n}`, "detected", (_, view) => view.setBigUint64(247, n, true));
  }
}

const PAGE = 1024;

/** The damaged copy with every page's CRC-32C recomputed, as a writer of those bytes would have left it. */
function recrc(bytes: Uint8Array): void {
  for (let at = 0; at + PAGE <= bytes.length; at += PAGE) {
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(at + 1020, crc32c(bytes, at, at + 1020), false);
  }
}

function e57Cases(d: Damage): void {
  const v = new DataView(d.original.buffer, d.original.byteOffset);
  const xmlStart = Number(v.getBigUint64(24, true));
  const xmlEnd = xmlStart + Number(v.getBigUint64(32, true));
  // Points sections sit between page 0 and the XML in the files writers produce.
  for (const at of [20, ...d.offsets("raw xml", xmlStart, Math.min(xmlEnd, d.original.length), 1), ...d.offsets("raw data", PAGE, xmlStart, 1)]) {
    d.overwrite("bytes under a CRC", at, 8, "detected");
  }
  const after = recrc;
  for (const at of [16, 24, 32]) d.overwrite("header field, CRC recomputed", at, 8, "faithful", { after });
  for (const at of d.offsets("xml", xmlStart, xmlEnd, 2)) d.overwrite("XML bytes, CRC recomputed", at, 6, "faithful", { after });
  for (const at of d.offsets("data", PAGE, xmlStart, 2)) d.overwrite("point bytes, CRC recomputed", at, 16, "faithful", { after });
  for (const at of [1100, Math.floor(d.original.length / 2), d.original.length - 1]) d.truncate(at, "detected");
  // A lying recordCount of the first scan, one more or one less (same length), the XML pages re-checksummed.
  const xml = new TextDecoder("latin1").decode(d.original.subarray(0, d.original.length));
  const found = /recordCount="(\d+)"/.exec(xml.slice(xmlStart));
  assert.ok(found, `${d.name}: recordCount in the XML`);
  const digitAt = xmlStart + found.index + found[0].length - 2;
  const last = d.original[digitAt] - 48;
  for (const digit of [last - 1, last + 1].filter((x) => x >= 0 && x <= 9 && !(x === 0 && found[1].length === 1))) {
    d.edit(`recordCount ${found[1].slice(0, -1)}${digit}`, "detected", (b) => {
      b[digitAt] = 48 + digit;
      recrc(b);
    });
  }
}

/** Replaces the first match of `pattern` in the text head of the file (PLY header, PTS count line). */
function rewriteHead(bytes: Uint8Array, pattern: RegExp, replace: (match: string) => string): Uint8Array {
  const headLength = Math.min(bytes.length, 4096);
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, headLength));
  const m = pattern.exec(head);
  assert.ok(m, `${pattern} in the head`);
  const changed = new Uint8Array(Buffer.from(head.slice(0, m.index) + replace(m[0]) + head.slice(m.index + m[0].length), "latin1"));
  const out = new Uint8Array(changed.length + bytes.length - headLength);
  out.set(changed);
  out.set(bytes.subarray(headLength), changed.length);
  return out;
}

function plyCases(d: Damage): void {
  const head = new TextDecoder("latin1").decode(d.original.subarray(0, 4096));
  const dataStart = head.indexOf("end_header\n") + 11;
  for (const at of d.offsets("header", 0, dataStart, 2)) d.overwrite("header bytes", at, 6, "faithful");
  for (const at of d.offsets("points", dataStart, d.original.length, 2)) d.overwrite("point bytes", at, 16, "faithful");
  for (const at of [dataStart - 5, dataStart + 7, Math.floor(d.original.length / 2), d.original.length - 1]) d.truncate(at, "detected");
  for (const delta of [-1, 1]) {
    d.cases.push({
      label: `vertex count ${delta > 0 ? "+" : ""}${delta}`,
      bytes: rewriteHead(d.original, /element vertex (\d+)/, (m) => `element vertex ${Number(m.slice(15)) + delta}`),
      expect: "detected",
    });
  }
}

function textCases(d: Damage, pts: boolean): void {
  const size = d.original.length;
  for (const at of [0, ...d.offsets("lines", 1, size, 2)]) d.overwrite("text bytes", at, 4, "faithful");
  for (const at of [1, Math.floor(size / 2), size - 1]) d.truncate(at, pts ? "detected" : "faithful");
  if (pts) {
    for (const delta of [-1, 1]) {
      d.cases.push({ label: `count ${delta}`, bytes: rewriteHead(d.original, /^\d+/, (m) => String(Number(m) + delta)), expect: "detected" });
    }
  }
}

function corruptions(name: string, heavy: boolean): Corruption[] {
  const d = new Damage(name, shared(name), heavy);
  if (/\.la[sz]$/.test(name)) lasCases(d);
  else if (name.endsWith(".e57")) e57Cases(d);
  else if (name.endsWith(".ply")) plyCases(d);
  else textCases(d, name.endsWith(".pts"));
  return d.cases;
}

type Points = Awaited<ReturnType<typeof flatten>>;

/** The points of each source of a file (E57: one per scan), by output base name, through the runner's readers. */
async function decode(bytes: Uint8Array, name: string): Promise<Map<string, Points>> {
  const out = new Map<string, Points>();
  const signal = new AbortController().signal;
  for (const source of await openSources(memoryFile(bytes, name))) {
    const reader: PointCloudReader = { ...source, warnings: [...source.warnings], chunks: () => source.chunks(signal) };
    out.set(source.baseName, await flatten(reader));
  }
  return out;
}

function assertSamePoints(out: Points, want: Points, scale: readonly number[], label: string): void {
  assert.equal(out.count, want.count, `${label}: point count`);
  for (let i = 0; i < out.xyz.length; i++) {
    const same = Math.abs(out.xyz[i] - want.xyz[i]) <= scale[i % 3] / 2 + 1e-9 || Object.is(out.xyz[i], want.xyz[i]);
    if (!same) assert.fail(`${label}: coordinate ${i % 3} of point ${Math.floor(i / 3)}: ${out.xyz[i]}, expected ${want.xyz[i]}`);
  }
  for (const [column, values] of want.cols) {
    if (out.cols.has(column)) assert.deepEqual(out.cols.get(column), values, `${label}: ${column}`);
  }
}

/** What the worker would report: anything but a FormatError or ConversionError naming the file is internal. */
function assertNamesTheFile(error: unknown, name: string, label: string): void {
  if (error instanceof FormatError) {
    assert.equal(error.file, name, `${label}: ${error.message}`);
    return;
  }
  if (error instanceof ConversionError) {
    assert.ok(error.params.some((p) => p.includes(name)), `${label}: ${error.message} ${error.params.join(" | ")}`);
    return;
  }
  assert.fail(`${label}: internal error: ${error instanceof Error ? error.stack : String(error)}`);
}

const originals = new Map<string, Map<string, Points>>();

async function decodeOriginal(name: string): Promise<Map<string, Points>> {
  if (!originals.has(name)) originals.set(name, await decode(shared(name), name));
  return originals.get(name)!;
}

async function check(name: string, c: Corruption, format: (typeof OUTPUT_FORMATS)[number]): Promise<void> {
  const label = `${name}, ${c.label}, to ${format}`;
  const outcome = await runPointCloudConversion([memoryFile(c.bytes, name)], format).then(
    (run) => ({ run }),
    (error: unknown) => ({ error }),
  );
  if ("error" in outcome) {
    assert.notEqual(c.expect, "intact", `${label}: must convert, failed with ${outcome.error}`);
    assertNamesTheFile(outcome.error, name, label);
    return;
  }
  const want = c.expect === "faithful" ? await decode(c.bytes, name) : await decodeOriginal(name);
  const ext = format.toLowerCase();
  for (const [base, points] of want) {
    const output = outcome.run.sink.files.get(`${base}.${ext}`);
    assert.ok(output, `${label}: output ${base}.${ext} among ${[...outcome.run.sink.files.keys()].join(", ")}`);
    const reader = await openLasOrLaz(bytesSource(output, `${base}.${ext}`));
    assertSamePoints(await flatten(reader), points, reader.header.scale, label);
  }
}

const samples = readdirSync(sharedData("pointcloud")).filter((n) => /\.(las|laz|e57|ply|pts|xyz)$/i.test(n)).sort();

for (const name of samples) {
  test(`damaged copies of ${name} fail naming the file or convert without losing or inventing points`, async (t) => {
    const points = [...(await decodeOriginal(name)).values()].reduce((n, p) => n + p.count, 0);
    const heavy = points > LIGHT_POINTS || name.endsWith(".laz");
    for (const c of corruptions(name, heavy)) {
      for (const format of heavy && c.expect !== "intact" ? OUTPUT_FORMATS.slice(0, 1) : OUTPUT_FORMATS) {
        await t.test(`${c.label} to ${format}`, () => check(name, c, format));
      }
    }
  });
}
