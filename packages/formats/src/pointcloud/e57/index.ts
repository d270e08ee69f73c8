/** `@realconv/formats/e57`: ASTM E57 reader and writer. */
export { openE57, looksLikeE57, E57Reader, type E57ReadOptions, type E57Scan, type E57ScanStats } from "./reader.js";
export { E57Writer, writeE57ToBytes, applyE57Patches, type E57WriterOptions, type E57ScanOptions, type E57ChunkInput, type E57WrittenScan, type E57ScanInput, type E57ByteSink, type E57Patch } from "./writer.js";
export type { E57Pose, E57Field, E57FieldType, E57ScanInfo } from "./model.js";
export { crc32c } from "./crc32c.js";
