/**
 * Test-only: the npm package web-e57 (cry-inc/e57 compiled to WASM) as an independent E57 reader.
 * Its entry point imports the .wasm file as an ES module, which Node 20 refuses without
 * --experimental-wasm-modules (ERR_UNKNOWN_FILE_EXTENSION ".wasm"); so we instantiate the WASM
 * ourselves and hand it to the package's JS glue, which is what its entry point does in a bundler.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

type Convert = (bytes: Uint8Array, format: "XYZ" | "JSON" | "XML" | "LAZ") => string;
// The project's lib settings (no DOM) do not declare WebAssembly; Node has it at run time.
const WASM = (globalThis as unknown as { WebAssembly: { instantiate(b: Uint8Array, imports: object): Promise<{ instance: { exports: object } }> } }).WebAssembly;
let cached: Promise<Convert> | undefined;

export function loadWebE57(): Promise<Convert> {
  cached ??= (async () => {
    const dir = dirname(fileURLToPath(import.meta.resolve("web-e57")));
    const glue = (await import(pathToFileURL(join(dir, "e57_bg.js")).href)) as {
      __wbg_set_wasm(exports: object): void;
      convertE57: Convert;
    };
    const { instance } = await WASM.instantiate(readFileSync(join(dir, "e57_bg.wasm")), { "./e57_bg.js": glue });
    glue.__wbg_set_wasm(instance.exports);
    return glue.convertE57;
  })();
  return cached;
}

/** Points as web-e57 reports them: XYZ text lines "x y z [r g b]". */
export async function webE57Points(bytes: Uint8Array): Promise<number[][]> {
  const convert = await loadWebE57();
  const text = convert(bytes, "XYZ");
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/\s+/).map(Number));
}
