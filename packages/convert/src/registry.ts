/**
 * Every job type realconv knows, one line each: its declaration (what the API accepts) and what this server
 * produces of it. A type/format pair an entry does not produce is refused with 422 when the job is created.
 * Runner code loads on first use, so importing the registry costs the API process nothing.
 */
import { entryProduces, type JobTypeDeclaration, type RunnerEntry } from "./contract/declaration.js";
import { contextSceneTilerEntry } from "./jobs/context-scene-tiler/index.js";
import { meshSamplingEntry } from "./jobs/mesh-sampling/index.js";
import { pointCloudConversionEntry, pointCloudOptimizationEntry } from "./jobs/pointcloud/index.js";
import { tileMapOptimizationEntry } from "./jobs/tile-map-optimization/index.js";
import { vectorOptimizationEntry } from "./jobs/vector-optimization/index.js";

export const registry: readonly RunnerEntry[] = [
  pointCloudConversionEntry,
  pointCloudOptimizationEntry,
  tileMapOptimizationEntry,
  vectorOptimizationEntry,
  meshSamplingEntry,
  contextSceneTilerEntry,
] as readonly RunnerEntry[];

export const declarations: readonly JobTypeDeclaration[] = registry.map((e) => e.declaration);

/** The entry of a job type, matched exactly (the service canonicalises spellings first). */
export function entryOf(type: string): RunnerEntry | undefined {
  return registry.find((e) => e.declaration.type === type);
}

/** The entry that runs this type and format, if this server produces it. */
export function findRunner(type: string, outputFormat: string | undefined): RunnerEntry | undefined {
  const entry = entryOf(type);
  return entry && entryProduces(entry, outputFormat) ? entry : undefined;
}
