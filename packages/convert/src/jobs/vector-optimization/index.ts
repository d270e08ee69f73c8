import type { RunnerEntry } from "../../contract/declaration.js";
import { vectorOptimization } from "./declaration.js";

export const vectorOptimizationEntry: RunnerEntry<typeof vectorOptimization> = {
  declaration: vectorOptimization,
  produces: ["GeoJSON", "FeatureDB"],
  load: async () => (await import("./run.js")).runVectorOptimization,
};
