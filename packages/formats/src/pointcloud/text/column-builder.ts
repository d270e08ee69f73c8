/**
 * Fills the columns of one chunk at a time for the PLY and text readers: preallocated typed arrays of the chunk
 * capacity, handed out as a PointChunk when full (or at the end), then fresh ones for the next chunk.
 */
import type { ColumnName, PointChunk, PointSchema } from "../chunk.js";

export type ColumnArray = Float64Array | Float32Array | Uint16Array | Uint8Array;

export class ColumnBuilder {
  count = 0;
  x!: Float64Array;
  y!: Float64Array;
  z!: Float64Array;
  columns: Partial<Record<ColumnName, ColumnArray>> = {};
  extra: Record<string, Float64Array> = {};

  constructor(
    readonly schema: PointSchema,
    readonly capacity: number,
  ) {
    this.allocate();
  }

  private allocate(): void {
    const n = this.capacity;
    this.x = new Float64Array(n);
    this.y = new Float64Array(n);
    this.z = new Float64Array(n);
    this.columns = {};
    for (const c of this.schema.columns) this.columns[c] = newColumn(c, n);
    this.extra = {};
    for (const e of this.schema.extra) this.extra[e.name] = new Float64Array(n);
    this.count = 0;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** The filled part as a chunk; the builder starts a new chunk. */
  take(): PointChunk {
    const n = this.count;
    const cut = <T extends ColumnArray>(a: T): T => (n === a.length ? a : (a.subarray(0, n) as T));
    const chunk: PointChunk = {
      count: n,
      positions: { kind: "f64", x: cut(this.x), y: cut(this.y), z: cut(this.z) },
    };
    for (const c of this.schema.columns) (chunk as unknown as Record<string, ColumnArray>)[c] = cut(this.columns[c]!);
    if (this.schema.extra.length > 0) {
      const extra: Record<string, Float64Array> = {};
      for (const e of this.schema.extra) extra[e.name] = cut(this.extra[e.name]);
      chunk.extra = extra;
    }
    this.allocate();
    return chunk;
  }
}

function newColumn(c: ColumnName, n: number): ColumnArray {
  switch (c) {
    case "intensity":
    case "red":
    case "green":
    case "blue":
    case "nir":
    case "pointSourceId":
      return new Uint16Array(n);
    case "normalX":
    case "normalY":
    case "normalZ":
    case "scanAngle":
      return new Float32Array(n);
    case "gpsTime":
      return new Float64Array(n);
    default:
      return new Uint8Array(n);
  }
}

/** 8-bit colour to 16-bit: 255 -> 65535 exactly (x257), the LAS convention. */
export function u8ToU16(v: number): number {
  if (!(v > 0)) return 0;
  return v >= 255 ? 65535 : Math.round(v) * 257;
}

/** Clamps and rounds to 0..65535. */
export function clampU16(v: number): number {
  if (!(v > 0)) return 0;
  return v >= 65535 ? 65535 : Math.round(v);
}

/** A normalised 0..1 float to 0..65535. */
export function unitToU16(v: number): number {
  if (!(v > 0)) return 0;
  return v >= 1 ? 65535 : Math.round(v * 65535);
}
