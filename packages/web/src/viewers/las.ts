/** The public header block of a LAS or LAZ file (its first 375 bytes), for the metadata of point-cloud outputs. */

export interface LasSummary {
  version: string;
  pointFormat: number;
  compressed: boolean;
  points: number;
  min: [number, number, number];
  max: [number, number, number];
}

export function parseLasHeader(bytes: Uint8Array): LasSummary | undefined {
  if (bytes.length < 227 || String.fromCharCode(...bytes.subarray(0, 4)) !== "LASF") return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const minor = v.getUint8(25);
  const format = v.getUint8(104);
  let points = v.getUint32(107, true);
  // LAS 1.4 keeps the 64-bit count further on; the legacy one is 0 when it does not fit.
  if (minor >= 4 && bytes.length >= 255) points = Number(v.getBigUint64(247, true)) || points;
  const d = (o: number) => v.getFloat64(o, true);
  return {
    version: `${v.getUint8(24)}.${minor}`,
    pointFormat: format & 0x3f,
    compressed: (format & 0x80) !== 0,
    points,
    min: [d(187), d(203), d(219)],
    max: [d(179), d(195), d(211)],
  };
}

/** The first `n` bytes of a file, with a Range request (and the rest of the answer dropped if it is ignored). */
export async function readHead(url: string, n = 375): Promise<Uint8Array> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { range: `bytes=0-${n - 1}` }, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
  const reader = res.body.getReader();
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const { done, value } = await reader.read();
    if (done) break;
    const take = Math.min(value.length, n - got);
    out.set(value.subarray(0, take), got);
    got += take;
  }
  controller.abort();
  return out.subarray(0, got);
}
