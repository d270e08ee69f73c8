/**
 * Name rules and listing logic shared by the blob stores, so the local store and the Azure store accept and reject
 * the same names and page listings the same way.
 */
import { BlobStoreError } from "./errors.js";
import type { BlobInfo, ListResult } from "../../ports/blob-store.js";

/** Azure's container rule: 3-63 chars, lowercase letters, digits and single hyphens, alphanumeric at both ends. */
const CONTAINER_RE = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;

export function validateContainerName(container: string): void {
  if (!CONTAINER_RE.test(container)) {
    throw new BlobStoreError("InvalidContainerName", `invalid container name: ${JSON.stringify(container)}`);
  }
}

/** Azure allows 1024 characters; the local store maps segments to file names, which bounds a segment too. */
export const MAX_BLOB_NAME_LENGTH = 1024;

/**
 * Blob names: `/`-separated segments, none empty, `.` or `..`, no leading `/` (absolute), no NUL or other C0 control
 * character, no backslash (a path separator on Windows, so an escape route when names become paths). Both stores
 * apply the same rule so behaviour does not depend on the backend.
 */
export function validateBlobName(name: string): void {
  const bad = (why: string): never => {
    throw new BlobStoreError("InvalidBlobName", `invalid blob name ${JSON.stringify(name)}: ${why}`);
  };
  if (typeof name !== "string" || name.length === 0) bad("empty");
  if (name.length > MAX_BLOB_NAME_LENGTH) bad("too long");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(name)) bad("control character or backslash");
  if (name.startsWith("/")) bad("absolute");
  for (const seg of name.split("/")) {
    if (seg === "") bad("empty segment");
    if (seg === "." || seg === "..") bad("dot segment");
    if (Buffer.byteLength(seg) > 200) bad("segment longer than 200 bytes");
  }
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) bad("lone surrogate");
}

/** Azure lists in binary order of the UTF-8 names; code-point order is the same thing. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export function encodeMarker(lastName: string): string {
  return Buffer.from(lastName, "utf8").toString("base64url");
}

export function decodeMarker(marker: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(marker)) throw new BlobStoreError("InvalidMarker", "invalid marker");
  return Buffer.from(marker, "base64url").toString("utf8");
}

export const DEFAULT_MAX_RESULTS = 5000;

export type ListEntry = { kind: "blob"; name: string } | { kind: "prefix"; name: string };

/**
 * Folds names under a delimiter into prefixes, sorts, skips what the marker already returned and cuts a page.
 * `candidates` are blob names (already filtered by prefix) or, for a store that knows folders, ready prefixes.
 * `accept` lets the caller drop a candidate lazily (an empty folder) while filling the page.
 */
export async function pageEntries(
  candidates: ListEntry[],
  opts: { prefix?: string; delimiter?: string; marker?: string; maxResults?: number },
  accept: (e: ListEntry) => Promise<boolean> = async () => true,
): Promise<{ page: ListEntry[]; nextMarker?: string }> {
  const prefix = opts.prefix ?? "";
  const delim = opts.delimiter;
  const after = opts.marker !== undefined && opts.marker !== "" ? decodeMarker(opts.marker) : undefined;
  const max = opts.maxResults ?? DEFAULT_MAX_RESULTS;
  const byName = new Map<string, ListEntry>();
  for (const c of candidates) {
    let e = c;
    if (c.kind === "blob" && delim) {
      const i = c.name.indexOf(delim, prefix.length);
      if (i >= 0) e = { kind: "prefix", name: c.name.slice(0, i + delim.length) };
    }
    if (!byName.has(e.name)) byName.set(e.name, e);
  }
  const sorted = [...byName.values()].sort((a, b) => compareNames(a.name, b.name));
  const page: ListEntry[] = [];
  let i = 0;
  for (; i < sorted.length && page.length < max; i++) {
    const e = sorted[i];
    if (after !== undefined && compareNames(e.name, after) <= 0) continue;
    if (await accept(e)) page.push(e);
  }
  const more = i < sorted.length;
  return { page, nextMarker: more && page.length > 0 ? encodeMarker(page[page.length - 1].name) : undefined };
}

export function toListResult(page: ListEntry[], infos: Map<string, BlobInfo>, nextMarker?: string): ListResult {
  const blobs: BlobInfo[] = [];
  const prefixes: string[] = [];
  for (const e of page) {
    if (e.kind === "prefix") prefixes.push(e.name);
    else {
      const info = infos.get(e.name);
      if (info) blobs.push(info);
    }
  }
  return nextMarker === undefined ? { blobs, prefixes } : { blobs, prefixes, nextMarker };
}
