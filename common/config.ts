// The application's configuration: one zod schema read from the environment (and CLI flags), validated once at
// start-up. A wrong value stops the process with a message naming the variable. Keeper settings live in
// keeper/config.ts (KEEPER_* variables).
import { z } from "zod";
import { UserInputError } from "./errors";
import { LOG_FORMATS } from "./logger";

/** Env-friendly boolean: z.coerce.boolean() would read "false" as true, so the words are spelled out. */
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"]).transform((s) => s === "true" || s === "1" || s === "yes")]);
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const url = (protocols: string[]) =>
  z
    .string()
    .url()
    .refine((u) => protocols.some((p) => u.startsWith(p)), `must start with ${protocols.join(" or ")}`);

/** "warning:1.2,critical:1.05" → levels, highest first. */
const levels = z.string().transform((s, ctx) => {
  const out: { name: string; healthFactor: string }[] = [];
  for (const part of s
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9_-]*):(\d+(\.\d+)?)$/i.exec(part);
    if (!m || Number(m[2]) <= 1) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${part}" is not name:healthFactor with a health factor above 1 (e.g. warning:1.2)` });
      return z.NEVER;
    }
    out.push({ name: m[1]!, healthFactor: m[2]! });
  }
  return out.sort((a, b) => Number(b.healthFactor) - Number(a.healthFactor));
});

export const ENV_SCHEMA = {
  RPC_URL: url(["http://", "https://"]).optional().describe("JSON-RPC endpoint; unset = start an embedded Hardhat chain with a simulated market"),
  DEPLOYMENT_FILE: z.string().min(1).optional().describe("deployment JSON (protocol, chain id, addresses, start block); required with RPC_URL"),
  PROTOCOL: z
    .string()
    .min(1)
    .optional()
    .describe(
      "protocol adapter of the market the embedded chain deploys (protocols/<name>; default marginpool); with RPC_URL the deployment file names it",
    ),
  DATABASE_URL: url(["postgres://", "postgresql://"]).optional().describe("PostgreSQL; unset = embedded PGlite in DATA_DIR"),
  DATA_DIR: z.string().min(1).default(".data").describe("folder for PGlite data and the embedded chain's deployment file"),
  REDIS_URL: url(["redis://", "rediss://"]).default("redis://127.0.0.1:6379").describe("Redis for BullMQ (keeper and alerts queues)"),
  API_HOST: z.string().min(1).default("127.0.0.1").describe("HTTP API bind address"),
  API_PORT: int(0, 65535).default(8080).describe("HTTP API port (0 = any free port)"),
  CHAIN_PORT: int(1, 65535).default(8545).describe("port of the embedded Hardhat chain"),
  FINALITY_DEPTH: int(0, 10_000).optional().describe("blocks until final; default 12 on a real chain, 2 on the embedded one"),
  POLL_INTERVAL_MS: int(10, 600_000).default(1000).describe("head polling interval"),
  STALL_TIMEOUT_MS: int(1000).default(60_000).describe("head not advancing this long → /readyz 503"),
  AUDIT_SAMPLE_PER_BLOCK: int(0, 1000)
    .default(4)
    .describe("accounts checked against the protocol's own views at every published block (0 = auditor off)"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_FORMAT: z
    .enum(LOG_FORMATS, { errorMap: () => ({ message: `must be one of ${LOG_FORMATS.join(", ")} (auto: pretty at a terminal, JSON otherwise)` }) })
    .default("auto")
    .describe("log lines: auto (pretty when stdout is a terminal, else JSON), json, or pretty"),
  ALERT_LEVELS: levels.default("warning:1.2,critical:1.05").describe("margin-call levels name:HF, comma-separated (liquidatable < 1 is always on)"),
  ALERT_HYSTERESIS_BPS: int(0, 5000).default(200).describe("a level resolves once HF ≥ level × (1 + hysteresis)"),
  ALERT_WEBHOOK_URLS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(url(["http://", "https://"])))
    .describe("comma-separated webhook URLs (JSON POST, HMAC-SHA256 signed)"),
  ALERT_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional().describe("HMAC key for the X-Marginwatch-Signature header"),
  KEEPER_ENABLED: bool.default(true).describe("run keeper workers inside `start`"),
  SIM_BORROWERS: int(0, 100_000).default(300).describe("embedded chain: borrowers seeded"),
  SIM_SEED: int(0).default(42).describe("embedded chain: simulation seed"),
  SIM_TICK_MS: int(100).default(1500).describe("embedded chain: simulation tick"),
} as const;

const appConfigSchema = z.object(ENV_SCHEMA).superRefine((c, ctx) => {
  if (c.RPC_URL && !c.DEPLOYMENT_FILE) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["DEPLOYMENT_FILE"],
      message: "is required when RPC_URL is set (run `marginwatch deploy` or point it at your deployment JSON)",
    });
  }
  if (c.ALERT_WEBHOOK_URLS.length > 0 && !c.ALERT_WEBHOOK_SECRET) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["ALERT_WEBHOOK_SECRET"], message: "is required when ALERT_WEBHOOK_URLS is set" });
  }
});

export type AppConfig = z.output<typeof appConfigSchema>;

/** An invalid setting (environment or CLI flag): a user-input error, so the CLI exits with code 2. */
export class ConfigError extends UserInputError {}

const logConfigSchema = z.object({ LOG_LEVEL: ENV_SCHEMA.LOG_LEVEL, LOG_FORMAT: ENV_SCHEMA.LOG_FORMAT });
export type LogConfig = z.output<typeof logConfigSchema>;

/** LOG_LEVEL and LOG_FORMAT alone, for the commands that read no other setting of this schema (keeper, simulate). */
export function loadLogConfig(env: NodeJS.ProcessEnv, overrides: Partial<Record<keyof LogConfig, unknown>> = {}): LogConfig {
  return parseWith(logConfigSchema, pick(env, Object.keys(logConfigSchema.shape), overrides));
}

/** Reads the variables of ENV_SCHEMA from `env` (empty strings count as unset); `overrides` (CLI flags) win. */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: Partial<Record<keyof typeof ENV_SCHEMA, unknown>> = {}): AppConfig {
  return parseWith(appConfigSchema, pick(env, Object.keys(ENV_SCHEMA), overrides));
}

function pick(env: NodeJS.ProcessEnv, keys: string[], overrides: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const v = env[key];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) raw[k] = v;
  return raw;
}

function parseWith<S extends z.ZodTypeAny>(schema: S, raw: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path[0] ?? "config";
      const shown =
        typeof raw[key as string] === "string" && !/SECRET|KEY|PASSWORD|URL/.test(String(key))
          ? ` (got "${String(raw[key as string]).slice(0, 80)}")`
          : "";
      return `  ${String(key)}: ${i.message}${shown}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
