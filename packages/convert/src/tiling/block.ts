/**
 * The engine's own point columns: positions as 32-bit integers on the tree's quantisation (exact for LAS
 * inputs kept on their scale), the attributes an output needs in typed arrays. A block is what goes to
 * scratch files: a count, then every column's bytes (each padded to 8 bytes), in the attribute order.
 */

export type AttributeKind = "u8" | "u16" | "f32" | "f64";

/** One attribute carried through the tree: a PointChunk column, or an extra attribute ("extra:<name>"). */
export interface AttributeSpec {
  name: string;
  kind: AttributeKind;
}

export type AttributeArray = Uint8Array | Uint16Array | Float32Array | Float64Array;

export interface PointBlock {
  count: number;
  x: Int32Array;
  y: Int32Array;
  z: Int32Array;
  /** In the order of the tree's attribute list. */
  attributes: AttributeArray[];
}

const BYTES: Record<AttributeKind, number> = { u8: 1, u16: 2, f32: 4, f64: 8 };

export function allocate(kind: AttributeKind, n: number): AttributeArray {
  switch (kind) {
    case "u8":
      return new Uint8Array(n);
    case "u16":
      return new Uint16Array(n);
    case "f32":
      return new Float32Array(n);
    case "f64":
      return new Float64Array(n);
  }
}

const pad8 = (n: number) => (n + 7) & ~7;

/** Bytes one point takes in a block (for memory budgets). */
export function bytesPerPoint(specs: readonly AttributeSpec[]): number {
  return 12 + specs.reduce((n, s) => n + BYTES[s.kind], 0);
}

export function emptyBlock(specs: readonly AttributeSpec[], n: number): PointBlock {
  return { count: n, x: new Int32Array(n), y: new Int32Array(n), z: new Int32Array(n), attributes: specs.map((s) => allocate(s.kind, n)) };
}

export function encodedLength(specs: readonly AttributeSpec[], n: number): number {
  let len = 8 + 3 * pad8(4 * n);
  for (const s of specs) len += pad8(BYTES[s.kind] * n);
  return len;
}

/**
 * The block's bytes (little-endian host order: typed arrays copied as they are), in `into(length)` when
 * given (a reused buffer: the padding is cleared, so the bytes are the same either way).
 */
export function encodeBlock(specs: readonly AttributeSpec[], b: PointBlock, into?: (length: number) => Uint8Array): Uint8Array {
  const length = encodedLength(specs, b.count);
  const out = into ? into(length) : new Uint8Array(length);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(0, b.count, true);
  out.fill(0, 4, 8);
  let at = 8;
  const put = (a: ArrayBufferView) => {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    if (into) out.fill(0, at + a.byteLength, at + pad8(a.byteLength));
    at += pad8(a.byteLength);
  };
  put(b.x.subarray(0, b.count));
  put(b.y.subarray(0, b.count));
  put(b.z.subarray(0, b.count));
  b.attributes.forEach((a) => put(a.subarray(0, b.count)));
  return out;
}

/** Points in a block's bytes. */
export function blockCount(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
}

/** A block's bytes decoded into `out` from point `at` on (copies); returns its point count. */
export function decodeBlockInto(specs: readonly AttributeSpec[], bytes: Uint8Array, out: PointBlock, at: number): number {
  const n = blockCount(bytes);
  if (encodedLength(specs, n) !== bytes.byteLength) throw new Error(`tiling: a block of ${bytes.byteLength} bytes does not hold ${n} points`);
  if (at + n > out.count) throw new Error(`tiling: ${at + n} points do not fit a block of ${out.count}`);
  let from = 8;
  const copy = (dst: AttributeArray | Int32Array, size: number) => {
    // Through bytes: the block's bytes need not be aligned for the column's type.
    new Uint8Array(dst.buffer, dst.byteOffset + at * size, n * size).set(bytes.subarray(from, from + n * size));
    from += pad8(n * size);
  };
  copy(out.x, 4);
  copy(out.y, 4);
  copy(out.z, 4);
  specs.forEach((s, k) => copy(out.attributes[k], BYTES[s.kind]));
  return n;
}

/** A block read back; its arrays are copies (aligned), so `bytes` may be reused. */
export function decodeBlock(specs: readonly AttributeSpec[], bytes: Uint8Array): PointBlock {
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (encodedLength(specs, n) !== bytes.byteLength) throw new Error(`tiling: a block of ${bytes.byteLength} bytes does not hold ${n} points`);
  let at = 8;
  const take = <T extends ArrayBufferView>(make: (buf: ArrayBuffer) => T, size: number): T => {
    const copy = bytes.slice(at, at + size * n);
    at += pad8(size * n);
    return make(copy.buffer);
  };
  const x = take((b) => new Int32Array(b), 4);
  const y = take((b) => new Int32Array(b), 4);
  const z = take((b) => new Int32Array(b), 4);
  const attributes = specs.map((s): AttributeArray => {
    switch (s.kind) {
      case "u8":
        return take((b) => new Uint8Array(b), 1);
      case "u16":
        return take((b) => new Uint16Array(b), 2);
      case "f32":
        return take((b) => new Float32Array(b), 4);
      case "f64":
        return take((b) => new Float64Array(b), 8);
    }
  });
  return { count: n, x, y, z, attributes };
}

/** Several blocks as one, in order. */
export function concatBlocks(specs: readonly AttributeSpec[], blocks: readonly PointBlock[]): PointBlock {
  if (blocks.length === 1) return blocks[0];
  const n = blocks.reduce((s, b) => s + b.count, 0);
  const out = emptyBlock(specs, n);
  let at = 0;
  for (const b of blocks) {
    out.x.set(b.x.subarray(0, b.count), at);
    out.y.set(b.y.subarray(0, b.count), at);
    out.z.set(b.z.subarray(0, b.count), at);
    b.attributes.forEach((a, k) => out.attributes[k].set(a.subarray(0, b.count) as never, at));
    at += b.count;
  }
  return out;
}

/** The points of `b` at `indices` (in that order), in `out` when given (a block of at least that many points). */
export function gatherBlock(specs: readonly AttributeSpec[], b: PointBlock, indices: Uint32Array, from = 0, to = indices.length, out?: PointBlock): PointBlock {
  const m = to - from;
  const o = out ? { ...out, count: m } : emptyBlock(specs, m);
  const idx = from === 0 ? indices : indices.subarray(from, to);
  gatherI32(o.x, b.x, idx, m);
  gatherI32(o.y, b.y, idx, m);
  gatherI32(o.z, b.z, idx, m);
  b.attributes.forEach((a, c) => gatherColumn(o.attributes[c], a, idx, m));
  return o;
}

// One loop per element type: a loop that sees several typed-array types gets slow generic element access.
export function gatherI32(o: Int32Array, a: Int32Array, idx: Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) o[k] = a[idx[k]];
}
function gatherU8(o: Uint8Array, a: Uint8Array, idx: Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) o[k] = a[idx[k]];
}
function gatherU16(o: Uint16Array, a: Uint16Array, idx: Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) o[k] = a[idx[k]];
}
function gatherF32(o: Float32Array, a: Float32Array, idx: Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) o[k] = a[idx[k]];
}
function gatherF64(o: Float64Array, a: Float64Array, idx: Uint32Array, n: number): void {
  for (let k = 0; k < n; k++) o[k] = a[idx[k]];
}

/** `o[k] = a[idx[k]]` for k < n, `o` and `a` of the same type. */
export function gatherColumn(o: AttributeArray, a: AttributeArray, idx: Uint32Array, n: number): void {
  if (o instanceof Uint8Array) gatherU8(o, a as Uint8Array, idx, n);
  else if (o instanceof Uint16Array) gatherU16(o, a as Uint16Array, idx, n);
  else if (o instanceof Float32Array) gatherF32(o, a as Float32Array, idx, n);
  else gatherF64(o, a as Float64Array, idx, n);
}
