/**
 * realconv's own token issuer for the embedded setup: an ES256 key pair made at first start in the
 * home folder. `realconv token --email` signs with it; the API verifies with its public half.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { LOCAL_ISSUER } from "../../config.js";

export const SCOPE = "itwin-platform";
const ALG = "ES256";

export interface LocalKeys {
  privateJwk: JWK;
  publicJwk: JWK;
}

function keyFile(home: string): string {
  return join(home, "keys", "signing-key.json");
}

/** The home folder's signing key, if it has one. */
export function loadKeys(home: string): LocalKeys | undefined {
  const file = keyFile(home);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as LocalKeys) : undefined;
}

/** Loads the home folder's signing key, creating it the first time. */
export async function loadOrCreateKeys(home: string): Promise<{ keys: LocalKeys; created: boolean }> {
  const existing = loadKeys(home);
  if (existing) return { keys: existing, created: false };
  const file = keyFile(home);
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = createHash("sha256").update(JSON.stringify(await exportJWK(publicKey))).digest("base64url").slice(0, 16);
  const keys: LocalKeys = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG, use: "sig" },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: "sig" },
  };
  mkdirSync(join(home, "keys"), { recursive: true });
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600 });
  chmodSync(file, 0o600);
  return { keys, created: true };
}

/** A stable user id for an e-mail address (UUID-formatted hash), so tokens need no user table. */
export function userIdForEmail(email: string): string {
  const h = createHash("sha256").update(`realconv-user:${email.toLowerCase()}`).digest("hex");
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface IssueOptions {
  email: string;
  /** Lifetime in seconds (default 8 hours). */
  expiresIn?: number;
  scope?: string;
  audience?: string;
}

export async function issueToken(keys: LocalKeys, options: IssueOptions): Promise<string> {
  const key = await importJWK(keys.privateJwk, ALG);
  const email = options.email.toLowerCase();
  const jwt = new SignJWT({ email, scope: options.scope ?? SCOPE })
    .setProtectedHeader({ alg: ALG, kid: keys.privateJwk.kid, typ: "JWT" })
    .setIssuer(LOCAL_ISSUER)
    .setSubject(userIdForEmail(email))
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 8 * 3600));
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(key);
}
