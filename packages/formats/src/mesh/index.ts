/** Mesh readers (OBJ, PLY, glTF/GLB, 3D Tiles, 3MX): bytes in, triangle batches out. */
export * from "./model.js";
export { openObj, parseMtl } from "./obj.js";
export { openPlyMesh, plyHasFaces } from "./ply.js";
export { openGltf, readGltfDocument, documentMesh, isGlb, multiplyMat4, Y_UP_TO_Z_UP } from "./gltf.js";
export { openTileset, tileGlb } from "./tiles3d.js";
export { open3mx, parse3mxb, decodeOpenCtm, type CtmMesh } from "./threemx.js";
