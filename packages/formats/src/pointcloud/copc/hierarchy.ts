/**
 * COPC (Cloud Optimized Point Cloud): a LAZ 1.4 file whose first VLR (`copc`/1) describes an octree,
 * and whose hierarchy (EVLR `copc`/1000, pages of 32-byte entries) says where each node's points lie
 * (one LAZ chunk per node). Points read as plain LAZ; this adds the octree, for readers that want
 * part of a cloud (one level, one region) without decoding all of it.
 */
import { FormatError, type ByteSource } from "../../io/byte-source.js";
import type { LasHeader } from "../las/header.js";

export interface CopcInfo {
  /** Octree cube centre and half size, in file coordinates. */
  center: [number, number, number];
  halfSize: number;
  /** Point spacing at the root; halves with each level. */
  spacing: number;
  rootHierarchyOffset: number;
  rootHierarchySize: number;
  gpsTimeMinimum: number;
  gpsTimeMaximum: number;
}

export interface CopcNode {
  level: number;
  x: number;
  y: number;
  z: number;
  /** Absolute file offset and byte size of the node's LAZ chunk. */
  offset: number;
  byteSize: number;
  pointCount: number;
}

/** The `copc`/1 info VLR, or undefined when the file is not COPC. */
export function readCopcInfo(header: LasHeader, fileName: string): CopcInfo | undefined {
  const vlr = header.vlrs.find((v) => !v.extended && v.userId === "copc" && v.recordId === 1);
  if (!vlr) return undefined;
  if (vlr.data.byteLength < 160) throw new FormatError(`COPC info VLR is ${vlr.data.byteLength} bytes, expected 160`, fileName, vlr.dataOffset);
  const v = new DataView(vlr.data.buffer, vlr.data.byteOffset, 160);
  return {
    center: [v.getFloat64(0, true), v.getFloat64(8, true), v.getFloat64(16, true)],
    halfSize: v.getFloat64(24, true),
    spacing: v.getFloat64(32, true),
    rootHierarchyOffset: Number(v.getBigUint64(40, true)),
    rootHierarchySize: Number(v.getBigUint64(48, true)),
    gpsTimeMinimum: v.getFloat64(56, true),
    gpsTimeMaximum: v.getFloat64(64, true),
  };
}

const ENTRY = 32;
/** Bounds on what a file may make us read: pages and entries are counted against the file size. */
const MAX_PAGES = 1_000_000;

/**
 * Every node of the hierarchy with points, following child pages. A node's point count is -1 when its
 * entry points at a child page instead of a chunk.
 */
export async function readCopcHierarchy(src: ByteSource, info: CopcInfo): Promise<CopcNode[]> {
  const nodes: CopcNode[] = [];
  const pages: { offset: number; size: number }[] = [{ offset: info.rootHierarchyOffset, size: info.rootHierarchySize }];
  const seen = new Set<number>();
  while (pages.length > 0) {
    const page = pages.pop()!;
    if (seen.has(page.offset) || seen.size > MAX_PAGES) throw new FormatError("COPC hierarchy pages loop or are too many", src.name, page.offset);
    seen.add(page.offset);
    if (page.size % ENTRY !== 0 || page.offset < 0 || page.offset + page.size > src.size) {
      throw new FormatError(`COPC hierarchy page of ${page.size} bytes at ${page.offset} is not inside the file`, src.name, page.offset);
    }
    const bytes = await src.read(page.offset, page.size);
    if (bytes.byteLength !== page.size) throw new FormatError("COPC hierarchy page is truncated", src.name, page.offset);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < page.size; at += ENTRY) {
      const level = v.getInt32(at, true);
      const x = v.getInt32(at + 4, true);
      const y = v.getInt32(at + 8, true);
      const z = v.getInt32(at + 12, true);
      const offset = Number(v.getBigUint64(at + 16, true));
      const byteSize = v.getInt32(at + 24, true);
      const pointCount = v.getInt32(at + 28, true);
      const where = page.offset + at;
      if (level < 0 || level > 64) throw new FormatError(`COPC hierarchy entry ${level}-${x}-${y}-${z} has an impossible level ${level}`, src.name, where);
      if (byteSize < 0) throw new FormatError(`COPC hierarchy entry ${level}-${x}-${y}-${z} has a negative byte size ${byteSize}`, src.name, where + 24);
      if (offset + byteSize > src.size) {
        throw new FormatError(`COPC hierarchy entry ${level}-${x}-${y}-${z} (${byteSize} bytes at ${offset}) runs past the end of the file (${src.size} bytes)`, src.name, where + 16);
      }
      if (pointCount === -1) pages.push({ offset, size: byteSize });
      else if (pointCount > 0) nodes.push({ level, x, y, z, offset, byteSize, pointCount });
      else if (pointCount < -1) throw new FormatError(`COPC hierarchy entry has point count ${pointCount}`, src.name, where);
    }
  }
  return nodes.sort((a, b) => a.level - b.level || a.offset - b.offset);
}

/** The cube of a node, as [minX, minY, minZ, maxX, maxY, maxZ]. */
export function copcNodeBounds(info: CopcInfo, node: Pick<CopcNode, "level" | "x" | "y" | "z">): [number, number, number, number, number, number] {
  const size = (2 * info.halfSize) / 2 ** node.level;
  const min = [info.center[0] - info.halfSize + node.x * size, info.center[1] - info.halfSize + node.y * size, info.center[2] - info.halfSize + node.z * size];
  return [min[0], min[1], min[2], min[0] + size, min[1] + size, min[2] + size];
}
