/**
 * GeoTIFF (and plain TIFF) reading through geotiff.js over a ByteSource: georeferencing (ModelTransformation
 * or tiepoint + pixel scale, PixelIsPoint shifted to corners as GDAL does), the CRS of the geokeys, nodata,
 * palette, alpha, internal masks and overviews (reduced-resolution IFDs), and pixel windows read block by
 * block (only the strips or tiles a window touches are fetched and decoded, never the whole image).
 * Every compression geotiff.js decodes is read (none, LZW, deflate, packbits, JPEG, LERC, zstd, WebP).
 */
import { GeoTIFF, type GeoTIFFImage, type Pool, type TypedArray } from "geotiff";
import { FormatError, type ByteSource } from "../io/byte-source.js";
import type { EpsgLookup } from "../crs/crs.js";
import { crsFromGeoKeys } from "./geokeys.js";
import type { GeoTransform } from "./world-file.js";

export const PHOTOMETRIC = { minIsWhite: 0, minIsBlack: 1, rgb: 2, palette: 3, mask: 4, cmyk: 5, ycbcr: 6 } as const;
const SUBFILE_REDUCED = 1;
const SUBFILE_MASK = 4;
const COMPRESSION_JPEG = 7;

/** One resolution of the image: the full one first, then the overviews from finest to coarsest. */
export interface RasterLevel {
  readonly width: number;
  readonly height: number;
  readonly image: GeoTIFFImage;
  /** The internal mask of this resolution (nonzero = valid), when the file has one. */
  readonly mask?: GeoTIFFImage;
}

export interface RasterInfo {
  readonly width: number;
  readonly height: number;
  readonly samplesPerPixel: number;
  readonly bitsPerSample: number;
  /** 1 unsigned, 2 signed integers, 3 floating point. */
  readonly sampleFormat: number;
  readonly photometric: number;
  /** The sample that holds alpha (ExtraSamples), if any. */
  readonly alphaSample?: number;
  readonly colorMap?: Uint16Array;
  readonly nodata?: number;
  readonly geoTransform?: GeoTransform;
  /** "EPSG:n", a PROJ string or WKT, from the geokeys. */
  readonly crs?: string;
  /** Why the geokeys give no usable CRS, when they do not. */
  readonly crsProblem?: string;
  /** Value range GDAL stored in the file's metadata (STATISTICS_MINIMUM/MAXIMUM over the samples). */
  readonly statistics?: { min: number; max: number };
}

/** Samples of a window, interleaved (pixel by pixel), with the window's mask when the file has one. */
export interface RasterWindow {
  readonly width: number;
  readonly height: number;
  readonly samples: number;
  readonly data: TypedArray;
  readonly mask?: Uint8Array;
}

/** The first bytes of a TIFF or BigTIFF. */
export function looksLikeTiff(head: Uint8Array): boolean {
  if (head.byteLength < 4) return false;
  const le = head[0] === 0x49 && head[1] === 0x49 && (head[2] === 42 || head[2] === 43) && head[3] === 0;
  const be = head[0] === 0x4d && head[1] === 0x4d && head[2] === 0 && (head[3] === 42 || head[3] === 43);
  return le || be;
}

/** geotiff.js's source interface over a ByteSource; reads beyond the end come back short, as from a file. */
function geotiffSource(source: ByteSource) {
  return {
    fileSize: source.size,
    async fetch(slices: { offset: number; length: number }[]): Promise<ArrayBuffer[]> {
      return Promise.all(
        slices.map(async ({ offset, length }) => {
          const bytes = offset >= source.size ? new Uint8Array(0) : await source.read(offset, Math.min(length, source.size - offset));
          return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        }),
      );
    },
    async close() {},
  };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class GeoTiffRaster {
  private constructor(
    readonly file: string,
    readonly info: RasterInfo,
    readonly levels: readonly RasterLevel[],
    private readonly firstDataOffset: number,
  ) {}

  /** Opens a (Geo)TIFF; a file that is not one, or whose blocks lie beyond its end, throws FormatError. */
  static async open(source: ByteSource, lookup: EpsgLookup, signal?: AbortSignal): Promise<GeoTiffRaster> {
    const file = source.name;
    const head = await source.read(0, 16);
    if (!looksLikeTiff(head)) throw new FormatError("not a TIFF file (no TIFF byte-order mark)", file, 0);
    let tiff: GeoTIFF;
    const images: GeoTIFFImage[] = [];
    try {
      tiff = await GeoTIFF.fromSource(geotiffSource(source) as never, {}, signal);
      const count = await tiff.getImageCount();
      for (let i = 0; i < count; i++) images.push(await tiff.getImage(i));
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new FormatError(`cannot read the TIFF directories (truncated or damaged file): ${message(e)}`, file, 0);
    }
    const main = images[0];
    const subfile = (im: GeoTIFFImage) => Number(im.fileDirectory.getValue("NewSubfileType") ?? 0);
    const overviews = images.filter((im) => im !== main && subfile(im) === SUBFILE_REDUCED && !isMask(im));
    const masks = images.filter((im) => (subfile(im) & SUBFILE_MASK) !== 0 && isMask(im));
    const maskOf = (w: number, h: number) => masks.find((m) => m.getWidth() === w && m.getHeight() === h);
    const levels: RasterLevel[] = [main, ...overviews]
      .sort((a, b) => b.getWidth() - a.getWidth())
      .map((image) => ({ width: image.getWidth(), height: image.getHeight(), image, mask: maskOf(image.getWidth(), image.getHeight()) }));
    let firstDataOffset = source.size;
    for (const level of levels) {
      for (const im of level.mask ? [level.image, level.mask] : [level.image]) {
        firstDataOffset = Math.min(firstDataOffset, await checkBlocks(im, source.size, file));
      }
    }
    const info = await readInfo(main, file, lookup);
    return new GeoTiffRaster(file, info, levels, firstDataOffset);
  }

  /**
   * Reads the window [x0, y0, x1, y1) of a level (pixels of that level; the window lies inside it) with
   * all samples interleaved. YCbCr JPEG comes back as RGB. A block that does not decode throws FormatError.
   */
  async readWindow(levelIndex: number, window: readonly [number, number, number, number], pool?: Pool, signal?: AbortSignal): Promise<RasterWindow> {
    const level = this.levels[levelIndex];
    const [x0, y0, x1, y1] = window;
    if (!(x0 >= 0 && y0 >= 0 && x1 <= level.width && y1 <= level.height && x0 < x1 && y0 < y1)) {
      throw new RangeError(`window ${window.join(",")} outside level ${levelIndex} (${level.width}x${level.height})`);
    }
    try {
      const data = (await level.image.readRasters({ window: [x0, y0, x1, y1], interleave: true, pool: pool ?? null, signal })) as unknown as TypedArray;
      if (this.info.photometric === PHOTOMETRIC.ycbcr) ycbcrToRgb(data as Uint8Array, this.info.samplesPerPixel);
      let mask: Uint8Array | undefined;
      if (level.mask) mask = (await level.mask.readRasters({ window: [x0, y0, x1, y1], interleave: true, pool: pool ?? null, signal })) as unknown as Uint8Array;
      return { width: x1 - x0, height: y1 - y0, samples: this.info.samplesPerPixel, data, mask };
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      throw new FormatError(`cannot decode the pixels of window ${x0},${y0}..${x1},${y1} (level ${levelIndex}): ${message(e)}`, this.file, this.firstDataOffset);
    }
  }
}

function isMask(im: GeoTIFFImage): boolean {
  return Number(im.fileDirectory.getValue("PhotometricInterpretation")) === PHOTOMETRIC.mask;
}

/** Checks that every strip or tile of an image lies inside the file; returns the offset of the first one. */
async function checkBlocks(im: GeoTIFFImage, size: number, file: string): Promise<number> {
  const fd = im.fileDirectory;
  const tiled = fd.hasTag("TileOffsets");
  let offsets: ArrayLike<number | bigint>;
  let counts: ArrayLike<number | bigint>;
  try {
    offsets = (await fd.loadValue(tiled ? "TileOffsets" : "StripOffsets")) as ArrayLike<number>;
    counts = (await fd.loadValue(tiled ? "TileByteCounts" : "StripByteCounts")) as ArrayLike<number>;
  } catch (e) {
    throw new FormatError(`cannot read the ${tiled ? "tile" : "strip"} table: ${message(e)}`, file, 0);
  }
  if (!offsets || !counts || offsets.length !== counts.length || offsets.length === 0) {
    throw new FormatError(`the ${tiled ? "tile" : "strip"} offsets and byte counts do not match`, file, 0);
  }
  let first = size;
  for (let i = 0; i < offsets.length; i++) {
    const offset = Number(offsets[i]);
    const count = Number(counts[i]);
    if (count === 0) continue;
    if (offset + count > size) {
      throw new FormatError(`the file is truncated: ${tiled ? "tile" : "strip"} ${i} needs bytes up to ${offset + count} of ${size}`, file, Math.min(offset, size));
    }
    first = Math.min(first, offset);
  }
  return first;
}

async function readInfo(im: GeoTIFFImage, file: string, lookup: EpsgLookup): Promise<RasterInfo> {
  const fd = im.fileDirectory;
  const bits = Array.from((fd.getValue("BitsPerSample") as ArrayLike<number> | undefined) ?? [1]);
  const formats = Array.from((fd.getValue("SampleFormat") as ArrayLike<number> | undefined) ?? [1]);
  if (new Set(bits).size > 1 || new Set(formats).size > 1) throw new FormatError(`samples of different types (${bits.join(",")} bits) are not supported`, file, 0);
  const samplesPerPixel = im.getSamplesPerPixel();
  const photometric = Number(fd.getValue("PhotometricInterpretation") ?? (samplesPerPixel >= 3 ? PHOTOMETRIC.rgb : PHOTOMETRIC.minIsBlack));
  const compression = Number(fd.getValue("Compression") ?? 1);
  if (photometric === PHOTOMETRIC.ycbcr) {
    const sub = Array.from(((fd.hasTag("YCbCrSubSampling") ? await fd.loadValue("YCbCrSubSampling") : undefined) as ArrayLike<number> | undefined) ?? [2, 2]);
    if (compression !== COMPRESSION_JPEG && (sub[0] !== 1 || sub[1] !== 1)) throw new FormatError("subsampled YCbCr outside JPEG compression is not supported", file, 0);
  }
  if (photometric === PHOTOMETRIC.cmyk || photometric > PHOTOMETRIC.ycbcr) throw new FormatError(`photometric interpretation ${photometric} is not supported (RGB, grey, palette, YCbCr are)`, file, 0);
  const extra = Array.from((fd.getValue("ExtraSamples") as ArrayLike<number> | undefined) ?? []);
  const colourSamples = photometric === PHOTOMETRIC.rgb || photometric === PHOTOMETRIC.ycbcr || samplesPerPixel >= 3 ? 3 : 1;
  const alphaIndex = extra.findIndex((e) => e === 1 || e === 2);
  const alphaSample = alphaIndex >= 0 && colourSamples + alphaIndex < samplesPerPixel ? colourSamples + alphaIndex : undefined;
  const colorMap = photometric === PHOTOMETRIC.palette ? ((await fd.loadValue("ColorMap")) as Uint16Array | undefined) : undefined;
  if (photometric === PHOTOMETRIC.palette && (!colorMap || colorMap.length < 3 * 2 ** bits[0])) throw new FormatError("palette image without a complete colour map", file, 0);
  const nodataText = fd.hasTag("GDAL_NODATA") ? String(await fd.loadValue("GDAL_NODATA")).replace(/\0/g, "").trim() : "";
  const nodata = nodataText === "" ? undefined : nodataText.toLowerCase() === "nan" ? NaN : Number(nodataText);
  let keys: Record<string, unknown> | null = null;
  try {
    keys = fd.parseGeoKeyDirectory() as Record<string, unknown> | null;
  } catch (e) {
    throw new FormatError(`bad GeoKey directory: ${message(e)}`, file, 0);
  }
  const { crs, problem } = crsFromGeoKeys(keys, lookup);
  const pointGeo = keys?.GTRasterTypeGeoKey === 2;
  return {
    width: im.getWidth(),
    height: im.getHeight(),
    samplesPerPixel,
    bitsPerSample: bits[0],
    sampleFormat: formats[0],
    photometric,
    alphaSample,
    colorMap,
    nodata: nodata !== undefined && (Number.isFinite(nodata) || Number.isNaN(nodata)) ? nodata : undefined,
    geoTransform: geoTransformOf(im, pointGeo, file),
    crs,
    crsProblem: problem,
    statistics: await statisticsOf(im, samplesPerPixel),
  };
}

function geoTransformOf(im: GeoTIFFImage, pointGeo: boolean, file: string): GeoTransform | undefined {
  const fd = im.fileDirectory;
  const m = fd.getValue("ModelTransformation") as ArrayLike<number> | undefined;
  const tie = fd.getValue("ModelTiepoint") as ArrayLike<number> | undefined;
  const scale = fd.getValue("ModelPixelScale") as ArrayLike<number> | undefined;
  let t: [number, number, number, number, number, number] | undefined;
  if (m && m.length >= 16) t = [m[3], m[0], m[1], m[7], m[4], m[5]];
  else if (tie && tie.length >= 6 && scale && scale.length >= 2) {
    t = [tie[3] - tie[0] * scale[0], scale[0], 0, tie[4] + tie[1] * scale[1], 0, -scale[1]];
  } else if (tie && tie.length >= 6) {
    throw new FormatError("georeferenced by ground control points only, which is not supported (add a world file)", file, 0);
  } else return undefined;
  if (!t.every(Number.isFinite) || t[1] * t[5] - t[2] * t[4] === 0) throw new FormatError("the georeferencing tags give a degenerate transformation", file, 0);
  // PixelIsPoint: the tiepoint is the centre of the pixel; GDAL moves it to the corner.
  if (pointGeo) t = [t[0] - 0.5 * t[1] - 0.5 * t[2], t[1], t[2], t[3] - 0.5 * t[4] - 0.5 * t[5], t[4], t[5]];
  return t;
}

async function statisticsOf(im: GeoTIFFImage, samples: number): Promise<{ min: number; max: number } | undefined> {
  let min = Infinity;
  let max = -Infinity;
  for (let s = 0; s < samples; s++) {
    const md = (await im.getGDALMetadata(s).catch(() => null)) as Record<string, unknown> | null;
    const lo = Number(md?.STATISTICS_MINIMUM);
    const hi = Number(md?.STATISTICS_MAXIMUM);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return undefined;
    min = Math.min(min, lo);
    max = Math.max(max, hi);
  }
  return min <= max ? { min, max } : undefined;
}

/** YCbCr (JPEG's full-range BT.601) to RGB in place, on interleaved samples. */
function ycbcrToRgb(data: Uint8Array, samples: number): void {
  for (let i = 0; i + 2 < data.length; i += samples) {
    const y = data[i];
    const cb = data[i + 1] - 128;
    const cr = data[i + 2] - 128;
    data[i] = clamp8(y + 1.402 * cr);
    data[i + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp8(y + 1.772 * cb);
  }
}

const clamp8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
