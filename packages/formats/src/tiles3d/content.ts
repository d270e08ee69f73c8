/**
 * The point content of one tile, shared by the `.pnts` and GLB codecs, and the layout helpers both use.
 *
 * Positions are float32 relative to `rtcCenter` (the tile's centre, in the tileset's frame: ECEF when the
 * tileset is georeferenced without a root transform, the root transform's local frame otherwise), so float32
 * keeps sub-millimetre steps for tiles up to a few kilometres wide.
 */
export interface PointTileContent {
  count: number;
  /** xyz relative to `rtcCenter`, 3 * count. */
  positions: Float32Array;
  rtcCenter: [number, number, number];
  /**
   * Metres. Positions are quantised to 16 bits per axis when the tile's largest extent / 65535 <= precision
   * (the quantisation step never exceeds it), else kept float32. Absent: never quantised.
   */
  precision?: number;
  /** 3 * count, 8-bit sRGB. */
  rgb?: Uint8Array;
  intensity?: Uint16Array;
  classification?: Uint8Array;
}

/** Axis-aligned bounds of the relative positions (min, extent per axis). */
export function positionBounds(positions: Float32Array, count: number): { min: [number, number, number]; max: [number, number, number] } {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < 3; a++) {
      const v = positions[3 * i + a];
      if (v < min[a]) min[a] = v;
      if (v > max[a]) max[a] = v;
    }
  }
  if (count === 0) return { min: [0, 0, 0], max: [0, 0, 0] };
  return { min, max };
}

/** Whether 16-bit quantisation keeps the content within its precision. */
export function quantisationFits(c: PointTileContent, min: readonly number[], max: readonly number[]): boolean {
  if (c.precision === undefined || !(c.precision > 0) || c.count === 0) return false;
  const extent = Math.max(max[0] - min[0], max[1] - min[1], max[2] - min[2]);
  return extent / 65535 <= c.precision;
}

/** Checks the arrays against the count, so a codec never writes a truncated attribute. */
export function checkContent(c: PointTileContent): void {
  const need = (name: string, length: number | undefined, expected: number) => {
    if (length !== undefined && length !== expected) throw new RangeError(`point tile ${name} has ${length} values, expected ${expected} for ${c.count} points`);
  };
  if (!Number.isInteger(c.count) || c.count < 0) throw new RangeError(`point tile count ${c.count} is not a non-negative integer`);
  need("positions", c.positions.length, 3 * c.count);
  need("rgb", c.rgb?.length, 3 * c.count);
  need("intensity", c.intensity?.length, c.count);
  need("classification", c.classification?.length, c.count);
  if (!c.rtcCenter.every(Number.isFinite)) throw new RangeError(`point tile rtcCenter ${c.rtcCenter.join(",")} is not finite`);
}

/** Rounds up to a multiple of 8, the alignment every 3D Tiles binary section needs. */
export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** UTF-8 of a JSON text padded with spaces so that `start + length` is 8-aligned. */
export function paddedJson(value: unknown, start: number): Uint8Array {
  const text = JSON.stringify(value);
  const raw = new TextEncoder().encode(text);
  const total = pad8(start + raw.byteLength) - start;
  const out = new Uint8Array(total).fill(0x20);
  out.set(raw);
  return out;
}

/** sRGB 8-bit to linear, the colour space glTF COLOR_0 is in. */
export function srgbToLinear(v: number): number {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
}

/** Linear [0, 1] to 8-bit sRGB (rounded). */
export function linearToSrgb8(l: number): number {
  const c = l <= 0.0031308 ? l * 12.92 : 1.055 * Math.pow(l, 1 / 2.4) - 0.055;
  return Math.max(0, Math.min(255, Math.round(c * 255)));
}
