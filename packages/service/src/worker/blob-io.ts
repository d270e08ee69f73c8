/**
 * Runner inputs and outputs over the BlobStore: an input reality data's container read by ranges,
 * an output container written by streams. Nothing is downloaded whole.
 */
import type { Extent, InputDataset, InputFile, OutputSink } from "@realconv/convert";
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

export function blobOutputSink(blobs: BlobStore, container: string): OutputSink & { declared: OutputDeclarations } {
  const declared: OutputDeclarations = { files: [] };
  return {
    declared,
    async write(path: string, data: BlobBody, signal?: AbortSignal) {
      await blobs.put(container, path, data, { signal });
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
