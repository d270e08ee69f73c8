/**
 * The Web Mercator (EPSG:3857) XYZ tile grid of web maps: 256-pixel tiles, zoom z has 2^z x 2^z tiles,
 * x from the antimeridian eastwards, y from the north edge (85.0511 deg) southwards. Zoom choices follow
 * gdal2tiles (`GlobalMercator`), so pyramids line up with the ones it makes.
 */

export const TILE_SIZE = 256;
/** Half the grid's width in metres (pi times the WGS 84 semi-major axis). */
export const ORIGIN_SHIFT = Math.PI * 6378137;
/** Deepest zoom realconv makes (the declaration's maximum level). */
export const MAX_ZOOM = 30;

/** Bounds in EPSG:3857 metres: [minX, minY, maxX, maxY]. */
export type MercatorBounds = [number, number, number, number];

/** Inclusive range of XYZ tile columns and rows of one zoom. */
export interface TileRange {
  readonly z: number;
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** Metres per pixel at zoom `z`. */
export function resolution(z: number): number {
  return (2 * ORIGIN_SHIFT) / (TILE_SIZE * 2 ** z);
}

/** The finest zoom whose pixels are not smaller than `pixelSize` metres (never scales up; gdal2tiles' rule). */
export function zoomForPixelSize(pixelSize: number): number {
  for (let z = 0; z <= MAX_ZOOM; z++) if (pixelSize > resolution(z)) return Math.max(0, z - 1);
  return MAX_ZOOM;
}

/** Bounds of tile (z, x, y) in metres. */
export function tileBounds(z: number, x: number, y: number): MercatorBounds {
  const size = (2 * ORIGIN_SHIFT) / 2 ** z;
  const minX = -ORIGIN_SHIFT + x * size;
  const maxY = ORIGIN_SHIFT - y * size;
  return [minX, maxY - size, minX + size, maxY];
}

/** The tiles of zoom `z` that bounds touch (with positive area), clamped to the grid; undefined when none. */
export function tileRange(bounds: MercatorBounds, z: number): TileRange | undefined {
  const n = 2 ** z;
  const size = (2 * ORIGIN_SHIFT) / n;
  const col = (x: number) => (x + ORIGIN_SHIFT) / size;
  const row = (y: number) => (ORIGIN_SHIFT - y) / size;
  const minX = Math.max(0, Math.floor(col(bounds[0])));
  const maxX = Math.min(n - 1, Math.ceil(col(bounds[2])) - 1);
  const minY = Math.max(0, Math.floor(row(bounds[3])));
  const maxY = Math.min(n - 1, Math.ceil(row(bounds[1])) - 1);
  if (minX > maxX || minY > maxY) return undefined;
  return { z, minX, minY, maxX, maxY };
}

export function tileCount(r: TileRange): number {
  return (r.maxX - r.minX + 1) * (r.maxY - r.minY + 1);
}

/** Longitude and latitude (degrees) of a point in metres. */
export function metersToLonLat(x: number, y: number): [number, number] {
  const lon = (x / ORIGIN_SHIFT) * 180;
  const lat = (Math.atan(Math.exp((y / ORIGIN_SHIFT) * Math.PI)) * 360) / Math.PI - 90;
  return [lon, lat];
}

/** Latitude limit of the grid (its north and south edges), in degrees. */
export const MAX_LATITUDE = metersToLonLat(0, ORIGIN_SHIFT)[1];

/** The point in metres of a longitude and latitude (degrees; latitudes clamped to the grid). */
export function lonLatToMeters(lon: number, lat: number): [number, number] {
  const clamped = Math.max(-MAX_LATITUDE, Math.min(MAX_LATITUDE, lat));
  const x = (lon * ORIGIN_SHIFT) / 180;
  const y = (Math.log(Math.tan(((90 + clamped) * Math.PI) / 360)) / Math.PI) * ORIGIN_SHIFT;
  return [x, y];
}
