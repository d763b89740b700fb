// `marginwatch start`: everything in one process — chain (embedded or RPC_URL), indexer + health engine, HTTP API
// and dashboard, keeper workers fed by the producer, margin-call alerts, and (embedded) the market simulation.
import path from "node:path";
import pino, { type Logger } from "pino";
import { Registry, collectDefaultMetrics } from "prom-client";
import { createPublicClient, createWalletClient, http, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { FastifyInstance } from "fastify";
import { Queue } from "bullmq";
import type { AppConfig } from "../common/config";
import { readDeployment, writeDeployment, type Deployment } from "../common/deployment";
import { deployProtocol } from "../common/deploy";
import { startHardhatNode, HARDHAT_KEYS, type NodeHandle } from "../common/hardhat-node";
import { Indexer, type BlockProcessed } from "../indexer/indexer";
import { HealthEngine, type HealthUpdate } from "../indexer/health";
import { openStore } from "../indexer/store";
import type { Store } from "../indexer/store/types";
import { buildApi, listen } from "../indexer/api";
import { AlertDispatcher } from "../indexer/alerts/dispatcher";
import { createKeeper, keeperConfigFromEnv, loadPrivateKey, type Keeper } from "../keeper";
import { redisOptionsFromUrl } from "../keeper/main";
import { REDACTED_PATHS } from "../keeper/logger";
import { MarketSimulation } from "./simulation";
import { checkRedis } from "../common/redis-check";
import type { Crossing } from "../indexer/health/types";

export interface App {
  url: string;
  deployment: Deployment;
  indexer: Indexer;
  health: HealthEngine;
  store: Store;
  keeper: Keeper | null;
  alerts: AlertDispatcher;
  simulation: MarketSimulation | null;
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** run the indexer, API and alerts (default true) */
  index?: boolean;
  /** run keeper workers (default config.KEEPER_ENABLED) */
  keeper?: boolean;
  /** run the market simulation on the embedded chain (default true) */
  simulate?: boolean;
  /** forget the stored index and re-index from the deployment block */
  reset?: boolean;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" } });
}

export async function startApp(config: AppConfig, opts: StartOptions = {}): Promise<App> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const embedded = !config.RPC_URL;
  const runKeeper = opts.keeper ?? config.KEEPER_ENABLED;
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e: unknown) => logger.warn({ err: String(e) }, "error while stopping"));
  };

  try {
    const redis = redisOptionsFromUrl(config.REDIS_URL);
    await checkRedis(config.REDIS_URL, redis);

    // ---- chain
    let node: NodeHandle | null = null;
    let client: PublicClient;
    let deployment: Deployment;
    if (embedded) {
      logger.info({ port: config.CHAIN_PORT }, "no RPC_URL: starting an embedded Hardhat chain");
      node = await startHardhatNode(config.CHAIN_PORT);
      cleanups.push(() => node!.stop());
      client = node.publicClient;
      deployment = await deployProtocol({ publicClient: client, walletClient: node.wallet(0) });
      const file = path.join(config.DATA_DIR, "embedded", "deployment.json");
      writeDeployment(file, deployment);
      logger.info({ pool: deployment.pool, file }, "protocol deployed on the embedded chain");
      // Keep time moving between transactions, as a real chain does.
      await node.rpc("evm_setIntervalMining", [1000]);
    } else {
      deployment = readDeployment(config.DEPLOYMENT_FILE!);
      client = createPublicClient({ transport: http(config.RPC_URL, { batch: true, retryCount: 0, timeout: 10_000 }), cacheTime: 0 }) as PublicClient;
    }

    // ---- store (a fresh embedded chain starts from an empty store: the old one describes another chain)
    const dataDir = embedded ? path.join(config.DATA_DIR, "embedded", "pglite") : path.join(config.DATA_DIR, "pglite");
    const store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir });
    cleanups.push(() => store.close());
    if (embedded || opts.reset) await store.reset();

    // Queues of an embedded run are per chain instance: a previous run's job ids must not swallow this run's.
    const prefix = embedded ? `{marginwatch-embedded-${config.CHAIN_PORT}}` : env.KEEPER_PREFIX || "{marginwatch}";
    if (embedded) await obliterate(redis, prefix, ["liquidations", "alerts", "alerts-webhooks"]);

    // ---- alerts
    const symbols = new Map(deployment.assets.map((a) => [a.address.toLowerCase(), a.symbol]));
    const alerts = new AlertDispatcher({
      connection: redis, logger, prefix, webhookUrls: config.ALERT_WEBHOOK_URLS, webhookSecret: config.ALERT_WEBHOOK_SECRET,
      symbolOf: (a) => symbols.get(a.toLowerCase()) ?? null,
    });
    if (embedded) await alerts.clearState();
    alerts.start();
    cleanups.push(() => alerts.close());

    // ---- indexer + health engine
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    let health!: HealthEngine;
    const healthOptions = { levels: config.ALERT_LEVELS, hysteresisBps: config.ALERT_HYSTERESIS_BPS };
    const indexer = new Indexer({
      client, store, deployment, logger: logger.child({ component: "indexer" }),
      createHealth: (state) => (health = new HealthEngine(state, healthOptions)),
      config: {
        finalityDepth: config.FINALITY_DEPTH ?? (embedded ? 2 : 12),
        pollIntervalMs: embedded ? Math.min(config.POLL_INTERVAL_MS, 250) : config.POLL_INTERVAL_MS,
        stallTimeoutMs: config.STALL_TIMEOUT_MS,
      },
    });

    // ---- keeper
    let keeper: Keeper | null = null;
    if (runKeeper) {
      const keeperEnv = embedded && !env.KEEPER_PRIVATE_KEY && !env.KEEPER_PRIVATE_KEY_FILE ? { ...env, KEEPER_PRIVATE_KEY: HARDHAT_KEYS[1] } : env;
      const keeperConfig = keeperConfigFromEnv(keeperEnv, { pool: deployment.pool, prefix, ...(embedded ? { replaceAfterMs: 5_000, pollIntervalMs: 100 } : {}) });
      const key = loadPrivateKey(keeperEnv);
      const transport = embedded ? http(node!.url, { retryCount: 1 }) : http(config.RPC_URL, { retryCount: 1, timeout: 10_000 });
      keeper = await createKeeper(keeperConfig, {
        publicClient: createPublicClient({ transport, pollingInterval: keeperConfig.pollIntervalMs, cacheTime: 0 }) as never,
        walletClient: createWalletClient({ transport, account: privateKeyToAccount(key.reveal()) }) as never,
        store, connection: redis, logger: logger.child({ component: "keeper" }),
      });
      cleanups.push(() => keeper!.stop());
    }

    // ---- simulation (embedded): seed before indexing so `start` shows a populated market
    let simulation: MarketSimulation | null = null;
    if (embedded && (opts.simulate ?? true)) {
      simulation = new MarketSimulation({
        url: node!.url, publicClient: client, deployment, adminKey: HARDHAT_KEYS[0], fundAddresses: keeper ? [keeper.address] : [],
        borrowers: config.SIM_BORROWERS, seed: config.SIM_SEED, tickMs: config.SIM_TICK_MS, logger: logger.child({ component: "simulation" }),
      });
      await simulation.seed();
      cleanups.push(() => simulation!.stop());
    }

    if (keeper) await keeper.start();
    await indexer.start();
    cleanups.push(() => indexer.stop());

    // ---- wiring: health updates → producer and alerts; oracle faults → alerts
    let lastSnapshot = 0n;
    indexer.on("block", (ev: BlockProcessed) => {
      void onBlock(ev).catch((e: unknown) => logger.error({ err: (e as Error).message }, "post-block work failed"));
    });
    const onBlock = async (ev: BlockProcessed) => {
      const upd = ev.health as HealthUpdate | undefined;
      if (!upd) return;
      if (keeper) {
        const opps = [
          ...health.liquidatable().map((l) => ({ account: l.account, healthFactor: l.healthFactor, since: l.since, positionVersion: l.positionVersion, status: "liquidatable" as const })),
          ...health.unknown().map((a) => ({ account: a, healthFactor: 0n, since: ev.block.number, positionVersion: health.positionVersion(a), status: "unknown" as const })),
        ];
        const r = await keeper.producer.enqueueOpportunities(opps, { blockNumber: ev.block.number, blockHash: ev.block.hash });
        if (r.enqueued) logger.info({ block: String(ev.block.number), ...r }, "liquidation jobs enqueued");
      }
      const card = (account: string) => {
        const h = health.account(account as `0x${string}`, ev.block.timestamp);
        return h ? { healthFactor: h.display.healthFactor, totalCollateralUSD: h.display.totalCollateralUSD, totalBorrowsUSD: h.display.totalBorrowsUSD, availableBorrowsUSD: h.display.availableBorrowsUSD, borrowPowerUsed: h.display.borrowPowerUsed } : null;
      };
      const liquidatableCrossings: Crossing[] = [
        ...upd.liquidatableAdded.map((account) => ({ account, level: "liquidatable", direction: "down" as const, healthFactor: health.account(account, ev.block.timestamp)?.healthFactor ?? 0n })),
        ...upd.liquidatableRemoved.map((account) => ({ account, level: "liquidatable", direction: "up" as const, healthFactor: health.account(account, ev.block.timestamp)?.healthFactor ?? 0n })),
      ];
      await alerts.onCrossings([...upd.crossings, ...liquidatableCrossings], ev.block.number, card);
      if (ev.block.number - lastSnapshot >= 50n) {
        lastSnapshot = ev.block.number;
        await store.insertRiskSnapshot({ blockNumber: ev.block.number, timestamp: ev.block.timestamp, payload: health.aggregates(ev.block.timestamp) });
      }
    };
    indexer.on("alert", (a) => void alerts.onOracleAlerts([a]).catch((e: unknown) => logger.error({ err: (e as Error).message }, "alert delivery failed")));

    // ---- API + dashboard
    const keeperQueue = keeper ? keeper.producer.queue : null;
    const app: FastifyInstance = await buildApi(
      { indexer, health, store, deployment, registry, keeperQueue: keeperQueue ? { counts: () => keeperQueue.getJobCounts() } : undefined },
      { logger: logger.child({ component: "api" }), healthOptions },
    );
    const url = await listen(app, { host: config.API_HOST, port: config.API_PORT });
    cleanups.push(() => app.close());

    simulation?.start();
    return { url, deployment, indexer, health, store, keeper, alerts, simulation, logger, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Empties an embedded run's queues and their keys. */
async function obliterate(connection: ReturnType<typeof redisOptionsFromUrl>, prefix: string, names: string[]): Promise<void> {
  for (const name of names) {
    const q = new Queue(name, { connection: connection as never, prefix });
    await q.obliterate({ force: true });
    await q.close();
  }
}
