import type { RunnerEntry } from "../../contract/declaration.js";
import { pointCloudConversion, pointCloudOptimization } from "./declaration.js";

const PRODUCED = ["LAS", "LAZ", "E57", "COPC", "OPC", "3DTilesPnts", "3DTilesGlbc"] as const;

export const pointCloudConversionEntry: RunnerEntry<typeof pointCloudConversion> = {
  declaration: pointCloudConversion,
  produces: PRODUCED,
  load: async () => (await import("./run.js")).runConversion,
};

export const pointCloudOptimizationEntry: RunnerEntry<typeof pointCloudOptimization> = {
  declaration: pointCloudOptimization,
  produces: PRODUCED,
  load: async () => (await import("./run.js")).runOptimization,
};
