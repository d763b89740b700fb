// Runnable keeper: reads the environment, opens the store, starts the worker, stops gracefully on SIGINT/SIGTERM.
//
//   RPC_URL                   JSON-RPC endpoint (default http://127.0.0.1:8545)
//   DEPLOYMENT_FILE           deployment JSON giving the protocol and pool (default deployments/localhost.json);
//                             KEEPER_POOL / KEEPER_PROTOCOL override
//   REDIS_URL                 redis://[user:pass@]host:port[/db] (default redis://127.0.0.1:6379); rediss:// for TLS
//   DATABASE_URL              PostgreSQL; otherwise PGlite in $DATA_DIR/pglite (default .data/pglite), as `index` uses
//   KEEPER_PRIVATE_KEY | KEEPER_PRIVATE_KEY_FILE   the signer (never logged)
//   KEEPER_*                  every key of keeper/config.ts, e.g. KEEPER_DRY_RUN=true, KEEPER_MIN_PROFIT_USD=5
//   LOG_LEVEL                 pino level (default info)
import fs from "node:fs";
import path from "node:path";
import { checkRedis } from "../common/redis-check";
import type { RedisOptions } from "ioredis";
import { createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readDeployment } from "../common/deployment";
import { openStore } from "../indexer/store";
import type { Store } from "../indexer/store/types";
import { keeperConfigFromEnv, type KeeperConfigInput } from "./config";
import { KeeperConfigError } from "./errors";
import { createKeeper, type Keeper } from "./keeper";
import { createKeeperLogger, type Logger } from "./logger";
import { loadPrivateKey } from "./private-key";

/** redis://user:pass@host:port/db → ioredis options (the URL's password is never logged). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KeeperConfigError("REDIS_URL is not a valid URL");
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new KeeperConfigError("REDIS_URL must start with redis:// or rediss://");
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new KeeperConfigError("REDIS_URL database must be a non-negative integer");
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

export interface RunningKeeper {
  keeper: Keeper;
  store: Store;
  logger: Logger;
  /** graceful stop: worker (waits for active jobs), queues, Redis, store */
  close(): Promise<void>;
}

export async function runKeeper(env: NodeJS.ProcessEnv, logger: Logger = createKeeperLogger({ level: env.LOG_LEVEL })): Promise<RunningKeeper> {
  const overrides: Partial<KeeperConfigInput> = {};
  if (!env.KEEPER_POOL) {
    const file = env.DEPLOYMENT_FILE ?? "deployments/localhost.json";
    if (!fs.existsSync(file)) throw new KeeperConfigError(`no KEEPER_POOL and no deployment file at ${file} (set DEPLOYMENT_FILE)`);
    const d = readDeployment(file);
    overrides.pool = d.pool;
    if (!env.KEEPER_PROTOCOL) overrides.protocol = d.protocol;
  }
  const config = keeperConfigFromEnv(env, overrides);
  const key = loadPrivateKey(env);
  const transport = http(env.RPC_URL ?? "http://127.0.0.1:8545", { retryCount: 2 });
  const publicClient = createPublicClient({ transport, pollingInterval: config.pollIntervalMs });
  const walletClient = createWalletClient({ transport, account: privateKeyToAccount(key.reveal()) });
  const redisUrl = env.REDIS_URL ?? "redis://127.0.0.1:6379";
  await checkRedis(redisUrl, redisOptionsFromUrl(redisUrl));
  const store = await openStore({
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR === "memory://" ? "memory://" : path.join(env.DATA_DIR || ".data", "pglite"),
  });
  let keeper: Keeper;
  try {
    keeper = await createKeeper(config, {
      publicClient,
      walletClient,
      store,
      connection: redisOptionsFromUrl(env.REDIS_URL ?? "redis://127.0.0.1:6379"),
      logger,
    });
    await keeper.start();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return {
    keeper,
    store,
    logger,
    async close() {
      await keeper.stop();
      await store.close();
    },
  };
}

/** Installs SIGINT/SIGTERM handlers: the first stops gracefully (exit 0), a second forces exit 1. */
export function stopOnSignals(running: RunningKeeper): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      running.logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    stopping = true;
    running.logger.info({ signal }, "stopping: waiting for active jobs");
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        running.logger.error({ err: e instanceof Error ? e.message : String(e) }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

if (require.main === module) {
  const logger = createKeeperLogger({ level: process.env.LOG_LEVEL });
  runKeeper(process.env, logger).then(stopOnSignals, (e: unknown) => {
    logger.fatal({ err: e instanceof Error ? e.message : String(e) }, "keeper failed to start");
    process.exit(1);
  });
}
