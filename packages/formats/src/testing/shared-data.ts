/**
 * Test-only: where the shared sample files live. Not exported from the package; codecs never use it.
 * `REALCONV_SHARED_DATA` overrides; otherwise the first `shared/data` found walking up from here.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function sharedDataDir(): string {
  if (cached) return cached;
  const env = process.env.REALCONV_SHARED_DATA;
  if (env) return (cached = resolve(env));
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "shared", "data");
    if (existsSync(join(candidate, "SOURCES.md"))) return (cached = candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new Error("shared/data not found; set REALCONV_SHARED_DATA");
    dir = parent;
  }
}

export function sharedData(...parts: string[]): string {
  return join(sharedDataDir(), ...parts);
}
