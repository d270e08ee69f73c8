/**
 * Independent check of our output: decodes a whole LAZ file with laz-perf (LASzip's C++ decoder
 * compiled to WASM) and returns the raw point records. Used by the tests; usable for diagnostics.
 */
import { createLazPerf, type LazPerf } from "laz-perf";

let modulePromise: Promise<LazPerf> | undefined;

export interface DecodedLaz {
  pointFormat: number;
  recordLength: number;
  count: number;
  /** count × recordLength bytes. */
  records: Uint8Array;
}

export async function decodeWithLazPerf(laz: Uint8Array): Promise<DecodedLaz> {
  modulePromise ??= createLazPerf();
  const lp = await modulePromise;
  const filePtr = lp._malloc(laz.length);
  const zip = new lp.LASZip();
  let pointPtr = 0;
  try {
    lp.HEAPU8.set(laz, filePtr);
    zip.open(filePtr, laz.length);
    const count = zip.getCount();
    const recordLength = zip.getPointLength();
    const pointFormat = zip.getPointFormat();
    pointPtr = lp._malloc(recordLength);
    const records = new Uint8Array(count * recordLength);
    for (let i = 0; i < count; i++) {
      zip.getPoint(pointPtr);
      // HEAPU8 may be replaced when the WASM memory grows: read it afresh
      records.set(lp.HEAPU8.subarray(pointPtr, pointPtr + recordLength), i * recordLength);
    }
    return { pointFormat, recordLength, count, records };
  } finally {
    zip.delete();
    if (pointPtr) lp._free(pointPtr);
    lp._free(filePtr);
  }
}
