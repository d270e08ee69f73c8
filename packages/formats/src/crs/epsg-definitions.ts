/**
 * The one place CRS code touches the file system: EPSG definitions from the `epsg-index` package, read offline,
 * one small JSON file per code (`s/<code>.json`) on first use and cached; the 7.8 MB `all.json` is never loaded.
 * Everything else in `crs/` receives this as an `EpsgLookup` function and stays pure.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { EpsgDefinition, EpsgLookup } from "./crs.js";

let dir: string | undefined;
const cache = new Map<number, EpsgDefinition | null>();

function indexDir(): string {
  if (!dir) {
    // Resolved through the package's own location so it works from any working directory.
    const require = createRequire(import.meta.url);
    dir = dirname(require.resolve("epsg-index/s/4326.json"));
  }
  return dir;
}

/** EPSG definition by code from the offline index, or undefined when the code is not in it. */
export const epsgDefinitions: EpsgLookup = (code: number) => {
  if (!Number.isSafeInteger(code) || code <= 0) return undefined;
  const hit = cache.get(code);
  if (hit !== undefined) return hit ?? undefined;
  let def: EpsgDefinition | null = null;
  try {
    const json = JSON.parse(readFileSync(join(indexDir(), `${code}.json`), "utf8")) as EpsgDefinition;
    def = { code: String(json.code), kind: json.kind, name: json.name, wkt: json.wkt ?? null, proj4: json.proj4 ?? null };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  cache.set(code, def);
  return def ?? undefined;
};
