/** Test-only: a PointCloudConversion of in-memory files through the registered runner. */
import { findRunner } from "../registry.js";
import type { InputFile, JobMessage, RunnerContext } from "../runner.js";
import { dataset, MemorySink } from "./memory-io.js";

export interface ConversionRun {
  sink: MemorySink;
  warnings: JobMessage[];
}

/** Converts `files` (one dataset) to `outputFormat`; rejects with whatever the runner throws. */
export async function runPointCloudConversion(files: InputFile[], outputFormat: string): Promise<ConversionRun> {
  const entry = findRunner("PointCloudConversion", outputFormat);
  if (!entry) throw new Error(`no PointCloudConversion runner for ${outputFormat}`);
  const sink = new MemorySink();
  const warnings: JobMessage[] = [];
  const ctx: RunnerContext = {
    jobId: "job-1",
    type: "PointCloudConversion",
    options: { outputFormat },
    inputs: { pointCloud: [dataset("d1", files)] },
    output: sink,
    progress: () => undefined,
    warn: (m) => warnings.push(m),
    signal: new AbortController().signal,
  };
  await entry.run(ctx);
  return { sink, warnings };
}
