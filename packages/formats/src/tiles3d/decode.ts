/**
 * One entry for reading a point tile, whichever content format: `.pnts` or GLB, told by the magic.
 * Positions come back float64 in the tile's frame (RTC centre / node transforms applied, z-up), ready for
 * the tile's transform.
 */
import { FormatError } from "../io/byte-source.js";
import { decodePointGlb } from "./glb.js";
import { decodePnts } from "./pnts.js";

export interface DecodedPointTile {
  format: "pnts" | "glb";
  count: number;
  positions: Float64Array;
  rgb?: Uint8Array;
  intensity?: Uint16Array;
  classification?: Uint8Array;
}

const GLB_MAGIC = 0x46546c67;
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;

/** Checks a GLB's header and chunk layout (lengths exact, chunks 4-byte padded, JSON chunk first); throws a FormatError. */
export function checkGlbLayout(bytes: Uint8Array, file = "tile.glb"): void {
  const fail = (message: string, offset: number): never => {
    throw new FormatError(message, file, offset);
  };
  if (bytes.byteLength < 20) fail(`GLB is ${bytes.byteLength} bytes, shorter than its header and first chunk header`, 0);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== GLB_MAGIC) fail(`magic is not "glTF"`, 0);
  if (v.getUint32(4, true) !== 2) fail(`GLB version ${v.getUint32(4, true)}, expected 2`, 4);
  if (v.getUint32(8, true) !== bytes.byteLength) fail(`header length ${v.getUint32(8, true)} differs from the file's ${bytes.byteLength} bytes`, 8);
  let offset = 12;
  let index = 0;
  while (offset < bytes.byteLength) {
    if (offset + 8 > bytes.byteLength) fail(`chunk ${index} header runs past the end`, offset);
    const length = v.getUint32(offset, true);
    const type = v.getUint32(offset + 4, true);
    if (length % 4 !== 0) fail(`chunk ${index} length ${length} is not 4-byte padded`, offset);
    if (offset + 8 + length > bytes.byteLength) fail(`chunk ${index} (${length} bytes) runs past the end`, offset);
    if (index === 0 && type !== CHUNK_JSON) fail(`first chunk is not JSON`, offset + 4);
    if (index === 1 && type !== CHUNK_BIN) fail(`second chunk is not BIN`, offset + 4);
    offset += 8 + length;
    index++;
  }
  if (index === 0) fail(`GLB has no JSON chunk`, 12);
}

export async function decodePointTile(bytes: Uint8Array, file = "tile"): Promise<DecodedPointTile> {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic === "pnts") {
    const p = decodePnts(bytes, file);
    const positions = new Float64Array(3 * p.count);
    for (let i = 0; i < 3 * p.count; i++) positions[i] = p.positions[i] + p.rtcCenter[i % 3];
    return { format: "pnts", count: p.count, positions, rgb: p.rgb, intensity: p.intensity, classification: p.classification };
  }
  if (magic === "glTF") {
    checkGlbLayout(bytes, file);
    const g = await decodePointGlb(bytes, file);
    return { format: "glb", count: g.count, positions: g.positions, rgb: g.rgb, intensity: g.intensity, classification: g.classification };
  }
  throw new FormatError(`magic "${magic}" is neither "pnts" nor "glTF"`, file, 0);
}
