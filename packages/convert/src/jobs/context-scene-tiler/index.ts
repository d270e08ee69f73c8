import type { RunnerEntry } from "../../contract/declaration.js";
import { contextSceneTiler } from "./declaration.js";

/** Declared for the API; not run yet (jobs answer 422 UnsupportedFormat). */
export const contextSceneTilerEntry: RunnerEntry<typeof contextSceneTiler> = { declaration: contextSceneTiler, produces: [] };
