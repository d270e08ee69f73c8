/**
 * Test-only readers for the streamable point-cloud outputs: COPC through the `copc` npm package (every
 * hierarchy page followed), OPC through `@itwin/core-orbitgt`, and the point count of an input as our
 * readers give it.
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { readWithOrbitGt, type OrbitFile } from "@realconv/formats/pointcloud/opc/orbitgt-oracle";
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
  header: { pointCount: number; min: number[]; max: number[] };
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
    const slack = 1e-6 * (maxX - minX);
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
