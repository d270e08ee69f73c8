/**
 * Messages between the LAZ pool and its threads. Typed arrays travel as transfers, never copies; every
 * buffer the main thread sends comes back (`spare`, or under the result), so buffers are freed by the
 * thread that allocated them and can be reused.
 */
import type { RawLimits } from "@realconv/formats/laz";

export type LazTaskRequest =
  | { id: number; op: "compress"; pointFormat: number; recordLength: number; count: number; bytes: Uint8Array; out: Uint8Array }
  | { id: number; op: "decompress"; pdrf: number; recordLength: number; count: number; limits: RawLimits | undefined; bytes: Uint8Array; out: Uint8Array }
  /** Tests only: ends the thread abruptly, as a crash would. */
  | { id: number; op: "crash" };

export type LazTaskResponse =
  /** `bytes`: the result, in the request's `out` buffer when it fitted. */
  | { id: number; bytes: Uint8Array; spare: ArrayBuffer[] }
  /** `at` set: a LazChunkError (the chunk does not decode; `at` its offset in the chunk); otherwise any other failure. */
  | { id: number; error: { message: string; at?: number }; spare: ArrayBuffer[] };
