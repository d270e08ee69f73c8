/**
 * Bearer-token authentication: JWT signature checked against a JWKS (a remote URL, or the local
 * issuer's key), issuer and audience checked, and `scope` must grant itwin-platform. Verified tokens
 * are remembered until they expire, so a busy client costs one signature check, not one per request.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { errors } from "../../domain/errors.js";
import type { Authenticator, Principal } from "../../ports/auth.js";
import { SCOPE, type LocalKeys } from "./local-issuer.js";

export interface JwtAuthenticatorOptions {
  keys: JWTVerifyGetKey;
  issuer: string;
  audience?: string;
  /** Most tokens remembered at once. */
  cacheSize?: number;
}

export function localKeySet(keys: LocalKeys): JWTVerifyGetKey {
  return createLocalJWKSet({ keys: [keys.publicJwk] });
}

export function remoteKeySet(url: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url));
}

/** The granted scopes: a space-separated string or an array of strings; undefined when the claim has another shape. */
function scopesOf(payload: JWTPayload): string[] | undefined {
  const s = payload.scope ?? payload.scp;
  if (s === undefined) return [];
  if (typeof s === "string") return s.split(/\s+/);
  return Array.isArray(s) && s.every((x) => typeof x === "string") ? s : undefined;
}

const nonEmptyString = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

export class JwtAuthenticator implements Authenticator {
  private readonly cache = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(private readonly options: JwtAuthenticatorOptions) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw errors.headerNotFound();
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw errors.invalidToken("The Authorization header must be 'Bearer <token>'.");
    const token = m[1];
    const now = Date.now();
    const hit = this.cache.get(token);
    if (hit && hit.expiresAt > now) return hit.principal;
    if (hit) this.cache.delete(token);

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.options.keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: 30,
        // A token without an expiry would be good forever.
        requiredClaims: ["exp"],
      }));
    } catch (e) {
      const why =
        e instanceof joseErrors.JWTExpired
          ? "The token has expired."
          : e instanceof joseErrors.JWTClaimValidationFailed
            ? `Claim '${e.claim}' is not valid.`
            : "The token signature or format is not valid.";
      throw errors.invalidToken(why);
    }
    const scopes = scopesOf(payload);
    if (!scopes) throw errors.invalidToken("Claim 'scope' must be a string or an array of strings.");
    if (!scopes.includes(SCOPE)) throw errors.insufficientScope();
    const email = payload.email ?? payload.preferred_username;
    if (!nonEmptyString(payload.sub) || !nonEmptyString(email)) throw errors.invalidToken("The token must carry 'sub' and 'email' claims as strings.");
    const principal: Principal = { userId: payload.sub, email: email.toLowerCase() };
    if ((this.options.cacheSize ?? 10_000) <= this.cache.size) {
      // Drop the oldest entry (Map keeps insertion order).
      const first = this.cache.keys().next().value;
      if (first !== undefined) this.cache.delete(first);
    }
    this.cache.set(token, { principal, expiresAt: payload.exp! * 1000 });
    return principal;
  }
}
