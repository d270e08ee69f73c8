#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under packages/*/dist) and the repository checks
// (`scripts/*.test.mjs`) with node's test runner.
// Usage: node scripts/run-tests.mjs [substring ...]  (only files whose path contains one of the substrings)
// Test fixtures (`@realconv/formats/testing/*`) resolve only under the "realconv-test" condition; run a single
// file with `node --conditions=realconv-test --test <file>`.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [];
for (const pkg of readdirSync("packages")) {
  try {
    walk(join("packages", pkg, "dist"), files);
  } catch {
    /* package without tests */
  }
}
// Repository-wide checks (import cycles) live beside this script.
for (const name of readdirSync("scripts")) if (name.endsWith(".test.mjs")) files.push(join("scripts", name));
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (selected.length === 0) {
  console.error("no test files found; did the build run?");
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--conditions=realconv-test", "--test", "--test-concurrency=2", ...selected], { stdio: "inherit" });
process.exit(r.status ?? 1);
