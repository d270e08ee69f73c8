import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeWithLazPerf } from "../../testing/lazperf-decode.js";
import { writeLazFile } from "./laz-file.js";
import { GOLDEN_PF3_20_LAZ_BASE64 } from "./golden-fixture.js";
import { firstDifference, goldenLas, lasRecords, toBase64 } from "../../testing/laz-records.js";

test("golden: 20-point PF3 LAS encodes to the checked-in LAZ bytes", async () => {
  const las = goldenLas();
  const laz = writeLazFile(las);
  const expected = new Uint8Array(Buffer.from(GOLDEN_PF3_20_LAZ_BASE64, "base64"));
  assert.equal(firstDifference(laz, expected), -1, `LAZ differs from the fixture; now: ${toBase64(laz)}`);
  // and the fixture itself still decodes (independently) to the input records
  const dec = await decodeWithLazPerf(expected);
  assert.equal(dec.count, 20);
  assert.equal(firstDifference(dec.records, lasRecords(las).records), -1);
});
