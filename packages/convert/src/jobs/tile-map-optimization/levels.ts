/**
 * Zoom levels of a pyramid. Defaults follow gdal2tiles: the bottom is the finest level whose pixels are
 * not smaller than the finest source's (warped to Web Mercator), the top the level whose one tile spans
 * the whole extent at that resolution. Levels finer than a bottom the user chose may still be computed
 * (not written) when a source is much finer than that bottom and has no overview close to it: the
 * pyramid then starts at a level where each output pixel needs at most 4 x 4 source samples.
 */
import { resolution, zoomForPixelSize, TILE_SIZE, type MercatorBounds } from "@realconv/formats";
import { ConversionError } from "../../contract/runner.js";
import type { PlacedSource } from "../../raster/warp.js";

export interface PyramidLevels {
  /** Coarsest level written. */
  readonly top: number;
  /** Finest level written. */
  readonly bottom: number;
  /** Level each source (by index) is sampled at (>= bottom); levels above it are 2 x 2 means of the one below. */
  readonly render: readonly number[];
}

/** The union of the sources' footprints. */
export function unionFootprint(sources: readonly PlacedSource[]): MercatorBounds {
  const b: MercatorBounds = [Infinity, Infinity, -Infinity, -Infinity];
  for (const s of sources) {
    b[0] = Math.min(b[0], s.footprint[0]);
    b[1] = Math.min(b[1], s.footprint[1]);
    b[2] = Math.max(b[2], s.footprint[2]);
    b[3] = Math.max(b[3], s.footprint[3]);
  }
  return b;
}

/** The largest source pixel one output pixel of level z may span before the level is sampled finer. */
const MAX_SAMPLES_PER_PIXEL = 4;

export function pyramidLevels(sources: readonly PlacedSource[], topLevel: number | undefined, bottomLevel: number | undefined): PyramidLevels {
  if (topLevel !== undefined && bottomLevel !== undefined && topLevel > bottomLevel) {
    throw new ConversionError("InvalidOptions", "Invalid options", "topLevel %1 is below bottomLevel %2; the top level is the coarser one.", [String(topLevel), String(bottomLevel)]);
  }
  const finest = Math.min(...sources.map((s) => s.pixelSize));
  const native = zoomForPixelSize(finest);
  // One source: its warped raster's size, as gdal2tiles measures it for its top level; a mosaic: the union.
  const union = unionFootprint(sources);
  const extent =
    sources.length === 1 ? sources[0].pixelSize * Math.max(...sources[0].warpSize) : Math.max(union[2] - union[0], union[3] - union[1]);
  const defaultTop = zoomForPixelSize(extent / TILE_SIZE);
  let bottom = bottomLevel ?? Math.max(native, topLevel ?? defaultTop);
  let top = topLevel ?? Math.min(defaultTop, bottom);
  top = Math.min(top, bottom);
  bottom = Math.max(bottom, top);
  const render = sources.map((s) => {
    const levels = s.source.raster.levels;
    const coarsest = s.pixelSize * (levels[0].width / levels[levels.length - 1].width);
    // Overviews cover the ratio down to their own pixel size; beyond it the source is sampled finer.
    return resolution(bottom) / coarsest > MAX_SAMPLES_PER_PIXEL ? Math.max(bottom, zoomForPixelSize(s.pixelSize)) : bottom;
  });
  return { top, bottom, render };
}
