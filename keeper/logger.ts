// The keeper's pino logger: the common logger (JSON, or pretty at a terminal) named "keeper", secrets redacted.
import type { DestinationStream, Logger } from "pino";
import { createLogger, type LogFormat, REDACTED_PATHS } from "../common/logger";

export { REDACTED_PATHS };

export interface KeeperLoggerOptions {
  /** pino level; default "info" */
  level?: string;
  /** LOG_FORMAT: "auto" (default: pretty at a terminal), "json" or "pretty"; ignored with a destination */
  format?: LogFormat;
  /** where JSON lines go; default stdout */
  destination?: DestinationStream;
}

export function createKeeperLogger(opts: KeeperLoggerOptions = {}): Logger {
  return createLogger({ name: "keeper", level: opts.level, format: opts.format, destination: opts.destination });
}

export type { Logger };
