/**
 * Errors raised by blob stores with a code both implementations share, so callers (the embedded Azure endpoint,
 * the Reality Management routes) can map them to the wire without knowing which store is behind.
 */
export type BlobStoreErrorCode =
  | "ContainerNotFound"
  | "BlobNotFound"
  | "InvalidContainerName"
  | "InvalidBlobName"
  | "InvalidBlockId"
  | "InvalidBlockList"
  | "InvalidRange"
  | "InvalidMarker";

export class BlobStoreError extends Error {
  constructor(
    readonly code: BlobStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BlobStoreError";
  }
}

export function isBlobStoreError(e: unknown, code?: BlobStoreErrorCode): e is BlobStoreError {
  return e instanceof BlobStoreError && (code === undefined || e.code === code);
}
