import type { RunnerEntry } from "../../contract/declaration.js";
import { tileMapOptimization } from "./declaration.js";

export const tileMapOptimizationEntry: RunnerEntry<typeof tileMapOptimization> = {
  declaration: tileMapOptimization,
  produces: ["XYZTileMap"],
  load: async () => (await import("./run.js")).runTileMapOptimization,
};
