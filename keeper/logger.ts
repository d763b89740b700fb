// The keeper's pino logger: JSON lines with every path that could hold a secret redacted (defence in depth).
import pino, { type DestinationStream, type Logger } from "pino";

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

export interface KeeperLoggerOptions {
  /** pino level; default "info" */
  level?: string;
  /** where lines go; default stdout */
  destination?: DestinationStream;
}

export function createKeeperLogger(opts: KeeperLoggerOptions = {}): Logger {
  return pino(
    {
      name: "keeper",
      level: opts.level ?? "info",
      redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
    },
    opts.destination ?? pino.destination(1),
  );
}

export type { Logger };
