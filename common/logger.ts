// The one pino logger factory: JSON lines for machines, pino-pretty lines for a person at a terminal, and every
// path that could hold a secret redacted in both (redaction runs before formatting).
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

/** Paths censored in every log line, at the top level and one or two levels down. */
export const REDACTED_PATHS: readonly string[] = [
  "privateKey",
  "*.privateKey",
  "*.*.privateKey",
  "key",
  "*.key",
  "secret",
  "*.secret",
  "mnemonic",
  "*.mnemonic",
  "KEEPER_PRIVATE_KEY",
  "*.KEEPER_PRIVATE_KEY",
  "env.KEEPER_PRIVATE_KEY",
  "headers.authorization",
  "*.headers.authorization",
];

export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
/** auto: pretty when stdout is a terminal, JSON otherwise */
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  /** pino level; default "info" */
  level?: string;
  /** default "auto" */
  format?: LogFormat;
  /** pino's `name` field */
  name?: string;
  /** where JSON lines go (tests); always JSON, whatever `format` says. Default stdout. */
  destination?: DestinationStream;
}

/** What `format` means for this process: "auto" looks at whether stdout is a terminal. */
export function resolveLogFormat(format: LogFormat = "auto", stdout: { isTTY?: boolean } = process.stdout): "json" | "pretty" {
  if (format !== "auto") return format;
  return stdout.isTTY ? "pretty" : "json";
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? "info",
    redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
    ...(opts.name ? { name: opts.name } : {}),
  };
  if (opts.destination) return pino(options, opts.destination);
  if (resolveLogFormat(opts.format) === "json") return pino(options, pino.destination(1));
  return pino(options, prettyStream(Boolean(process.stdout.isTTY)));
}

/** One line per record: time, level, [component], message, then the record's fields inline. */
export function prettyStream(colorize: boolean, destination: number | DestinationStream = 1): DestinationStream {
  return pretty({
    colorize,
    sync: true,
    destination,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss",
    // Bulky fields a person does not read at a glance (alert bodies, the summary counts already in the message).
    ignore: "pid,hostname,name,component,body,bodies,marginCalls",
    messageFormat: "{if component}[{component}] {end}{msg}",
  });
}

export type { Logger };
