import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A random secret kept in the home folder's keys/, made at first use. */
export function loadOrCreateSecret(home: string, name: string): string {
  const file = join(home, "keys", name);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(join(home, "keys"), { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  try {
    writeFileSync(file, secret, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (e) {
    // Another process made it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8").trim();
    throw e;
  }
}
