import type { RunnerEntry } from "../../contract/declaration.js";
import { meshSampling } from "./declaration.js";

/** Every point-cloud output but POD: LAS, LAZ, E57 through the writers, the tiled ones through the octree engine. */
export const meshSamplingEntry: RunnerEntry<typeof meshSampling> = {
  declaration: meshSampling,
  produces: ["LAS", "LAZ", "E57", "OPC", "3DTilesPnts", "3DTilesGlbc", "COPC"],
  load: async () => (await import("./run.js")).runMeshSampling,
};
