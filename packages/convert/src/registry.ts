/**
 * Which runner serves which job type and output format. The service asks here before accepting a job,
 * so an unsupported combination answers 422 at once instead of failing later.
 */
import type { Runner } from "./runner.js";
import { pointCloudRunners } from "./runners/pointcloud.js";

export interface RunnerEntry {
  type: string;
  /** Output formats (canonical spelling) this runner produces. */
  outputFormats: readonly string[];
  run: Runner;
}

/** Every runner realconv has. A job type/format pair not listed here is refused with 422. */
export const runners: readonly RunnerEntry[] = [...pointCloudRunners];

export function findRunner(type: string, outputFormat: string | undefined): RunnerEntry | undefined {
  return runners.find((e) => e.type === type && (outputFormat === undefined || e.outputFormats.includes(outputFormat)));
}
