// CLI test world: a real `hardhat node` (port CLI_CHAIN_PORT), the protocol deployed, named borrowers, one real
// liquidation, real PGlite, the real indexer + health engine following the chain, and the API listening on
// CLI_API_PORT — what `marginwatch health|risk|stress|oracles|liquidations` read in the field.
import { Registry } from "prom-client";
import { createWalletClient, http, parseUnits, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { FastifyInstance } from "fastify";
import type { Wallet } from "../../common/wallet";
import type { Deployment } from "../../common/deployment";
import { marginpool } from "../../protocols/marginpool";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import { assetOf, fund, setPrice, type ChainContext } from "../../protocols/marginpool/actions";
import { marginPoolAbi } from "../../protocols/marginpool/generated/abis";
import { HealthEngine } from "../../indexer/health";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import type { Indexer } from "../../indexer/indexer";
import { buildApi, listen } from "../../indexer/api";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";
import { makeIndexer, silentLogger, waitFor } from "../fixtures/indexer";

/** Ports of this suite only (8741–8749; see the other suites' ranges in test/). */
export const CLI_CHAIN_PORT = 8741;
export const CLI_API_PORT = 8742;
const MNEMONIC = "test test test test test test test test test test test junk";

export interface CliWorld {
  url: string;
  node: NodeHandle;
  d: Deployment;
  /** b1: 10 WETH → 20 000 USDC (HF ≈ 1.24); b2: 1 WBTC → 30 000 USDC; b3: liquidated once; b4: DAI → 1 WETH */
  b: Record<"b1" | "b2" | "b3" | "b4", `0x${string}`>;
  /** deposits only: HF ∞ */
  supplier: `0x${string}`;
  stop(): Promise<void>;
}

const wallet = (url: string, i: number): Wallet =>
  createWalletClient({
    chain: hardhat,
    transport: http(url, { retryCount: 0 }),
    account: mnemonicToAccount(MNEMONIC, { addressIndex: i }),
  }) as Wallet;

async function poolCall(chain: ChainContext, w: Wallet, functionName: string, args: readonly unknown[]): Promise<void> {
  const hash = await w.writeContract({
    address: chain.deployment.pool,
    abi: marginPoolAbi,
    functionName: functionName as never,
    args: args as never,
    account: w.account,
    chain: w.chain,
    gas: 1_500_000n, // see test/api/world.ts: estimates on a same-timestamp block skip interest accrual
  });
  const r = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
}

async function deposit(chain: ChainContext, w: Wallet, symbol: string, human: string): Promise<void> {
  const a = assetOf(chain.deployment, symbol);
  const amount = parseUnits(human, a.decimals);
  await fund(chain, w, symbol, amount);
  await poolCall(chain, w, "deposit", [a.address, amount, w.account.address]);
}

async function borrow(chain: ChainContext, w: Wallet, symbol: string, human: string): Promise<void> {
  const a = assetOf(chain.deployment, symbol);
  await poolCall(chain, w, "borrow", [a.address, parseUnits(human, a.decimals)]);
}

export async function startCliWorld(): Promise<CliWorld> {
  const node = await startHardhatNode(CLI_CHAIN_PORT);
  const cleanups: Array<() => Promise<unknown>> = [() => node.stop()];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const d = await deployProtocol({ publicClient: node.publicClient, walletClient: wallet(node.url, 0) });
    const chain: ChainContext = { publicClient: node.publicClient, deployment: d, admin: wallet(node.url, 0) };
    const w = (i: number) => wallet(node.url, i);
    const addr = (i: number) => w(i).account.address.toLowerCase() as `0x${string}`;

    await deposit(chain, w(1), "USDC", "2000000");
    await deposit(chain, w(1), "WETH", "200");
    await deposit(chain, w(2), "WETH", "10");
    await borrow(chain, w(2), "USDC", "20000");
    await deposit(chain, w(3), "WBTC", "1");
    await borrow(chain, w(3), "USDC", "30000");
    await deposit(chain, w(4), "WETH", "5");
    await borrow(chain, w(4), "USDC", "11900");
    await deposit(chain, w(5), "DAI", "10000");
    await borrow(chain, w(5), "WETH", "1");
    // One liquidation on record: WETH at 2800 puts b3 below 1; #18 repays 5000 USDC of it; WETH back to 3000.
    await setPrice(chain, "WETH", "2800");
    const usdc = assetOf(d, "USDC");
    await fund(chain, w(18), "USDC", parseUnits("5000", usdc.decimals));
    await poolCall(chain, w(18), "liquidate", [addr(4), assetOf(d, "WETH").address, usdc.address, parseUnits("5000", usdc.decimals)]);
    await setPrice(chain, "WETH", "3000");

    const store: Store = await openStore({ dataDir: "memory://" });
    cleanups.push(() => store.close());
    let health: HealthEngine | undefined;
    const indexer: Indexer = makeIndexer(node.publicClient as PublicClient, store, d, {}, (s) => (health = new HealthEngine(s, marginpool.math)));
    await indexer.start();
    cleanups.push(() => indexer.stop());
    const head = await node.publicClient.getBlockNumber();
    await indexer.waitForBlock(head, 30_000);
    await waitFor(() => indexer.status.phase === "follow", 30_000, "indexer following");
    if (!health) throw new Error("indexer did not create the health engine");

    const app: FastifyInstance = await buildApi({ indexer, health, store, deployment: d, registry: new Registry() }, { logger: silentLogger });
    cleanups.push(() => app.close());
    const url = await listen(app, { port: CLI_API_PORT });
    return { url, node, d, b: { b1: addr(2), b2: addr(3), b3: addr(4), b4: addr(5) }, supplier: addr(1), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
