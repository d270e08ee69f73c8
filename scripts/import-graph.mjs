// The import graph of the TypeScript sources under packages/*/src (type-only imports included: a cycle
// of types is still a cycle of modules that cannot be understood one without the other).
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Source file of a specifier: relative `.js` paths and `@realconv/<pkg>[/<sub>]` self-references. */
function resolveSpecifier(root, from, spec) {
  let base;
  if (spec.startsWith(".")) base = resolve(dirname(from), spec);
  else {
    const m = /^@realconv\/([^/]+)(?:\/(.+))?$/.exec(spec);
    if (!m) return undefined;
    base = join(root, "packages", m[1], "src", m[2] ?? "index");
  }
  base = base.replace(/\.js$/, "");
  for (const candidate of [`${base}.ts`, join(base, "index.ts")]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/** Map of file -> files it imports (static and dynamic), paths relative to `root`. */
export function importGraph(root) {
  const graph = new Map();
  for (const pkg of readdirSync(join(root, "packages"))) {
    const src = join(root, "packages", pkg, "src");
    if (!existsSync(src)) continue;
    for (const file of walk(src, [])) {
      const text = readFileSync(file, "utf8");
      const deps = new Set();
      for (const re of [IMPORT, DYNAMIC]) {
        for (const m of text.matchAll(re)) {
          const target = resolveSpecifier(root, file, m[1]);
          if (target) deps.add(relative(root, target));
        }
      }
      graph.set(relative(root, file), deps);
    }
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
export function cycles(graph) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return out;
}
