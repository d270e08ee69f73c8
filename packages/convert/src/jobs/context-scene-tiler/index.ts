import type { RunnerEntry } from "../../contract/declaration.js";
import { contextSceneTiler } from "./declaration.js";

export const contextSceneTilerEntry: RunnerEntry<typeof contextSceneTiler> = {
  declaration: contextSceneTiler,
  produces: [],
  load: async () => (await import("./run.js")).runContextSceneTiler,
};
