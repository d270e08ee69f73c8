/**
 * Georeferenced rasters of a job's inputs, recognised by content: GeoTIFF (georeferenced by its tags, or
 * by a world file beside it), and JPEG/PNG/TIFF with a world file (`.jgw`, `.pgw`, `.tfw`, `.wld`, ...) and
 * a `.prj` or `inputCrs`. JPEG and PNG, which cannot be read by windows, are decoded once by sharp into a
 * tiled TIFF in the scratch folder; GeoTIFFs are read in place, window by window.
 */
import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import sharp from "sharp";
import {
  FormatError,
  GeoTiffRaster,
  extendRange,
  invertGeoTransform,
  looksLikeTiff,
  needsScale,
  parseWorldFile,
  readPrj,
  worldFileNames,
  type GeoTransform,
  type SampleScale,
} from "@realconv/formats";
import { epsgDefinitions } from "@realconv/formats/crs";
import { ConversionError, throwIfAborted, type InputDataset, type InputFile, type JobMessage, type ScratchSpace } from "../contract/runner.js";
import { sourceCrs } from "../pointcloud/crs.js";
import { localInputFile } from "../host/local-io.js";

/** One georeferenced raster, ready to be sampled. */
export interface RasterSource {
  /** `<dataset id>/<path>`, for messages. */
  readonly label: string;
  readonly raster: GeoTiffRaster;
  /** Pixel corner (col, row) of level 0 to CRS coordinates, and back. */
  readonly geoTransform: GeoTransform;
  readonly inverse: GeoTransform;
  readonly crs: string;
  /** How samples that are not 8-bit map to 0..255. */
  readonly scale?: SampleScale;
}

/** Files that only accompany an image (georeferencing, CRS, GDAL side files). */
const COMPANION = /\.(wld|[a-z]{2}w|[a-z]{3}w|prj|aux\.xml|ovr|xml|msk)$/i;

const JPEG = (h: Uint8Array) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff;
const PNG = (h: Uint8Array) => h[0] === 0x89 && h[1] === 0x50 && h[2] === 0x4e && h[3] === 0x47;

interface Options {
  readonly inputCrs?: string;
}

export interface OpenContext {
  readonly options: Options & Readonly<Record<string, unknown>>;
  readonly scratch: ScratchSpace;
  readonly signal: AbortSignal;
  warn(m: JobMessage): void;
}

const lower = (p: string) => p.toLowerCase();

/** Every raster of the datasets, in dataset then path order; companions are used, anything else fails. */
export async function openRasterSources(datasets: readonly InputDataset[], ctx: OpenContext): Promise<RasterSource[]> {
  const sources: RasterSource[] = [];
  let scratchUsed = 0;
  for (const dataset of datasets) {
    const files = await dataset.files();
    const byPath = new Map(files.map((f) => [lower(f.path), f]));
    for (const file of files) {
      throwIfAborted(ctx.signal);
      const label = `${dataset.id}/${file.path}`;
      const head = await file.read(0, 16);
      const isTiff = looksLikeTiff(head);
      const isJpeg = JPEG(head);
      const isPng = PNG(head);
      if (!isTiff && !isJpeg && !isPng) {
        if (COMPANION.test(file.path)) continue;
        throw new FormatError("not an image this job reads (GeoTIFF, or JPEG/PNG/TIFF with a world file)", label, 0);
      }
      const sidecar = (names: string[]) => names.map((n) => byPath.get(lower(n))).find((f) => f !== undefined);
      const worldFile = sidecar(worldFileNames(file.path));
      const prjFile = sidecar([file.path.replace(/\.[^./]*$/, "") + ".prj", `${file.path}.prj`]);
      const prj = async () => (prjFile ? readPrj(await readAll(prjFile), `${dataset.id}/${prjFile.path}`) : undefined);
      const crsOf = async (fileCrs: string | undefined, problem?: string) => {
        const crs = sourceCrs(fileCrs ?? (await prj()), ctx.options, label, (m) => ctx.warn(m));
        if (crs) return crs;
        throw new ConversionError("InputData_Invalid", "Invalid input data", "The CRS of %1 is unknown%2: give a .prj file beside it or the option inputCrs.", [label, problem ? ` (${problem})` : ""]);
      };
      let raster: GeoTiffRaster;
      let crs: string;
      if (isTiff) {
        raster = await GeoTiffRaster.open(named(file, label), epsgDefinitions, ctx.signal);
        // The GeoTIFF keys first, then the .prj beside the file.
        crs = await crsOf(raster.info.crs, raster.info.crsProblem);
      } else {
        if (!worldFile) throw new ConversionError("InputData_Invalid", "Invalid input data", "The image %1 has no world file (%2) to place it.", [label, worldFileNames(file.path).join(", ")]);
        // Georeferencing checked before the image is decoded.
        crs = await crsOf(undefined);
        parseWorldFile(await readAll(worldFile), `${dataset.id}/${worldFile.path}`);
        const converted = await toTiledTiff(file, label, ctx.scratch, scratchUsed, ctx.signal);
        scratchUsed += converted.bytes;
        raster = await GeoTiffRaster.open(named(converted.file, label), epsgDefinitions, ctx.signal);
      }
      const info = raster.info;
      const geoTransform = info.geoTransform ?? (worldFile ? parseWorldFile(await readAll(worldFile), `${dataset.id}/${worldFile.path}`) : undefined);
      if (!geoTransform) {
        throw new ConversionError("InputData_Invalid", "Invalid input data", "The image %1 is not georeferenced: no GeoTIFF tags and no world file (%2).", [label, worldFileNames(file.path).join(", ")]);
      }
      const scale = needsScale(info) ? await valueRange(raster, ctx.signal) : undefined;
      if (scale) {
        ctx.warn({
          code: "InputData_Warning",
          title: "Input data warning",
          message: "%1 has %2-bit samples; values %3..%4 were scaled to 0..255.",
          params: [label, String(info.bitsPerSample), String(scale.min), String(scale.max)],
        });
      }
      sources.push({ label, raster, geoTransform, inverse: invertGeoTransform(geoTransform), crs, scale });
    }
  }
  if (sources.length === 0) throw new ConversionError("InputData_Invalid", "Invalid input data", "The inputs hold no image to tile.", []);
  return sources;
}

function named(file: InputFile, label: string): InputFile {
  return { ...file, name: label, read: (o, l) => file.read(o, l), stream: (s) => file.stream(s) };
}

async function readAll(file: InputFile): Promise<Uint8Array> {
  return file.read(0, Math.min(file.size, 1 << 20));
}

/**
 * The value range that maps samples other than 8-bit to 0..255: GDAL's stored statistics, else the range of
 * the valid samples of the coarsest level (an overview when there is one), read window by window.
 */
async function valueRange(raster: GeoTiffRaster, signal: AbortSignal): Promise<SampleScale> {
  if (raster.info.statistics) return raster.info.statistics;
  const levelIndex = raster.levels.length - 1;
  const level = raster.levels[levelIndex];
  const range = { min: Infinity, max: -Infinity };
  const rows = Math.max(1, Math.floor((1 << 22) / level.width));
  for (let y = 0; y < level.height; y += rows) {
    throwIfAborted(signal);
    const w = await raster.readWindow(levelIndex, [0, y, level.width, Math.min(level.height, y + rows)], undefined, signal);
    extendRange(raster.info, w, range);
  }
  return range.min <= range.max ? range : { min: 0, max: 1 };
}

/** JPEG/PNG decoded once into an uncompressed tiled TIFF in scratch (sharp streams it: bounded memory). */
async function toTiledTiff(file: InputFile, label: string, scratch: ScratchSpace, used: number, signal: AbortSignal): Promise<{ file: InputFile; bytes: number }> {
  const base = join(scratch.dir, `raster-${Math.random().toString(36).slice(2)}`);
  const copy = `${base}.src`;
  const tiff = `${base}.tif`;
  await pipeline(Readable.from(file.stream(signal)), createWriteStream(copy), { signal });
  try {
    const image = sharp(copy, { sequentialRead: true, limitInputPixels: false, failOn: "error" });
    const meta = await image.metadata();
    const estimate = (meta.width ?? 0) * (meta.height ?? 0) * (meta.hasAlpha ? 4 : 3);
    if (used + estimate > scratch.budgetBytes) {
      throw new ConversionError("InputData_TooLarge", "Input too large", "Decoding %1 needs %2 MB of scratch space, more than the %3 MB available.", [
        label,
        String(Math.ceil(estimate / 1e6)),
        String(Math.floor((scratch.budgetBytes - used) / 1e6)),
      ]);
    }
    await image.toColourspace("srgb").tiff({ tile: true, tileWidth: 256, tileHeight: 256, compression: "none" }).toFile(tiff);
  } catch (e) {
    if (e instanceof ConversionError || signal.aborted) throw e;
    throw new FormatError(`cannot decode the image: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`, label, 0);
  }
  const bytes = (await stat(tiff)).size + (await stat(copy)).size;
  return { file: await localInputFile(tiff, file.path), bytes };
}
