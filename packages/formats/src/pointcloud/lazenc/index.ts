/** LASzip-compatible LAZ encoder (pure TypeScript). */
export { ArithmeticEncoder, IntegerCompressor } from "./arithmetic.js";
export { BitModel, SymbolModel } from "../laz/coder/models.js";
export {
  ChunkedEncoderBase,
  LazPointwiseEncoder,
  type LazChunkEncoder,
  type LazEncoderOptions,
  type LazFinish,
} from "./encoder.js";
export { type ChunkEntry, encodeChunkTable, lazVlrPayload, lazVlrRecord } from "./laszip-format.js";
export { BASE_RECORD_LENGTH, DEFAULT_CHUNK_SIZE, type LazItem, lazItemsFor, LASZIP_RECORD_ID, LASZIP_USER_ID } from "../laz/coder/layout.js";
export { LazLayeredEncoder } from "./layered.js";
export { type BytePatch, createLazEncoder, LasToLazTransformer, lasToLazStream, writeLazFile } from "./laz-file.js";
