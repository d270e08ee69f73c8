/**
 * The tile grid of an OPC file. Every level shares one origin; a level-L tile is a box of edges
 * `tileSize · 2^L` (per axis: geographic CRSs have degrees across and metres up), and its children are the
 * 2×2×2 level-(L-1) tiles `2t + {0,1}`. Level-0 positions are u16 steps of `tileSize / 65536` inside their
 * tile, so the tile size follows from the precision wanted.
 * Tiles are grouped by block (`blockSize`³ tiles); see `compareOpcTiles` for the order the file needs.
 */

/** Tiles per block edge: the value Orbit's own files use (the reader takes it from the file record). */
export const OPC_BLOCK_SIZE = 32;
/** Level-0 steps per tile edge (u16 local coordinates). */
export const OPC_STEPS = 65536;
/** Cells per tile edge at levels above 0 (u8 local coordinates). */
export const OPC_CELLS = 256;
/** The largest number of levels a file may have (tile indices stay well inside 32-bit integers). */
export const OPC_MAX_LEVELS = 30;

export interface OpcLayout {
  /** Origin of the tile grid (all levels), in CRS units. */
  origin: readonly [number, number, number];
  /** Edges of a level-0 tile along x, y, z (powers of two); the level-0 precision is `tileSize / 65536`. */
  tileSize: readonly [number, number, number];
  /** Number of levels: level 0 holds every point, the top level (levelCount - 1) a single tile; at least 2. */
  levelCount: number;
  blockSize: number;
}

/**
 * The layout for points within `bounds` ([minX, minY, minZ, maxX, maxY, maxZ]) kept to within
 * `precision` (CRS units, one for all axes or one per axis, e.g. the source's LAS scales): the level-0
 * step is the largest power of two not above the precision, the origin the bounds' minimum rounded down
 * to the tile grid, and the levels go up until one tile holds everything.
 */
export function opcLayout(bounds: ArrayLike<number>, precision: number | readonly [number, number, number]): OpcLayout {
  const perAxis = typeof precision === "number" ? [precision, precision, precision] : precision;
  for (const p of perAxis) if (!(p > 0) || !Number.isFinite(p)) throw new RangeError(`OPC precision must be a positive number, not ${p}`);
  for (let a = 0; a < 6; a++) {
    if (!Number.isFinite(bounds[a])) throw new RangeError("OPC layout: the bounds must be finite");
  }
  const tileSize = perAxis.map((p) => OPC_STEPS * 2 ** Math.floor(Math.log2(p))) as [number, number, number];
  const origin: [number, number, number] = [0, 0, 0];
  let top = 0;
  for (let a = 0; a < 3; a++) {
    origin[a] = Math.floor(bounds[a] / tileSize[a]) * tileSize[a];
    top = Math.max(top, Math.floor((bounds[a + 3] - origin[a]) / tileSize[a]));
  }
  // The top level is the first whose single tile 0 covers the highest level-0 tile index.
  let levels = 1;
  while (Math.floor(top / 2 ** (levels - 1)) > 0) levels++;
  const levelCount = Math.max(2, levels);
  if (levelCount > OPC_MAX_LEVELS) {
    throw new RangeError(`OPC layout: ${levelCount} levels needed for a precision of ${precision} over these bounds (at most ${OPC_MAX_LEVELS})`);
  }
  return { origin, tileSize, levelCount, blockSize: OPC_BLOCK_SIZE };
}

/**
 * Points of one tile, in columns (no per-point objects). Positions are absolute (CRS units); at levels
 * above 0 they are the centres of the tile's 256³ cells (what `thinOpcTile` returns).
 */
export interface OpcPoints {
  count: number;
  /** x, y, z interleaved (3·count values). */
  xyz: Float64Array;
  /** 8-bit red, green, blue interleaved (3·count values). */
  rgb?: Uint8Array;
  intensity?: Uint16Array;
  /** ASPRS class codes. */
  classification?: Uint8Array;
  /** Number of level-0 points each point stands for (1 when absent). */
  weight?: Uint32Array;
}

/** Edges (x, y, z) of a tile at `level`. */
export function opcTileSize(layout: OpcLayout, level: number): [number, number, number] {
  const f = 2 ** level;
  return [layout.tileSize[0] * f, layout.tileSize[1] * f, layout.tileSize[2] * f];
}

/** Index of the level-`level` tile holding (x, y, z), written to `out[0..2]`. */
export function opcTileOf(layout: OpcLayout, level: number, x: number, y: number, z: number, out: Int32Array): Int32Array {
  const s = opcTileSize(layout, level);
  const o = layout.origin;
  out[0] = Math.floor((x - o[0]) / s[0]);
  out[1] = Math.floor((y - o[1]) / s[1]);
  out[2] = Math.floor((z - o[2]) / s[2]);
  return out;
}

/** Block index of a tile index (floor division, right for negative indices too). */
export function opcBlockOf(tile: number, blockSize: number): number {
  return Math.floor(tile / blockSize);
}

/**
 * The order of tiles within a level in an OPC file: by block (x, then y, then z), then by tile within the
 * block (x, then y, then z). Negative when tile a comes first.
 */
export function compareOpcTiles(ax: number, ay: number, az: number, bx: number, by: number, bz: number, blockSize = OPC_BLOCK_SIZE): number {
  return (
    opcBlockOf(ax, blockSize) - opcBlockOf(bx, blockSize) ||
    opcBlockOf(ay, blockSize) - opcBlockOf(by, blockSize) ||
    opcBlockOf(az, blockSize) - opcBlockOf(bz, blockSize) ||
    ax - bx ||
    ay - by ||
    az - bz
  );
}
