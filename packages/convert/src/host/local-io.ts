/**
 * Runner inputs and outputs on the local disk, for `realconv convert` (no server, same runners).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { Extent, FilePatch, InputDataset, InputFile, OutputSink } from "../contract/runner.js";

/** Overwrites bytes of a file already written (patches of `OutputSink.writePatched`); never extends it. */
export async function patchFile(path: string, patches: readonly FilePatch[]): Promise<void> {
  if (patches.length === 0) return;
  const fh = await open(path, "r+");
  try {
    const { size } = await fh.stat();
    for (const p of patches) {
      if (p.offset < 0 || p.offset + p.bytes.byteLength > size) {
        throw new RangeError(`patch of ${p.bytes.byteLength} bytes at ${p.offset} lies outside the ${size} bytes written to ${path}`);
      }
      let done = 0;
      while (done < p.bytes.byteLength) {
        const { bytesWritten } = await fh.write(p.bytes, done, p.bytes.byteLength - done, p.offset + done);
        done += bytesWritten;
      }
    }
  } finally {
    await fh.close();
  }
}

/** Pieces gathered into writes of at least `bytes` (a streamed file is often many small pieces). */
async function* coalesced(data: AsyncIterable<Uint8Array>, bytes = 1 << 20): AsyncGenerator<Uint8Array> {
  let held: Uint8Array[] = [];
  let size = 0;
  for await (const piece of data) {
    if (piece.byteLength >= bytes && size === 0) {
      yield piece;
      continue;
    }
    held.push(piece);
    size += piece.byteLength;
    if (size < bytes) continue;
    const out = new Uint8Array(size);
    let at = 0;
    for (const h of held) {
      out.set(h, at);
      at += h.byteLength;
    }
    held = [];
    size = 0;
    yield out;
  }
  if (held.length === 1) yield held[0];
  else if (held.length > 1) yield Buffer.concat(held, size);
}

async function walk(dir: string, out: string[]): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await walk(p, out);
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

export async function localInputFile(path: string, relPath: string): Promise<InputFile> {
  const size = (await stat(path)).size;
  return {
    path: relPath,
    name: basename(path),
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const len = Math.max(0, Math.min(length, size - offset));
      const buf = new Uint8Array(len);
      if (len === 0) return buf;
      const fh = await open(path, "r");
      try {
        let done = 0;
        while (done < len) {
          const { bytesRead } = await fh.read(buf, done, len - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === len ? buf : buf.subarray(0, done);
      } finally {
        await fh.close();
      }
    },
    async *stream() {
      for await (const chunk of createReadStream(path)) yield chunk as Uint8Array;
    },
  };
}

/** A file is a dataset of one file; a folder is a dataset of every file below it. */
export async function localInputDataset(path: string, type: string): Promise<InputDataset> {
  const abs = resolve(path);
  const isDir = (await stat(abs)).isDirectory();
  return {
    id: abs,
    type,
    async files() {
      if (!isDir) return [await localInputFile(abs, basename(abs))];
      const files = (await walk(abs, [])).sort();
      return Promise.all(files.map((f) => localInputFile(f, relative(abs, f).split(sep).join("/"))));
    },
  };
}

export interface LocalOutput extends OutputSink {
  readonly rootDocument?: string;
  readonly extent?: Extent;
  readonly crs?: string;
  readonly files: string[];
}

/** Runs `write`; if it fails, the temporary file it was writing is removed (a failed output leaves nothing). */
async function whole(tmp: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes into `dir`; each file appears whole (written to a temporary name, then renamed). */
export function localOutputSink(dir: string): LocalOutput {
  const state: { rootDocument?: string; extent?: Extent; crs?: string; files: string[] } = { files: [] };
  const root = resolve(dir);
  // Folders made by this sink: a tileset's files share a few hundred folders, made once each.
  const made = new Set<string>();
  const folder = async (d: string) => {
    if (made.has(d)) return;
    await mkdir(d, { recursive: true });
    made.add(d);
  };
  return {
    get rootDocument() {
      return state.rootDocument;
    },
    get extent() {
      return state.extent;
    },
    get crs() {
      return state.crs;
    },
    get files() {
      return state.files;
    },
    async write(path, data, signal) {
      const target = resolve(root, path);
      if (!target.startsWith(root + sep)) throw new Error(`output path escapes the output folder: ${path}`);
      await folder(dirname(target));
      const tmp = `${target}.partial`;
      await whole(tmp, async () => {
        // One call for bytes in memory (tilesets write thousands of small files); a stream otherwise.
        if (data instanceof Uint8Array) await writeFile(tmp, data, { signal });
        else await pipeline(Readable.from(data), createWriteStream(tmp), { signal });
        await rename(tmp, target);
      });
      state.files.push(path);
    },
    async writePatched(path, data, patches, signal) {
      const target = resolve(root, path);
      if (!target.startsWith(root + sep)) throw new Error(`output path escapes the output folder: ${path}`);
      await folder(dirname(target));
      // Patched while still under the temporary name, so the file never appears unpatched.
      const tmp = `${target}.partial`;
      await whole(tmp, async () => {
        await pipeline(Readable.from(coalesced(data)), createWriteStream(tmp), { signal });
        await patchFile(tmp, patches());
        await rename(tmp, target);
      });
      state.files.push(path);
    },
    setRootDocument(path) {
      state.rootDocument = path;
    },
    setExtent(extent) {
      state.extent = extent;
    },
    setCrs(crs) {
      state.crs = crs;
    },
  };
}
