/**
 * Test-only helpers for the PLY and text readers: gather every chunk of a reader into whole columns, and a file
 * ByteSource that reads ranges with a file handle (so tests exercise ranged reads, as on disk).
 */
import { open } from "node:fs/promises";
import { basename } from "node:path";
import type { ByteSource } from "../../io/byte-source.js";
import type { PointCloudReader } from "../chunk.js";
import { DEFAULT_CHUNK_POINTS } from "../chunk.js";

export interface Gathered {
  count: number;
  chunkSizes: number[];
  x: number[];
  y: number[];
  z: number[];
  columns: Record<string, number[]>;
  extra: Record<string, number[]>;
}

export async function gather(reader: PointCloudReader): Promise<Gathered> {
  const g: Gathered = { count: 0, chunkSizes: [], x: [], y: [], z: [], columns: {}, extra: {} };
  for (const c of reader.schema.columns) g.columns[c] = [];
  for (const e of reader.schema.extra) g.extra[e.name] = [];
  for await (const chunk of reader.chunks()) {
    if (chunk.count > DEFAULT_CHUNK_POINTS) throw new Error(`chunk of ${chunk.count} points`);
    if (chunk.positions.kind !== "f64") throw new Error("expected f64 positions");
    g.chunkSizes.push(chunk.count);
    g.count += chunk.count;
    for (let i = 0; i < chunk.count; i++) {
      g.x.push(chunk.positions.x[i]);
      g.y.push(chunk.positions.y[i]);
      g.z.push(chunk.positions.z[i]);
    }
    for (const c of reader.schema.columns) {
      const col = (chunk as unknown as Record<string, ArrayLike<number>>)[c];
      if (!col || col.length !== chunk.count) throw new Error(`column ${c} missing or wrong length`);
      for (let i = 0; i < chunk.count; i++) g.columns[c].push(col[i]);
    }
    for (const e of reader.schema.extra) {
      const col = chunk.extra?.[e.name];
      if (!col || col.length !== chunk.count) throw new Error(`extra ${e.name} missing or wrong length`);
      for (let i = 0; i < chunk.count; i++) g.extra[e.name].push(col[i]);
    }
  }
  return g;
}

/** A ByteSource over a local file read by ranges; records the largest single read. */
export async function fileSource(path: string): Promise<ByteSource & { maxRead: number; close(): Promise<void> }> {
  const fh = await open(path, "r");
  const size = (await fh.stat()).size;
  const src = {
    size,
    name: basename(path),
    maxRead: 0,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const n = Math.max(0, Math.min(length, size - offset));
      src.maxRead = Math.max(src.maxRead, n);
      const buf = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(buf, got, n - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
    close: () => fh.close(),
  };
  return src;
}
