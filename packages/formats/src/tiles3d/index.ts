/** `@realconv/formats/tiles3d`: 3D Tiles point contents (.pnts, GLB), implicit subtrees, tileset JSON and frames. */
export { type PointTileContent, srgbToLinear, linearToSrgb8 } from "./content.js";
export { encodePnts, decodePnts, PNTS_HEADER_LENGTH, PNTS_INTENSITY, PNTS_CLASSIFICATION, type DecodedPnts } from "./pnts.js";
export { enuToEcef, geodeticToEcef, ecefToGeodetic, implicitOctreeRoot, type ImplicitOctreeRootOptions, transformPoint, multiplyMatrices, IDENTITY_MATRIX, boxFromBounds, buildExplicitTileset, tilesetOf, encodeTilesetJson, type Tileset, type Tile, type TileContent, type BoundingVolume, type ImplicitTiling, type Refine, type Vec3, type ExplicitTileNode, type TilesetOptions } from "./tileset.js";
export { encodeSubtree, decodeSubtree, buildImplicitSubtrees, type ImplicitTileKey, type BuiltSubtree, mortonIndex3, mortonDecode3, subtreeTileCount, childSubtreeCount, subtreeTileIndex, createAvailability, setAvailable, isAvailable, availableCount, expandTemplate, implicitTileBounds, SUBTREE_MAGIC, SUBTREE_HEADER_LENGTH, type SubtreeInput, type DecodedSubtree } from "./subtree.js";
export { encodePointGlb, decodePointGlb, GLB_INTENSITY_ATTRIBUTE, GLB_CLASSIFICATION_ATTRIBUTE, type DecodedPointGlb } from "./glb.js";
export { decodePointTile, checkGlbLayout, type DecodedPointTile } from "./decode.js";
