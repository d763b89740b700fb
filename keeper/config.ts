// Keeper configuration: one zod schema, parsed once at start-up, with every default documented beside it.
import { z } from "zod";
import { DEFAULT_PROTOCOL } from "../protocols";
import { parseUnitsExact } from "../common/units";
import { KeeperConfigError } from "./errors";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address")
  .transform((s) => s as `0x${string}`);

/** Decimal USD amount ("12.5") → 8-decimal base units, the unit of oracle prices and of bonus values. */
const usdBase = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .refine((s) => /^\d+(\.\d{1,8})?$/.test(s), "must be a non-negative USD amount with at most 8 decimals")
  .transform((s) => parseUnitsExact(s, 8));

/** Decimal gwei ("150.5") → wei. */
const gweiToWei = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .refine((s) => /^\d+(\.\d{1,9})?$/.test(s), "must be a non-negative gwei amount with at most 9 decimals")
  .transform((s) => parseUnitsExact(s, 9));

/** Env-friendly boolean: z.coerce.boolean() would read "false" as true, so the words are spelled out. */
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"]).transform((s) => s === "true" || s === "1" || s === "yes")]);

const int = (min: number) => z.coerce.number().int().min(min);

export const keeperConfigSchema = z.object({
  /** the market's liquidation contract (a deployment file's `pool`; required) */
  pool: address,
  /** the adapter (protocols/<name>) that sizes and sends liquidations on it; default the deployment file's, else the
   *  project's own pool */
  protocol: z.string().min(1).default(DEFAULT_PROTOCOL),
  /** BullMQ queue name. Default "liquidations". */
  queueName: z
    .string()
    .min(1)
    .regex(/^[^:]+$/, "must not contain ':'")
    .default("liquidations"),
  /**
   * Redis key prefix for the queue and the signer lock. Must contain a Redis Cluster hash tag (`{...}`) so every
   * key of the queue lands in one slot. Default "{marginwatch}".
   */
  prefix: z
    .string()
    .regex(/\{[^{}]+\}/, "must contain a Redis Cluster hash tag such as {marginwatch}")
    .default("{marginwatch}"),
  /** Jobs one worker process runs in parallel (sends are still serialised per signer). Default 2. */
  concurrency: int(1).default(2),
  /** Simulate and price only; never send (outcome "dry-run"). Default false. */
  dryRun: bool.default(false),
  /** Minimum expected profit after gas, USD. Default "1". */
  minProfitUsd: usdBase.default("1"),
  /**
   * Where the native (gas) token's USD price comes from: a listed asset's symbol or address whose oracle feed is
   * read, default "WETH"; or `nativePriceFeed`, a Chainlink aggregator address, which wins when set.
   */
  nativePriceAsset: z.string().min(1).default("WETH"),
  nativePriceFeed: address.optional(),
  /** Hard cap on maxFeePerGas, gwei, for first sends and replacements. Default "500". */
  maxFeePerGasGwei: gweiToWei.default("500"),
  /** Gas limit = estimate × this / 10000 (headroom for state drift between estimate and inclusion). Default 12000. */
  gasLimitMultiplierBps: int(10_000).default(12_000),
  /** A transaction not mined after this long is replaced at the same nonce with higher fees. Default 30000 ms. */
  replaceAfterMs: int(100).default(30_000),
  /** Fee bump per replacement, bps; nodes reject replacements under +10% (some +12.5%). Default 1250, minimum 1250. */
  feeBumpBps: int(1_250).default(1_250),
  /** Receipt / replacement poll interval. Default 500 ms. */
  pollIntervalMs: int(10).default(500),
  /** Attempts per job for transient errors (RPC timeouts, refused connections). Default 5. */
  attempts: int(1).default(5),
  /** First retry delay; doubles each attempt, with jitter (each delay drawn from 50–100% of its value). Default 1000 ms. */
  backoffMs: int(0).default(1_000),
  /** Completed jobs are kept this long so re-enqueueing the same opportunity stays a no-op. Default 86400 s. */
  keepCompletedSeconds: int(1).default(86_400),
  /** Failed jobs are kept this long for inspection. Default 604800 s (7 days). */
  keepFailedSeconds: int(1).default(604_800),
  /** BullMQ job lock; a worker that dies loses its jobs to the stalled checker after this. Default 30000 ms. */
  lockDurationMs: int(500).default(30_000),
  /** How often workers look for stalled jobs. Default 30000 ms. */
  stalledIntervalMs: int(100).default(30_000),
  /** How many times a job may stall (worker died) before it is failed. Default 2. */
  maxStalledCount: int(0).default(2),
  /** TTL of the Redis lock that serialises one signer's sends across processes. Default 30000 ms. */
  signerLockTtlMs: int(100).default(30_000),
  /** How long the last used nonce is remembered in Redis (covers RPC nodes whose pending view lags). Default 60000 ms. */
  nonceCacheTtlMs: int(100).default(60_000),
  /**
   * A job whose price reads revert (StalePrice, InvalidPrice, SequencerDown, GracePeriodNotOver, FeedNotSet) before
   * it sends is parked — delayed, no attempt used — and re-checked until the feed is usable again, for at most
   * this long from the first refusal; then it ends with outcome "price-unavailable". Env KEEPER_PRICE_WAIT_MS.
   * Default 600000 ms (10 minutes).
   */
  priceWaitMs: int(0).default(600_000),
  /** First re-check of a parked job; doubles on each re-check up to `priceRetryMaxMs`. Default 1000 ms. */
  priceRetryMs: int(10).default(1_000),
  /** Longest pause between two re-checks of a parked job (never below `priceRetryMs`). Default 10000 ms. */
  priceRetryMaxMs: int(10).default(10_000),
  /**
   * The health engine calls an account's HF unknown when it depends on a price that is not fresh (past its
   * heartbeat, invalid): by default the producer refuses such an account (outcome counter
   * marginwatch_keeper_refused_total{reason="price-unavailable"}), as the project's own pool would revert. Set true
   * for protocols whose oracle accepts stale prices (Aave V3: AaveOracle has no staleness check): an account whose
   * HF on the last known prices is below 1 is then enqueued (one job per account and position version while the
   * price stays stale), and the job re-checks the HF on chain before it sends. Env KEEPER_LIQUIDATE_ON_STALE_PRICE.
   * Default false.
   */
  liquidateOnStalePrice: bool.default(false),
  /**
   * Take the seized collateral as the protocol's interest-bearing token (Aave: the aToken, liquidationCall's
   * receiveAToken = true; the reserve's cash does not limit the seize) instead of the underlying; protocols without
   * one ignore it. Env KEEPER_RECEIVE_ATOKEN. Default false.
   */
  receiveAtoken: bool.default(false),
  /** Approve the pool for every listed asset at start-up where the allowance is insufficient. Default true. */
  approveOnStart: bool.default(true),
});

export type KeeperConfigInput = z.input<typeof keeperConfigSchema>;
export type KeeperConfig = z.output<typeof keeperConfigSchema>;

/** Validates a config object; the error names the first offending field. */
export function parseKeeperConfig(input: unknown): KeeperConfig {
  const parsed = keeperConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeeperConfigError(`keeper config: ${issue.path.join(".") || "<root>"} ${issue.message}`);
  }
  return parsed.data;
}

/** Environment variable of each config key (KEEPER_ + SCREAMING_SNAKE of the key, POOL via KEEPER_POOL). */
export const envNameOf = (key: string): string => `KEEPER_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** Reads every key from `env` (unset keys take their defaults); `overrides` win (e.g. the pool from a deployment file). */
export function keeperConfigFromEnv(env: NodeJS.ProcessEnv, overrides: Partial<KeeperConfigInput> = {}): KeeperConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(keeperConfigSchema.shape)) {
    const v = env[envNameOf(key)];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  return parseKeeperConfig({ ...raw, ...overrides });
}
