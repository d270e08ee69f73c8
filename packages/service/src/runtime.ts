/**
 * The composition root: builds the adapters the configuration asks for (SQLite or PostgreSQL, local
 * files or Azure Blob) behind their ports. The API process and each worker process open one each.
 */
import type { Config } from "./config.js";
import { blobRoot, sqlitePath } from "./config.js";
import { connect, type Db } from "./adapters/db/connect.js";
import { SqlJobStore } from "./adapters/db/job-store.js";
import { SqlITwinRegistry } from "./adapters/db/itwin-registry.js";
import { SqlRealityDataStore } from "./adapters/db/reality-data-store.js";
import { SqlSignInCodeStore } from "./adapters/db/sign-in-code-store.js";
import { LocalBlobStore } from "./adapters/blob/local-blob-store.js";
import { AzureBlobStore } from "./adapters/blob/azure-blob-store.js";
import type { BlobStore } from "./ports/blob-store.js";
import type { JobRepository } from "./ports/job-repository.js";
import type { WorkQueue } from "./ports/work-queue.js";
import type { ITwinRegistry } from "./ports/itwins.js";
import type { RealityDataStore } from "./ports/reality-data.js";
import type { SignInCodeStore } from "./ports/sign-in-codes.js";

export interface Runtime {
  config: Config;
  db: Db;
  blobs: BlobStore;
  jobs: JobRepository;
  /** The same store in its other role: the queue workers claim jobs from. */
  queue: WorkQueue;
  itwins: ITwinRegistry;
  realityData: RealityDataStore;
  signInCodes: SignInCodeStore;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, options: { poolSize?: number } = {}): Promise<Runtime> {
  const db = await connect({ url: config.databaseUrl ?? sqlitePath(config), poolSize: options.poolSize });
  const blobs: BlobStore = config.azureStorageConnectionString
    ? new AzureBlobStore(config.azureStorageConnectionString)
    : new LocalBlobStore(blobRoot(config));
  const jobStore = new SqlJobStore(db.db, db.dialect, db);
  return {
    config,
    db,
    blobs,
    jobs: jobStore,
    queue: jobStore,
    itwins: new SqlITwinRegistry(db.db),
    realityData: new SqlRealityDataStore(db.db),
    signInCodes: new SqlSignInCodeStore(db.db),
    close: () => db.close(),
  };
}
