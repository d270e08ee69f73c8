/**
 * Implicit octree tiling (3D Tiles 1.1 `implicitTiling`, subdivision OCTREE): subtree files and the index
 * arithmetic around them.
 *
 * Subtree binary written:
 * ```
 * header (24 B): u32 magic 0x74627573 ("subt"), u32 version 1, u64 jsonByteLength, u64 binaryByteLength
 * JSON (padded with spaces to 8): buffers [{byteLength}], bufferViews, tileAvailability,
 *      contentAvailability [one per content], childSubtreeAvailability; each either {constant: 0|1} (when
 *      every bit is equal) or {bitstream: view, availableCount}
 * binary (padded with zeros to 8): the bitstreams, each buffer view starting 8-aligned
 * ```
 * Bit order: LSB first within a byte. A tile at `level` (relative to the subtree root) and local
 * coordinates (x, y, z) is bit `(8^level - 1) / 7 + morton(x, y, z)`, with morton interleaving x into the
 * lowest bit, then y, then z. Child subtree bits: `morton(x, y, z)` of the child subtree roots at level
 * `subtreeLevels`, 8^subtreeLevels bits.
 */
import { FormatError } from "../io/byte-source.js";
import { pad8, paddedJson } from "./content.js";

export const SUBTREE_MAGIC = 0x74627573;
export const SUBTREE_HEADER_LENGTH = 24;

/** Bits of every tile of a subtree of `levels` levels: (8^levels - 1) / 7. */
export function subtreeTileCount(levels: number): number {
  return (8 ** levels - 1) / 7;
}

/** Bits of the child subtree availability: 8^levels. */
export function childSubtreeCount(levels: number): number {
  return 8 ** levels;
}

/** Interleaves x, y, z (each < 2^17) into a Morton index, x in the lowest bit. */
export function mortonIndex3(x: number, y: number, z: number): number {
  let index = 0;
  let weight = 1;
  while (x > 0 || y > 0 || z > 0) {
    index += ((x & 1) + 2 * (y & 1) + 4 * (z & 1)) * weight;
    weight *= 8;
    x >>>= 1;
    y >>>= 1;
    z >>>= 1;
  }
  return index;
}

/** The inverse of `mortonIndex3`. */
export function mortonDecode3(index: number): [number, number, number] {
  let x = 0;
  let y = 0;
  let z = 0;
  for (let bit = 0; index > 0; bit++) {
    const digit = index % 8;
    x |= (digit & 1) << bit;
    y |= ((digit >> 1) & 1) << bit;
    z |= ((digit >> 2) & 1) << bit;
    index = Math.floor(index / 8);
  }
  return [x, y, z];
}

/** Bit index of a tile inside its subtree (level and coordinates relative to the subtree root). */
export function subtreeTileIndex(level: number, x: number, y: number, z: number): number {
  return subtreeTileCount(level) + mortonIndex3(x, y, z);
}

/** A bitstream of `bits` zeros. */
export function createAvailability(bits: number): Uint8Array {
  return new Uint8Array(Math.ceil(bits / 8));
}

export function setAvailable(bitstream: Uint8Array, index: number, available = true): void {
  if (available) bitstream[index >> 3] |= 1 << (index & 7);
  else bitstream[index >> 3] &= ~(1 << (index & 7));
}

export function isAvailable(bitstream: Uint8Array, index: number): boolean {
  return ((bitstream[index >> 3] >> (index & 7)) & 1) === 1;
}

/** Number of set bits among the first `bits`. */
export function availableCount(bitstream: Uint8Array, bits: number): number {
  let n = 0;
  for (let i = 0; i < bits; i++) if (isAvailable(bitstream, i)) n++;
  return n;
}

export interface SubtreeInput {
  subtreeLevels: number;
  /** subtreeTileCount(subtreeLevels) bits. */
  tileAvailability: Uint8Array;
  /** One bitstream per content of the tiles (usually one), same length as tileAvailability. */
  contentAvailability: Uint8Array[];
  /** childSubtreeCount(subtreeLevels) bits. */
  childSubtreeAvailability: Uint8Array;
}

type AvailabilityJson = { constant: 0 | 1 } | { bitstream: number; availableCount: number };

export function encodeSubtree(s: SubtreeInput): Uint8Array {
  const tileBits = subtreeTileCount(s.subtreeLevels);
  const childBits = childSubtreeCount(s.subtreeLevels);
  const check = (name: string, stream: Uint8Array, bits: number) => {
    if (stream.byteLength !== Math.ceil(bits / 8)) throw new RangeError(`subtree ${name} is ${stream.byteLength} bytes, expected ${Math.ceil(bits / 8)} for ${bits} bits`);
  };
  check("tileAvailability", s.tileAvailability, tileBits);
  s.contentAvailability.forEach((c, i) => check(`contentAvailability[${i}]`, c, tileBits));
  check("childSubtreeAvailability", s.childSubtreeAvailability, childBits);

  const views: Array<{ buffer: 0; byteOffset: number; byteLength: number }> = [];
  const parts: Array<[number, Uint8Array]> = [];
  let binaryLength = 0;
  const describe = (stream: Uint8Array, bits: number): AvailabilityJson => {
    const count = availableCount(stream, bits);
    if (count === 0) return { constant: 0 };
    if (count === bits) return { constant: 1 };
    const byteOffset = pad8(binaryLength);
    views.push({ buffer: 0, byteOffset, byteLength: stream.byteLength });
    // Bits past the last tile are zero, as readers may count whole bytes.
    const clean = stream.slice();
    for (let i = bits; i < clean.byteLength * 8; i++) setAvailable(clean, i, false);
    parts.push([byteOffset, clean]);
    binaryLength = byteOffset + stream.byteLength;
    return { bitstream: views.length - 1, availableCount: count };
  };
  const tileAvailability = describe(s.tileAvailability, tileBits);
  const contentAvailability = s.contentAvailability.map((c) => describe(c, tileBits));
  const childSubtreeAvailability = describe(s.childSubtreeAvailability, childBits);

  const json: Record<string, unknown> = {};
  if (views.length > 0) {
    json.buffers = [{ byteLength: binaryLength }];
    json.bufferViews = views;
  }
  json.tileAvailability = tileAvailability;
  if (contentAvailability.length > 0) json.contentAvailability = contentAvailability;
  json.childSubtreeAvailability = childSubtreeAvailability;

  const jsonBytes = paddedJson(json, SUBTREE_HEADER_LENGTH);
  const binaryPadded = pad8(binaryLength);
  const out = new Uint8Array(SUBTREE_HEADER_LENGTH + jsonBytes.byteLength + binaryPadded);
  const view = new DataView(out.buffer);
  view.setUint32(0, SUBTREE_MAGIC, true);
  view.setUint32(4, 1, true);
  view.setBigUint64(8, BigInt(jsonBytes.byteLength), true);
  view.setBigUint64(16, BigInt(binaryPadded), true);
  out.set(jsonBytes, SUBTREE_HEADER_LENGTH);
  const binaryStart = SUBTREE_HEADER_LENGTH + jsonBytes.byteLength;
  for (const [offset, bytes] of parts) out.set(bytes, binaryStart + offset);
  return out;
}

export interface DecodedSubtree {
  /** Availability expanded to bitstreams (constants too), so callers test bits one way. */
  tileAvailability: Uint8Array;
  contentAvailability: Uint8Array[];
  childSubtreeAvailability: Uint8Array;
  json: Record<string, unknown>;
}

/**
 * Reads a subtree file with its binary chunk inside (no external buffers), checking the header, the
 * 8-byte paddings, the buffer views and the availableCounts; throws a FormatError naming `file`.
 */
export function decodeSubtree(bytes: Uint8Array, subtreeLevels: number, file = "subtree"): DecodedSubtree {
  const fail = (message: string, offset: number): never => {
    throw new FormatError(message, file, offset);
  };
  if (bytes.byteLength < SUBTREE_HEADER_LENGTH) fail(`subtree is ${bytes.byteLength} bytes, shorter than its 24-byte header`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== SUBTREE_MAGIC) fail(`magic is 0x${magic.toString(16)}, expected 0x74627573 ("subt")`, 0);
  const version = view.getUint32(4, true);
  if (version !== 1) fail(`version is ${version}, expected 1`, 4);
  const jsonLength = Number(view.getBigUint64(8, true));
  const binaryLength = Number(view.getBigUint64(16, true));
  if (SUBTREE_HEADER_LENGTH + jsonLength + binaryLength !== bytes.byteLength) fail(`header lengths give ${SUBTREE_HEADER_LENGTH + jsonLength + binaryLength} bytes, the file has ${bytes.byteLength}`, 8);
  if ((SUBTREE_HEADER_LENGTH + jsonLength) % 8 !== 0) fail(`JSON length ${jsonLength} leaves the binary chunk unaligned (8-byte padding)`, 8);
  if (binaryLength % 8 !== 0) fail(`binary length ${binaryLength} is not a multiple of 8`, 16);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(SUBTREE_HEADER_LENGTH, SUBTREE_HEADER_LENGTH + jsonLength))) as Record<string, unknown>;
  } catch (e) {
    return fail(`subtree JSON does not parse: ${(e as Error).message}`, SUBTREE_HEADER_LENGTH);
  }
  const binaryStart = SUBTREE_HEADER_LENGTH + jsonLength;
  const buffers = (json.buffers ?? []) as Array<{ byteLength: number; uri?: string }>;
  const views = (json.bufferViews ?? []) as Array<{ buffer: number; byteOffset: number; byteLength: number }>;
  buffers.forEach((b, i) => {
    if (b.uri !== undefined) fail(`buffer ${i} is external (${b.uri}); only the internal binary chunk is read`, SUBTREE_HEADER_LENGTH);
    if (i > 0) fail(`buffer ${i}: a subtree has at most one internal buffer`, SUBTREE_HEADER_LENGTH);
    if (b.byteLength > binaryLength) fail(`buffer byteLength ${b.byteLength} exceeds the binary chunk (${binaryLength})`, SUBTREE_HEADER_LENGTH);
  });
  const read = (name: string, value: unknown, bits: number): Uint8Array => {
    const out = createAvailability(bits);
    const a = value as { constant?: number; bitstream?: number; availableCount?: number } | undefined;
    if (!a || (a.constant === undefined && a.bitstream === undefined)) return fail(`${name} has neither constant nor bitstream`, SUBTREE_HEADER_LENGTH);
    if (a.constant !== undefined) {
      if (a.constant !== 0 && a.constant !== 1) fail(`${name}.constant is ${a.constant}, expected 0 or 1`, SUBTREE_HEADER_LENGTH);
      if (a.constant === 1) for (let i = 0; i < bits; i++) setAvailable(out, i);
      return out;
    }
    const v = views[a.bitstream!];
    if (!v) return fail(`${name}.bitstream ${a.bitstream} names no buffer view`, SUBTREE_HEADER_LENGTH);
    if (v.buffer !== 0 || buffers.length === 0) fail(`${name} buffer view uses buffer ${v.buffer}, not the binary chunk`, SUBTREE_HEADER_LENGTH);
    if (v.byteOffset % 8 !== 0) fail(`${name} buffer view starts at ${v.byteOffset}, not 8-aligned`, binaryStart + v.byteOffset);
    if (v.byteLength < out.byteLength) fail(`${name} bitstream is ${v.byteLength} bytes, ${bits} bits need ${out.byteLength}`, binaryStart + v.byteOffset);
    if (v.byteOffset + v.byteLength > buffers[0].byteLength) fail(`${name} buffer view runs past the buffer (${buffers[0].byteLength} bytes)`, binaryStart + v.byteOffset);
    out.set(bytes.subarray(binaryStart + v.byteOffset, binaryStart + v.byteOffset + out.byteLength));
    for (let i = bits; i < out.byteLength * 8; i++) setAvailable(out, i, false);
    const count = availableCount(out, bits);
    if (a.availableCount !== undefined && a.availableCount !== count) fail(`${name}.availableCount is ${a.availableCount}, the bitstream has ${count}`, SUBTREE_HEADER_LENGTH);
    return out;
  };
  const tileBits = subtreeTileCount(subtreeLevels);
  const contents = json.contentAvailability;
  if (contents !== undefined && !Array.isArray(contents)) fail(`contentAvailability is not an array`, SUBTREE_HEADER_LENGTH);
  return {
    tileAvailability: read("tileAvailability", json.tileAvailability, tileBits),
    contentAvailability: ((contents ?? []) as unknown[]).map((c, i) => read(`contentAvailability[${i}]`, c, tileBits)),
    childSubtreeAvailability: read("childSubtreeAvailability", json.childSubtreeAvailability, childSubtreeCount(subtreeLevels)),
    json,
  };
}

/** Fills `{level}`, `{x}`, `{y}`, `{z}` of an implicit tiling URI template. */
export function expandTemplate(template: string, level: number, x: number, y: number, z: number): string {
  return template.replace(/\{level\}/g, String(level)).replace(/\{x\}/g, String(x)).replace(/\{y\}/g, String(y)).replace(/\{z\}/g, String(z));
}

/** Bounds of implicit octree tile (level, x, y, z) inside an axis-aligned root [min, max]. */
export function implicitTileBounds(rootMin: readonly number[], rootMax: readonly number[], level: number, x: number, y: number, z: number): { min: [number, number, number]; max: [number, number, number] } {
  const n = 2 ** level;
  const c = [x, y, z];
  const min = [0, 1, 2].map((a) => rootMin[a] + ((rootMax[a] - rootMin[a]) * c[a]) / n) as [number, number, number];
  const max = [0, 1, 2].map((a) => rootMin[a] + ((rootMax[a] - rootMin[a]) * (c[a] + 1)) / n) as [number, number, number];
  return { min, max };
}

export interface ImplicitTileKey {
  level: number;
  x: number;
  y: number;
  z: number;
}

export interface BuiltSubtree extends ImplicitTileKey {
  /** The subtree file, for `expandTemplate(subtreesUri, level, x, y, z)`. */
  bytes: Uint8Array;
}

/**
 * Every subtree file of an implicit octree, from the tiles that have content. Tiles on the way from the
 * root to a content tile are made available (without content), child subtree bits follow from the
 * subtrees that exist, and the result is ordered by level then Morton index, so the same tiles give the
 * same files whatever order they come in. `availableLevels` of the tiling = the deepest level + 1.
 */
export function buildImplicitSubtrees(contentTiles: Iterable<ImplicitTileKey>, subtreeLevels: number): { subtrees: BuiltSubtree[]; availableLevels: number } {
  if (!Number.isInteger(subtreeLevels) || subtreeLevels < 1) throw new RangeError(`subtreeLevels ${subtreeLevels} is not an integer >= 1`);
  interface Pending extends ImplicitTileKey {
    tiles: Uint8Array;
    content: Uint8Array;
    children: Uint8Array;
  }
  const subtrees = new Map<string, Pending>();
  const subtreeOf = (level: number, x: number, y: number, z: number): Pending => {
    const key = `${level}/${x}/${y}/${z}`;
    let s = subtrees.get(key);
    if (!s) {
      s = { level, x, y, z, tiles: createAvailability(subtreeTileCount(subtreeLevels)), content: createAvailability(subtreeTileCount(subtreeLevels)), children: createAvailability(childSubtreeCount(subtreeLevels)) };
      subtrees.set(key, s);
      if (level > 0) {
        // Register in the parent subtree, and make the parent tile of this subtree's root available there.
        const parentLevel = level - subtreeLevels;
        const parent = subtreeOf(parentLevel, x >>> subtreeLevels, y >>> subtreeLevels, z >>> subtreeLevels);
        const mask = 2 ** subtreeLevels - 1;
        setAvailable(parent.children, mortonIndex3(x & mask, y & mask, z & mask));
        markTile(level - 1, x >>> 1, y >>> 1, z >>> 1);
      }
    }
    return s;
  };
  /** Makes a tile and its ancestors available; returns the tile's subtree and bit. */
  const markTile = (level: number, x: number, y: number, z: number): [Pending, number] => {
    const rootLevel = level - (level % subtreeLevels);
    const local = level - rootLevel;
    const s = subtreeOf(rootLevel, x >>> local, y >>> local, z >>> local);
    const mask = 2 ** local - 1;
    const bit = subtreeTileIndex(local, x & mask, y & mask, z & mask);
    if (!isAvailable(s.tiles, bit)) {
      setAvailable(s.tiles, bit);
      if (local > 0) markTile(level - 1, x >>> 1, y >>> 1, z >>> 1);
    }
    return [s, bit];
  };
  let deepest = -1;
  for (const t of contentTiles) {
    const side = 2 ** t.level;
    if (!Number.isInteger(t.level) || t.level < 0 || t.level > 30 || ![t.x, t.y, t.z].every((c) => Number.isInteger(c) && c >= 0 && c < side)) {
      throw new RangeError(`implicit tile ${t.level}/${t.x}/${t.y}/${t.z} is outside the octree`);
    }
    const [s, bit] = markTile(t.level, t.x, t.y, t.z);
    setAvailable(s.content, bit);
    deepest = Math.max(deepest, t.level);
  }
  const ordered = [...subtrees.values()].sort((a, b) => a.level - b.level || mortonIndex3(a.x, a.y, a.z) - mortonIndex3(b.x, b.y, b.z));
  return {
    availableLevels: deepest + 1,
    subtrees: ordered.map((s) => ({
      level: s.level,
      x: s.x,
      y: s.y,
      z: s.z,
      bytes: encodeSubtree({ subtreeLevels, tileAvailability: s.tiles, contentAvailability: [s.content], childSubtreeAvailability: s.children }),
    })),
  };
}
