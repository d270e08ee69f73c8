import pino, { type Logger } from "pino";

/** JSON logs on stdout (pino); the correlation id and job id ride along as bindings. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } });
}
