/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every E57 page.
 * Slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step, which matters because
 * every byte of an E57 file goes through it on read and on write.
 */

const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[s * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** CRC-32C of bytes[start, end). */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLES;
  let crc = 0xffffffff | 0;
  let i = start;
  const abs = bytes.byteOffset + start;
  const steps = (end - start) >>> 3;
  if (LITTLE_ENDIAN && (abs & 3) === 0 && steps > 0) {
    // Aligned: read the 8 bytes of a step as two 32-bit words (E57 pages start 4-aligned in our buffers).
    const w = new Int32Array(bytes.buffer, abs, steps * 2);
    for (let k = 0; k < w.length; k += 2) {
      const lo = crc ^ w[k];
      const hi = w[k + 1];
      crc =
        t[1792 + (lo & 0xff)] ^
        t[1536 + ((lo >>> 8) & 0xff)] ^
        t[1280 + ((lo >>> 16) & 0xff)] ^
        t[1024 + (lo >>> 24)] ^
        t[768 + (hi & 0xff)] ^
        t[512 + ((hi >>> 8) & 0xff)] ^
        t[256 + ((hi >>> 16) & 0xff)] ^
        t[hi >>> 24];
    }
    i = start + steps * 8;
  } else {
    const end8 = start + steps * 8;
    while (i < end8) {
      const lo = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
      crc =
        t[1792 + (lo & 0xff)] ^
        t[1536 + ((lo >>> 8) & 0xff)] ^
        t[1280 + ((lo >>> 16) & 0xff)] ^
        t[1024 + (lo >>> 24)] ^
        t[768 + bytes[i + 4]] ^
        t[512 + bytes[i + 5]] ^
        t[256 + bytes[i + 6]] ^
        t[bytes[i + 7]];
      i += 8;
    }
  }
  while (i < end) crc = t[(crc ^ bytes[i++]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
