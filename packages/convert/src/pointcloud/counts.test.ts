/**
 * Sources whose announced point count is not the number of points they give (E57 records dropped as invalid,
 * a LAS header count of 0 over records, a PTS file with several scan blocks) convert with every point they
 * give, the disagreement reported once as a warning where it is a file's fault.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesSource, openE57, openLasOrLaz, openPts } from "@realconv/formats";
import { flatten, memoryFile, runPointCloudConversion, shared, sharedFile } from "../testing/memory-io.js";


/** The output's positions equal the source's within the output's quantisation step, attributes too. */
async function assertSamePoints(output: Uint8Array, source: Awaited<ReturnType<typeof flatten>>, label: string): Promise<void> {
  const reader = await openLasOrLaz(bytesSource(output, label));
  const out = await flatten(reader);
  assert.equal(out.count, source.count, `${label} count`);
  for (let i = 0; i < out.xyz.length; i++) {
    const step = reader.header.scale[i % 3];
    assert.ok(Math.abs(out.xyz[i] - source.xyz[i]) <= step / 2 + 1e-9, `${label} coordinate ${i}: ${out.xyz[i]} vs ${source.xyz[i]}`);
  }
  for (const [column, values] of source.cols) {
    if (out.cols.has(column)) assert.deepEqual(out.cols.get(column), values, `${label} ${column}`);
  }
}

for (const format of ["LAS", "LAZ"]) {
  test(`an E57 scan with dropped invalid records converts to ${format} with the valid points and one warning`, async () => {
    const { sink, warnings } = await runPointCloudConversion([sharedFile("tiny_spherical.e57")], format);
    const source = await flatten(await openE57(sharedFile("tiny_spherical.e57")));
    assert.equal(source.count, 180);
    const [path] = [...sink.files.keys()];
    await assertSamePoints(sink.files.get(path)!, source, path);
    const dropped = warnings.filter((w) => w.params.some((p) => /dropped/.test(p)));
    assert.equal(dropped.length, 1, JSON.stringify(warnings));
    assert.match(dropped[0].params[0], /tiny_spherical\.e57: .*180 points have a direction but no range/);
  });
}

test("a LAS whose header says 0 points over its records converts every record, with a warning", async () => {
  const bytes = shared("1.2-with-color.las");
  new DataView(bytes.buffer).setUint32(107, 0, true);
  const { sink, warnings } = await runPointCloudConversion([memoryFile(bytes, "zero.las")], "LAS");
  await assertSamePoints(sink.files.get("zero.las")!, await flatten(await openLasOrLaz(sharedFile("1.2-with-color.las"))), "zero.las");
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0].params[0], /zero\.las: the header announces 0 points but the point data holds 1065 records/);
});

test("a PTS file with two scan blocks converts the points of both", async () => {
  const text = new TextDecoder().decode(shared("test.pts"));
  const lines = text.trim().split("\n").slice(1);
  const twoBlocks = `10\n${lines.slice(0, 10).join("\n")}\n${lines.length - 10}\n${lines.slice(10).join("\n")}\n`;
  const file = memoryFile(new TextEncoder().encode(twoBlocks), "blocks.pts");
  const { sink, warnings } = await runPointCloudConversion([file], "LAS");
  await assertSamePoints(sink.files.get("blocks.las")!, await flatten(await openPts(sharedFile("test.pts"))), "blocks.las");
  assert.deepEqual(warnings, []);
});
