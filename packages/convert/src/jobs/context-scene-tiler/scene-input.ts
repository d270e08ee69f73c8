/** The ContextScene document of a ContextSceneTiler job, and the SRS its objects are in. */
import { parseContextScene, type ContextScene } from "@realconv/formats";
import type { RunnerOptions } from "../../contract/declaration.js";
import { ConversionError, type InputFile, type RunnerContext } from "../../contract/runner.js";
import { optionCrs } from "../../pointcloud/crs.js";
import type { contextSceneTiler } from "./declaration.js";

export type Options = RunnerOptions<typeof contextSceneTiler>;

/** A scene document larger than this is not a ContextScene worth reading whole. */
const MAX_SCENE_BYTES = 512 * 1024 * 1024;

export interface SceneInput {
  file: InputFile;
  scene: ContextScene;
  /** Every file of the scene's reality data, for the files it refers to. */
  files: InputFile[];
}

export async function sceneDocument(ctx: RunnerContext<Options>): Promise<SceneInput> {
  const dataset = ctx.inputs.scene?.[0];
  if (!dataset) throw new ConversionError("InputData_Invalid", "Invalid input data", "The job has no ContextScene input.");
  const files = await dataset.files();
  const byName = (re: RegExp) => files.filter((f) => re.test(f.path.split("/").pop() ?? ""));
  const root = dataset.rootDocument ? files.find((f) => f.path === dataset.rootDocument) : undefined;
  // CC Orientations are named Orientations.xml (with their tie points often in a second XML file).
  const named = byName(/^contextscene\.(xml|json)$/i).length > 0 ? byName(/^contextscene\.(xml|json)$/i) : byName(/^orientations\.xml$/i);
  const any = byName(/\.(xml|json)$/i);
  const file = root ?? (named.length === 1 ? named[0] : undefined) ?? (any.length === 1 ? any[0] : undefined);
  if (!file) {
    throw new ConversionError(
      "InputData_Invalid",
      "Invalid input data",
      "The reality data %1 holds no ContextScene document (a ContextScene.xml or ContextScene.json file, or its root document).",
      [dataset.id],
    );
  }
  if (file.size > MAX_SCENE_BYTES) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The ContextScene %1 is larger than %2 bytes.", [file.path, String(MAX_SCENE_BYTES)]);
  }
  const bytes = await file.read(0, file.size);
  return { file, scene: parseContextScene(bytes, file.path), files };
}

/**
 * The SRS of a kind of object: `inputCrs`, else the SRS it names (`srsId`), else the photo collection's,
 * else the scene's only one; undefined for local coordinates.
 */
export function sceneCrs(ctx: RunnerContext<Options>, scene: ContextScene, srsId?: string): string | undefined {
  const given = optionCrs(ctx.options, "inputCrs");
  if (given) return given;
  const id = srsId ?? scene.photoSrsId ?? (scene.spatialReferenceSystems.size === 1 ? [...scene.spatialReferenceSystems.keys()][0] : undefined);
  const definition = id !== undefined ? scene.spatialReferenceSystems.get(id) : undefined;
  if (!definition || /^local\b/i.test(definition.trim())) return undefined;
  return definition;
}

