// API test world: a real `hardhat node` (port range 8630–8649), the protocol deployed, named borrowers spread over
// the HF range, real PGlite, the real indexer + health engine following the chain, and buildApi over them.
// Built once per mocha run and shared by the API test files (a root-level after hook stops it).
import { marginpool } from "../../protocols/marginpool";
import { Registry } from "prom-client";
import { createWalletClient, http, parseUnits, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { FastifyInstance } from "fastify";
import type { Wallet } from "../../common/wallet";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import type { Deployment } from "../../common/deployment";
import { assetOf, fund, rng, setPrice, type ChainContext } from "../../protocols/marginpool/actions";
import { marginPoolAbi } from "../../protocols/marginpool/generated/abis";
import { HealthEngine } from "../../indexer/health";
import type { BlockProcessed, Indexer } from "../../indexer/indexer";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { riskSnapshotRecorder } from "../../indexer/store/risk-snapshots";
import { buildApi, type ApiContext } from "../../indexer/api";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";
import { makeIndexer, silentLogger, waitFor } from "../fixtures/indexer";

export const WORLD_PORT = 8630;
const MNEMONIC = "test test test test test test test test test test test junk";

export interface Borrower {
  name: string;
  wallet: Wallet;
  address: `0x${string}`;
}

export interface ApiWorld {
  node: NodeHandle;
  chain: ChainContext;
  d: Deployment;
  store: Store;
  indexer: Indexer;
  health: HealthEngine;
  registry: Registry;
  ctx: ApiContext;
  app: FastifyInstance;
  /** named borrowers: b1 (WETH → USDC, HF ≈ 1.24), b2 (WBTC → USDC, ≈ 1.56), b3 (WETH → USDC, ≈ 1.04), b4 (DAI → WETH, ≈ 2.67) */
  b: Record<"b1" | "b2" | "b3" | "b4", Borrower>;
  /** every borrower, including seeded random ones and those a test added with `addBorrower` */
  borrowers: Borrower[];
  /** a named borrower from hardhat account #i (12–17 are free), counted in `borrowers` from now on */
  addBorrower(name: string, i: number): Borrower;
  /** deposits only: HF ∞ */
  supplier: Borrower;
  /** hardhat account #i, derived from the test mnemonic (#0–#19 are funded) */
  wallet(i: number): Wallet;
  /** resolves once the indexer has processed the chain head */
  synced(): Promise<bigint>;
  /**
   * resolves once the risk snapshot of the indexer's latest block is stored. The world records one every block
   * (the app: every 50) through the app's own recorder, on the indexer's published views.
   */
  snapshotted(): Promise<bigint>;
  /** mines one empty block and waits for the indexer to process it */
  mine(): Promise<bigint>;
  /** `pool.healthFactor(account)` at a block */
  chainHf(account: `0x${string}`, blockNumber: bigint): Promise<bigint>;
  /** liquidates `repay` (human units of the debt asset) of a borrower's debt, from hardhat account #18 */
  liquidate(borrower: `0x${string}`, collateral: string, debt: string, repay: string): Promise<void>;
  stop(): Promise<void>;
}

let shared: Promise<ApiWorld> | null = null;

/**
 * Pool calls with an explicit gas limit: eth_estimateGas on a block sharing the last update's timestamp skips
 * interest accrual, and the same call mined a second later can run out of gas (see test/keeper/helpers.ts).
 */
async function poolCall(chain: ChainContext, w: Wallet, functionName: string, args: readonly unknown[]): Promise<void> {
  const hash = await w.writeContract({
    address: chain.deployment.pool,
    abi: marginPoolAbi,
    functionName: functionName as never,
    args: args as never,
    account: w.account,
    chain: w.chain,
    gas: 1_500_000n,
  });
  const r = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
}

export async function deposit(chain: ChainContext, w: Wallet, symbol: string, human: string): Promise<void> {
  const a = assetOf(chain.deployment, symbol);
  const amount = parseUnits(human, a.decimals);
  await fund(chain, w, symbol, amount);
  await poolCall(chain, w, "deposit", [a.address, amount, w.account.address]);
}

export async function borrow(chain: ChainContext, w: Wallet, symbol: string, human: string): Promise<void> {
  const a = assetOf(chain.deployment, symbol);
  await poolCall(chain, w, "borrow", [a.address, parseUnits(human, a.decimals)]);
}

/** The shared world (started on first use). */
export function apiWorld(): Promise<ApiWorld> {
  shared ??= startWorld(WORLD_PORT);
  return shared;
}

// Root-level hook: runs once after every test file of the run.
after(async () => {
  if (!shared) return;
  const w = await shared.catch(() => null);
  shared = null;
  await w?.stop();
});

function mnemonicWallet(url: string, i: number): Wallet {
  return createWalletClient({
    chain: hardhat,
    transport: http(url, { retryCount: 0 }),
    account: mnemonicToAccount(MNEMONIC, { addressIndex: i }),
  }) as Wallet;
}

async function startWorld(port: number): Promise<ApiWorld> {
  const node = await startHardhatNode(port);
  try {
    return await setUp(node);
  } catch (e) {
    await node.stop(); // a failed set-up must not leave a node holding the port
    throw e;
  }
}

async function setUp(node: NodeHandle): Promise<ApiWorld> {
  const wallet = (i: number) => mnemonicWallet(node.url, i);
  const admin = wallet(0);
  const d = await deployProtocol({ publicClient: node.publicClient, walletClient: admin });
  const chain: ChainContext = { publicClient: node.publicClient, deployment: d, admin };
  const named = (name: string, i: number): Borrower => {
    const w = wallet(i);
    return { name, wallet: w, address: w.account.address.toLowerCase() as `0x${string}` };
  };

  const supplier = named("supplier", 1);
  await deposit(chain, supplier.wallet, "USDC", "2000000");
  await deposit(chain, supplier.wallet, "WETH", "200");

  const b = { b1: named("b1", 2), b2: named("b2", 3), b3: named("b3", 4), b4: named("b4", 5) };
  await deposit(chain, b.b1.wallet, "WETH", "10");
  await borrow(chain, b.b1.wallet, "USDC", "20000"); // 30000·0.825 / 20000 = 1.2375
  await deposit(chain, b.b2.wallet, "WBTC", "1");
  await borrow(chain, b.b2.wallet, "USDC", "30000"); // 60000·0.78 / 30000 = 1.56
  await deposit(chain, b.b3.wallet, "WETH", "5");
  await borrow(chain, b.b3.wallet, "USDC", "11900"); // 15000·0.825 / 11900 ≈ 1.04
  await deposit(chain, b.b4.wallet, "DAI", "10000");
  await borrow(chain, b.b4.wallet, "WETH", "1"); // 10000·0.8 / 3000 ≈ 2.67

  // Seeded random borrowers: collateral in one volatile or stable asset, USDC debt at 30–95% of the borrow limit.
  const r = rng(42);
  const borrowers: Borrower[] = Object.values(b);
  const collaterals: Array<[string, number, number]> = [
    ["WETH", 3000, 0.8],
    ["WBTC", 60000, 0.73],
    ["DAI", 1, 0.75],
  ];
  for (let i = 0; i < 6; i++) {
    const who = named(`r${i}`, 6 + i);
    const [symbol, price, ltv] = collaterals[i % collaterals.length]!;
    const usd = 5_000 + Math.floor(r() * 45_000);
    const amount = (usd / price).toFixed(symbol === "WBTC" ? 6 : 4);
    await deposit(chain, who.wallet, symbol, amount);
    const debt = Math.floor(Number(amount) * price * ltv * (0.3 + r() * 0.65));
    await borrow(chain, who.wallet, "USDC", String(debt));
    borrowers.push(who);
  }

  const store = await openStore({ dataDir: "memory://" });
  let health: HealthEngine | undefined;
  const indexer = makeIndexer(node.publicClient as PublicClient, store, d, {}, (state) => (health = new HealthEngine(state, marginpool.math)));
  let lastSnapshot = -1n;
  const snapshotRisk = riskSnapshotRecorder({
    store,
    aggregates: (now) => health!.aggregates(now),
    everyBlocks: 1n,
    onError: (e) => console.error(`world: storing a risk snapshot failed: ${e.message}`),
    onStored: (n) => {
      if (n > lastSnapshot) lastSnapshot = n;
    },
  });
  // As cli/app.ts wires it: the "block" listener runs right after publication, on the view it names.
  indexer.on("block", (ev: BlockProcessed) => {
    if (ev.health && health) snapshotRisk(ev.block);
  });
  await indexer.start();
  const synced = async (): Promise<bigint> => {
    const head = await node.publicClient.getBlockNumber();
    await indexer.waitForBlock(head, 30_000);
    return head;
  };
  await synced();
  await waitFor(() => indexer.status.phase === "follow", 30_000, "indexer following");
  if (!health) throw new Error("indexer did not create the health engine");

  const registry = new Registry();
  const ctx: ApiContext = { indexer, health, store, deployment: d, registry };
  const app = await buildApi(ctx, { logger: silentLogger });

  const liquidator = wallet(18);
  return {
    node,
    chain,
    d,
    store,
    indexer,
    health,
    registry,
    ctx,
    app,
    b,
    borrowers,
    addBorrower: (name, i) => {
      const who = named(name, i);
      borrowers.push(who);
      return who;
    },
    supplier,
    wallet,
    synced,
    snapshotted: async () => {
      const head = await synced();
      await waitFor(() => lastSnapshot >= indexer.status.cursor, 10_000, `risk snapshot at block ${indexer.status.cursor}`);
      return head;
    },
    mine: async () => {
      await node.rpc("evm_mine");
      return synced();
    },
    chainHf: (account, blockNumber) =>
      node.publicClient.readContract({ address: d.pool, abi: marginPoolAbi, functionName: "healthFactor", args: [account], blockNumber }),
    liquidate: async (borrower, collateral, debt, repay) => {
      const debtAsset = assetOf(d, debt);
      const amount = parseUnits(repay, debtAsset.decimals);
      await fund(chain, liquidator, debt, amount);
      await poolCall(chain, liquidator, "liquidate", [borrower, assetOf(d, collateral).address, debtAsset.address, amount]);
    },
    stop: async () => {
      await app.close().catch(() => undefined);
      await indexer.stop().catch(() => undefined);
      await store.close().catch(() => undefined);
      await node.stop();
    },
  };
}

/** Sets every feed to its current answer again (a fresh round), e.g. after moving time past the heartbeats. */
export async function refreshAllFeeds(w: ApiWorld, prices: Record<string, string>): Promise<void> {
  for (const [symbol, usd] of Object.entries(prices)) await setPrice(w.chain, symbol, usd);
}
