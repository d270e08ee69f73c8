import pino, { type Logger } from "pino";
import { redactSecrets } from "./redact.js";

export interface LogDestination {
  write(line: string): unknown;
}

/**
 * JSON logs (pino) on stdout, or on `destination`; the correlation id and job id ride along as bindings.
 * Every line passes through redactSecrets, so a SAS signature or token in a URL or message is never written.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination: LogDestination = pino.destination(1)): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } }, { write: (line: string) => destination.write(redactSecrets(line)) });
}
