/** `@realconv/formats/raster`: GeoTIFF and world-file rasters, Web Mercator tiles, TileJSON. */
export * from "./web-mercator.js";
export { parseWorldFile, readPrj, worldFileNames, invertGeoTransform, type GeoTransform } from "./world-file.js";
export { tileJson, type TileJson, type TileJsonInput } from "./tilejson.js";
export { GeoTiffRaster, looksLikeTiff, PHOTOMETRIC, type RasterInfo, type RasterLevel, type RasterWindow } from "./geotiff.js";
export { crsFromGeoKeys, type GeoKeyCrs, type GeoKeyDirectory } from "./geokeys.js";
export { toRgba, needsScale, extendRange, colourSamples, type SampleScale } from "./rgba.js";
