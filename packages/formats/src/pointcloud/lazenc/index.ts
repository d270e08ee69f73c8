/** LASzip-compatible LAZ encoder (pure TypeScript). */
export { ArithmeticEncoder, BitModel, IntegerCompressor, SymbolModel } from "./arithmetic.js";
export {
  ChunkedEncoderBase,
  LazPointwiseEncoder,
  type LazChunkEncoder,
  type LazEncoderOptions,
  type LazFinish,
} from "./encoder.js";
export {
  BASE_RECORD_LENGTH,
  type ChunkEntry,
  DEFAULT_CHUNK_SIZE,
  encodeChunkTable,
  type LazItem,
  lazItemsFor,
  lazVlrPayload,
  lazVlrRecord,
  LASZIP_RECORD_ID,
  LASZIP_USER_ID,
} from "./laszip-format.js";
export { LazLayeredEncoder } from "./layered.js";
export { type BytePatch, createLazEncoder, LasToLazTransformer, lasToLazStream, writeLazFile } from "./laz-file.js";
