/**
 * Node.js side of transfers: uploads from paths (a folder uploads every file under it, named by its path
 * inside the folder) and downloads to a folder. Chosen through the package's `#platform` import; browsers get
 * `browser.ts` instead.
 */
import { open, readdir, rename, stat, mkdir, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { BlobClient } from "@azure/storage-blob";
import { fromStorageError } from "../errors.js";
import { webSource, type RemoteFile, type TransferProgress, type UploadSource, type WebUploadInput } from "../transfer.js";

/** A path (file or folder, Node.js only), a File or Blob with a name, or bytes under a name. */
export type UploadInput = string | WebUploadInput;

function fileSource(path: string, name: string, size: number, mtimeMs: number): UploadSource {
  let handle: Promise<FileHandle> | undefined;
  return {
    name,
    size,
    version: String(Math.trunc(mtimeMs)),
    async slice(offset, length) {
      handle ??= open(path, "r");
      const buffer = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await (await handle).read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${path} ended at ${offset + done} bytes while ${size} were expected (changed during the upload?)`);
        done += bytesRead;
      }
      return buffer;
    },
    async close() {
      if (handle) await (await handle).close();
      handle = undefined;
    },
  };
}

/** Node's storage client sends bytes, not Blobs: a File or Blob source read slice by slice. */
function asBytes(source: UploadSource): UploadSource {
  return {
    ...source,
    async slice(offset, length) {
      const part = await source.slice(offset, length);
      return part instanceof Uint8Array ? part : new Uint8Array(await part.arrayBuffer());
    },
  };
}

async function walk(dir: string, root: string, out: UploadSource[]): Promise<void> {
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await walk(p, root, out);
    else if (entry.isFile()) {
      const st = await stat(p);
      out.push(fileSource(p, relative(root, p).split(sep).join("/"), st.size, st.mtimeMs));
    }
  }
}

export async function openSources(inputs: readonly UploadInput[]): Promise<UploadSource[]> {
  const out: UploadSource[] = [];
  for (const input of inputs) {
    if (typeof input !== "string") {
      out.push(asBytes(webSource(input)));
      continue;
    }
    const st = await stat(input);
    if (st.isDirectory()) await walk(input, input, out);
    else out.push(fileSource(input, basename(input), st.size, st.mtimeMs));
  }
  return out;
}

export interface DownloadOptions {
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
}

/** Where a blob goes under `dest`; a name that would leave the folder is refused. */
function targetOf(dest: string, name: string): string {
  const segments = name.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) throw new Error(`refusing to write blob ${JSON.stringify(name)} outside ${dest}`);
  const target = resolve(dest, ...segments);
  if (!target.startsWith(resolve(dest) + sep)) throw new Error(`refusing to write blob ${JSON.stringify(name)} outside ${dest}`);
  return target;
}

/** Downloads files (each through its SAS URL) into a folder, keeping their paths; returns the paths written. */
export async function downloadFiles(files: readonly RemoteFile[], dest: string, options: DownloadOptions = {}): Promise<string[]> {
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  let finished = 0;
  const written: string[] = [];
  for (const file of files) {
    const target = targetOf(dest, file.name);
    await mkdir(dirname(target), { recursive: true });
    // Written beside and renamed when complete: an interrupted download never leaves a short file under the name.
    const partial = `${target}.partial`;
    try {
      await new BlobClient(file.url).downloadToFile(partial, 0, undefined, {
        abortSignal: options.signal,
        onProgress: (p) => options.onProgress?.({ file: file.name, loadedBytes: finished + p.loadedBytes, totalBytes }),
      });
    } catch (e) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw fromStorageError(e);
    }
    await rename(partial, target);
    finished += file.size;
    options.onProgress?.({ file: file.name, loadedBytes: finished, totalBytes });
    written.push(target);
  }
  return written;
}

/** A file's content as a Blob. */
export async function readBlob(file: RemoteFile, signal?: AbortSignal): Promise<Blob> {
  try {
    const bytes = await new BlobClient(file.url).downloadToBuffer(0, undefined, { abortSignal: signal });
    return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: file.contentType });
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw fromStorageError(e);
  }
}
