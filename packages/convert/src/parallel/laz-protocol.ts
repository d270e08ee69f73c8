/**
 * Messages between the LAZ pool and its threads. Typed arrays travel as transfers, never copies; every
 * buffer the main thread sends comes back (`spare`, or under the result), so buffers are freed by the
 * thread that allocated them and can be reused.
 */
import type { PointChunk } from "@realconv/formats";
import type { LasRecordLayout } from "@realconv/formats/las";
import type { RawLimits } from "@realconv/formats/laz";

export type LazTaskRequest =
  | { id: number; op: "compress"; pointFormat: number; recordLength: number; count: number; bytes: Uint8Array; out: Uint8Array }
  | { id: number; op: "decompress"; pdrf: number; recordLength: number; count: number; limits: RawLimits | undefined; bytes: Uint8Array; out: Uint8Array }
  /** Decompressed and decoded into columns (the thread keeps its records buffer). */
  | { id: number; op: "decompressColumns"; count: number; limits: RawLimits | undefined; layout: LasRecordLayout; bytes: Uint8Array }
  /** Tests only: ends the thread abruptly, as a crash would. */
  | { id: number; op: "crash" };

export type LazTaskResponse =
  /** `bytes`: the result, in the request's `out` buffer when it fitted. */
  | { id: number; bytes: Uint8Array; spare: ArrayBuffer[] }
  /** The decoded columns of a "decompressColumns" task, their buffers transferred. */
  | { id: number; columns: PointChunk; spare: ArrayBuffer[] }
  /** `at` set: a LazChunkError (the chunk does not decode; `at` its offset in the chunk); otherwise any other failure. */
  | { id: number; error: { message: string; at?: number }; spare: ArrayBuffer[] };
