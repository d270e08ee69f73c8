export * from "./contract/runner.js";
export * from "./contract/options.js";
export * from "./contract/declaration.js";
export * from "./registry.js";
export * from "./host/run-job.js";
export * from "./host/scratch.js";
export * from "./host/local-io.js";
export { createLazPool, LazWorkerPool } from "./parallel/laz-pool.js";
// What a FeatureDB output holds, for the service that queries it.
export { MANIFEST as FEATUREDB_MANIFEST, STORE_FORMAT as FEATUREDB_FORMAT, type CollectionManifest } from "./vector/featuredb.js";
