/** Fixed point tile contents for the 3D Tiles codec and checker tests. */
import type { PointTileContent } from "../tiles3d/content.js";

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
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) positions[3 * i + a] = Math.fround((next() - 0.5) * size);
    for (let a = 0; a < 3; a++) rgb[3 * i + a] = Math.floor(next() * 256);
    intensity[i] = Math.floor(next() * 65536);
    classification[i] = Math.floor(next() * 20);
  }
  return { count: n, positions, rtcCenter: [1000.5, -2000.25, 300.125], precision, rgb, intensity, classification };
}
