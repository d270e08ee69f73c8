/**
 * Test-only readers for the streamable point-cloud outputs: COPC through the `copc` npm package (every
 * hierarchy page followed), OPC through `@itwin/core-orbitgt`, and the point count of an input as our
 * readers give it.
 */
import { createRequire } from "node:module";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { load, parse } from "@loaders.gl/core";
import { Tiles3DLoader } from "@loaders.gl/3d-tiles";
import { readWithOrbitGt, type OrbitFile } from "@realconv/formats/testing/orbitgt-oracle";
import { localInputFile } from "@realconv/convert/host/local-io";
import { openSources } from "@realconv/convert/pointcloud/sources";

interface CopcHierarchyNode {
  pointCount: number;
  pointDataOffset: number;
  pointDataLength: number;
}
interface CopcPage {
  pageOffset: number;
  pageLength: number;
}
type Getter = (begin: number, end: number) => Promise<Uint8Array>;
interface CopcFile {
  header: { pointCount: number; min: number[]; max: number[]; scale: number[] };
  info: { cube: number[]; spacing: number; rootHierarchyPage: CopcPage };
  wkt?: string;
}
interface CopcLib {
  Copc: {
    create(get: Getter): Promise<CopcFile>;
    loadHierarchyPage(get: Getter, page: CopcPage): Promise<{ nodes: Record<string, CopcHierarchyNode | undefined>; pages: Record<string, CopcPage | undefined> }>;
    loadPointDataView(get: Getter, file: CopcFile, node: CopcHierarchyNode): Promise<{ pointCount: number; getter(name: string): (i: number) => number }>;
  };
}
const { Copc } = createRequire(import.meta.url)("copc") as CopcLib;
const validator = createRequire(import.meta.url)("gltf-validator") as {
  validateBytes(bytes: Uint8Array): Promise<{ issues: { numErrors: number; messages: Array<{ code: string; message: string; severity: number }> } }>;
};

export interface CopcSummary {
  headerCount: number;
  /** Points over every node of every hierarchy page. */
  nodeCount: number;
  nodes: number;
  pages: number;
  /** Points the root node decodes to (laz-perf), and whether they lie in the cube. */
  rootDecoded: number;
  rootInCube: boolean;
  wkt?: string;
}

export async function readCopc(bytes: Uint8Array): Promise<CopcSummary> {
  const get: Getter = async (begin, end) => bytes.subarray(begin, end);
  const file = await Copc.create(get);
  const todo = [file.info.rootHierarchyPage];
  let nodeCount = 0, nodes = 0, pages = 0;
  let root: CopcHierarchyNode | undefined;
  while (todo.length > 0) {
    const page = await Copc.loadHierarchyPage(get, todo.pop()!);
    pages++;
    for (const [key, n] of Object.entries(page.nodes)) {
      if (!n) continue;
      nodes++;
      nodeCount += n.pointCount;
      if (key === "0-0-0-0") root = n;
    }
    for (const p of Object.values(page.pages)) if (p) todo.push(p);
  }
  let rootDecoded = 0;
  let rootInCube = true;
  if (root && root.pointCount > 0) {
    const view = await Copc.loadPointDataView(get, file, root);
    rootDecoded = view.pointCount;
    const [minX, minY, minZ, maxX, maxY, maxZ] = file.info.cube;
    const gx = view.getter("X"), gy = view.getter("Y"), gz = view.getter("Z");
    // The writer allows half a quantisation step outside a node's cube (rounding of the integers).
    const slack = Math.max(1e-6 * (maxX - minX), 0.5 * Math.max(...file.header.scale));
    for (let i = 0; i < view.pointCount; i++) {
      const x = gx(i), y = gy(i), z = gz(i);
      if (x < minX - slack || x > maxX + slack || y < minY - slack || y > maxY + slack || z < minZ - slack || z > maxZ + slack) rootInCube = false;
    }
  }
  return { headerCount: file.header.pointCount, nodeCount, nodes, pages, rootDecoded, rootInCube, wkt: file.wkt };
}

/** Level 0 (every point) and the level count as `@itwin/core-orbitgt` reads them. */
export function readOpc(bytes: Uint8Array): Promise<OrbitFile> {
  return readWithOrbitGt(bytes, 1);
}

/** Points of one input file as our readers give them, per source (E57: per scan), in source order. */
export async function inputCounts(path: string): Promise<number[]> {
  const file = await localInputFile(path, path.split("/").pop()!);
  const sources = await openSources(file);
  const out: number[] = [];
  const signal = new AbortController().signal;
  for (const s of sources) {
    let n = 0;
    for await (const c of s.chunks(signal)) n += c.count;
    out.push(n);
  }
  return out;
}

export const fileBytes = (path: string) => new Uint8Array(readFileSync(path));

interface TileJson {
  boundingVolume: { box: number[] };
  geometricError: number;
  content?: { uri: string };
  children?: TileJson[];
  transform?: number[];
  implicitTiling?: { subtreeLevels: number; availableLevels: number; subtrees: { uri: string } };
}

type ContentReader = (uri: string, box: { lo: number[]; hi: number[] }) => Promise<void>;

export interface TilesetSummary {
  points: number;
  tiles: number;
  contents: number;
  version: string;
  transform?: number[];
}

/**
 * Walks a tileset from its tileset.json: every content decoded by the strict readers of
 * @realconv/formats/tiles3d (headers, lengths, paddings) and by @loaders.gl/3d-tiles (.pnts) or
 * gltf-validator (GLB, no errors), its points inside its tile's box, every child box
 * inside its parent's, geometric errors not increasing downwards and 0 at leaves, every URI resolving; an
 * implicit octree also expanded by @loaders.gl/3d-tiles, which must find the same contents.
 */
export async function readTileset(dir: string, root = "tileset.json"): Promise<TilesetSummary> {
  const { decodePnts, decodePointGlb } = await import("@realconv/formats");
  const json = JSON.parse(readFileSync(join(dir, root), "utf8")) as { asset: { version: string }; root: TileJson };
  const base = root.includes("/") ? root.slice(0, root.lastIndexOf("/") + 1) : "";
  const out: TilesetSummary = { points: 0, tiles: 0, contents: 0, version: json.asset.version, transform: json.root.transform };
  const boxOf = (t: TileJson) => {
    const b = t.boundingVolume.box;
    return { lo: [b[0] - b[3], b[1] - b[7], b[2] - b[11]], hi: [b[0] + b[3], b[1] + b[7], b[2] + b[11]] };
  };
  const readContent: ContentReader = async (uri, box) => {
    out.contents++;
    const bytes = fileBytes(join(dir, base + uri));
    let xyz: ArrayLike<number>;
    let count: number;
    let centre = [0, 0, 0];
    if (uri.endsWith(".pnts")) {
      const p = decodePnts(bytes, uri);
      xyz = p.positions;
      count = p.count;
      centre = p.rtcCenter;
      const parsed = (await parse(bytes.slice().buffer, Tiles3DLoader, { "3d-tiles": { loadGLTF: false, decodeQuantizedPositions: true } })) as unknown as { pointsLength: number };
      if (parsed.pointsLength !== count) throw new Error(`${uri}: @loaders.gl/3d-tiles reads ${parsed.pointsLength} points, not ${count}`);
    } else {
      const g = await decodePointGlb(bytes, uri);
      xyz = g.positions;
      count = g.count;
      const report = await validator.validateBytes(bytes);
      if (report.issues.numErrors > 0) throw new Error(`${uri}: gltf-validator: ${JSON.stringify(report.issues.messages.filter((m) => m.severity === 0))}`);
    }
    const slack = 1e-6 * Math.max(1, ...box.hi.map((h, a) => h - box.lo[a])) + 1e-3;
    for (let i = 0; i < count; i++) {
      for (let a = 0; a < 3; a++) {
        const v = xyz[3 * i + a] + centre[a];
        if (v < box.lo[a] - slack || v > box.hi[a] + slack) throw new Error(`${uri}: point ${i} lies outside its tile (axis ${a}: ${v} not in ${box.lo[a]}..${box.hi[a]})`);
      }
    }
    out.points += count;
  };
  const visit = async (t: TileJson, parentError: number, parent?: { lo: number[]; hi: number[] }) => {
    out.tiles++;
    const box = boxOf(t);
    const eps = 1e-6 * Math.max(1, ...box.hi.map((h, a) => h - box.lo[a]));
    if (parent) for (let a = 0; a < 3; a++) if (box.lo[a] < parent.lo[a] - eps || box.hi[a] > parent.hi[a] + eps) throw new Error(`a child box leaves its parent's (axis ${a})`);
    if (!(t.geometricError <= parentError)) throw new Error(`geometric error ${t.geometricError} above its parent's ${parentError}`);
    if (!t.children?.length && t.geometricError !== 0) throw new Error(`leaf with geometric error ${t.geometricError}`);
    if (t.content) await readContent(t.content.uri, box);
    for (const c of t.children ?? []) await visit(c, t.geometricError, box);
  };
  if (json.root.implicitTiling) await visitImplicit(dir, base, join(dir, root), json.root, out, readContent);
  else await visit(json.root, Infinity);
  return out;
}

/**
 * An implicit octree: every subtree from the root, availability consistent (a tile's parent available,
 * content only on available tiles, child subtrees only below available tiles), every available content
 * decoded and inside its tile, no content file the subtrees do not announce, and the same contents in
 * the tree @loaders.gl/3d-tiles builds.
 */
async function visitImplicit(dir: string, base: string, document: string, root: TileJson, out: TilesetSummary, readContent: ContentReader): Promise<void> {
  const { decodeSubtree, expandTemplate, implicitTileBounds, isAvailable, mortonIndex3, subtreeTileIndex } = await import("@realconv/formats");
  const it = root.implicitTiling!;
  const L = it.subtreeLevels;
  const b = root.boundingVolume.box;
  const rootMin = [b[0] - b[3], b[1] - b[7], b[2] - b[11]];
  const rootMax = [b[0] + b[3], b[1] + b[7], b[2] + b[11]];
  const announced = new Set<string>();
  const todo: [number, number, number, number][] = [[0, 0, 0, 0]];
  while (todo.length > 0) {
    const [level, sx, sy, sz] = todo.pop()!;
    const uri = expandTemplate(it.subtrees.uri, level, sx, sy, sz);
    const sub = decodeSubtree(fileBytes(join(dir, base + uri)), L, uri);
    for (let d = 0; d < L; d++) {
      for (let x = 0; x < 1 << d; x++) for (let y = 0; y < 1 << d; y++) for (let z = 0; z < 1 << d; z++) {
        const bit = subtreeTileIndex(d, x, y, z);
        const tile = isAvailable(sub.tileAvailability, bit);
        if (tile && d > 0 && !isAvailable(sub.tileAvailability, subtreeTileIndex(d - 1, x >> 1, y >> 1, z >> 1))) throw new Error(`${uri}: a tile whose parent is unavailable`);
        if (!isAvailable(sub.contentAvailability[0], bit)) continue;
        if (!tile) throw new Error(`${uri}: content on an unavailable tile`);
        const key = [level + d, (sx << d) + x, (sy << d) + y, (sz << d) + z] as const;
        const contentUri = expandTemplate(root.content!.uri, ...key);
        announced.add(contentUri);
        out.tiles++;
        const { min, max } = implicitTileBounds(rootMin, rootMax, ...key);
        await readContent(contentUri, { lo: min, hi: max });
      }
    }
    for (let x = 0; x < 1 << L; x++) for (let y = 0; y < 1 << L; y++) for (let z = 0; z < 1 << L; z++) {
      if (!isAvailable(sub.childSubtreeAvailability, mortonIndex3(x, y, z))) continue;
      if (!isAvailable(sub.tileAvailability, subtreeTileIndex(L - 1, x >> 1, y >> 1, z >> 1))) throw new Error(`${uri}: a child subtree below an unavailable tile`);
      todo.push([level + L, (sx << L) + x, (sy << L) + y, (sz << L) + z]);
    }
  }
  // The folder the content template starts with (`content/` for `content/{level}/{x}/{y}/{z}.glb`).
  const prefix = root.content!.uri.slice(0, root.content!.uri.indexOf("{"));
  const contentDir = join(dir, base, prefix);
  const files = (prefix && existsSync(contentDir) ? readdirSync(contentDir, { recursive: true, encoding: "utf8" }) : []).filter((f) => /\.(glb|pnts)$/.test(f));
  for (const f of files) if (!announced.has(`${prefix}${f}`)) throw new Error(`${prefix}${f} is not announced by any subtree`);
  // @loaders.gl/3d-tiles expands the same tree: every subtree read, the same contents found.
  const found = await loadersGlContents(document, join(dir, base));
  const theirs = [...found].sort();
  const ours = [...announced].sort();
  if (theirs.join("\n") !== ours.join("\n")) throw new Error(`@loaders.gl/3d-tiles finds ${theirs.length} contents, the subtrees announce ${ours.length}`);
}

/**
 * Content URIs (relative to `base`) of every tile of the tree `Tiles3DLoader` builds from a root document on
 * disk; local files through a `fetch` of our own (loaders.gl reads only URLs in Node without its polyfills).
 */
async function loadersGlContents(document: string, base: string): Promise<Set<string>> {
  const fetch = async (url: string | URL | Request): Promise<Response> => {
    const href = typeof url === "string" ? url : url instanceof URL ? url.href : url.url;
    const response = new Response(readFileSync(href.startsWith("file:") ? fileURLToPath(href) : href));
    Object.defineProperty(response, "url", { value: href });
    return response;
  };
  type LoadedTile = { contentUrl?: string; children?: LoadedTile[] };
  const tileset = (await load(pathToFileURL(document).href, Tiles3DLoader, { fetch })) as unknown as { root: LoadedTile };
  const out = new Set<string>();
  const walk = (t: LoadedTile) => {
    if (t.contentUrl) out.add(relative(base, t.contentUrl.startsWith("file:") ? fileURLToPath(t.contentUrl) : t.contentUrl).split(sep).join("/"));
    for (const c of t.children ?? []) walk(c);
  };
  walk(tileset.root);
  return out;
}
