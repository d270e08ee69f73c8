/**
 * laz-perf (LASzip's C++ decoder compiled to WASM) as an independent oracle for our encoder and
 * decoder: whole files or single chunks decoded to raw point records. Tests and benchmarks only (a
 * devDependency); the LAZ reader uses our own decoder.
 */
import { createLazPerf } from "laz-perf";

/** The part of the laz-perf module we use (its typings need @types/emscripten, which we do not ship). */
export interface LazPerfModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  ChunkDecoder: new () => {
    open(pdrf: number, recordLength: number, ptr: number): void;
    getPoint(ptr: number): void;
    delete(): void;
  };
  LASZip: new () => {
    open(ptr: number, length: number): void;
    getPoint(ptr: number): void;
    getCount(): number;
    getPointLength(): number;
    getPointFormat(): number;
    delete(): void;
  };
}

let modulePromise: Promise<LazPerfModule> | undefined;

/** The laz-perf WASM module, instantiated once per process. */
export function lazPerf(): Promise<LazPerfModule> {
  modulePromise ??= (createLazPerf as () => Promise<LazPerfModule>)();
  return modulePromise;
}

export interface DecodedLaz {
  pointFormat: number;
  recordLength: number;
  count: number;
  /** count × recordLength bytes. */
  records: Uint8Array;
}

/** A whole LAZ file through laz-perf's LASZip reader. */
export async function decodeWithLazPerf(laz: Uint8Array): Promise<DecodedLaz> {
  const lp = await lazPerf();
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

/** One chunk through laz-perf's ChunkDecoder (point formats 0-3 and 6-8). */
export async function decodeChunkWithLazPerf(chunk: Uint8Array, pdrf: number, recordLength: number, count: number): Promise<Uint8Array> {
  const lp = await lazPerf();
  // slack after the chunk: the decoder reads a few bytes ahead of what it uses
  const chunkPtr = lp._malloc(chunk.length + 64);
  const pointPtr = lp._malloc(recordLength);
  const decoder = new lp.ChunkDecoder();
  try {
    lp.HEAPU8.fill(0, chunkPtr, chunkPtr + chunk.length + 64);
    lp.HEAPU8.set(chunk, chunkPtr);
    decoder.open(pdrf, recordLength, chunkPtr);
    const out = new Uint8Array(count * recordLength);
    for (let i = 0; i < count; i++) {
      decoder.getPoint(pointPtr);
      out.set(lp.HEAPU8.subarray(pointPtr, pointPtr + recordLength), i * recordLength);
    }
    return out;
  } finally {
    decoder.delete();
    lp._free(pointPtr);
    lp._free(chunkPtr);
  }
}
