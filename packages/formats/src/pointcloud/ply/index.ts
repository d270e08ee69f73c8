/** `@realconv/formats/ply`: PLY headers and the vertex reader (ASCII and binary). */
export { openPly, PlyReader, mapVertexProperties, type PlyReaderOptions } from "./reader.js";
export { readPlyHeader, parsePlyHeaderText, type PlyHeader, type PlyElement, type PlyProperty, type PlyFormat, type PlyScalarType } from "./header.js";
