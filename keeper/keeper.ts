// createKeeper: wires config, clients, Redis, store and logger into a producer + worker pair with start/stop.
import type { ConnectionOptions } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Registry } from "prom-client";
import { erc20Abi, type LocalAccount } from "viem";
import { protocolNamed } from "../protocols";
import type { LiquidationAdapter, LiquidationVenue } from "../protocols/types";
import type { Logger } from "pino";
import { parseUnitsExact } from "../common/units";
import type { OutcomeRecorder } from "./outcome-types";
import { ensureApprovals } from "./approvals";
import { BalanceLedger } from "./balance-ledger";
import type { KeeperPublicClient, KeeperWalletClient } from "./chain/clients";
import type { KeeperConfig } from "./config";
import { KeeperConfigError } from "./errors";
import type { Address } from "./job";
import { LiquidationProcessor } from "./processor";
import { LiquidationProducer } from "./producer";
import { clearSignerState, NonceManager } from "./tx/nonce-manager";
import { TransactionSender } from "./tx/sender";
import { KeeperWorker } from "./worker";

export interface KeeperDeps {
  publicClient: KeeperPublicClient;
  /** must carry a local account (privateKeyToAccount): the keeper signs raw transactions itself */
  walletClient: KeeperWalletClient;
  /** where outcome rows are recorded (the indexer's store in `start` and `keeper`) */
  store: OutcomeRecorder;
  /** ioredis options for BullMQ and the signer lock */
  connection: RedisOptions;
  logger: Logger;
  /** prom-client registry for the keeper's metrics (marginwatch_keeper_refused_total); none by default */
  registry?: Registry;
  /** the protocol's liquidation side; default the registry's adapter named by `config.protocol` */
  liquidation?: LiquidationAdapter;
}

export interface Keeper {
  readonly address: Address;
  readonly producer: LiquidationProducer;
  readonly worker: KeeperWorker;
  readonly nonceManager: NonceManager;
  /** approves tokens where needed (unless disabled), then starts the worker */
  start(): Promise<void>;
  /**
   * Deletes every Redis key the keeper keeps for its signer under its prefix (signer lock, remembered nonces) and
   * returns their names. Call it before start() when the chain is new (an embedded chain started from genesis);
   * never while another process sends with this key on this prefix. Queue contents are not touched.
   */
  resetChainState(): Promise<string[]>;
  /** graceful: waits for active jobs to reach a safe point, then closes queues and Redis (not the store) */
  stop(): Promise<void>;
}

export async function createKeeper(config: KeeperConfig, deps: KeeperDeps): Promise<Keeper> {
  const account = deps.walletClient.account;
  if (account.type !== "local") throw new KeeperConfigError("the keeper needs a local account (private key) to sign its own transactions");
  const local = account as LocalAccount;
  const pc = deps.publicClient;
  const logger = deps.logger.child({ keeper: local.address });

  const protocol = deps.liquidation ?? protocolNamed(config.protocol).liquidation;
  const [chainId, venue] = await Promise.all([
    pc.getChainId(),
    protocol.connect(pc, { pool: config.pool }, { receiveInterestBearing: config.receiveAtoken }),
  ]);
  const assets = venue.assets;
  const nativePriceFeed = config.nativePriceFeed ?? (await resolveNativeFeed(pc, venue, config.nativePriceAsset));

  const redis = new Redis({ ...deps.connection, maxRetriesPerRequest: null });
  // Without a listener ioredis prints each reconnect failure as an unhandled error; it reconnects by itself.
  redis.on("error", (e: Error) => deps.logger.debug({ err: e.message }, "signer-lock Redis connection error"));
  const nonceManager = new NonceManager({
    publicClient: pc,
    address: local.address,
    redis,
    keyPrefix: config.prefix,
    lockTtlMs: config.signerLockTtlMs,
    cacheTtlMs: config.nonceCacheTtlMs,
    logger,
  });
  const sender = new TransactionSender({
    publicClient: pc,
    account: local,
    chainId,
    nonceManager,
    logger,
    replaceAfterMs: config.replaceAfterMs,
    feeBumpBps: config.feeBumpBps,
    maxFeePerGasCap: config.maxFeePerGasGwei,
    pollIntervalMs: config.pollIntervalMs,
  });
  const shutdown = new AbortController();
  const processor = new LiquidationProcessor({
    publicClient: pc,
    venue,
    errors: protocol,
    keeper: local.address,
    sender,
    store: deps.store,
    logger,
    ledger: new BalanceLedger(),
    nativePriceFeed,
    dryRun: config.dryRun,
    minProfitBase: config.minProfitUsd,
    maxFeePerGasCap: config.maxFeePerGasGwei,
    gasLimitMultiplierBps: config.gasLimitMultiplierBps,
    priceWaitMs: config.priceWaitMs,
    priceRetryMs: config.priceRetryMs,
    priceRetryMaxMs: config.priceRetryMaxMs,
    shutdown: shutdown.signal,
  });
  // ioredis options are what BullMQ accepts; its type only adds an index signature.
  const queueOpts = { connection: deps.connection as ConnectionOptions, queueName: config.queueName, prefix: config.prefix };
  const producer = new LiquidationProducer({
    ...queueOpts,
    attempts: config.attempts,
    backoffMs: config.backoffMs,
    keepCompletedSeconds: config.keepCompletedSeconds,
    keepFailedSeconds: config.keepFailedSeconds,
    liquidateOnStalePrice: config.liquidateOnStalePrice,
    registry: deps.registry,
  });
  const worker = new KeeperWorker({
    ...queueOpts,
    processor,
    shutdown,
    logger,
    concurrency: config.concurrency,
    lockDurationMs: config.lockDurationMs,
    stalledIntervalMs: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
  });

  let stopped = false;
  return {
    address: local.address,
    producer,
    worker,
    nonceManager,
    async start() {
      if (config.approveOnStart && !config.dryRun) {
        await ensureApprovals({
          publicClient: pc,
          account: local,
          chainId,
          nonceManager,
          pool: venue.spender,
          assets,
          maxFeePerGasCap: config.maxFeePerGasGwei,
          logger,
        });
      }
      worker.start();
      logger.info(
        {
          queue: config.queueName,
          prefix: config.prefix,
          concurrency: config.concurrency,
          dryRun: config.dryRun,
          minProfitBase: config.minProfitUsd.toString(),
        },
        "keeper started",
      );
    },
    async resetChainState() {
      const deleted = await nonceManager.clearAll();
      logger.info({ keys: deleted.length }, "cleared the signer's Redis state (lock, remembered nonces) for a new chain");
      return deleted;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await worker.close();
      await producer.close();
      redis.disconnect();
      logger.info("keeper stopped");
    },
  };
}

/** The aggregator behind a listed asset named by symbol ("WETH") or address. */
async function resolveNativeFeed(pc: KeeperPublicClient, venue: LiquidationVenue, wanted: string): Promise<Address> {
  const assets = venue.assets;
  let asset: Address | undefined;
  if (/^0x[0-9a-fA-F]{40}$/.test(wanted)) asset = assets.find((a) => a.toLowerCase() === wanted.toLowerCase());
  else {
    const symbols = await Promise.all(assets.map((a) => pc.readContract({ address: a, abi: erc20Abi, functionName: "symbol" })));
    asset = assets.find((_, i) => symbols[i]!.toUpperCase() === wanted.toUpperCase());
  }
  if (!asset) throw new KeeperConfigError(`nativePriceAsset ${wanted} is not a listed asset; set KEEPER_NATIVE_PRICE_FEED instead`);
  return venue.feedOf(asset);
}

/**
 * resetChainState() without a keeper: deletes the signer lock and remembered nonces of `address` under `prefix`
 * (see Keeper.resetChainState) over a short-lived connection, and returns the deleted key names.
 */
export async function resetKeeperState(connection: RedisOptions, prefix: string, address: Address): Promise<string[]> {
  const redis = new Redis({ ...connection, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined); // surfaced by the command below
  try {
    await redis.connect();
    return await clearSignerState(redis, prefix, address);
  } finally {
    redis.disconnect();
  }
}

/** Convenience for callers holding USD strings. */
export const usdToBase = (usd: string): bigint => parseUnitsExact(usd, 8);
