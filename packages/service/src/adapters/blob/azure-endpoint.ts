/**
 * The embedded Azure-Blob-compatible endpoint: a fastify plugin speaking the subset of the Blob REST API that
 * `@azure/storage-blob`'s ContainerClient (and the Python SDK) use with a container SAS, over any BlobStore.
 *
 * Register it with a prefix (the app uses `/blobs`); routes are `{prefix}/{container}` and `{prefix}/{container}/{blob}`
 * (see sas.ts for why this layout suits the SDKs). Operations: Put Blob, Put Block, Put Block List, Get Blob (ranges),
 * Get Block List, Get Blob Properties, Delete Blob, List Blobs (flat and hierarchical, paged), Get Container Properties.
 * Bodies stream both ways: a content-type parser for every type, registered in this plugin's encapsulated scope only,
 * hands the raw request stream to the handler, so the app's JSON parser and body limit do not apply here.
 * Errors use Azure's XML body and `x-ms-error-code` header.
 */
import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { BlobBody, BlobInfo, BlobStore, ByteRange } from "../../ports/blob-store.js";
import { BlobStoreError, isBlobStoreError } from "./errors.js";
import { compareNames } from "./names.js";
import { SAS_VERSION } from "./sas.js";
import type { QueryLike, SasOperation, SasVerdict } from "./sas.js";
import { MAX_HEADER_BYTES, type ErrorDialect, type RequestProblem } from "../../http/error-dialects.js";

const MiB = 1024 * 1024;

/** Sizes the endpoint accepts; Azure's own by default, and realconv's quota per container. */
export interface BlobLimits {
  /** Largest Put Block body (Azure: 4000 MiB). */
  maxBlockBytes: number;
  /** Largest Put Blob body (Azure: 5000 MiB). */
  maxPutBlobBytes: number;
  /** Most blocks a Put Block List commits (Azure: 50,000). */
  maxCommittedBlocks: number;
  /** Most blocks staged for one blob and not committed (Azure: 100,000). */
  maxUncommittedBlocks: number;
  /** Largest blob (Azure: 50,000 blocks of 4000 MiB, about 190.7 TiB). */
  maxBlobBytes: number;
  /** Most bytes in one container, committed plus the blocks staged for the blob being written; 0: no quota. */
  containerQuotaBytes: number;
}

export const AZURE_BLOB_LIMITS: BlobLimits = {
  maxBlockBytes: 4000 * MiB,
  maxPutBlobBytes: 5000 * MiB,
  maxCommittedBlocks: 50_000,
  maxUncommittedBlocks: 100_000,
  maxBlobBytes: 50_000 * 4000 * MiB,
  containerQuotaBytes: 0,
};

export interface AzureBlobEndpointOptions {
  store: BlobStore;
  limits?: Partial<BlobLimits>;
  /** Authorizes one request: the container it addresses, its query (the SAS) and what it does. */
  verify: (container: string, query: QueryLike, operation: SasOperation) => SasVerdict | Promise<SasVerdict>;
  /**
   * Answer CORS for any origin (default true): browsers (CesiumJS, the JS SDK in a web app) read and upload with a
   * SAS and no cookies, so the SAS, not the origin, is the access control.
   */
  cors?: boolean;
}

const EXPOSED_HEADERS = [
  "etag",
  "last-modified",
  "content-length",
  "content-type",
  "content-range",
  "content-md5",
  "accept-ranges",
  "x-ms-request-id",
  "x-ms-client-request-id",
  "x-ms-version",
  "x-ms-error-code",
  "x-ms-blob-type",
  "x-ms-blob-content-md5",
  "x-ms-request-server-encrypted",
  "x-ms-server-encrypted",
  "x-ms-lease-status",
  "x-ms-lease-state",
].join(",");

/** Put Block List bodies are small (ids only); 50,000 blocks of ~100 bytes of XML each fit. */
const MAX_BLOCK_LIST_BYTES = 8 * 1024 * 1024;
const MAX_LIST_RESULTS = 5000;

class AzureHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);
}

function xmlUnescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (_m, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[name];
  });
}

/** Azure's error body. */
function errorXml(e: AzureHttpError, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${xmlEscape(e.code)}</Code>` +
    `<Message>${xmlEscape(`${e.message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}`)}</Message></Error>`
  );
}

const INVALID_URI = () => new AzureHttpError(400, "InvalidUri", "The requested URI does not represent any resource on the server.");

const REQUEST_PROBLEMS: Record<RequestProblem, () => AzureHttpError> = {
  badUrl: INVALID_URI,
  headersTooLarge: () => new AzureHttpError(431, "RequestHeaderFieldsTooLarge", `The request line and headers exceed ${MAX_HEADER_BYTES} bytes.`),
  timeout: () => new AzureHttpError(408, "OperationTimedOut", "The operation could not be completed within the permitted time."),
  badRequest: () => new AzureHttpError(400, "InvalidInput", "One of the request inputs is not valid."),
};

/** Azure's XML for the endpoint's paths, for problems found before its routes run (see error-dialects.ts). */
export function azureErrorDialect(prefix: string): ErrorDialect {
  return {
    prefix,
    render(problem, requestId) {
      const e = REQUEST_PROBLEMS[problem]();
      const headers = { "content-type": "application/xml", "x-ms-error-code": e.code, "x-ms-request-id": requestId };
      return { status: e.status, headers, body: errorXml(e, requestId) };
    },
  };
}

function fromStoreError(e: BlobStoreError): AzureHttpError {
  switch (e.code) {
    case "ContainerNotFound":
      return new AzureHttpError(404, "ContainerNotFound", "The specified container does not exist.");
    case "BlobNotFound":
      return new AzureHttpError(404, "BlobNotFound", "The specified blob does not exist.");
    case "InvalidBlobName":
    case "InvalidContainerName":
      return new AzureHttpError(400, "InvalidResourceName", "The specified resource name contains invalid characters.");
    case "InvalidBlockId":
      return new AzureHttpError(400, "InvalidBlockId", "The specified block ID is invalid. The block ID must be Base64-encoded.");
    case "InvalidBlockList":
      return new AzureHttpError(400, "InvalidBlockList", "The specified block list is invalid.");
    case "InvalidRange":
      return new AzureHttpError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.");
    case "InvalidMarker":
      return new AzureHttpError(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.", {
        "x-ms-invalid-query-parameter-name": "marker",
      });
  }
}

/** Azure sends bare etags in listings and quoted ones in headers. */
const bareEtag = (etag: string) => etag.replace(/^"|"$/g, "");

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `bytes=a-b` or `bytes=a-`; undefined when absent. A malformed `Range` is ignored like Azure does; x-ms-range is strict. */
function parseRange(request: FastifyRequest): ByteRange | undefined {
  const ms = header(request, "x-ms-range");
  const raw = ms ?? header(request, "range");
  if (raw === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(raw.trim());
  if (!m) {
    if (ms !== undefined) throw new AzureHttpError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.", { "x-ms-header-name": "x-ms-range" });
    return undefined;
  }
  const start = Number(m[1]);
  if (m[2] === "") return { offset: start };
  const end = Number(m[2]);
  if (end < start) throw new AzureHttpError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.");
  return { offset: start, length: end - start + 1 };
}

/** Evaluates If-Match / If-None-Match / If-(Un)Modified-Since against a blob (or its absence). */
function checkConditions(request: FastifyRequest, info: BlobInfo | undefined, isRead: boolean): void {
  const ifMatch = header(request, "if-match");
  const ifNoneMatch = header(request, "if-none-match");
  const ifModifiedSince = header(request, "if-modified-since");
  const ifUnmodifiedSince = header(request, "if-unmodified-since");
  const etag = info?.etag;
  const matches = (list: string) => list.split(",").some((t) => t.trim() === "*" ? info !== undefined : t.trim() === etag);
  const notMet = () => new AzureHttpError(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.");
  if (ifMatch !== undefined && !matches(ifMatch)) throw notMet();
  if (ifNoneMatch !== undefined && matches(ifNoneMatch)) {
    if (isRead) throw new AzureHttpError(304, "ConditionNotMet", "");
    if (ifNoneMatch.trim() === "*") throw new AzureHttpError(409, "BlobAlreadyExists", "The specified blob already exists.");
    throw notMet();
  }
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  if (info && ifModifiedSince !== undefined && seconds(info.lastModified) <= seconds(new Date(ifModifiedSince))) {
    if (isRead) throw new AzureHttpError(304, "ConditionNotMet", "");
    throw notMet();
  }
  if (info && ifUnmodifiedSince !== undefined && seconds(info.lastModified) > seconds(new Date(ifUnmodifiedSince))) throw notMet();
}

/** The request body as a stream of chunks (an absent body is empty). */
function requestBody(request: FastifyRequest): AsyncIterable<Uint8Array> {
  const b = request.body as AsyncIterable<Uint8Array> | undefined;
  return b && typeof (b as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function" ? b : Readable.from([]);
}

/** 413 as Azure sends it; the connection closes, since the rest of the body is not read. */
function bodyTooLarge(message: string): AzureHttpError {
  return new AzureHttpError(413, "RequestBodyTooLarge", message, { connection: "close" });
}

/** The largest body a request may send: the operation's limit, or what is left of the container's quota. */
interface BodyAllowance {
  bytes: number;
  /** Why the allowance is what it is, for the 413. */
  reason: string;
}

/**
 * Passes the body through, checking its size against `allowance` (the declared Content-Length up front, the bytes
 * as they stream) and a transactional Content-MD5 when the client sent one. A failed check fails the stream before
 * its end, so the store discards the write (old content stays).
 */
function verifiedBody(request: FastifyRequest, allowance: BodyAllowance): { body: BlobBody; md5: () => string } {
  const declared = Number(header(request, "content-length") ?? 0);
  if (declared > allowance.bytes) throw bodyTooLarge(allowance.reason);
  const expected = header(request, "content-md5");
  const hash = createHash("md5");
  let digest: string | undefined;
  let size = 0;
  async function* gen(): AsyncGenerator<Uint8Array> {
    for await (const chunk of requestBody(request)) {
      size += chunk.byteLength;
      if (size > allowance.bytes) throw bodyTooLarge(allowance.reason);
      hash.update(chunk);
      yield chunk;
    }
    digest = hash.digest("base64");
    if (expected !== undefined && expected !== digest) {
      throw new AzureHttpError(400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.");
    }
  }
  return { body: gen(), md5: () => digest ?? "" };
}

/**
 * Bytes committed in each container, recounted at most once per `ttlMs`: a quota check on every write must not
 * walk the container each time. Writes through this endpoint adjust the count at once; writes by other processes
 * show at the next recount.
 */
class CommittedBytes {
  private readonly counts = new Map<string, { bytes: number; at: number }>();

  constructor(
    private readonly store: BlobStore,
    private readonly ttlMs = 1000,
  ) {}

  async of(container: string): Promise<number> {
    const now = Date.now();
    const hit = this.counts.get(container);
    if (hit && now - hit.at < this.ttlMs) return hit.bytes;
    const bytes = await this.store.containerSize(container);
    if (this.counts.size > 10_000) this.counts.clear();
    this.counts.set(container, { bytes, at: now });
    return bytes;
  }

  add(container: string, delta: number): void {
    const hit = this.counts.get(container);
    if (hit) hit.bytes += delta;
  }
}

const sum = (xs: Iterable<number>) => {
  let total = 0;
  for (const x of xs) total += x;
  return total;
};

async function readSmallBody(request: FastifyRequest, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of requestBody(request)) {
    size += chunk.byteLength;
    if (size > limit) throw bodyTooLarge("The request body is too large.");
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts).toString("utf8");
}

function discard(body: AsyncIterable<Uint8Array>): void {
  const d = body as { destroy?: () => void };
  if (typeof d.destroy === "function") d.destroy();
  else void (body[Symbol.asyncIterator]().return?.());
}

function blobHeaders(reply: FastifyReply, info: BlobInfo): void {
  reply.header("etag", info.etag);
  reply.header("last-modified", info.lastModified.toUTCString());
  reply.header("content-type", info.contentType ?? "application/octet-stream");
  reply.header("accept-ranges", "bytes");
  reply.header("x-ms-blob-type", "BlockBlob");
  reply.header("x-ms-lease-status", "unlocked");
  reply.header("x-ms-lease-state", "available");
  reply.header("x-ms-server-encrypted", "true");
  // Unlike Azure, blobs share the API's origin: an uploaded HTML file must not run script in it.
  reply.header("content-security-policy", "sandbox");
  reply.header("x-content-type-options", "nosniff");
}

function listXml(
  endpoint: string,
  container: string,
  q: { prefix?: string; marker?: string; maxResults?: number; delimiter?: string },
  blobs: BlobInfo[],
  prefixes: string[],
  nextMarker: string | undefined,
): string {
  const entries: { name: string; xml: string }[] = [];
  for (const b of blobs) {
    const md5 = b.contentMD5 ? `<Content-MD5>${b.contentMD5}</Content-MD5>` : "<Content-MD5 />";
    entries.push({
      name: b.name,
      xml:
        `<Blob><Name>${xmlEscape(b.name)}</Name><Properties>` +
        `<Creation-Time>${b.lastModified.toUTCString()}</Creation-Time>` +
        `<Last-Modified>${b.lastModified.toUTCString()}</Last-Modified>` +
        `<Etag>${xmlEscape(bareEtag(b.etag))}</Etag>` +
        `<Content-Length>${b.size}</Content-Length>` +
        `<Content-Type>${xmlEscape(b.contentType ?? "application/octet-stream")}</Content-Type>` +
        `<Content-Encoding /><Content-Language />${md5}<Cache-Control /><Content-Disposition />` +
        `<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>` +
        `<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>` +
        `</Properties><OrMetadata /></Blob>`,
    });
  }
  for (const p of prefixes) entries.push({ name: p, xml: `<BlobPrefix><Name>${xmlEscape(p)}</Name></BlobPrefix>` });
  // Azure interleaves blobs and virtual folders in name order.
  entries.sort((a, b) => compareNames(a.name, b.name));
  const opt = (tag: string, v: string | number | undefined) => (v === undefined || v === "" ? "" : `<${tag}>${xmlEscape(String(v))}</${tag}>`);
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<EnumerationResults ServiceEndpoint="${xmlEscape(endpoint)}" ContainerName="${xmlEscape(container)}">` +
    opt("Prefix", q.prefix) +
    opt("Marker", q.marker) +
    opt("MaxResults", q.maxResults) +
    opt("Delimiter", q.delimiter) +
    `<Blobs>${entries.map((e) => e.xml).join("")}</Blobs>` +
    (nextMarker ? `<NextMarker>${xmlEscape(nextMarker)}</NextMarker>` : "<NextMarker />") +
    `</EnumerationResults>`
  );
}

/**
 * Get Block List. Committed block lists are not kept (a committed blob is one piece here), so the committed
 * list is empty, as Azure's is for a blob written with Put Blob; uncommitted blocks are listed as staged, which
 * is what a client resuming an interrupted upload asks for.
 */
async function sendBlockList(
  reply: FastifyReply,
  listType: string,
  committed: BlobInfo | undefined,
  staged: () => Promise<Map<string, number>>,
): Promise<FastifyReply> {
  const kind = listType.toLowerCase();
  if (!["committed", "uncommitted", "all"].includes(kind)) {
    throw new AzureHttpError(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.", {
      "x-ms-invalid-query-parameter-name": "blocklisttype",
    });
  }
  const uncommitted = kind === "committed" ? [] : [...(await staged())].map(([id, size]) => ({ id, size })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (!committed && uncommitted.length === 0) throw fromStoreError(new BlobStoreError("BlobNotFound", ""));
  const block = (b: { id: string; size: number }) => `<Block><Name>${xmlEscape(b.id)}</Name><Size>${b.size}</Size></Block>`;
  if (committed) {
    reply.header("etag", committed.etag);
    reply.header("last-modified", committed.lastModified.toUTCString());
  }
  reply.header("x-ms-blob-content-length", String(committed?.size ?? 0));
  reply.header("content-type", "application/xml");
  return reply.send(
    `<?xml version="1.0" encoding="utf-8"?><BlockList>` +
      (kind === "uncommitted" ? "" : "<CommittedBlocks />") +
      (kind === "committed" ? "" : `<UncommittedBlocks>${uncommitted.map(block).join("")}</UncommittedBlocks>`) +
      `</BlockList>`,
  );
}

/** Block ids of a Put Block List body, in order (Latest, Committed and Uncommitted all name staged blocks here). */
export function parseBlockList(xml: string): string[] {
  if (!/<BlockList\b/.test(xml)) throw new AzureHttpError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.");
  const ids: string[] = [];
  const re = /<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) ids.push(xmlUnescape(m[2].trim()));
  return ids;
}

export async function azureBlobEndpoint(app: FastifyInstance, opts: AzureBlobEndpointOptions): Promise<void> {
  const { store, verify } = opts;
  const prefix = app.prefix.replace(/\/+$/, "");
  const limits: BlobLimits = { ...AZURE_BLOB_LIMITS, ...opts.limits };
  const committed = new CommittedBytes(store);

  /**
   * The largest body an operation may send to a container. `besides` is how the write changes the container's
   * usage apart from the body: minus the bytes it replaces, plus the blocks already staged with it.
   */
  const allowance = async (container: string, operationMax: number, operation: string, besides: number): Promise<BodyAllowance> => {
    const fallback = { bytes: operationMax, reason: `${operation} bodies are limited to ${operationMax} bytes.` };
    if (limits.containerQuotaBytes <= 0) return fallback;
    const left = limits.containerQuotaBytes - (await committed.of(container)) - besides;
    if (left >= operationMax) return fallback;
    return { bytes: Math.max(0, left), reason: `The container's quota of ${limits.containerQuotaBytes} bytes would be exceeded.` };
  };

  // Raw request streams for every content type, in this scope only (the app keeps its JSON parser and body limit).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

  const sendError = (request: FastifyRequest, reply: FastifyReply, e: AzureHttpError) => {
    reply.headers(e.headers);
    if (e.status === 304) return reply.status(304).send();
    reply.header("x-ms-error-code", e.code);
    if (request.method === "HEAD") return reply.status(e.status).send();
    return reply.status(e.status).header("content-type", "application/xml").send(errorXml(e, String(reply.getHeader("x-ms-request-id"))));
  };

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof AzureHttpError) return sendError(request, reply, error);
    if (isBlobStoreError(error)) return sendError(request, reply, fromStoreError(error));
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return sendError(request, reply, new AzureHttpError(status, "InvalidInput", "One of the request inputs is not valid."));
    }
    request.log.error({ err: error }, "blob endpoint failed");
    return sendError(request, reply, new AzureHttpError(500, "InternalError", "The server encountered an internal error. Please retry the request."));
  });

  app.setNotFoundHandler((request, reply) => sendError(request, reply, INVALID_URI()));

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header("x-ms-request-id", randomUUID());
    reply.header("x-ms-version", header(request, "x-ms-version") ?? SAS_VERSION);
    const clientRequestId = header(request, "x-ms-client-request-id");
    if (clientRequestId) reply.header("x-ms-client-request-id", clientRequestId);

    // Parse the raw URL ourselves: router params may be length-limited or case-folded, and URL objects would
    // resolve "." and ".." segments; blob names are none of these, and dot segments must be refused as names.
    const q = request.url.indexOf("?");
    const rawPath = q < 0 ? request.url : request.url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : request.url.slice(q + 1));
    const path = rawPath.slice(prefix.length);
    const slash = path.indexOf("/", 1);
    let container: string;
    let blob: string;
    try {
      container = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
      blob = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));
    } catch {
      throw INVALID_URI();
    }
    const restype = query.get("restype");
    const comp = query.get("comp");
    const method = request.method;

    const authorize = async (operation: SasOperation) => {
      const verdict = await verify(container, query, operation);
      if (!verdict.ok) throw new AzureHttpError(verdict.status, verdict.code, verdict.message);
    };
    const requireContainer = async () => {
      if (!(await store.containerExists(container))) throw fromStoreError(new BlobStoreError("ContainerNotFound", container));
    };

    if (blob === "") {
      if (restype !== "container") throw new AzureHttpError(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.", { "x-ms-invalid-query-parameter-name": "restype" });
      if ((method === "GET" || method === "HEAD") && comp === "list") {
        await authorize("list");
        await requireContainer();
        const max = query.get("maxresults");
        let maxResults: number | undefined;
        if (max !== null) {
          maxResults = Number(max);
          if (!/^\d+$/.test(max) || maxResults < 1) {
            throw new AzureHttpError(400, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range.", { "x-ms-invalid-query-parameter-name": "maxresults" });
          }
          maxResults = Math.min(maxResults, MAX_LIST_RESULTS);
        }
        const listOpts = {
          prefix: query.get("prefix") ?? undefined,
          delimiter: query.get("delimiter") || undefined,
          marker: query.get("marker") || undefined,
          maxResults,
        };
        const r = await store.list(container, listOpts);
        const endpoint = `${request.protocol}://${request.host}${prefix}/`;
        reply.header("content-type", "application/xml");
        return reply.send(listXml(endpoint, container, listOpts, r.blobs, r.prefixes, r.nextMarker));
      }
      if ((method === "GET" || method === "HEAD") && comp === null) {
        await authorize("read");
        await requireContainer();
        reply.header("etag", `"0x${createHash("md5").update(container).digest("hex").slice(0, 15).toUpperCase()}"`);
        reply.header("last-modified", new Date(0).toUTCString());
        reply.header("x-ms-lease-status", "unlocked");
        reply.header("x-ms-lease-state", "available");
        reply.header("x-ms-has-immutability-policy", "false");
        reply.header("x-ms-has-legal-hold", "false");
        return reply.status(200).send();
      }
      if (method === "PUT" && comp === null) {
        // A container SAS cannot create containers; reality data containers exist from the reality data's creation.
        await authorize("write");
        if (await store.containerExists(container)) throw new AzureHttpError(409, "ContainerAlreadyExists", "The specified container already exists.");
        throw new AzureHttpError(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.");
      }
      if (method === "DELETE" && comp === null) {
        await authorize("delete");
        throw new AzureHttpError(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.");
      }
      throw new AzureHttpError(400, "UnsupportedQueryParameter", "One of the query parameters specified in the request URI is not supported.", { "x-ms-invalid-query-parameter-name": "comp" });
    }

    switch (method) {
      case "PUT": {
        await authorize("write");
        await requireContainer();
        // Copy and Put-Block-From-URL carry no body; treating them as uploads would silently write empty blobs.
        if (header(request, "x-ms-copy-source") !== undefined) {
          throw new AzureHttpError(400, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported.", { "x-ms-header-name": "x-ms-copy-source" });
        }
        if (comp === "block") {
          const blockId = query.get("blockid");
          if (!blockId) throw new AzureHttpError(400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified.", { "x-ms-invalid-query-parameter-name": "blockid" });
          const staged = await store.stagedBlocks(container, blob);
          if (!staged.has(blockId) && staged.size >= limits.maxUncommittedBlocks) {
            throw new AzureHttpError(409, "BlockCountExceedsLimit", `The uncommitted block count cannot exceed the maximum limit of ${limits.maxUncommittedBlocks} blocks.`);
          }
          // Staged blocks count against the quota until committed (a re-staged id replaces its block).
          const v = verifiedBody(request, await allowance(container, limits.maxBlockBytes, "Put Block", sum(staged.values()) - (staged.get(blockId) ?? 0)));
          await store.stageBlock(container, blob, blockId, v.body);
          reply.header("content-md5", v.md5());
          reply.header("x-ms-request-server-encrypted", "true");
          return reply.status(201).send();
        }
        const contentType = header(request, "x-ms-blob-content-type");
        if (comp === "blocklist") {
          const existing = await store.head(container, blob);
          checkConditions(request, existing, false);
          const ids = parseBlockList(await readSmallBody(request, MAX_BLOCK_LIST_BYTES));
          if (ids.length > limits.maxCommittedBlocks) {
            throw new AzureHttpError(409, "BlockCountExceedsLimit", `The committed block count cannot exceed the maximum limit of ${limits.maxCommittedBlocks} blocks.`);
          }
          // The blob's size counts every listed block, a block listed twice twice.
          const staged = await store.stagedBlocks(container, blob);
          const size = sum(ids.map((id) => staged.get(id) ?? 0));
          const room = await allowance(container, limits.maxBlobBytes, "Blob", -(existing?.size ?? 0));
          if (size > room.bytes) throw bodyTooLarge(room.reason);
          const info = await store.commitBlocks(container, blob, ids, { contentType });
          committed.add(container, info.size - (existing?.size ?? 0));
          reply.header("etag", info.etag);
          reply.header("last-modified", info.lastModified.toUTCString());
          reply.header("x-ms-request-server-encrypted", "true");
          return reply.status(201).send();
        }
        if (comp !== null) throw new AzureHttpError(400, "UnsupportedQueryParameter", "One of the query parameters specified in the request URI is not supported.", { "x-ms-invalid-query-parameter-name": "comp" });
        const blobType = header(request, "x-ms-blob-type");
        if (blobType === undefined) throw new AzureHttpError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.", { "x-ms-header-name": "x-ms-blob-type" });
        if (blobType !== "BlockBlob") throw new AzureHttpError(400, "InvalidHeaderValue", "Only block blobs are supported.", { "x-ms-header-name": "x-ms-blob-type" });
        const existing = await store.head(container, blob);
        checkConditions(request, existing, false);
        const v = verifiedBody(request, await allowance(container, limits.maxPutBlobBytes, "Put Blob", -(existing?.size ?? 0)));
        const info = await store.put(container, blob, v.body, { contentType: contentType ?? header(request, "content-type") });
        committed.add(container, info.size - (existing?.size ?? 0));
        reply.header("etag", info.etag);
        reply.header("last-modified", info.lastModified.toUTCString());
        reply.header("content-md5", info.contentMD5 ?? v.md5());
        reply.header("x-ms-request-server-encrypted", "true");
        return reply.status(201).send();
      }
      case "GET":
      case "HEAD": {
        if (comp === "blocklist" && method === "GET") {
          await authorize("read");
          await requireContainer();
          return sendBlockList(reply, query.get("blocklisttype") ?? "committed", await store.head(container, blob), () => store.stagedBlocks(container, blob));
        }
        if (comp !== null) throw new AzureHttpError(400, "UnsupportedQueryParameter", "One of the query parameters specified in the request URI is not supported.", { "x-ms-invalid-query-parameter-name": "comp" });
        await authorize("read");
        await requireContainer();
        if (method === "HEAD") {
          const info = await store.head(container, blob);
          if (!info) throw fromStoreError(new BlobStoreError("BlobNotFound", blob));
          checkConditions(request, info, true);
          blobHeaders(reply, info);
          if (info.contentMD5) reply.header("content-md5", info.contentMD5);
          reply.header("content-length", String(info.size));
          return reply.status(200).send();
        }
        const range = parseRange(request);
        let got: Awaited<ReturnType<BlobStore["get"]>>;
        try {
          got = await store.get(container, blob, range);
        } catch (e) {
          if (isBlobStoreError(e, "InvalidRange")) {
            const info = await store.head(container, blob);
            throw new AzureHttpError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.", info ? { "content-range": `bytes */${info.size}` } : {});
          }
          throw e;
        }
        if (!got) throw fromStoreError(new BlobStoreError("BlobNotFound", blob));
        const { info, body } = got;
        try {
          checkConditions(request, info, true);
        } catch (e) {
          discard(body);
          throw e;
        }
        blobHeaders(reply, info);
        if (range && !(range.offset === 0 && range.length === undefined && info.size === 0)) {
          const start = range.offset;
          const end = range.length === undefined ? info.size - 1 : Math.min(info.size - 1, start + range.length - 1);
          reply.status(206);
          reply.header("content-range", `bytes ${start}-${end}/${info.size}`);
          reply.header("content-length", String(end - start + 1));
          if (info.contentMD5) reply.header("x-ms-blob-content-md5", info.contentMD5);
        } else {
          reply.status(200);
          reply.header("content-length", String(info.size));
          if (info.contentMD5) reply.header("content-md5", info.contentMD5);
        }
        return reply.send(body instanceof Readable ? body : Readable.from(body));
      }
      case "DELETE": {
        await authorize("delete");
        await requireContainer();
        checkConditions(request, await store.head(container, blob), false);
        if (!(await store.delete(container, blob))) throw fromStoreError(new BlobStoreError("BlobNotFound", blob));
        reply.header("x-ms-delete-type-permanent", "true");
        return reply.status(202).send();
      }
      default:
        throw new AzureHttpError(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.");
    }
  };

  app.route({ method: ["GET", "HEAD", "PUT", "DELETE"], url: "/*", exposeHeadRoute: false, handler });

  if (opts.cors ?? true) {
    app.addHook("onRequest", async (request, reply) => {
      if (request.headers.origin) {
        reply.header("access-control-allow-origin", "*");
        reply.header("access-control-expose-headers", EXPOSED_HEADERS);
      }
    });
    app.options("/*", async (request, reply) => {
      reply.header("access-control-allow-methods", "GET,HEAD,PUT,DELETE,OPTIONS");
      const asked = header(request, "access-control-request-headers");
      if (asked) reply.header("access-control-allow-headers", asked);
      reply.header("access-control-max-age", "3600");
      return reply.status(200).send();
    });
  }
}
