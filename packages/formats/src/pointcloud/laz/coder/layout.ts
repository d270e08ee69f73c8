/**
 * How LASzip lays out a point format's record as compressed items (the 'laszip encoded' / 22204 VLR
 * lists them), shared by the encoder (which writes the list) and the reader (which checks it).
 */

export const LASZIP_USER_ID = "laszip encoded";
export const LASZIP_RECORD_ID = 22204;
export const DEFAULT_CHUNK_SIZE = 50_000;
/** chunk_size value announcing variable-size chunks (point counts stored in the chunk table). */
export const VARIABLE_CHUNK_SIZE = 0xffffffff;

/** Point-wise without chunks: the whole point data is one arithmetic stream. */
export const COMPRESSOR_POINTWISE = 1;
export const COMPRESSOR_POINTWISE_CHUNKED = 2;
export const COMPRESSOR_LAYERED_CHUNKED = 3;

/** LASzip item type codes. */
export const ItemType = {
  BYTE: 0,
  POINT10: 6,
  GPSTIME11: 7,
  RGB12: 8,
  WAVEPACKET13: 9,
  POINT14: 10,
  RGB14: 11,
  RGBNIR14: 12,
  WAVEPACKET14: 13,
  BYTE14: 14,
} as const;

export interface LazItem {
  type: number;
  size: number;
  version: number;
}

/** Core record size of each point data record format (4, 5, 9, 10 with their 29-byte wave packet). */
export const BASE_RECORD_LENGTH: Record<number, number> = { 0: 20, 1: 28, 2: 26, 3: 34, 4: 57, 5: 63, 6: 30, 7: 36, 8: 38, 9: 59, 10: 67 };

/** Item list LASzip uses for a point format (point-wise v2 items for 0-5, layered v3 items for 6-10). */
export function lazItemsFor(pointFormat: number, recordLength: number): LazItem[] {
  const base = BASE_RECORD_LENGTH[pointFormat];
  if (base === undefined) throw new RangeError(`LAZ: unsupported point data record format ${pointFormat}`);
  if (!Number.isInteger(recordLength) || recordLength < base || recordLength > base + 0xffff) {
    throw new RangeError(`LAZ: record length ${recordLength} invalid for point format ${pointFormat}`);
  }
  const extra = recordLength - base;
  const items: LazItem[] = [];
  if (pointFormat <= 5) {
    items.push({ type: ItemType.POINT10, size: 20, version: 2 });
    if (pointFormat !== 0 && pointFormat !== 2) items.push({ type: ItemType.GPSTIME11, size: 8, version: 2 });
    if (pointFormat === 2 || pointFormat === 3 || pointFormat === 5) items.push({ type: ItemType.RGB12, size: 6, version: 2 });
    if (pointFormat >= 4) items.push({ type: ItemType.WAVEPACKET13, size: 29, version: 1 });
    if (extra > 0) items.push({ type: ItemType.BYTE, size: extra, version: 2 });
  } else {
    items.push({ type: ItemType.POINT14, size: 30, version: 3 });
    if (pointFormat === 7) items.push({ type: ItemType.RGB14, size: 6, version: 3 });
    if (pointFormat === 8 || pointFormat === 10) items.push({ type: ItemType.RGBNIR14, size: 8, version: 3 });
    if (pointFormat >= 9) items.push({ type: ItemType.WAVEPACKET14, size: 29, version: 3 });
    if (extra > 0) items.push({ type: ItemType.BYTE14, size: extra, version: 3 });
  }
  return items;
}
