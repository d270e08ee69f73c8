/**
 * Test-only: Bentley's OPC reader (npm `@itwin/core-orbitgt`, the reader iTwin.js uses) as the
 * independent reader of our OPC files. It reads files through its NodeFS storage (a deep import: the
 * package has no exports map), so the bytes go through a temporary file.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);

/* Just what the oracle calls of the reader's (Java-like) API. */
interface ALong {
  toDouble(): number;
}
interface GridIndex {
  x: number;
  y: number;
  z: number;
}
interface TileIndex {
  gridIndex: GridIndex;
  pointCount: number;
}
interface AttributeValue {
  getColor(): number;
  getInt1(): number;
  getInt2(): number;
  getInt4(): number;
}
interface CloudPoint {
  getX(): number;
  getY(): number;
  getZ(): number;
  getAttributeValue(index: number): AttributeValue;
}
interface AList<T> {
  size(): number;
  get(i: number): T;
}
interface Attribute {
  getName(): string;
  getType(): number;
}
interface ContentLoader {
  load(): Promise<ContentLoader>;
}
interface Reader {
  getLevelCount(): number;
  getFileCRS(): string;
  getLevelPointCount(level: number): ALong;
  getPointAttributes(): Attribute[];
  getMinAttributeValue(a: Attribute): AttributeValue;
  getMaxAttributeValue(a: Attribute): AttributeValue;
  readBlockIndexes(level: number, loader: ContentLoader): unknown[];
  readTileIndexes(block: unknown, loader: ContentLoader): TileIndex[];
  readPoints(tile: TileIndex, request: unknown, loader: ContentLoader): AList<CloudPoint>;
  close(): void;
}

const orbit = require("@itwin/core-orbitgt") as { OPCReader: { openFile(fs: unknown, name: string, lazy: boolean): Promise<Reader> } };
const { NodeFS } = require("@itwin/core-orbitgt/lib/cjs/system/storage/NodeFS") as { NodeFS: new () => unknown };
const { ContentLoader: Loader } = require("@itwin/core-orbitgt/lib/cjs/system/storage/ContentLoader") as {
  ContentLoader: new (fs: unknown, name: string) => ContentLoader;
};
const { ReadRequest } = require("@itwin/core-orbitgt/lib/cjs/pointcloud/model/ReadRequest") as { ReadRequest: { READ_ALL: unknown } };

export interface OrbitLevel {
  pointCount: number;
  /** x, y, z, pointCount per tile, in file order. */
  tiles: number[][];
  /** Positions as the reader computes them, points in file order. */
  xyz: Float64Array;
  /** Per attribute name: values in file order (colour as 0xRRGGBB). */
  values: Record<string, Float64Array>;
}

export interface OrbitFile {
  levelCount: number;
  crs: string;
  attributes: { name: string; type: number; min: number; max: number }[];
  levels: OrbitLevel[];
}

const TYPE_INT1 = 2;
const TYPE_INT2 = 3;
const TYPE_COLOR = 8;

function valueOf(v: AttributeValue, type: number): number {
  return type === TYPE_COLOR ? v.getColor() : type === TYPE_INT1 ? v.getInt1() : type === TYPE_INT2 ? v.getInt2() : v.getInt4();
}

/** Reads every level, tile and point of an OPC file with `@itwin/core-orbitgt` (levels up to `maxLevels`). */
export async function readWithOrbitGt(bytes: Uint8Array, maxLevels = Infinity): Promise<OrbitFile> {
  const dir = mkdtempSync(join(tmpdir(), "realconv-opc-"));
  const path = join(dir, "cloud.opc");
  writeFileSync(path, bytes);
  const fs = new NodeFS();
  const reader = await orbit.OPCReader.openFile(fs, path, false);
  try {
    // Each read is two calls: the first asks for byte ranges, the second parses them once loaded.
    const twice = async <T>(read: (loader: ContentLoader) => T): Promise<T> => {
      const loader = new Loader(fs, path);
      read(loader);
      await loader.load();
      return read(loader);
    };
    const attributes = reader.getPointAttributes().map((a) => ({
      name: a.getName(),
      type: a.getType(),
      min: valueOf(reader.getMinAttributeValue(a), a.getType()),
      max: valueOf(reader.getMaxAttributeValue(a), a.getType()),
    }));
    const levels: OrbitLevel[] = [];
    const levelCount = reader.getLevelCount();
    for (let level = 0; level < Math.min(levelCount, maxLevels); level++) {
      const pointCount = reader.getLevelPointCount(level).toDouble();
      const xyz = new Float64Array(3 * pointCount);
      const values: Record<string, Float64Array> = {};
      for (const a of attributes) values[a.name] = new Float64Array(pointCount);
      const tiles: number[][] = [];
      let at = 0;
      const blocks = await twice((l) => reader.readBlockIndexes(level, l));
      for (const block of blocks) {
        const blockTiles = await twice((l) => reader.readTileIndexes(block, l));
        for (const tile of blockTiles) {
          tiles.push([tile.gridIndex.x, tile.gridIndex.y, tile.gridIndex.z, tile.pointCount]);
          const points = await twice((l) => reader.readPoints(tile, ReadRequest.READ_ALL, l));
          for (let i = 0; i < points.size(); i++, at++) {
            const p = points.get(i);
            xyz[3 * at] = p.getX();
            xyz[3 * at + 1] = p.getY();
            xyz[3 * at + 2] = p.getZ();
            attributes.forEach((a, k) => (values[a.name][at] = valueOf(p.getAttributeValue(k), a.type)));
          }
        }
      }
      if (at !== pointCount) throw new Error(`level ${level}: the reader returned ${at} points, its directory says ${pointCount}`);
      levels.push({ pointCount, tiles, xyz, values });
    }
    return { levelCount, crs: reader.getFileCRS(), attributes, levels };
  } finally {
    reader.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
