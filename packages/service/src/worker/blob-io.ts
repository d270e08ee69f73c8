/**
 * Runner inputs and outputs over the BlobStore: an input reality data's container read by ranges,
 * an output container written by streams. Nothing is downloaded whole.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { patchFile, type Extent, type InputDataset, type InputFile, type OutputSink } from "@realconv/convert";
import type { BlobBody, BlobStore } from "../ports/blob-store.js";
import type { RealityData } from "../ports/reality-data.js";

export async function listAllBlobs(blobs: BlobStore, container: string): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  let marker: string | undefined;
  do {
    const page = await blobs.list(container, { marker, maxResults: 5000 });
    for (const b of page.blobs) out.push({ name: b.name, size: b.size });
    marker = page.nextMarker;
  } while (marker);
  return out;
}

export function blobInputDataset(blobs: BlobStore, rd: RealityData): InputDataset {
  return {
    id: rd.id,
    type: rd.type,
    rootDocument: rd.rootDocument,
    async files(): Promise<InputFile[]> {
      const list = await listAllBlobs(blobs, rd.id);
      return list.map((b) => ({
        path: b.name,
        name: b.name.split("/").pop() ?? b.name,
        size: b.size,
        read: (offset: number, length: number) => {
          const len = Math.max(0, Math.min(length, b.size - offset));
          return len === 0 ? Promise.resolve(new Uint8Array(0)) : blobs.read(rd.id, b.name, { offset, length: len });
        },
        async *stream() {
          const got = await blobs.get(rd.id, b.name);
          if (!got) throw new Error(`${b.name} disappeared from reality data ${rd.id}`);
          yield* got.body;
        },
      }));
    },
  };
}

/** What a runner declared about its output, applied to the output reality data when the job succeeds. */
export interface OutputDeclarations {
  rootDocument?: string;
  extent?: Extent;
  crs?: string;
  files: string[];
}

/** An output container as a runner's sink; files that need patching are staged under `stagingDir`. */
export function blobOutputSink(blobs: BlobStore, container: string, stagingDir: string): OutputSink & { declared: OutputDeclarations } {
  const declared: OutputDeclarations = { files: [] };
  return {
    declared,
    async write(path: string, data: BlobBody, signal?: AbortSignal) {
      await blobs.put(container, path, data, { signal });
      declared.files.push(path);
    },
    async writePatched(path, data, patches, signal) {
      // A blob cannot be patched in place: stage the file on the local disk, patch it there, then upload it
      // streamed. Disk use is the file's size; memory stays one piece of the stream.
      const dir = await mkdtemp(join(stagingDir, "out-"));
      try {
        const tmp = join(dir, "file");
        await pipeline(Readable.from(data), createWriteStream(tmp), { signal });
        await patchFile(tmp, patches());
        await blobs.put(container, path, createReadStream(tmp) as AsyncIterable<Uint8Array>, { signal });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      declared.files.push(path);
    },
    setRootDocument(path: string) {
      declared.rootDocument = path;
    },
    setExtent(extent: Extent) {
      declared.extent = extent;
    },
    setCrs(crs: string) {
      declared.crs = crs;
    },
  };
}
