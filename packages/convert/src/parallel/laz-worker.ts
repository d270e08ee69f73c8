/**
 * A LAZ pool thread: compresses or decompresses one chunk per message with the in-thread codecs of
 * @realconv/formats (our LASzip-compatible encoder and decoder, checks included), writes the result into the
 * buffer the request brought, and transfers every buffer back.
 */
import { parentPort } from "node:worker_threads";
import { inThreadLazCompressor, type LazChunkCompressor } from "@realconv/formats/laz";
import { LazChunkError } from "@realconv/formats/laz";
import { decodeChunk } from "@realconv/formats/laz";
import { decodeLasRecords } from "@realconv/formats/las";
import type { PointChunk } from "@realconv/formats";
import type { LazTaskRequest, LazTaskResponse } from "./laz-protocol.js";

const port = parentPort;
if (!port) throw new Error("laz-worker runs as a worker thread only");

/** One reusable encoder per record format (its models restart at every chunk). */
const compressors = new Map<string, LazChunkCompressor>();

/** This thread's records buffer for "decompressColumns" (the records never leave the thread). */
let records = new Uint8Array(0);

/** The ArrayBuffers under a chunk's columns, each once. */
function columnBuffers(points: PointChunk): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (o: object) => {
    for (const v of Object.values(o)) if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) out.add(v.buffer);
  };
  add(points);
  add(points.positions);
  if (points.extra) add(points.extra);
  return [...out];
}

async function run(m: LazTaskRequest): Promise<Uint8Array | PointChunk> {
  switch (m.op) {
    case "compress": {
      const key = `${m.pointFormat}/${m.recordLength}`;
      let c = compressors.get(key);
      if (!c) compressors.set(key, (c = inThreadLazCompressor(m.pointFormat, m.recordLength)));
      let bytes: Uint8Array;
      try {
        // The records are only read: their buffer goes back to the main thread as a spare.
        bytes = await c.compress(m.bytes, m.count);
      } catch (e) {
        // A failure may leave the encoder mid-chunk: start the next task with a fresh one.
        compressors.delete(key);
        throw e;
      }
      if (bytes.byteLength > m.out.byteLength) return bytes;
      m.out.set(bytes);
      return m.out.subarray(0, bytes.byteLength);
    }
    case "decompress":
      return decodeChunk(m.bytes, m.pdrf, m.recordLength, m.count, m.limits, m.out);
    case "decompressColumns": {
      const { pdrf, recordLength } = m.layout;
      const need = m.count * recordLength;
      if (records.byteLength < need) records = new Uint8Array(need);
      const raw = decodeChunk(m.bytes, pdrf, recordLength, m.count, m.limits, records);
      return decodeLasRecords(raw, m.count, m.layout);
    }
    case "crash":
      process.exit(70);
  }
}

/** The request's buffers not carrying the result. */
function spares(m: LazTaskRequest, result: Uint8Array | undefined): ArrayBuffer[] {
  if (m.op === "crash") return [];
  const out: ArrayBuffer[] = [];
  for (const b of m.op === "decompressColumns" ? [m.bytes.buffer] : [m.bytes.buffer, m.out.buffer]) {
    if (b !== result?.buffer && b instanceof ArrayBuffer && b.byteLength > 0 && !out.includes(b)) out.push(b);
  }
  return out;
}

port.on("message", (m: LazTaskRequest) => {
  run(m).then(
    (result) => {
      if (!(result instanceof Uint8Array)) {
        const spare = spares(m, undefined);
        const res: LazTaskResponse = { id: m.id, columns: result, spare };
        port.postMessage(res, [...columnBuffers(result), ...spare]);
        return;
      }
      const mine = (m.op === "compress" || m.op === "decompress") && (result.buffer === m.out.buffer || result.buffer === m.bytes.buffer);
      // A result in a buffer of this thread goes whole (a view over part of a bigger one is cut out first).
      const bytes = mine || (result.byteOffset === 0 && result.byteLength === result.buffer.byteLength) ? result : result.slice();
      const spare = spares(m, bytes);
      const res: LazTaskResponse = { id: m.id, bytes, spare };
      port.postMessage(res, [bytes.buffer as ArrayBuffer, ...spare]);
    },
    (e: unknown) => {
      const error = e instanceof LazChunkError ? { message: e.message, at: e.at } : { message: String((e as Error)?.message ?? e) };
      const spare = spares(m, undefined);
      const res: LazTaskResponse = { id: m.id, error, spare };
      port.postMessage(res, spare);
    },
  );
});
