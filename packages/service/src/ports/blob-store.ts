/**
 * Blob storage for reality data containers (one container per reality data, named by its id).
 * Implementations: local files (embedded default) and Azure Blob Storage. One shared test suite runs
 * against both. Bodies are streamed: nothing here needs a whole file in memory.
 */

export interface BlobInfo {
  name: string;
  /** Bytes. */
  size: number;
  lastModified: Date;
  /** Quoted, as HTTP sends it. */
  etag: string;
  contentType?: string;
  /** Base64 MD5 of the content when known. */
  contentMD5?: string;
}

export interface ByteRange {
  offset: number;
  /** Bytes to read; to the end when absent. */
  length?: number;
}

export interface ListOptions {
  prefix?: string;
  /** With a delimiter, names below it are folded into `prefixes` (virtual folders). */
  delimiter?: string;
  /** Opaque continuation from a previous page. */
  marker?: string;
  maxResults?: number;
}

export interface ListResult {
  blobs: BlobInfo[];
  prefixes: string[];
  nextMarker?: string;
}

export type BlobBody = Uint8Array | AsyncIterable<Uint8Array>;

export interface BlobStore {
  createContainer(container: string): Promise<void>;
  /** Removes the container and every blob in it; no error when absent. */
  deleteContainer(container: string): Promise<void>;
  containerExists(container: string): Promise<boolean>;
  put(container: string, name: string, body: BlobBody, options?: { contentType?: string; signal?: AbortSignal }): Promise<BlobInfo>;
  /** Stages one block of a block blob (Azure's Put Block); `blockId` is the client's base64 id. */
  stageBlock(container: string, name: string, blockId: string, body: BlobBody): Promise<void>;
  /**
   * Sizes in bytes of the blocks staged for a blob and not committed yet, by block id (Azure's Get Block List,
   * uncommitted): what a client resuming an interrupted upload need not send again, and what counts to a quota.
   */
  stagedBlocks(container: string, name: string): Promise<Map<string, number>>;
  /** Commits staged blocks in order as the blob's content (Azure's Put Block List). */
  commitBlocks(container: string, name: string, blockIds: string[], options?: { contentType?: string }): Promise<BlobInfo>;
  head(container: string, name: string): Promise<BlobInfo | undefined>;
  /** Streams a blob, or a range of it; undefined when absent. */
  get(container: string, name: string, range?: ByteRange): Promise<{ info: BlobInfo; body: AsyncIterable<Uint8Array> } | undefined>;
  /** Reads a range fully into memory (small reads by codecs). */
  read(container: string, name: string, range: Required<ByteRange>): Promise<Uint8Array>;
  list(container: string, options?: ListOptions): Promise<ListResult>;
  /** True when it existed. */
  delete(container: string, name: string): Promise<boolean>;
  /** Sum of blob sizes in bytes. */
  containerSize(container: string): Promise<number>;
}

export type ContainerAccessLevel = "Read" | "Write";

/** Hands out container URLs that `@azure/storage-blob`'s ContainerClient can use directly. */
export interface ContainerAccess {
  containerUrl(container: string, access: ContainerAccessLevel, expiresOn: Date): Promise<string>;
}
