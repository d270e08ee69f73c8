/**
 * One way to run a job, for every host (the service's worker, `realconv convert`): the entry's runner is
 * loaded, the options get the declared defaults, and a failure becomes the message users see.
 */
import { FormatError } from "@realconv/formats";
import { entryProduces, type RunnerEntry } from "../contract/declaration.js";
import { withDefaults } from "../contract/options.js";
import { ConversionError, throwIfAborted, type JobMessage, type RunnerContext } from "../contract/runner.js";

/** A run as the host prepares it: options as validated by the service, before defaults. */
export type JobRun = Omit<RunnerContext, "options"> & { readonly options: Readonly<Record<string, unknown>> };

/** Runs `entry` on `run`; resolves when the output is complete, throws the failure or the abort reason. */
export async function runJob(entry: RunnerEntry, run: JobRun): Promise<void> {
  const outputFormat = typeof run.options.outputFormat === "string" ? run.options.outputFormat : undefined;
  if (!entryProduces(entry, outputFormat) || !entry.load) {
    throw new ConversionError("UnsupportedFormat", "Unsupported format", "%1 is not produced by this server.", [
      outputFormat ? `${entry.declaration.type} to ${outputFormat}` : entry.declaration.type,
    ]);
  }
  const refused = entry.refuses?.(run.options);
  if (refused) throw new ConversionError("UnsupportedOption", "Unsupported option", "%1", [refused.message]);
  const runner = await entry.load();
  const options = { ...withDefaults(entry.declaration.options, run.options), ...(outputFormat ? { outputFormat } : {}) };
  await runner({ ...run, options } as Parameters<typeof runner>[0]);
  throwIfAborted(run.signal);
}

/** The message users see for a failure: the runner's own ConversionError, a file's FormatError, else internal. */
export function failureMessage(error: unknown): JobMessage {
  if (error instanceof ConversionError) return error.toMessage();
  if (error instanceof FormatError) {
    return {
      code: "InputData_Invalid",
      title: "Invalid input data",
      message: "The file %1 could not be read at byte %2: %3",
      params: [error.file, String(error.offset), error.message],
    };
  }
  return {
    code: "InternalError",
    title: "Internal error",
    message: "The conversion stopped on an internal error: %1",
    params: [error instanceof Error ? error.message : String(error)],
  };
}

/** `%1`.. of a message replaced by its params. */
export function renderMessage(m: JobMessage): string {
  return m.message.replace(/%(\d+)/g, (_, i: string) => m.params[Number(i) - 1] ?? "");
}
