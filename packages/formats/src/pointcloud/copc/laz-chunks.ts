/**
 * The LAZ pieces a COPC file needs, in one place: everything COPC takes from the LAZ encoder goes
 * through here, so where the encoder lives is this file's business only.
 */
import { createLazEncoder, lazVlrRecord } from "../lazenc/index.js";

export { encodeChunkTable } from "../lazenc/index.js";
export { inThreadLazCompressor, type LazChunkCompressor } from "../lazenc/parallel.js";

/** The whole `laszip encoded` VLR for variable-size chunks (one per node) of this record format. */
export function variableChunkLazVlr(pdrf: number, recordLength: number): Uint8Array {
  return lazVlrRecord(createLazEncoder(pdrf, recordLength, { variableChunks: true }).vlrPayload);
}
