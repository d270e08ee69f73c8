/**
 * Working arrays of the chunk builds, one set per thread, reused from one chunk to the next: a build's
 * temporaries are then allocated once per thread instead of once per chunk (a worker's heap otherwise
 * holds several chunks' worth of garbage before its collector runs). Each array is named by a slot;
 * a caller must not hold a slot's view across another request for the same slot.
 */
import type { AttributeArray, AttributeKind, AttributeSpec, PointBlock } from "./block.js";

const arrays = new Map<string, AttributeArray | Uint32Array | Int32Array>();

type Ctor<T> = { new (n: number): T; readonly name: string };

/** `n` elements of the slot's array (contents left over from earlier uses), grown when too small. */
function scratchOf<T extends AttributeArray | Uint32Array | Int32Array>(slot: string, make: Ctor<T>, n: number): T {
  const key = `${slot}:${make.name}`;
  let a = arrays.get(key) as T | undefined;
  if (!a || a.length < n) {
    // A quarter more than asked: chunks differ a little in size, so the array grows a few times at most.
    a = new make(Math.max(n, Math.ceil((a?.length ?? 0) * 1.25), 1024));
    arrays.set(key, a);
  }
  return a.subarray(0, n) as T;
}

export const scratchU32 = (slot: string, n: number): Uint32Array => scratchOf(slot, Uint32Array, n);
export const scratchI32 = (slot: string, n: number): Int32Array => scratchOf(slot, Int32Array, n);
export const scratchU16 = (slot: string, n: number): Uint16Array => scratchOf(slot, Uint16Array, n);
export const scratchU8 = (slot: string, n: number): Uint8Array => scratchOf(slot, Uint8Array, n);
export const scratchF64 = (slot: string, n: number): Float64Array => scratchOf(slot, Float64Array, n);

const CTORS: Record<AttributeKind, Ctor<AttributeArray>> = { u8: Uint8Array, u16: Uint16Array, f32: Float32Array, f64: Float64Array };

/** A block of `n` points over the slot's columns (contents undefined). */
export function scratchBlock(slot: string, specs: readonly AttributeSpec[], n: number): PointBlock {
  return {
    count: n,
    x: scratchOf(`${slot}.x`, Int32Array, n),
    y: scratchOf(`${slot}.y`, Int32Array, n),
    z: scratchOf(`${slot}.z`, Int32Array, n),
    attributes: specs.map((s, k) => scratchOf(`${slot}.${k}`, CTORS[s.kind], n)),
  };
}

/** Bytes held by this thread's scratch arrays. */
export function scratchBytes(): number {
  let n = 0;
  for (const a of arrays.values()) n += a.byteLength;
  return n;
}

/** Drops every array (the calling thread, once its builds are over). */
export function releaseScratch(): void {
  arrays.clear();
}
