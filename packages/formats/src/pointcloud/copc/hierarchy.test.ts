import { it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bytesSource } from "../../io/byte-source.js";
import { readLasHeader } from "../las/header.js";
import { openLasOrLaz } from "../las/open.js";
import { sharedData } from "../../testing/shared-data.js";
import { copcNodeBounds, readCopcHierarchy, readCopcInfo } from "./hierarchy.js";

const file = () => new Uint8Array(readFileSync(sharedData("pointcloud", "1.2-with-color.copc.laz")));

it("reads the COPC octree of a COPC file: every point in exactly one node, inside its cube", async () => {
  const bytes = file();
  const src = bytesSource(bytes, "1.2-with-color.copc.laz");
  const header = await readLasHeader(src);
  const info = readCopcInfo(header, src.name);
  assert.ok(info);
  assert.ok(info.halfSize > 0 && info.spacing > 0);
  const nodes = await readCopcHierarchy(src, info);
  assert.equal(nodes.reduce((a, n) => a + n.pointCount, 0), 1065, "node counts add up to the header's");
  assert.equal(nodes[0].level, 0);
  // The root cube holds the header bounds.
  const root = copcNodeBounds(info, nodes[0]);
  for (let a = 0; a < 3; a++) {
    assert.ok(root[a] <= header.bounds[a] + 1e-6 && header.bounds[a + 3] <= root[a + 3] + 1e-6);
  }
  // Node chunks tile the point data: no overlap, all inside the file.
  const sorted = [...nodes].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1].offset + sorted[i - 1].byteSize <= sorted[i].offset);
  // And the file still reads as plain LAZ.
  const reader = await openLasOrLaz(src);
  let n = 0;
  for await (const c of reader.chunks()) n += c.count;
  assert.equal(n, 1065);
});

it("a plain LAZ is not COPC; a damaged hierarchy fails with the byte offset", async () => {
  const laz = bytesSource(new Uint8Array(readFileSync(sharedData("pointcloud", "autzen_trim.laz"))), "autzen_trim.laz");
  assert.equal(readCopcInfo(await readLasHeader(laz), laz.name), undefined);
  const bytes = file();
  const src = bytesSource(bytes, "copc.laz");
  const info = readCopcInfo(await readLasHeader(src), src.name)!;
  const damaged = bytes.slice();
  // Point the first entry's chunk far past the end of the file.
  new DataView(damaged.buffer).setBigUint64(info.rootHierarchyOffset + 16, 1n << 40n, true);
  await assert.rejects(readCopcHierarchy(bytesSource(damaged, "copc.laz"), info), (e: Error) => /copc\.laz: .*at byte \d+/.test(e.message));
  await assert.rejects(readCopcHierarchy(bytesSource(damaged, "copc.laz"), info), /\(\d+ bytes at 1099511627776\) runs past the end of the file/);
  // An impossible level is named as such, not as an offset outside the file.
  const level = bytes.slice();
  new DataView(level.buffer).setInt32(info.rootHierarchyOffset, 99, true);
  await assert.rejects(readCopcHierarchy(bytesSource(level, "copc.laz"), info), /entry 99-0-0-0 has an impossible level 99/);
});
