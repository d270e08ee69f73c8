/**
 * Sign-in links for the web app in the embedded setup: `realconv login-link` makes a one-time code for an
 * e-mail address; the page trades it for a bearer token of the local issuer. Codes are 32 random bytes
 * (base64url), stored only as their SHA-256, short-lived and usable once.
 */
import { createHash, randomBytes } from "node:crypto";
import { errors } from "../domain/errors.js";
import type { SignInCodeStore } from "../ports/sign-in-codes.js";

/** Issues the bearer token a used code is exchanged for. */
export interface AccessTokenIssuer {
  issue(email: string): Promise<{ accessToken: string; expiresIn: number }>;
}

export interface SignIn {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  email: string;
}

const CODE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

export const DEFAULT_SIGN_IN_TTL_MINUTES = 15;

function hashOf(code: string): string {
  return createHash("sha256").update(code, "utf8").digest("hex");
}

export class SignInService {
  constructor(
    private readonly codes: SignInCodeStore,
    /** Absent when tokens come from an external identity provider: codes are then not exchanged. */
    private readonly issuer?: AccessTokenIssuer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new one-time code for `email`, valid for `ttlMs`. */
  async createCode(email: string, ttlMs: number): Promise<{ code: string; expiresAt: Date }> {
    const address = email.trim().toLowerCase();
    if (!EMAIL_SHAPE.test(address)) throw new Error(`'${email}' is not an e-mail address`);
    if (!(ttlMs > 0)) throw new Error("the sign-in code's lifetime must be positive");
    const code = randomBytes(32).toString("base64url");
    const now = this.now();
    const expiresAt = new Date(now.getTime() + ttlMs);
    await this.codes.save({ hash: hashOf(code), email: address, expiresAt: expiresAt.toISOString(), createdAt: now.toISOString() });
    return { code, expiresAt };
  }

  /** Uses up the code and returns a token for its user; 401 InvalidSignInCode when unknown, used or expired. */
  async exchange(code: string): Promise<SignIn> {
    if (!this.issuer) throw errors.invalidSignInCode();
    if (!CODE_SHAPE.test(code)) throw errors.invalidSignInCode();
    const email = await this.codes.consume(hashOf(code), this.now().toISOString());
    if (email === undefined) throw errors.invalidSignInCode();
    const { accessToken, expiresIn } = await this.issuer.issue(email);
    return { accessToken, expiresIn, email };
  }
}
