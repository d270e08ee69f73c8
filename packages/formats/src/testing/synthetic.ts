/**
 * Deterministic synthetic point clouds for tests and benchmarks: a rolling terrain with colour,
 * intensity, returns, classes and GPS time, as scaled integers like a real airborne LAS.
 * Generated chunk by chunk, so any size streams in bounded memory.
 */
import type { PointChunk, PointSchema } from "../pointcloud/chunk.js";

export const SYNTHETIC_SCHEMA: PointSchema = {
  columns: ["intensity", "red", "green", "blue", "classification", "returnNumber", "numberOfReturns", "gpsTime"],
  extra: [],
};

export const SYNTHETIC_SCALE = [0.001, 0.001, 0.001] as const;
export const SYNTHETIC_OFFSET = [500000, 4000000, 0] as const;

/** xorshift32: fast, seedable, good enough for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export async function* syntheticCloud(totalPoints: number, options: { chunkPoints?: number; seed?: number } = {}): AsyncIterable<PointChunk> {
  const chunkPoints = options.chunkPoints ?? 65_536;
  const rand = rng(options.seed ?? 1);
  // Points fill a square of side ~ sqrt(n) metres (one point per square metre).
  const side = Math.max(1, Math.sqrt(totalPoints));
  for (let done = 0; done < totalPoints; done += chunkPoints) {
    const n = Math.min(chunkPoints, totalPoints - done);
    const x = new Int32Array(n);
    const y = new Int32Array(n);
    const z = new Int32Array(n);
    const intensity = new Uint16Array(n);
    const red = new Uint16Array(n);
    const green = new Uint16Array(n);
    const blue = new Uint16Array(n);
    const classification = new Uint8Array(n);
    const returnNumber = new Uint8Array(n);
    const numberOfReturns = new Uint8Array(n);
    const gpsTime = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const k = done + i;
      // Scan lines: points advance along x, lines step in y, with jitter.
      const px = (k % side) + rand() * 0.5;
      const py = Math.floor(k / side) + rand() * 0.5;
      const pz = 100 + 10 * Math.sin(px / 50) * Math.cos(py / 70) + rand() * 0.2;
      x[i] = Math.round(px / SYNTHETIC_SCALE[0]);
      y[i] = Math.round(py / SYNTHETIC_SCALE[1]);
      z[i] = Math.round(pz / SYNTHETIC_SCALE[2]);
      const returns = 1 + (k % 7 === 0 ? 2 : 0);
      numberOfReturns[i] = returns;
      returnNumber[i] = 1 + (k % returns);
      classification[i] = pz > 105 ? 5 : 2;
      intensity[i] = (pz * 300 + rand() * 1000) & 0xffff;
      red[i] = Math.round((pz - 90) * 2500) & 0xffff;
      green[i] = Math.round(px * 37) & 0xffff;
      blue[i] = Math.round(py * 53) & 0xffff;
      gpsTime[i] = 300000 + k * 1e-5;
    }
    yield {
      count: n,
      positions: { kind: "i32", x, y, z, scale: SYNTHETIC_SCALE, offset: SYNTHETIC_OFFSET },
      intensity,
      red,
      green,
      blue,
      classification,
      returnNumber,
      numberOfReturns,
      gpsTime,
    };
  }
}
