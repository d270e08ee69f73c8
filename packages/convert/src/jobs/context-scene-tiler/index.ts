import type { RunnerEntry } from "../../contract/declaration.js";
import { contextSceneTiler } from "./declaration.js";

const TILED = ["Cameras"];

export const contextSceneTilerEntry: RunnerEntry<typeof contextSceneTiler> = {
  declaration: contextSceneTiler,
  produces: [],
  load: async () => (await import("./run.js")).runContextSceneTiler,
  refuses: (options) => {
    const kind = (options.objectToTile as string | undefined) ?? contextSceneTiler.options.objectToTile.default;
    return TILED.includes(kind) ? undefined : { option: "objectToTile", message: `objectToTile ${kind} is not tiled by this server yet (it tiles ${TILED.join(", ")}).` };
  },
};
