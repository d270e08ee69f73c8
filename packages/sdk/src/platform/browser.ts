/**
 * Browser side of transfers: uploads from Files, Blobs and bytes; files read as Blobs. There is no folder to
 * download into: read each file with `realityData.files()` and `readFile()` (or hand its `url` to a viewer).
 * The package's `#platform` import selects this module under the `browser` condition.
 */
import { BlobClient } from "@azure/storage-blob";
import { fromStorageError, RealconvError } from "../errors.js";
import { webSource, type RemoteFile, type TransferProgress, type UploadSource, type WebUploadInput } from "../transfer.js";

/** Paths are Node.js only; in a browser, pass Files, Blobs with a name, or bytes under a name. */
export type UploadInput = string | WebUploadInput;

export interface DownloadOptions {
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
}

function nodeOnly(what: string): RealconvError {
  return new RealconvError(0, "NotSupportedInBrowser", `${what} needs Node.js; in a browser use realityData.files() and readFile()`);
}

export async function openSources(inputs: readonly UploadInput[]): Promise<UploadSource[]> {
  return inputs.map((input) => {
    if (typeof input === "string") throw nodeOnly(`uploading the path ${input}`);
    return webSource(input);
  });
}

export async function downloadFiles(_files: readonly RemoteFile[], _dest: string, _options?: DownloadOptions): Promise<string[]> {
  throw nodeOnly("downloading to a folder");
}

export async function readBlob(file: RemoteFile, signal?: AbortSignal): Promise<Blob> {
  try {
    const body = (await new BlobClient(file.url).download(0, undefined, { abortSignal: signal })).blobBody;
    if (!body) throw new RealconvError(0, "StorageError", `no body for ${file.name}`);
    return await body;
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw fromStorageError(e);
  }
}
