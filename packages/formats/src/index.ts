export * from "./io/byte-source.js";
export * from "./pointcloud/chunk.js";
