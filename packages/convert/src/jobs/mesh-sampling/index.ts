import type { RunnerEntry } from "../../contract/declaration.js";
import { meshSampling } from "./declaration.js";

/** Declared for the API; no format is produced yet (jobs answer 422 UnsupportedFormat). */
export const meshSamplingEntry: RunnerEntry<typeof meshSampling> = { declaration: meshSampling, produces: [] };
