/** `@realconv/formats/copc`: Cloud Optimized Point Cloud hierarchy and writer. */
export * from "./hierarchy.js";
export { CopcWriter, writeCopc, encodeCopc, copcCube, copcNodeOf, type CopcWriterOptions, type CopcKey, type CopcCube, type CopcNodeRecords } from "./writer.js";
