/**
 * realconv's own container SAS for its embedded Azure-Blob-compatible endpoint.
 *
 * Tokens have Azure's service-SAS shape (`sv`, `st`?, `se`, `sr=c`, `sp`, `sig`) so `@azure/storage-blob` and other
 * Azure clients pass them through untouched; `sig` is HMAC-SHA256, keyed with a server secret, over Azure's service-SAS
 * string-to-sign (version 2020-12-06 and later) for the canonical resource `/blob/{account}/{container}`.
 *
 * URL layout (LocalContainerAccess): `${publicBaseUrl}/blobs/{container}?{sas}`. Why this works with the SDKs:
 * - JS `ContainerClient` builds every blob URL as `containerUrl + "/" + escapedBlobName`, so requests always reach
 *   `/blobs/{container}/{blob}` whatever the host.
 * - JS derives `containerClient.containerName` from the path: the 2nd segment when the host is "IP style" (IPv4,
 *   IPv6, `localhost`, `host.docker.internal`, or a port in 10000-11104 of its PathStylePorts list), else the 1st.
 *   With the `/blobs` prefix the 2nd segment is the container, so the name is right for IP-style hosts (the usual
 *   self-hosted setup). On a named host it reads "blobs"; that property is informational (requests do not use it).
 *   A deployment that serves the endpoint at the root of a named host can pass `{ path: "" }`.
 * - Python `ContainerClient.from_container_url` takes the last path segment as the container: right for any host.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { ContainerAccess, ContainerAccessLevel } from "../../ports/blob-store.js";

/** The service version written into `sv` (and signed). */
export const SAS_VERSION = "2024-11-04";
/** Account name in the signed canonical resource; realconv serves one virtual account. */
export const SAS_ACCOUNT = "realconv";

export const READ_PERMISSIONS = "rl";
export const WRITE_PERMISSIONS = "racwdl";

/** What a request does, for the permission check. */
export type SasOperation = "read" | "list" | "write" | "delete";

export type SasVerdict =
  | { ok: true }
  | { ok: false; status: 403; code: "AuthenticationFailed" | "AuthorizationPermissionMismatch"; message: string };

export type QueryLike = URLSearchParams | Record<string, string | string[] | undefined>;

/** Azure's own time format in SAS tokens: ISO 8601 UTC without milliseconds. */
function sasTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function param(q: QueryLike, name: string): string | undefined {
  if (q instanceof URLSearchParams) return q.get(name) ?? undefined;
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The parameters that Azure's string-to-sign lists, in its order (after sp, st, se and the canonical resource). */
function stringToSign(q: QueryLike, account: string, container: string): string {
  const p = (n: string) => param(q, n) ?? "";
  return [
    p("sp"),
    p("st"),
    p("se"),
    `/blob/${account}/${container}`,
    p("si"),
    p("sip"),
    p("spr"),
    p("sv"),
    p("sr"),
    p("snapshot"),
    p("ses"),
    p("rscc"),
    p("rscd"),
    p("rsce"),
    p("rscl"),
    p("rsct"),
  ].join("\n");
}

function hmac(secret: string | Uint8Array, text: string): Buffer {
  return createHmac("sha256", secret).update(text, "utf8").digest();
}

export interface SignOptions {
  container: string;
  /** Azure permission letters, e.g. "rl" (read) or "racwdl" (write). */
  permissions: string;
  expiresOn: Date;
  startsOn?: Date;
  account?: string;
}

/** Returns the SAS query string (without "?"). */
export function signContainerSas(secret: string | Uint8Array, o: SignOptions): string {
  const q = new URLSearchParams();
  q.set("sv", SAS_VERSION);
  if (o.startsOn) q.set("st", sasTime(o.startsOn));
  q.set("se", sasTime(o.expiresOn));
  q.set("sr", "c");
  q.set("sp", o.permissions);
  q.set("sig", hmac(secret, stringToSign(q, o.account ?? SAS_ACCOUNT, o.container)).toString("base64"));
  return q.toString();
}

const AUTH_FAILED =
  "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.";

function denied(detail: string): SasVerdict {
  return { ok: false, status: 403, code: "AuthenticationFailed", message: `${AUTH_FAILED}\n${detail}` };
}

/** Which `sp` letters allow an operation (any one suffices). */
const NEEDS: Record<SasOperation, string> = { read: "r", list: "l", write: "wca", delete: "d" };

/**
 * Checks a request's SAS for `container` and `operation`: signature (constant time), resource type, time window and
 * permission letters.
 */
export function verifyContainerSas(
  secret: string | Uint8Array,
  container: string,
  query: QueryLike,
  operation: SasOperation,
  options: { now?: Date; account?: string } = {},
): SasVerdict {
  const sig = param(query, "sig");
  const se = param(query, "se");
  const sp = param(query, "sp");
  if (!sig || !se || !sp || !param(query, "sv")) return denied("Missing SAS parameters (sv, se, sp, sig).");
  if (param(query, "sr") !== "c") return denied("Only container SAS (sr=c) is accepted.");
  const expected = hmac(secret, stringToSign(query, options.account ?? SAS_ACCOUNT, container));
  const given = Buffer.from(sig, "base64");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return denied("Signature did not match.");
  }
  const now = (options.now ?? new Date()).getTime();
  const expiry = Date.parse(se);
  if (!Number.isFinite(expiry) || now >= expiry) return denied("Signed expiry time has passed.");
  const st = param(query, "st");
  if (st !== undefined && st !== "") {
    const start = Date.parse(st);
    if (!Number.isFinite(start) || now < start) return denied("Signature not valid yet (signed start time).");
  }
  if (![...NEEDS[operation]].some((letter) => sp.includes(letter))) {
    return {
      ok: false,
      status: 403,
      code: "AuthorizationPermissionMismatch",
      message: "This request is not authorized to perform this operation using this permission.",
    };
  }
  return { ok: true };
}

/** The `verify` hook for the embedded endpoint, bound to a secret. */
export function sasVerifier(secret: string | Uint8Array, account?: string) {
  return (container: string, query: QueryLike, operation: SasOperation): SasVerdict =>
    verifyContainerSas(secret, container, query, operation, { account });
}

/** Container URLs with realconv SAS for the embedded endpoint (see the URL layout note at the top). */
export class LocalContainerAccess implements ContainerAccess {
  private readonly base: string;
  private readonly path: string;
  private readonly account: string | undefined;

  constructor(
    publicBaseUrl: string,
    private readonly secret: string | Uint8Array,
    options: { path?: string; account?: string } = {},
  ) {
    this.base = publicBaseUrl.replace(/\/+$/, "");
    this.path = (options.path ?? "/blobs").replace(/\/+$/, "");
    this.account = options.account;
  }

  async containerUrl(container: string, access: ContainerAccessLevel, expiresOn: Date): Promise<string> {
    const sas = signContainerSas(this.secret, {
      container,
      permissions: access === "Read" ? READ_PERMISSIONS : WRITE_PERMISSIONS,
      expiresOn,
      account: this.account,
    });
    return `${this.base}${this.path}/${encodeURIComponent(container)}?${sas}`;
  }
}
