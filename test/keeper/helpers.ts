// Keeper test kit: a hardhat node with the protocol deployed, named actors, unique BullMQ queues, captured logs.
import { dumpKeys } from "../fixtures/redis-dump";
import { Writable } from "node:stream";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createPublicClient, createWalletClient, http, parseUnits, toHex, type Hex, type PublicClient } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type pino from "pino";
import type { Wallet } from "../../common/wallet";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import type { Deployment } from "../../common/deployment";
import { assetOf, setPrice, type ChainContext } from "../../protocols/marginpool/actions";
import { MAX_UINT256 } from "../../common/math";
import { marginPoolAbi, testTokenAbi } from "../../protocols/marginpool/generated/abis";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { createKeeper, type Keeper } from "../../keeper/keeper";
import { parseKeeperConfig, type KeeperConfigInput } from "../../keeper/config";
import { createKeeperLogger } from "../../keeper/logger";
import type { Opportunity } from "../../keeper/producer";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";

export const REDIS = { host: "127.0.0.1", port: 6379 } as const;
const MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of hardhat account #i, derived from the test mnemonic (the node funds #0–#19). */
export function hardhatKey(i: number): Hex {
  const key = mnemonicToAccount(MNEMONIC, { addressIndex: i }).getHdKey().privateKey;
  if (!key) throw new Error(`no key for account #${i}`);
  return toHex(key);
}

/** The keeper's signer in every keeper test: hardhat account #2. */
export const KEEPER_KEY = hardhatKey(2);
export const KEEPER_ADDRESS = privateKeyToAccount(KEEPER_KEY).address;

export interface Chain {
  node: NodeHandle;
  ctx: ChainContext;
  d: Deployment;
  /** #1: supplies liquidity */
  supplier: Wallet;
  /** #3: a competing liquidator */
  rival: Wallet;
  /** hardhat account #i (i ≥ 6 are borrowers), derived from the test mnemonic */
  wallet(i: number): Wallet;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** Starts a hardhat node on `port` (keeper range 8610–8629), deploys the default market, seeds liquidity. */
export async function startChain(port: number): Promise<Chain> {
  const node = await startHardhatNode(port);
  let stopping = false;
  // A node that dies under a test is reported with its exit code or signal (else the test only sees ECONNREFUSED).
  const report = () => {
    if (!stopping)
      console.error(`[keeper tests] hardhat node on port ${port} exited unexpectedly (code ${node.child.exitCode}, signal ${node.child.signalCode})`);
  };
  if (node.child.exitCode !== null || node.child.signalCode !== null) report();
  else node.child.once("exit", report);
  try {
    const chain = await seedChain(node);
    return {
      ...chain,
      stop: () => {
        stopping = true;
        return node.stop();
      },
    };
  } catch (e) {
    // Never leave a node behind: an orphan keeps the port and answers the next run's readiness probe.
    stopping = true;
    await node.stop();
    throw e;
  }
}

async function seedChain(node: NodeHandle): Promise<Chain> {
  // Reads retry: under load the node now and then drops a kept-alive connection ("other side closed").
  const publicClient = createPublicClient({
    chain: hardhat,
    transport: http(node.url, { retryCount: 3 }),
    pollingInterval: 50,
    cacheTime: 0,
  }) as PublicClient;
  const handle: NodeHandle = { ...node, publicClient };
  const admin = node.wallet(0); // #0's fixture key is right; #2 and #4 in test/fixtures/node.ts are not, so keys are derived here
  const d = await deployProtocol({ publicClient, walletClient: admin });
  const ctx: ChainContext = { publicClient, deployment: d, admin };
  const wallet = (i: number): Wallet =>
    createWalletClient({
      chain: hardhat,
      transport: http(node.url, { retryCount: 0 }),
      account: mnemonicToAccount(MNEMONIC, { addressIndex: i }),
    }) as Wallet;
  const chain: Chain = { node: handle, ctx, d, supplier: wallet(1), rival: wallet(3), wallet, rpc: node.rpc, stop: () => node.stop() };
  await depositGas(chain, chain.supplier, "USDC", "5000000");
  await depositGas(chain, chain.supplier, "DAI", "5000000");
  await depositGas(chain, chain.supplier, "WETH", "1000");
  // The keeper and the rival hold debt assets to repay with (and approved the pool for them).
  for (const w of [wallet(2), wallet(3)]) {
    await fundGas(chain, w, "USDC", "2000000");
    await fundGas(chain, w, "DAI", "2000000");
  }
  return chain;
}

/**
 * Sends with a fixed gas limit and waits; throws on revert. Pool actions are not sent with viem's estimate:
 * eth_estimateGas on a block that shares the reserve's last-update timestamp skips interest accrual, and mined
 * one second later the action accrues and runs out of gas inside the token transfer ("SafeERC20: low-level
 * call failed"), which made seeding flaky under load.
 */
export async function send(
  chain: Chain,
  w: Wallet,
  address: `0x${string}`,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
): Promise<Hex> {
  const hash = await w.writeContract({
    address,
    abi: abi as never,
    functionName: functionName as never,
    args: args as never,
    account: w.account,
    chain: w.chain,
    gas: 1_000_000n,
  });
  const r = await chain.node.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
  return hash;
}

/** Mints `human` of `symbol` to the wallet and approves the pool for it (max). */
export async function fundGas(chain: Chain, w: Wallet, symbol: string, human: string): Promise<bigint> {
  const a = assetOf(chain.d, symbol);
  const amount = parseUnits(human, a.decimals);
  await send(chain, w, a.address, testTokenAbi, "mint", [w.account.address, amount]);
  await send(chain, w, a.address, testTokenAbi, "approve", [chain.d.pool, MAX_UINT256]);
  return amount;
}

export async function depositGas(chain: Chain, w: Wallet, symbol: string, human: string): Promise<void> {
  const amount = await fundGas(chain, w, symbol, human);
  await send(chain, w, chain.d.pool, marginPoolAbi, "deposit", [assetOf(chain.d, symbol).address, amount, w.account.address]);
}

export async function borrowGas(chain: Chain, w: Wallet, symbol: string, human: string): Promise<void> {
  const a = assetOf(chain.d, symbol);
  await send(chain, w, chain.d.pool, marginPoolAbi, "borrow", [a.address, parseUnits(human, a.decimals)]);
}

/** A borrower with `wethHuman` WETH of collateral and `usdcHuman` USDC of debt (HF = weth·3000·0.825/usdc). */
export async function openPosition(chain: Chain, walletIndex: number, wethHuman: string, usdcHuman: string): Promise<Wallet> {
  const w = chain.wallet(walletIndex);
  await depositGas(chain, w, "WETH", wethHuman);
  await borrowGas(chain, w, "USDC", usdcHuman);
  return w;
}

export const healthFactor = (chain: Chain, account: `0x${string}`): Promise<bigint> =>
  chain.node.publicClient.readContract({ address: chain.d.pool, abi: marginPoolAbi, functionName: "healthFactor", args: [account] });

export const nonceOf = (chain: Chain, address: `0x${string}`, blockTag: "latest" | "pending" = "pending"): Promise<number> =>
  chain.node.publicClient.getTransactionCount({ address, blockTag });

/** Liquidation events of the pool (optionally for one borrower) since `fromBlock`. */
export async function liquidations(chain: Chain, fromBlock: bigint, borrower?: `0x${string}`) {
  return chain.node.publicClient.getContractEvents({
    address: chain.d.pool,
    abi: marginPoolAbi,
    eventName: "Liquidation",
    ...(borrower ? { args: { borrower } } : {}),
    fromBlock,
    toBlock: "latest",
  });
}

export async function opportunityFor(chain: Chain, account: `0x${string}`, since: bigint, positionVersion = 1): Promise<Opportunity> {
  return { account, healthFactor: await healthFactor(chain, account), since, positionVersion, status: "liquidatable" };
}

export async function headContext(chain: Chain): Promise<{ blockNumber: bigint; blockHash: Hex }> {
  const b = await chain.node.publicClient.getBlock({ blockTag: "latest" });
  return { blockNumber: b.number, blockHash: b.hash };
}

/** A queue name and hash-tagged prefix no other test uses. */
export function uniqueQueue(label: string): { queueName: string; prefix: string } {
  const id = randomBytes(4).toString("hex");
  return { queueName: `kt-${label}-${id}`, prefix: `{mwk-${id}}` };
}

/** Deletes every Redis key under a test prefix (queue, signer lock, nonce cache). */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** Every string value stored under a prefix (hashes, strings, lists, sets, streams), for secret scans. */
export async function dumpPrefix(prefix: string): Promise<string> {
  const redis = new Redis(REDIS);
  try {
    return await dumpKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** A pino logger writing into memory, so tests can read (and scan) every line. */
export function captureLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  // Same redaction as production: createKeeperLogger with a destination.
  return { logger: createKeeperLogger({ level: "debug", destination: stream }), lines };
}

export interface TestKeeper {
  keeper: Keeper;
  store: Store;
  lines: string[];
  stop(): Promise<void>;
}

/** An in-process keeper on the test chain with its own in-memory store (or a shared one) and captured logs. */
export async function startKeeper(
  chain: Chain,
  config: Partial<KeeperConfigInput> & { queueName: string; prefix: string },
  opts: { store?: Store; start?: boolean } = {},
): Promise<TestKeeper> {
  const store = opts.store ?? (await openStore({ dataDir: "memory://" }));
  const { logger, lines } = captureLogger();
  const walletClient = createWalletClient({
    chain: hardhat,
    transport: http(chain.node.url, { retryCount: 0 }),
    account: privateKeyToAccount(KEEPER_KEY),
  });
  const keeper = await createKeeper(
    parseKeeperConfig({ pool: chain.d.pool, pollIntervalMs: 50, backoffMs: 200, lockDurationMs: 5_000, stalledIntervalMs: 1_000, ...config }),
    { publicClient: chain.node.publicClient as never, walletClient, store, connection: { ...REDIS }, logger },
  );
  if (opts.start !== false) await keeper.start();
  return {
    keeper,
    store,
    lines,
    async stop() {
      await keeper.stop();
      if (!opts.store) await store.close();
    },
  };
}

/** Polls until `fn` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false && v !== null) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export { assetOf, setPrice };
