/** `@realconv/formats/crs`: CRS parsing (EPSG, WKT1/2, PROJ), the offline EPSG table, transforms. */
export { parseCrs, CrsError, type CrsErrorCode, type CrsRef, type HorizontalCrs, type VerticalCrs, type EpsgDefinition, type EpsgLookup } from "./crs.js";
export { createTransform, planarConverter, transformPositions, type PointTransform, type TransformOptions } from "./transform.js";
export { parseWkt, type WktNode, type WktValue } from "./wkt.js";
export { epsgDefinitions } from "./epsg-definitions.js";
