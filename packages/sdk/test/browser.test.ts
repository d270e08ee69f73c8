/**
 * The SDK in a browser: bundled for the browser (esbuild, `browser` condition), it pulls in no Node.js module
 * and no service code (its types are imported as types only); the browser transfer module refuses paths with a
 * clear error instead of reaching for a file system.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { RealconvError } from "@realconv/sdk";

const sdkRoot = fileURLToPath(new URL("../..", import.meta.url));

it("bundles for browsers without Node.js modules or service code", async () => {
  const result = await build({
    entryPoints: [`${sdkRoot}/dist/index.js`],
    bundle: true,
    write: false,
    platform: "browser",
    format: "esm",
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const imported = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
  assert.deepEqual(imported.filter((p) => builtins.has(p) || p.startsWith("node:")), [], "no Node.js built-in imported");
  assert.ok(inputs.some((p) => p.includes("platform/browser.js")), "the browser transfer module is chosen");
  assert.ok(!inputs.some((p) => p.includes("platform/node.js")));
  assert.ok(inputs.some((p) => p.includes("@azure/storage-blob/dist/browser")), "storage-blob's browser build");
  for (const forbidden of ["packages/service", "packages/convert", "@sinclair/typebox", "fastify"]) {
    assert.ok(!inputs.some((p) => p.includes(forbidden)), `${forbidden} is not bundled`);
  }
  const code = result.outputFiles[0].text;
  assert.match(code, /createClient/);
});

it("the browser transfer module answers paths and folders with a clear error", async () => {
  const browser = await import(`${sdkRoot}/dist/platform/browser.js`);
  await assert.rejects(browser.openSources(["/data/cloud.laz"]), (e: unknown) => e instanceof RealconvError && e.code === "NotSupportedInBrowser" && /cloud\.laz/.test(e.message));
  await assert.rejects(browser.downloadFiles([], "out"), (e: unknown) => e instanceof RealconvError && e.code === "NotSupportedInBrowser");
  const [source] = await browser.openSources([new File(["abc"], "a.txt")]);
  assert.equal(source.name, "a.txt");
  assert.equal(await (await source.slice(1, 2)).text(), "bc");
});
