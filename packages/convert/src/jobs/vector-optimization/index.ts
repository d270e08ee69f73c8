import type { RunnerEntry } from "../../contract/declaration.js";
import { vectorOptimization } from "./declaration.js";

/** Declared for the API; no format is produced yet (jobs answer 422 UnsupportedFormat). */
export const vectorOptimizationEntry: RunnerEntry<typeof vectorOptimization> = { declaration: vectorOptimization, produces: [] };
