/**
 * `@realconv/formats`: every codec family in one import. Each family also has its own entry point
 * (`@realconv/formats/las`, `/laz`, `/e57`, `/ply`, `/text`, `/opc`, `/copc`, `/crs`, `/raster`, `/vector`, `/scene`).
 */
export * from "./io/byte-source.js";
export * from "./pointcloud/chunk.js";
export * from "./pointcloud/las/index.js";
export * from "./pointcloud/laz/index.js";
export * from "./pointcloud/e57/index.js";
export * from "./pointcloud/ply/index.js";
export * from "./pointcloud/text/index.js";
export * from "./pointcloud/opc/index.js";
export * from "./pointcloud/copc/index.js";
export * from "./crs/index.js";
export * from "./scene/index.js";
export * from "./raster/index.js";
export * from "./vector/index.js";
export { type PointTileContent, srgbToLinear, linearToSrgb8 } from "./tiles3d/content.js";
export { encodePnts, decodePnts, PNTS_HEADER_LENGTH, PNTS_INTENSITY, PNTS_CLASSIFICATION, type DecodedPnts } from "./tiles3d/pnts.js";
export { enuToEcef, geodeticToEcef, ecefToGeodetic, implicitOctreeRoot, type ImplicitOctreeRootOptions, transformPoint, multiplyMatrices, IDENTITY_MATRIX, boxFromBounds, buildExplicitTileset, tilesetOf, encodeTilesetJson, type Tileset, type Tile, type TileContent, type BoundingVolume, type ImplicitTiling, type Refine, type Vec3, type ExplicitTileNode, type TilesetOptions } from "./tiles3d/tileset.js";
export { encodeSubtree, decodeSubtree, buildImplicitSubtrees, type ImplicitTileKey, type BuiltSubtree, mortonIndex3, mortonDecode3, subtreeTileCount, childSubtreeCount, subtreeTileIndex, createAvailability, setAvailable, isAvailable, availableCount, expandTemplate, implicitTileBounds, SUBTREE_MAGIC, SUBTREE_HEADER_LENGTH, type SubtreeInput, type DecodedSubtree } from "./tiles3d/subtree.js";
export { encodePointGlb, decodePointGlb, GLB_INTENSITY_ATTRIBUTE, GLB_CLASSIFICATION_ATTRIBUTE, type DecodedPointGlb } from "./tiles3d/glb.js";
export { decodePointTile, checkGlbLayout, type DecodedPointTile } from "./tiles3d/decode.js";
