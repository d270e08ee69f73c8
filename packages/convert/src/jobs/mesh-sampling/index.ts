import type { RunnerEntry } from "../../contract/declaration.js";
import { meshSampling } from "./declaration.js";

/**
 * LAS, LAZ and E57 are written; the tiled outputs (3DTilesPnts, 3DTilesGlbc, OPC, COPC) are refused with 422
 * UnsupportedFormat (their engine takes the same point parts: `openMeshCloud` in ../../mesh/cloud.ts).
 */
export const meshSamplingEntry: RunnerEntry<typeof meshSampling> = {
  declaration: meshSampling,
  produces: ["LAS", "LAZ", "E57"],
  load: async () => (await import("./run.js")).runMeshSampling,
};
