import type { RunnerEntry } from "../registry.js";

/** PointCloudConversion / PointCloudOptimization runners (filled in by the point-cloud pipeline). */
export const pointCloudRunners: RunnerEntry[] = [];
