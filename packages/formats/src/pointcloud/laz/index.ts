/**
 * `@realconv/formats/laz`: the LAZ reader, the chunk table, and the chunk codecs a thread pool runs
 * (decoder and encoder of one chunk, and the streaming LAS-to-LAZ transformers that hand chunks to them).
 */
export { openLaz, isLazHeader, LAZ_DECODABLE_FORMATS, LazReader } from "./reader.js";
export { parseLaszipVlr, readChunkTable as readLazChunkTable, type LaszipVlr, type LazChunk } from "./chunk-table.js";
export { LazChunkError, inThreadLazDecompressor, type LazChunkDecompressor, type RawLimits } from "./decompressor.js";
export { decodeChunk } from "../lazdec/chunk.js";
export { LasToLazTransformer, lasToLazStream, writeLazFile, createLazEncoder, type BytePatch } from "../lazenc/laz-file.js";
export { inThreadLazCompressor, compressLazChunk, createLazChunkEncoder, ChunkingLasToLazTransformer, lasToLazStreamParallel, type LazChunkCompressor, type ParallelLazOptions } from "../lazenc/parallel.js";
