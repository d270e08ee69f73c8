/**
 * Display pixels of raster samples: 8-bit RGBA, whatever the samples (grey, grey + alpha, RGB, RGBA,
 * palette; 8 bits as they are, other depths scaled linearly from a value range to 0..255). Alpha is 0
 * where the internal mask says invalid, where the alpha sample is 0, and where every colour sample equals
 * nodata (one nodata value for all bands, as gdal2tiles' warped datasets treat it).
 */
import { PHOTOMETRIC, type RasterInfo, type RasterWindow } from "./geotiff.js";

/** Linear mapping of sample values to 0..255: v8 = (v - min) * 255 / (max - min), clamped. */
export interface SampleScale {
  readonly min: number;
  readonly max: number;
}

/** Whether samples of this raster need a scale (anything but 8-bit unsigned, palette excepted). */
export function needsScale(info: RasterInfo): boolean {
  return info.photometric !== PHOTOMETRIC.palette && !(info.bitsPerSample === 8 && info.sampleFormat === 1);
}

/** Samples that carry colour: 3 for RGB and YCbCr (read as RGB) and for 3 or more grey samples (as gdal2tiles takes them), else 1. */
export function colourSamples(info: RasterInfo): number {
  if (info.photometric === PHOTOMETRIC.rgb || info.photometric === PHOTOMETRIC.ycbcr) return Math.min(3, info.samplesPerPixel);
  const grey = info.photometric === PHOTOMETRIC.minIsBlack || info.photometric === PHOTOMETRIC.minIsWhite;
  return grey && info.samplesPerPixel >= 3 && (info.alphaSample === undefined || info.alphaSample >= 3) ? 3 : 1;
}

/** Converts a window to RGBA (4 bytes a pixel, row by row); `scale` is required when `needsScale(info)`. */
export function toRgba(info: RasterInfo, w: RasterWindow, scale?: SampleScale): Uint8Array {
  const n = w.width * w.height;
  const out = new Uint8Array(n * 4);
  const data = w.data;
  const spp = w.samples;
  const colours = colourSamples(info);
  const alpha = info.alphaSample;
  const nodata = info.nodata;
  const nanNodata = nodata !== undefined && Number.isNaN(nodata);
  const scaled = needsScale(info);
  if (scaled && !scale) throw new Error("a scale is required for samples other than 8-bit");
  const lo = scale?.min ?? 0;
  const k = scale && scale.max > scale.min ? 255 / (scale.max - scale.min) : 0;
  const to8 = (v: number) => {
    if (!scaled) return v;
    const s = (v - lo) * k;
    return s <= 0 ? 0 : s >= 255 ? 255 : Math.round(s);
  };
  // Alpha spans its type's whole range (0..1 for floating point), not the colours' value range.
  const alphaScale = info.sampleFormat === 3 ? 255 : 255 / (2 ** info.bitsPerSample - 1);
  const map = info.colorMap;
  const entries = map ? map.length / 3 : 0;
  const invert = info.photometric === PHOTOMETRIC.minIsWhite;
  for (let p = 0, i = 0, o = 0; p < n; p++, i += spp, o += 4) {
    let valid = w.mask ? w.mask[p] !== 0 : true;
    if (valid && nodata !== undefined) {
      let all = true;
      for (let c = 0; c < colours && all; c++) all = nanNodata ? Number.isNaN(data[i + c]) : data[i + c] === nodata;
      if (all) valid = false;
    }
    if (!valid) continue;
    if (map) {
      const idx = data[i];
      out[o] = map[idx] / 257;
      out[o + 1] = map[idx + entries] / 257;
      out[o + 2] = map[idx + 2 * entries] / 257;
    } else if (colours === 3) {
      out[o] = to8(data[i]);
      out[o + 1] = to8(data[i + 1]);
      out[o + 2] = to8(data[i + 2]);
    } else {
      const g = invert ? 255 - to8(data[i]) : to8(data[i]);
      out[o] = g;
      out[o + 1] = g;
      out[o + 2] = g;
    }
    out[o + 3] = alpha === undefined ? 255 : Math.max(0, Math.min(255, Math.round(data[i + alpha] * alphaScale)));
  }
  return out;
}

/** Widens a range with the valid samples of a window (colour samples only; nodata and masked pixels skipped). */
export function extendRange(info: RasterInfo, w: RasterWindow, range: { min: number; max: number }): void {
  const colours = colourSamples(info);
  const nodata = info.nodata;
  for (let p = 0, i = 0; p < w.width * w.height; p++, i += w.samples) {
    if (w.mask && w.mask[p] === 0) continue;
    for (let c = 0; c < colours; c++) {
      const v = w.data[i + c];
      if (Number.isNaN(v) || v === nodata) continue;
      if (v < range.min) range.min = v;
      if (v > range.max) range.max = v;
    }
  }
}
