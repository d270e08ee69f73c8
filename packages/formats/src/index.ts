/**
 * `@realconv/formats`: every codec family in one import. Each family also has its own entry point
 * (`@realconv/formats/las`, `/laz`, `/e57`, `/ply`, `/text`, `/opc`, `/copc`, `/crs`, `/raster`, `/vector`, `/scene`, `/tiles3d`;
 * `/mesh` only through its own entry point, so that importing the rest does not load the glTF and Draco decoders).
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
export * from "./tiles3d/index.js";
