/**
 * BlobStore on Azure Blob Storage (or Azurite) through `@azure/storage-blob`, and the ContainerAccess that hands out
 * real Azure container SAS URLs. Names are validated with the same rules as the local store so both behave alike.
 */
import { Readable } from "node:stream";
import { BlobServiceClient, ContainerSASPermissions, RestError } from "@azure/storage-blob";
import type { ContainerClient } from "@azure/storage-blob";
import type {
  BlobBody,
  BlobInfo,
  BlobStore,
  ByteRange,
  ContainerAccess,
  ContainerAccessLevel,
  ListOptions,
  ListResult,
  StagedBlock,
} from "../../ports/blob-store.js";
import { BlobStoreError } from "./errors.js";
import { DEFAULT_MAX_RESULTS, validateBlobName, validateContainerName } from "./names.js";
import { resolveRange } from "./local-blob-store.js";

/** Block size and parallelism of streamed uploads: memory use is about their product. */
const UPLOAD_BLOCK = 4 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 4;

function statusOf(e: unknown): number | undefined {
  return e instanceof RestError ? e.statusCode : undefined;
}

function codeOf(e: unknown): string | undefined {
  return e instanceof RestError ? (e.code ?? (e.details as { errorCode?: string } | undefined)?.errorCode) : undefined;
}

/** Translates Azure's errors into the shared BlobStoreError codes. */
function translate(e: unknown, container: string, name?: string): unknown {
  const code = codeOf(e);
  if (code === "ContainerNotFound") return new BlobStoreError("ContainerNotFound", `container ${container} does not exist`);
  if (code === "InvalidBlockList") return new BlobStoreError("InvalidBlockList", `invalid block list for ${name}`);
  if (code === "InvalidRange" || statusOf(e) === 416) return new BlobStoreError("InvalidRange", `invalid range for ${name}`);
  if (code === "OutOfRangeInput" || code === "InvalidQueryParameterValue") return new BlobStoreError("InvalidMarker", "invalid marker");
  if (code === "InvalidBlobOrBlock" || code === "InvalidBlockId") return new BlobStoreError("InvalidBlockId", `invalid block id for ${name}`);
  return e;
}

/** The fields shared by Get Blob Properties responses and listed blob items. */
interface PropsLike {
  contentLength?: number;
  lastModified?: Date;
  etag?: string;
  contentType?: string;
  contentMD5?: Uint8Array;
}

/** The SDK's stream uploader copies chunks with Buffer methods, so plain Uint8Arrays are wrapped (no copy). */
async function* asBuffers(body: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const c of body) yield Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/** Listings carry bare etags, property responses quoted ones; the port promises the quoted HTTP form. */
function quoted(etag: string | undefined): string {
  if (!etag) return "";
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function fromProperties(name: string, p: PropsLike): BlobInfo {
  const md5 = p.contentMD5;
  const info: BlobInfo = {
    name,
    size: p.contentLength ?? 0,
    lastModified: p.lastModified ?? new Date(0),
    etag: quoted(p.etag),
  };
  if (p.contentType) info.contentType = p.contentType;
  if (md5 && md5.length > 0) info.contentMD5 = Buffer.from(md5).toString("base64");
  return info;
}

export class AzureBlobStore implements BlobStore, ContainerAccess {
  readonly service: BlobServiceClient;

  constructor(connectionString: string) {
    this.service = BlobServiceClient.fromConnectionString(connectionString);
  }

  private container(container: string): ContainerClient {
    validateContainerName(container);
    return this.service.getContainerClient(container);
  }

  private blob(container: string, name: string) {
    validateBlobName(name);
    return this.container(container).getBlockBlobClient(name);
  }

  async createContainer(container: string): Promise<void> {
    await this.container(container).createIfNotExists();
  }

  async deleteContainer(container: string): Promise<void> {
    await this.container(container).deleteIfExists();
  }

  async containerExists(container: string): Promise<boolean> {
    return this.container(container).exists();
  }

  async put(container: string, name: string, body: BlobBody, options: { contentType?: string; signal?: AbortSignal } = {}): Promise<BlobInfo> {
    const client = this.blob(container, name);
    const common = {
      blobHTTPHeaders: { blobContentType: options.contentType ?? "application/octet-stream" },
      abortSignal: options.signal,
    };
    try {
      if (body instanceof Uint8Array) {
        // One Put Blob when it fits, so Azure records the MD5 like it does for the local store.
        await client.uploadData(body, { ...common, maxSingleShotSize: 256 * 1024 * 1024 });
      } else {
        await client.uploadStream(Readable.from(asBuffers(body)), UPLOAD_BLOCK, UPLOAD_CONCURRENCY, common);
      }
    } catch (e) {
      throw translate(e, container, name);
    }
    return this.mustHead(container, name);
  }

  private async mustHead(container: string, name: string): Promise<BlobInfo> {
    const info = await this.head(container, name);
    if (!info) throw new BlobStoreError("BlobNotFound", `blob ${name} vanished from ${container}`);
    return info;
  }

  async stageBlock(container: string, name: string, blockId: string, body: BlobBody): Promise<void> {
    const client = this.blob(container, name);
    // Put Block needs the length up front, so a streamed block is gathered first; blocks are a few MiB.
    let data: Uint8Array;
    if (body instanceof Uint8Array) data = body;
    else {
      const parts: Uint8Array[] = [];
      for await (const c of body) parts.push(c);
      data = Buffer.concat(parts);
    }
    try {
      await client.stageBlock(blockId, data, data.byteLength);
    } catch (e) {
      throw translate(e, container, name);
    }
  }

  async commitBlocks(container: string, name: string, blockIds: string[], options: { contentType?: string } = {}): Promise<BlobInfo> {
    const client = this.blob(container, name);
    try {
      await client.commitBlockList(blockIds, { blobHTTPHeaders: { blobContentType: options.contentType ?? "application/octet-stream" } });
    } catch (e) {
      throw translate(e, container, name);
    }
    return this.mustHead(container, name);
  }

  async stagedBlocks(container: string, name: string): Promise<StagedBlock[]> {
    try {
      const list = await this.blob(container, name).getBlockList("uncommitted");
      return (list.uncommittedBlocks ?? []).map((b) => ({ id: b.name, size: b.size }));
    } catch (e) {
      // No blob and no staged block: Azure answers BlobNotFound; the container's absence stays an error.
      if (codeOf(e) === "BlobNotFound") return [];
      throw translate(e, container, name);
    }
  }

  async head(container: string, name: string): Promise<BlobInfo | undefined> {
    const client = this.blob(container, name);
    try {
      return fromProperties(name, await client.getProperties());
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw translate(e, container, name);
    }
  }

  async get(container: string, name: string, range?: ByteRange): Promise<{ info: BlobInfo; body: AsyncIterable<Uint8Array> } | undefined> {
    const client = this.blob(container, name);
    try {
      // Validate the range against the size first, so both stores reject the same ranges the same way.
      const props = await client.getProperties();
      const info = fromProperties(name, props);
      const { start, end } = resolveRange(range, info.size);
      if (end < start) return { info, body: Readable.from([]) };
      const res = await client.download(start, end - start + 1, { conditions: { ifMatch: props.etag } });
      const body = res.readableStreamBody;
      if (!body) throw new Error("Azure download returned no Node.js stream");
      return { info, body: body as unknown as AsyncIterable<Uint8Array> };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw translate(e, container, name);
    }
  }

  async read(container: string, name: string, range: Required<ByteRange>): Promise<Uint8Array> {
    const got = await this.get(container, name, range);
    if (!got) throw new BlobStoreError("BlobNotFound", `blob ${name} does not exist in ${container}`);
    const parts: Buffer[] = [];
    for await (const c of got.body) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  }

  async list(container: string, options: ListOptions = {}): Promise<ListResult> {
    const client = this.container(container);
    const pageSettings = { maxPageSize: options.maxResults ?? DEFAULT_MAX_RESULTS, continuationToken: options.marker || undefined };
    try {
      if (options.delimiter) {
        const it = client.listBlobsByHierarchy(options.delimiter, { prefix: options.prefix }).byPage(pageSettings);
        const res = await it.next();
        if (res.done) return { blobs: [], prefixes: [] };
        const value = res.value;
        const r: ListResult = {
          blobs: value.segment.blobItems.map((b) => fromProperties(b.name, b.properties)),
          prefixes: (value.segment.blobPrefixes ?? []).map((p) => p.name),
        };
        if (value.continuationToken) r.nextMarker = value.continuationToken;
        return r;
      }
      const it = client.listBlobsFlat({ prefix: options.prefix }).byPage(pageSettings);
      const res = await it.next();
      if (res.done) return { blobs: [], prefixes: [] };
      const value = res.value;
      const r: ListResult = { blobs: value.segment.blobItems.map((b) => fromProperties(b.name, b.properties)), prefixes: [] };
      if (value.continuationToken) r.nextMarker = value.continuationToken;
      return r;
    } catch (e) {
      throw translate(e, container);
    }
  }

  async delete(container: string, name: string): Promise<boolean> {
    const client = this.blob(container, name);
    try {
      return (await client.deleteIfExists()).succeeded;
    } catch (e) {
      throw translate(e, container, name);
    }
  }

  async containerSize(container: string): Promise<number> {
    let total = 0;
    try {
      for await (const b of this.container(container).listBlobsFlat()) total += b.properties.contentLength ?? 0;
    } catch (e) {
      throw translate(e, container);
    }
    return total;
  }

  /** A real Azure service SAS for the container (needs an account key in the connection string). */
  async containerUrl(container: string, access: ContainerAccessLevel, expiresOn: Date): Promise<string> {
    const permissions = ContainerSASPermissions.parse(access === "Read" ? "rl" : "racwdl");
    return this.container(container).generateSasUrl({ permissions, expiresOn });
  }
}
