/**
 * tileset.json model (3D Tiles 1.0 and 1.1), the ENU frame for a georeferenced root, and a builder for
 * explicit trees. The JSON is written with a fixed key order so the same tree gives the same bytes.
 */
export type Vec3 = [number, number, number];

/** `box`: centre then three half-axis vectors (12 numbers); `region`: west, south, east, north (radians), min and max height (metres); `sphere`: centre, radius. */
export type BoundingVolume = { box: number[] } | { region: number[] } | { sphere: number[] };

export type Refine = "ADD" | "REPLACE";

export interface TileContent {
  uri: string;
  boundingVolume?: BoundingVolume;
}

export interface ImplicitTiling {
  subdivisionScheme: "QUADTREE" | "OCTREE";
  /** Levels per subtree file. */
  subtreeLevels: number;
  /** Levels in the whole tree (the root's level 0 included). */
  availableLevels: number;
  subtrees: { uri: string };
}

export interface Tile {
  boundingVolume: BoundingVolume;
  viewerRequestVolume?: BoundingVolume;
  geometricError: number;
  refine?: Refine;
  /** 4x4 column-major, applied to this tile and its descendants. */
  transform?: number[];
  content?: TileContent;
  contents?: TileContent[];
  children?: Tile[];
  implicitTiling?: ImplicitTiling;
}

export interface Tileset {
  asset: { version: "1.0" | "1.1"; tilesetVersion?: string; generator?: string; gltfUpAxis?: "X" | "Y" | "Z" };
  geometricError: number;
  root: Tile;
  extensionsUsed?: string[];
  extensionsRequired?: string[];
  properties?: Record<string, { minimum: number; maximum: number }>;
}

const WGS84_A = 6378137;
const WGS84_F = 1 / 298.257223563;
const WGS84_E2 = WGS84_F * (2 - WGS84_F);

/** WGS84 geodetic (degrees, ellipsoidal height in metres) to ECEF (EPSG:4978) metres. */
export function geodeticToEcef(lonDeg: number, latDeg: number, heightM: number): Vec3 {
  const lon = (lonDeg * Math.PI) / 180;
  const lat = (latDeg * Math.PI) / 180;
  const sinLat = Math.sin(lat);
  const cosLat = Math.cos(lat);
  const n = WGS84_A / Math.sqrt(1 - WGS84_E2 * sinLat * sinLat);
  return [(n + heightM) * cosLat * Math.cos(lon), (n + heightM) * cosLat * Math.sin(lon), (n * (1 - WGS84_E2) + heightM) * sinLat];
}

/**
 * The east-north-up frame at a WGS84 position as a 4x4 column-major matrix (local ENU metres -> ECEF), for a
 * tileset root `transform`: local x east, y north, z up.
 */
export function enuToEcef(lonDeg: number, latDeg: number, heightM: number): number[] {
  const lon = (lonDeg * Math.PI) / 180;
  const lat = (latDeg * Math.PI) / 180;
  const [sl, cl, sp, cp] = [Math.sin(lon), Math.cos(lon), Math.sin(lat), Math.cos(lat)];
  const origin = geodeticToEcef(lonDeg, latDeg, heightM);
  return [-sl, cl, 0, 0, -sp * cl, -sp * sl, cp, 0, cp * cl, cp * sl, sp, 0, origin[0], origin[1], origin[2], 1];
}

/** Applies a 4x4 column-major matrix to a point. */
export function transformPoint(m: readonly number[], p: readonly number[]): Vec3 {
  return [
    m[0] * p[0] + m[4] * p[1] + m[8] * p[2] + m[12],
    m[1] * p[0] + m[5] * p[1] + m[9] * p[2] + m[13],
    m[2] * p[0] + m[6] * p[1] + m[10] * p[2] + m[14],
  ];
}

/** a * b, both 4x4 column-major. */
export function multiplyMatrices(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(16);
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      out[c * 4 + r] = s;
    }
  }
  return out;
}

export const IDENTITY_MATRIX: readonly number[] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

/** An axis-aligned `box` bounding volume of [min, max]. */
export function boxFromBounds(min: readonly number[], max: readonly number[]): { box: number[] } {
  const c = [0, 1, 2].map((a) => (min[a] + max[a]) / 2);
  const h = [0, 1, 2].map((a) => (max[a] - min[a]) / 2);
  return { box: [c[0], c[1], c[2], h[0], 0, 0, 0, h[1], 0, 0, 0, h[2]] };
}

/** A node of an explicit tree, in the tileset frame (after the root transform). */
export interface ExplicitTileNode {
  min: Vec3;
  max: Vec3;
  geometricError: number;
  contentUri?: string;
  children?: ExplicitTileNode[];
}

export interface TilesetOptions {
  version: "1.0" | "1.1";
  /** Refinement of the root (inherited by every tile). */
  refine: Refine;
  /** Root transform, e.g. `enuToEcef(...)`. */
  transform?: number[];
  generator?: string;
  tilesetVersion?: string;
  extensionsUsed?: string[];
  extensionsRequired?: string[];
  properties?: Record<string, { minimum: number; maximum: number }>;
}

/** A tileset whose tree is given node by node; the tileset's geometric error is the root's. */
export function buildExplicitTileset(root: ExplicitTileNode, options: TilesetOptions): Tileset {
  const toTile = (node: ExplicitTileNode): Tile => {
    const tile: Tile = { boundingVolume: boxFromBounds(node.min, node.max), geometricError: node.geometricError };
    if (node.contentUri !== undefined) tile.content = { uri: node.contentUri };
    if (node.children && node.children.length > 0) tile.children = node.children.map(toTile);
    return tile;
  };
  const rootTile = toTile(root);
  return tilesetOf(rootTile, root.geometricError, options);
}

/** A tileset around a root tile (explicit or implicit), with the options' asset, refine and transform. */
export function tilesetOf(rootTile: Tile, geometricError: number, options: TilesetOptions): Tileset {
  const root: Tile = { boundingVolume: rootTile.boundingVolume, geometricError: rootTile.geometricError, refine: options.refine };
  if (options.transform) root.transform = options.transform;
  if (rootTile.content) root.content = rootTile.content;
  if (rootTile.implicitTiling) root.implicitTiling = rootTile.implicitTiling;
  if (rootTile.children) root.children = rootTile.children;
  const asset: Tileset["asset"] = { version: options.version };
  if (options.tilesetVersion !== undefined) asset.tilesetVersion = options.tilesetVersion;
  if (options.generator !== undefined) asset.generator = options.generator;
  const tileset: Tileset = { asset, geometricError, root };
  if (options.properties) tileset.properties = options.properties;
  if (options.extensionsUsed?.length) tileset.extensionsUsed = options.extensionsUsed;
  if (options.extensionsRequired?.length) tileset.extensionsRequired = options.extensionsRequired;
  return tileset;
}

/** tileset.json bytes (UTF-8, no indentation, key order as built). */
export function encodeTilesetJson(tileset: Tileset): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(tileset));
}

/** ECEF metres to WGS84 geodetic: longitude and latitude in radians, ellipsoidal height in metres. */
export function ecefToGeodetic(x: number, y: number, z: number): Vec3 {
  const p = Math.hypot(x, y);
  const lon = Math.atan2(y, x);
  let lat = Math.atan2(z, p * (1 - WGS84_E2));
  let h = 0;
  for (let i = 0; i < 6; i++) {
    const s = Math.sin(lat);
    const n = WGS84_A / Math.sqrt(1 - WGS84_E2 * s * s);
    // Near the poles p / cos(lat) loses precision; use the z form there.
    h = Math.abs(lat) < Math.PI / 4 ? p / Math.cos(lat) - n : z / s - n * (1 - WGS84_E2);
    lat = Math.atan2(z, p * (1 - (WGS84_E2 * n) / (n + h)));
  }
  return [lon, lat, h];
}

export interface ImplicitOctreeRootOptions {
  /** Root cube (or box) in the tileset frame; tiles split it evenly along x, y, z. */
  min: Vec3;
  max: Vec3;
  /** Of level 0; level L has geometricError / 2^L. */
  geometricError: number;
  subtreeLevels: number;
  availableLevels: number;
  /** Default `content/{level}/{x}/{y}/{z}.glb`. */
  contentUri?: string;
  /** Default `subtrees/{level}/{x}/{y}/{z}.subtree`. */
  subtreesUri?: string;
}

/** The root tile of an implicit octree (3D Tiles 1.1), for `tilesetOf`. */
export function implicitOctreeRoot(o: ImplicitOctreeRootOptions): Tile {
  return {
    boundingVolume: boxFromBounds(o.min, o.max),
    geometricError: o.geometricError,
    content: { uri: o.contentUri ?? "content/{level}/{x}/{y}/{z}.glb" },
    implicitTiling: { subdivisionScheme: "OCTREE", subtreeLevels: o.subtreeLevels, availableLevels: o.availableLevels, subtrees: { uri: o.subtreesUri ?? "subtrees/{level}/{x}/{y}/{z}.subtree" } },
  };
}
