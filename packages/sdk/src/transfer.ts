/**
 * Files in and out of reality data containers through their SAS URLs with `@azure/storage-blob`, the same way
 * against Azure and against realconv's embedded endpoint. Nothing here is Node-only: paths and folders are the
 * platform module's business.
 *
 * Uploads: a file up to one block goes in one Put Blob; a larger one in blocks (Put Block, then Put Block List).
 * Block ids are derived from the file's name, size, version (modification time) and the block size, so an upload
 * of the same file that was interrupted is resumed: the blocks the container already holds uncommitted (Get Block
 * List) are not sent again. Azure and realconv keep uncommitted blocks for 7 days; a file whose upload had
 * completed is sent again.
 */
import { ContainerClient } from "@azure/storage-blob";
import type { BlockBlobClient } from "@azure/storage-blob";
import { fromStorageError } from "./errors.js";

/** A file to upload, however it is stored. */
export interface UploadSource {
  /** Blob name in the container, `/`-separated. */
  name: string;
  size: number;
  /** Changes when the content does (a modification time); part of the block ids. */
  version: string;
  contentType?: string;
  /** The bytes [offset, offset + length) as a request body. */
  slice(offset: number, length: number): Promise<Uint8Array | Blob>;
  /** Releases what `slice` holds open (a file handle). */
  close?(): Promise<void>;
}

/** A file from a browser (or Node's `File`), or bytes under a name. */
export type WebUploadInput = Blob & { name: string } | { name: string; data: Blob | Uint8Array | ArrayBuffer; contentType?: string };

export interface TransferProgress {
  /** The file being transferred. */
  file: string;
  /** Bytes done so far over every file (reused blocks count as done). */
  loadedBytes: number;
  totalBytes: number;
}

export interface UploadOptions {
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
  /** Bytes per block (default 8 MiB); a file up to this size goes in one request. */
  blockSize?: number;
  /** Blocks in flight at once (default 4). */
  concurrency?: number;
}

export interface UploadedFile {
  name: string;
  size: number;
  /** Bytes of blocks an interrupted upload had staged, not sent again. */
  reusedBytes: number;
}

const MiB = 1024 * 1024;
const DEFAULT_BLOCK_SIZE = 8 * MiB;
/** Azure's limit of blocks per blob. */
const MAX_BLOCKS = 50_000;

function isBlobLike(v: unknown): v is Blob {
  return typeof v === "object" && v !== null && typeof (v as Blob).slice === "function" && typeof (v as Blob).size === "number";
}

/** An upload source over a File, a Blob with a name or bytes. */
export function webSource(input: WebUploadInput): UploadSource {
  if (isBlobLike(input)) {
    const file = input as Blob & { name: string; lastModified?: number };
    return {
      name: file.name,
      size: file.size,
      version: String(file.lastModified ?? ""),
      contentType: file.type || undefined,
      slice: async (offset, length) => file.slice(offset, offset + length),
    };
  }
  const data = input.data;
  if (isBlobLike(data)) {
    return { name: input.name, size: data.size, version: "", contentType: input.contentType ?? (data.type || undefined), slice: async (o, n) => data.slice(o, o + n) };
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return { name: input.name, size: bytes.byteLength, version: "", contentType: input.contentType, slice: async (o, n) => bytes.subarray(o, o + n) };
}

/** 64-bit FNV-1a of a string as 16 hex digits: a fingerprint for block ids, not a security measure. */
function fingerprint(text: string): string {
  let h = 0xcbf29ce484222325n;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}

/** Block ids of a file: all of one length, as Azure requires, and the same on every attempt. */
export function blockIds(source: Pick<UploadSource, "name" | "size" | "version">, blockSize: number): string[] {
  const fp = fingerprint(`${source.name}\n${source.size}\n${source.version}\n${blockSize}`);
  const count = Math.ceil(source.size / blockSize);
  return Array.from({ length: count }, (_, i) => btoa(`${fp}-${String(i).padStart(6, "0")}`));
}

/** Runs `task(i)` for i in [0, count) with at most `limit` at once; the first failure stops the rest. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const run = async () => {
    while (!failed && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, count) }, run));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}

async function stagedSizes(blob: BlockBlobClient, signal?: AbortSignal): Promise<Map<string, number>> {
  try {
    const list = await blob.getBlockList("uncommitted", { abortSignal: signal });
    return new Map((list.uncommittedBlocks ?? []).map((b) => [b.name, b.size]));
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return new Map();
    throw e;
  }
}

/** Uploads files into a container (its write SAS URL); names are kept, existing blobs overwritten. */
export async function uploadSources(containerUrl: string, sources: UploadSource[], options: UploadOptions = {}): Promise<UploadedFile[]> {
  const container = new ContainerClient(containerUrl);
  const totalBytes = sources.reduce((n, s) => n + s.size, 0);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const signal = options.signal;
  let loadedBytes = 0;
  const report = (file: string, bytes: number) => {
    loadedBytes += bytes;
    options.onProgress?.({ file, loadedBytes, totalBytes });
  };
  const done: UploadedFile[] = [];
  try {
    for (const source of sources) {
      signal?.throwIfAborted();
      const blob = container.getBlockBlobClient(source.name);
      const blobHTTPHeaders = { blobContentType: source.contentType ?? "application/octet-stream" };
      const blockSize = Math.max(options.blockSize ?? DEFAULT_BLOCK_SIZE, Math.ceil(source.size / MAX_BLOCKS));
      if (source.size <= blockSize) {
        const body = await source.slice(0, source.size);
        await blob.upload(body, source.size, { blobHTTPHeaders, abortSignal: signal });
        report(source.name, source.size);
        done.push({ name: source.name, size: source.size, reusedBytes: 0 });
        continue;
      }
      const ids = blockIds(source, blockSize);
      const staged = await stagedSizes(blob, signal);
      let reusedBytes = 0;
      await pool(ids.length, concurrency, async (i) => {
        const offset = i * blockSize;
        const length = Math.min(blockSize, source.size - offset);
        if (staged.get(ids[i]) === length) {
          reusedBytes += length;
        } else {
          signal?.throwIfAborted();
          await blob.stageBlock(ids[i], await source.slice(offset, length), length, { abortSignal: signal });
        }
        report(source.name, length);
      });
      await blob.commitBlockList(ids, { blobHTTPHeaders, abortSignal: signal });
      done.push({ name: source.name, size: source.size, reusedBytes });
    }
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw fromStorageError(e);
  } finally {
    await Promise.all(sources.map((s) => s.close?.()));
  }
  return done;
}

/** A file in a container. */
export interface RemoteFile {
  /** Blob name, `/`-separated. */
  name: string;
  size: number;
  contentType?: string;
  /** URL of the file with the container's SAS: for a viewer (CesiumJS, iTwin.js) or a plain GET. */
  url: string;
}

/** Every file of a container (its SAS URL), in name order. */
export async function* listFiles(containerUrl: string, options: { prefix?: string; signal?: AbortSignal } = {}): AsyncGenerator<RemoteFile> {
  const container = new ContainerClient(containerUrl);
  try {
    for await (const item of container.listBlobsFlat({ prefix: options.prefix, abortSignal: options.signal })) {
      yield {
        name: item.name,
        size: item.properties.contentLength ?? 0,
        contentType: item.properties.contentType,
        url: container.getBlobClient(item.name).url,
      };
    }
  } catch (e) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw fromStorageError(e);
  }
}
