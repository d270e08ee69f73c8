/** Fixed point tile contents for the 3D Tiles codec and checker tests. */
import type { PointTileContent } from "../tiles3d/content.js";
import { mulberry32 } from "./prng.js";

/** Four points, colours, intensity and classification: small enough to check by eye. */
export function tinyContent(precision?: number): PointTileContent {
  return {
    count: 4,
    positions: new Float32Array([0, 0, 0, 1.5, -2, 0.25, -3, 4, 10, 2, 2, 2]),
    rtcCenter: [4000000.5, 300000.25, 4900000.125],
    precision,
    rgb: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 128, 250]),
    intensity: new Uint16Array([0, 1000, 65535, 42]),
    classification: new Uint8Array([2, 6, 9, 2]),
  };
}

/** A cloud of n points in a cube of `size` metres, deterministic. */
export function cubeContent(n: number, size: number, precision?: number): PointTileContent {
  const positions = new Float32Array(3 * n);
  const rgb = new Uint8Array(3 * n);
  const intensity = new Uint16Array(n);
  const classification = new Uint8Array(n);
  const next = mulberry32(12345);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) positions[3 * i + a] = Math.fround((next() - 0.5) * size);
    for (let a = 0; a < 3; a++) rgb[3 * i + a] = Math.floor(next() * 256);
    intensity[i] = Math.floor(next() * 65536);
    classification[i] = Math.floor(next() * 20);
  }
  return { count: n, positions, rtcCenter: [1000.5, -2000.25, 300.125], precision, rgb, intensity, classification };
}

/**
 * Whether decoded points are the content's points, in any order: each decoded point must match a distinct
 * input point with the same colour, intensity and class, within `tolerance` metres per axis. `positions`
 * are absolute (the RTC centre added). Returns the first mismatch, or undefined.
 */
export function unmatchedPoint(
  c: PointTileContent,
  positions: ArrayLike<number>,
  got: { rgb?: ArrayLike<number>; intensity?: ArrayLike<number>; classification?: ArrayLike<number> },
  tolerance: number,
): string | undefined {
  if (positions.length !== 3 * c.count) return `${positions.length / 3} points decoded, ${c.count} expected`;
  const key = (rgb: ArrayLike<number> | undefined, inten: ArrayLike<number> | undefined, cls: ArrayLike<number> | undefined, i: number) => `${rgb?.[3 * i]},${rgb?.[3 * i + 1]},${rgb?.[3 * i + 2]},${inten?.[i]},${cls?.[i]}`;
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < c.count; i++) {
    const k = key(c.rgb, c.intensity, c.classification, i);
    const list = byKey.get(k);
    if (list) list.push(i);
    else byKey.set(k, [i]);
  }
  for (let j = 0; j < c.count; j++) {
    const k = key(got.rgb, got.intensity, got.classification, j);
    const candidates = byKey.get(k);
    if (!candidates || candidates.length === 0) return `decoded point ${j} (${k}) has no input point left with those attributes`;
    const p = [positions[3 * j], positions[3 * j + 1], positions[3 * j + 2]];
    const hit = candidates.findIndex((i) => [0, 1, 2].every((a) => Math.abs(c.positions[3 * i + a] + c.rtcCenter[a] - p[a]) <= tolerance));
    if (hit < 0) return `decoded point ${j} at ${p.join(",")} is not within ${tolerance} of an input point with attributes ${k}`;
    candidates.splice(hit, 1);
  }
  return undefined;
}
