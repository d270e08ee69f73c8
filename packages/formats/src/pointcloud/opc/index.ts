/** `@realconv/formats/opc`: the Orbit point cloud layout, level pyramid and writer. */
export { opcLayout, opcTileOf, opcTileSize, opcBlockOf, compareOpcTiles, OPC_BLOCK_SIZE, type OpcLayout, type OpcPoints } from "./layout.js";
export { thinOpcTile } from "./thin.js";
export { OpcWriter, writeOpc, encodeOpc, type OpcWriterOptions, type OpcAttribute, type OpcPass, type OpcPatch, type OpcTile, type OpcTileSource } from "./writer.js";
export { buildOpcLevels } from "./pyramid.js";
