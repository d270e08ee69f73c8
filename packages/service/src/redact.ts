/**
 * Secrets that must never reach a log line or a response body: SAS signatures (`sig=` in container
 * URLs), one-time sign-in codes (`code=` in sign-in links), bearer tokens, and anything shaped like a JWT
 * (access tokens, share-link tokens). One pattern, applied to the finished text,
 * so it also covers URLs and messages nested anywhere in a log record.
 */
const SECRETS = /(\bsig(?:=|%3D)|[?&#]code(?:=|%3D))[^&\s"'<>\\]+|(\bBearer\s+)[A-Za-z0-9._~+/=-]+|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/gi;

export const REDACTED = "REDACTED";

export function redactSecrets(text: string): string {
  return text.replace(SECRETS, (_match, sig: string | undefined, bearer: string | undefined) => `${sig ?? bearer ?? ""}${REDACTED}`);
}
