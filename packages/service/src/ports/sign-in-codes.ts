/** One-time sign-in codes (kept as SHA-256 hashes, never as the codes themselves). */
export interface StoredSignInCode {
  /** Hex SHA-256 of the code. */
  hash: string;
  /** Lower case. */
  email: string;
  /** ISO-8601 UTC. */
  expiresAt: string;
  createdAt: string;
}

export interface SignInCodeStore {
  save(code: StoredSignInCode): Promise<void>;
  /**
   * Uses up the code with this hash if it is still valid at `now` (ISO) and returns its e-mail; undefined when it
   * is unknown, used or expired. Of concurrent calls for one code, exactly one gets the e-mail.
   */
  consume(hash: string, now: string): Promise<string | undefined>;
}
