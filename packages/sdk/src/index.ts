/**
 * `@realconv/sdk`: a typed client for the Reality Conversion v2 and Reality Management v1 APIs, as realconv and
 * the hosted iTwin Platform service serve them. Runs in Node.js 20+ and in browsers (it uses `fetch`; transfers go
 * through `@azure/storage-blob`).
 */
import { Transport, type ClientOptions } from "./http.js";
import { Jobs } from "./jobs.js";
import { RealityDataClient } from "./reality-data.js";

export interface RealconvClient {
  jobs: Jobs;
  realityData: RealityDataClient;
}

export function createClient(options: ClientOptions): RealconvClient {
  const http = new Transport(options);
  return { jobs: new Jobs(http), realityData: new RealityDataClient(http) };
}

export type { ClientOptions, RetryOptions } from "./http.js";
export { RealconvError } from "./errors.js";
export { FINAL_STATES, Jobs, type ListOptions, type WaitOptions } from "./jobs.js";
export { RealityDataClient } from "./reality-data.js";
export type { DownloadOptions, UploadInput } from "#platform";
export type { RemoteFile, TransferProgress, UploadedFile, UploadOptions, WebUploadInput } from "./transfer.js";
export type * from "./reality-data-types.js";
export type * from "./wire.js";
