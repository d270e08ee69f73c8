/** `@realconv/formats/vector`: GeoJSON, Shapefile, KML, WKB/GeoPackage geometries, FlatGeobuf. */
export * from "./feature.js";
export { openGeoJson, legacyCrsText, type GeoJsonReadOptions } from "./geojson/reader.js";
export { collectionStart, featureText, featuresText, COLLECTION_END, type CollectionHeader } from "./geojson/writer.js";
export { openShapefile, decodeShape, ringsToPolygon, type ShapefileSet } from "./shapefile/reader.js";
export { encodingOfCpg } from "./shapefile/dbf.js";
export { openKml } from "./kml/reader.js";
export { decodeWkb, decodeGpkgGeometry } from "./wkb.js";
export { encodeHeader as encodeFgbHeader, encodeFeature as encodeFgbFeature, decodeFeature as decodeFgbFeature, SchemaBuilder as FgbSchemaBuilder, ColumnType as FgbColumnType, type ColumnSpec as FgbColumnSpec, type HeaderSpec as FgbHeaderSpec, type HeaderInfo as FgbHeaderInfo } from "./flatgeobuf/codec.js";
export { buildIndex as buildFgbIndex, buildInnerNodes as buildFgbInnerNodes, encodeLeaves as encodeFgbLeaves, hilbertValues, sortByKeys, DEFAULT_NODE_SIZE as FGB_NODE_SIZE, NODE_BYTES as FGB_NODE_BYTES, levelBounds as fgbLevelBounds, writeNode as writeFgbNode } from "./flatgeobuf/rtree.js";
export { FlatGeobufFile, openFlatGeobuf } from "./flatgeobuf/reader.js";
