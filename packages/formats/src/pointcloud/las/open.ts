/** One entry for LAS and LAZ: the header says which (compression bit or laszip VLR), not the file name. */
import type { ByteSource } from "../../io/byte-source.js";
import { isLazHeader, openLazWithHeader } from "../laz/reader.js";
import { readLasHeader } from "./header.js";
import { uncompressedLasReader, type LasReader, type LasReadOptions } from "./reader.js";

/** Opens a LAS or LAZ file (E57, PLY, PTS and XYZ have openers of their own). */
export async function openLasOrLaz(src: ByteSource, options: LasReadOptions = {}): Promise<LasReader> {
  const warnings: string[] = [];
  const h = await readLasHeader(src, warnings);
  if (isLazHeader(h)) return openLazWithHeader(src, h, warnings, options);
  return uncompressedLasReader(src, h, warnings, options);
}

/** True when the first bytes are a LAS/LAZ signature ("LASF"). */
export function looksLikeLas(first: Uint8Array): boolean {
  return first.length >= 4 && first[0] === 0x4c && first[1] === 0x41 && first[2] === 0x53 && first[3] === 0x46;
}
