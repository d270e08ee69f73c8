/**
 * Share-link tokens: HS256 JWTs keyed with a server secret, carrying the reality data, the iTwin and the
 * expiry. Nothing is stored: the signature is the proof. The header names the key (`kid`, derived from the
 * secret), so a deployment can move to a new secret and keep honouring links made with the previous ones.
 * Tokens are JWTs on purpose: the log redaction recognises them wherever they appear.
 */
import { createHash } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { ShareGrant, ShareTokens } from "../../ports/share-links.js";

const ALG = "HS256";
/** Audience of share tokens: never accepted as bearer tokens, and bearer tokens never accepted here. */
const AUDIENCE = "realconv-share";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function keyIdOf(secret: string): string {
  return createHash("sha256").update(`realconv-share-key:${secret}`).digest("base64url").slice(0, 12);
}

export class HmacShareTokens implements ShareTokens {
  private readonly keys: Map<string, Uint8Array>;
  private readonly current: string;

  /** `secret` signs; `previous` secrets are still accepted when verifying. */
  constructor(secret: string, previous: string[] = []) {
    this.current = keyIdOf(secret);
    this.keys = new Map([secret, ...previous].map((s) => [keyIdOf(s), new TextEncoder().encode(s)]));
  }

  sign(grant: ShareGrant): Promise<string> {
    return new SignJWT({ rd: grant.realityDataId.toLowerCase(), itw: grant.iTwinId.toLowerCase() })
      .setProtectedHeader({ alg: ALG, kid: this.current, typ: "JWT" })
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(grant.expiresAt)
      .sign(this.keys.get(this.current)!);
  }

  async verify(token: string, nowSeconds: number): Promise<ShareGrant | { refused: string }> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return { refused: "it is malformed." };
    }
    const key = kid === undefined ? undefined : this.keys.get(kid);
    if (!key) return { refused: "it was not signed by this server." };
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        audience: AUDIENCE,
        requiredClaims: ["exp"],
        currentDate: new Date(nowSeconds * 1000),
        clockTolerance: 0,
      });
      if (typeof payload.rd !== "string" || !GUID.test(payload.rd) || typeof payload.itw !== "string" || !GUID.test(payload.itw)) {
        return { refused: "it is malformed." };
      }
      return { realityDataId: payload.rd, iTwinId: payload.itw, expiresAt: payload.exp! };
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) return { refused: "it has expired." };
      return { refused: "its signature does not match." };
    }
  }
}
