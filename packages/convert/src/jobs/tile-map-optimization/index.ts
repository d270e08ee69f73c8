import type { RunnerEntry } from "../../contract/declaration.js";
import { tileMapOptimization } from "./declaration.js";

/** Declared for the API; no format is produced yet (jobs answer 422 UnsupportedFormat). */
export const tileMapOptimizationEntry: RunnerEntry<typeof tileMapOptimization> = { declaration: tileMapOptimization, produces: [] };
