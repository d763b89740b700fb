// Keepers on a bench chain: signer keys from hardhat's test mnemonic (funded by the node), debt tokens minted to them,
// createKeeper wired as keeper/main.ts wires it, a unique queue per run, and helpers to wait for jobs to finish.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createPublicClient, createWalletClient, http, parseUnits, toHex, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { Hex20 } from "../common/deployment";
import { testTokenAbi } from "../protocols/marginpool/generated/abis";
import { openStore, MEMORY } from "../indexer/store";
import type { Store } from "../indexer/store/types";
import { createKeeper, type Keeper } from "../keeper/keeper";
import { parseKeeperConfig, type KeeperConfigInput } from "../keeper/config";
import type { LiquidationJobResult } from "../keeper/job";
import { bulkSend, call, type BenchChain } from "./chain";
import { silent } from "./follower";

export const REDIS = { host: process.env.REDIS_HOST ?? "127.0.0.1", port: Number(process.env.REDIS_PORT ?? 6379) };
const MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of hardhat account #i (the node funds #0–#19 with ETH). */
export function signerKey(i: number): Hex {
  return toHex(mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey().privateKey!);
}

export const signerAddress = (i: number): Hex20 => privateKeyToAccount(signerKey(i)).address.toLowerCase() as Hex20;

/** Mints every debt asset to the signers (open faucet), in one block. */
export async function fundSigners(chain: BenchChain, signers: number[]): Promise<void> {
  const txs = signers.flatMap((i) =>
    chain.d.assets.map((a) => call(chain.admin, a.address, testTokenAbi, "mint", [signerAddress(i), parseUnits("1000000000", a.decimals)], 200_000n)),
  );
  await bulkSend(chain, txs);
}

export function uniqueQueue(label: string): { queueName: string; prefix: string } {
  const id = randomBytes(4).toString("hex");
  return { queueName: `bench-${label}-${id}`, prefix: `{mwbench-${id}}` };
}

/** Deletes every Redis key under a bench prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis({ ...REDIS, maxRetriesPerRequest: 2 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

export interface BenchKeeper {
  keeper: Keeper;
  /** per finished job: when (performance.now()) and its result */
  finished: Array<{ at: number; jobId: string; account: string; result: LiquidationJobResult | null; failed: string | null }>;
  stop(): Promise<void>;
}

export async function startBenchKeeper(
  chain: BenchChain,
  signer: number,
  queue: { queueName: string; prefix: string },
  opts: { store?: Store; config?: Partial<KeeperConfigInput> } = {},
): Promise<BenchKeeper> {
  const store = opts.store ?? (await openStore({ dataDir: MEMORY }));
  await settle();
  const transport = http(chain.node.url, { retryCount: 1 });
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 50, cacheTime: 0 }) as PublicClient;
  const walletClient = createWalletClient({ chain: hardhat, transport, account: privateKeyToAccount(signerKey(signer)) });
  const keeper = await createKeeper(parseKeeperConfig({ pool: chain.d.pool, ...queue, concurrency: 2, pollIntervalMs: 50, ...opts.config }), {
    publicClient: publicClient as never,
    walletClient: walletClient as never,
    store,
    connection: { ...REDIS },
    logger: silent,
  });
  const finished: BenchKeeper["finished"] = [];
  keeper.worker.worker.on("completed", (job, result) => {
    finished.push({ at: performance.now(), jobId: job.id ?? "", account: job.data.account, result, failed: null });
  });
  keeper.worker.worker.on("failed", (job, err) => {
    if (!job) return;
    // A retryable failure comes back; only the last attempt (or an unrecoverable error) ends the job.
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === "UnrecoverableError";
    if (final) finished.push({ at: performance.now(), jobId: job.id ?? "", account: job.data.account, result: null, failed: err.message });
  });
  await keeper.start();
  return {
    keeper,
    finished,
    async stop() {
      await keeper.stop();
      if (!opts.store) await store.close();
    },
  };
}

/** Lets the event loop reach its poll phase: after a long synchronous step (PGlite's WASM boot, solc), the node's
 *  keep-alive sockets may have been closed under us; this lets the client see that before the next request. */
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
