// `marginwatch start`: everything in one process — chain (embedded or RPC_URL), indexer + health engine, HTTP API
// and dashboard, keeper workers fed by the producer, margin-call alerts, and (embedded) the market simulation.
import path from "node:path";
import type { Logger } from "pino";
import { Registry, collectDefaultMetrics } from "prom-client";
import { createPublicClient, createWalletClient, http, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { FastifyInstance } from "fastify";
import { Queue } from "bullmq";
import type { AppConfig } from "../common/config";
import { readDeployment, writeDeployment, type Deployment } from "../common/deployment";
import { DEFAULT_PROTOCOL, protocolNamed, protocolOf } from "../protocols";
import type { MarketSimulation, ProtocolAdapter } from "../protocols/types";
import { startHardhatNode, HARDHAT_KEYS, type NodeHandle } from "../common/hardhat-node";
import { Indexer, type BlockProcessed } from "../indexer/indexer";
import { ExactContext, HealthEngine } from "../indexer/health";
import { openStore } from "../indexer/store";
import type { Store } from "../indexer/store/types";
import { riskSnapshotRecorder } from "../indexer/store/risk-snapshots";
import { buildApi, listen } from "../indexer/api";
import { AlertDispatcher } from "../indexer/alerts/dispatcher";
import { AlertPolicy } from "../indexer/alerts/policy";
import { alertStepHook } from "../indexer/alerts/step-hook";
import { OracleTracker } from "../indexer/oracle/tracker";
import { createKeeper, keeperConfigFromEnv, loadPrivateKey, type Keeper } from "../keeper";
import type { Opportunity } from "../keeper/producer";
import { redisOptionsFromUrl } from "../keeper/main";
import { createLogger as createCommonLogger, type LogFormat } from "../common/logger";
import { checkRedis } from "../common/redis-check";
import { Auditor } from "../indexer/audit"; // ---- auditor

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

/** The app's logger: JSON, or pretty lines when stdout is a terminal (LOG_FORMAT), secrets redacted. */
export function createLogger(level: string, format: LogFormat = "auto"): Logger {
  return createCommonLogger({ level, format });
}

export async function startApp(config: AppConfig, opts: StartOptions = {}): Promise<App> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
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
    let protocol: ProtocolAdapter;
    if (embedded) {
      protocol = protocolNamed(config.PROTOCOL ?? DEFAULT_PROTOCOL);
      logger.info({ port: config.CHAIN_PORT }, "no RPC_URL: starting an embedded Hardhat chain");
      node = await startHardhatNode(config.CHAIN_PORT);
      cleanups.push(() => node!.stop());
      client = node.publicClient;
      deployment = await protocol.dev.deploy({ publicClient: client, walletClient: node.wallet(0) });
      const file = path.join(config.DATA_DIR, "embedded", "deployment.json");
      writeDeployment(file, deployment);
      logger.info({ protocol: protocol.name, pool: deployment.pool, file }, "market deployed on the embedded chain");
      // Keep time moving between transactions, as a real chain does.
      await node.rpc("evm_setIntervalMining", [1000]);
    } else {
      deployment = readDeployment(config.DEPLOYMENT_FILE!);
      protocol = protocolOf(deployment);
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

    // ---- alerts: decided in each step's transaction (outbox), delivered from the store
    const symbols = new Map(deployment.assets.map((a) => [a.address.toLowerCase(), a.symbol]));
    const policy = new AlertPolicy(await store.loadAlertState(), { symbolOf: (a) => symbols.get(a.toLowerCase()) ?? null });
    const alerts = new AlertDispatcher({
      store,
      connection: redis,
      logger,
      prefix,
      webhookUrls: config.ALERT_WEBHOOK_URLS,
      webhookSecret: config.ALERT_WEBHOOK_SECRET,
    });
    alerts.start();
    cleanups.push(() => alerts.close());

    // ---- indexer + health engine
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    let health!: HealthEngine;
    const healthOptions = { levels: config.ALERT_LEVELS, hysteresisBps: config.ALERT_HYSTERESIS_BPS };
    const oracle = new OracleTracker(client);
    const indexer = new Indexer({
      client,
      store,
      deployment,
      logger: logger.child({ component: "indexer" }),
      oracle,
      protocol,
      createHealth: (state) => (health = new HealthEngine(state, protocol.math, healthOptions)),
      onStep: alertStepHook({ policy, dispatcher: alerts, health: () => health, oracle }),
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
      const keeperConfig = keeperConfigFromEnv(keeperEnv, {
        pool: deployment.pool,
        protocol: protocol.name,
        prefix,
        ...(embedded ? { replaceAfterMs: 5_000, pollIntervalMs: 100 } : {}),
      });
      const key = loadPrivateKey(keeperEnv);
      const transport = embedded ? http(node!.url, { retryCount: 1 }) : http(config.RPC_URL, { retryCount: 1, timeout: 10_000 });
      keeper = await createKeeper(keeperConfig, {
        publicClient: createPublicClient({ transport, pollingInterval: keeperConfig.pollIntervalMs, cacheTime: 0 }) as never,
        walletClient: createWalletClient({ transport, account: privateKeyToAccount(key.reveal()) }) as never,
        store,
        connection: redis,
        logger: logger.child({ component: "keeper" }),
        registry,
      });
      // A fresh embedded chain: a nonce or lock remembered for an earlier one must not outlive it.
      if (embedded) await keeper.resetChainState();
      cleanups.push(() => keeper!.stop());
    }

    // ---- simulation (embedded): seed before indexing so `start` shows a populated market
    let simulation: MarketSimulation | null = null;
    if (embedded && (opts.simulate ?? true)) {
      simulation = protocol.dev.simulation({
        url: node!.url,
        publicClient: client,
        deployment,
        adminKey: HARDHAT_KEYS[0],
        fundAddresses: keeper ? [keeper.address] : [],
        borrowers: config.SIM_BORROWERS,
        seed: config.SIM_SEED,
        tickMs: config.SIM_TICK_MS,
        logger: logger.child({ component: "simulation" }),
      });
      await simulation.seed();
      cleanups.push(() => simulation!.stop());
    }

    if (keeper) await keeper.start();
    cleanups.push(() => health?.close()); // its sweep worker, after the indexer has stopped (cleanups run in reverse)
    await indexer.start();
    cleanups.push(() => indexer.stop());

    // ---- wiring: every published view → producer and risk snapshots. What is read from the engine is read
    // synchronously in the "block" listener, which runs right after publication: the view it names. (Alerts are
    // decided inside each step, before its commit: see the alert step hook.)
    const snapshotRisk = riskSnapshotRecorder({
      store,
      aggregates: (now) => health.aggregates(now),
      onError: (e) => logger.error({ err: e.message }, "storing a risk snapshot failed"),
    });
    const producing = keeper ? new LatestOnly<Opportunity[]>() : null;
    indexer.on("block", (ev: BlockProcessed) => {
      const upd = ev.health;
      if (!upd) return;
      const at = ev.block;
      if (producing && keeper) {
        const unusable = new Set(ev.view.unusablePrices);
        const opps: Opportunity[] = [];
        const exact = new ExactContext(indexer.state, (x) => health.price(x), at.timestamp, protocol.math);
        for (const l of health.liquidatable()) {
          const held = indexer.state.accounts.get(l.account);
          // Debt with no collateral that counts is bad debt: nothing to seize, no call can succeed (Aave V3.0 never
          // writes it off). /v1/risk shows it; the keeper is never given it.
          if (!exact.positions(l.account, held).some((p) => p.scaledCollateral !== 0n && protocol.math.collateralTerms(p).counts)) continue;
          // Never on a price that is not fresh at this block: the keeper would act on a number the chain refuses.
          const priceUnusable = held ? [...held.keys()].some((asset) => unusable.has(asset)) : false;
          opps.push({
            account: l.account,
            healthFactor: l.healthFactor,
            since: l.since,
            positionVersion: l.positionVersion,
            status: priceUnusable ? "unknown" : "liquidatable",
          });
        }
        // KEEPER_LIQUIDATE_ON_STALE_PRICE: the producer takes an unknown account whose HF on the last known prices is below 1.
        const stale = keeper.producer.liquidateOnStalePrice ? exact : null;
        for (const a of health.unknown()) {
          const healthFactor = stale ? stale.account(a).data.healthFactor : 0n;
          opps.push({ account: a, healthFactor, since: at.number, positionVersion: health.positionVersion(a), status: "unknown" });
        }
        producing
          .run({ blockNumber: at.number, blockHash: at.hash }, opps, async (ctx, list) => {
            const r = await keeper.producer.enqueueOpportunities(list, ctx);
            if (r.enqueued) logger.info({ block: String(ctx.blockNumber), ...r }, "liquidation jobs enqueued");
          })
          .catch((e: unknown) => logger.error({ err: (e as Error).message }, "enqueueing liquidation jobs failed"));
      }
      snapshotRisk(at);
    });

    // ---- auditor: every published view, a few accounts checked against the pool's own views at that block
    const auditor =
      config.AUDIT_SAMPLE_PER_BLOCK > 0
        ? new Auditor({
            indexer,
            health,
            client,
            deployment,
            protocol,
            registry,
            logger: logger.child({ component: "auditor" }),
            samplePerBlock: config.AUDIT_SAMPLE_PER_BLOCK,
          })
        : undefined;
    auditor?.start();
    cleanups.push(() => auditor?.stop());
    // ---- end auditor

    // ---- API + dashboard
    const keeperQueue = keeper ? keeper.producer.queue : null;
    const app: FastifyInstance = await buildApi(
      { indexer, health, store, deployment, registry, keeperQueue: keeperQueue ? { counts: () => keeperQueue.getJobCounts() } : undefined, auditor },
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

/**
 * Runs an async job for the newest input only: while one runs, later inputs replace each other and the last one
 * runs next. The producer is re-run on the newest published view instead of queueing one run per block behind a
 * slow Redis (every opportunity still open is in the newest view).
 */
class LatestOnly<T> {
  private running: Promise<void> | null = null;
  private next: { ctx: EnqueueCtx; input: T; fn: (ctx: EnqueueCtx, input: T) => Promise<void> } | null = null;

  run(ctx: EnqueueCtx, input: T, fn: (ctx: EnqueueCtx, input: T) => Promise<void>): Promise<void> {
    this.next = { ctx, input, fn };
    if (!this.running) {
      this.running = (async () => {
        try {
          while (this.next) {
            const n = this.next;
            this.next = null;
            await n.fn(n.ctx, n.input);
          }
        } finally {
          this.running = null;
        }
      })();
    }
    return this.running;
  }
}

type EnqueueCtx = { blockNumber: bigint; blockHash: `0x${string}` };
