// Benchmark chains: a hardhat node with the protocol and the bench batcher deployed, and fast bulk seeding
// (automine off, node-signed transactions in JSON-RPC batches, one evm_mine per block) of borrowers and suppliers.
import fs from "node:fs";
import { concat, encodeFunctionData, getContractAddress, keccak256, pad, parseUnits, toHex, type Hex } from "viem";
import { deployContract } from "../common/wallet";
import { deployProtocol } from "../protocols/marginpool/deploy";
import type { Deployment, Hex20 } from "../common/deployment";
import { assetOf, type ChainContext } from "../protocols/marginpool/actions";
import { emittingAggregatorAbi, mockV3AggregatorAbi } from "../protocols/marginpool/generated/abis";
import { batcherAbi, batcherBytecode } from "./batcher";
import { startHardhatNode, type NodeHandle } from "../common/hardhat-node";

/** Fee caps of every seeding transaction: far above the base fee, which stays low because blocks stay under target. */
const MAX_FEE = 50_000_000_000n;
const PRIORITY_FEE = 1_000_000_000n;
/** Block gas limit set on bench chains: big blocks stay below the EIP-1559 target, so the base fee never climbs. */
const BLOCK_GAS_LIMIT = 1_000_000_000n;

export interface BenchChain {
  node: NodeHandle;
  d: Deployment;
  ctx: ChainContext;
  /** hardhat #0: deployer, feed owner, treasury (node-signed) */
  admin: Hex20;
  /** the bench batcher (bench/batcher.ts): opens many positions per transaction */
  batcher: Hex20;
  borrowerImpl: Hex20;
  /** next CREATE2 salt for borrower clones */
  nextSalt: number;
  /** borrowers seeded so far, with what they hold */
  borrowers: SeededBorrower[];
  /** highest resident memory of the node seen so far, MB (sampled every second) */
  peakRssMb: number;
  stop(): Promise<void>;
}

/** What the indexing benchmarks need of a chain: its node and the deployment to index (any protocol). */
export type IndexedChain = Pick<BenchChain, "node" | "d">;

export interface SeededBorrower {
  address: Hex20;
  collateral: string;
  debt: string;
  /** target HF at seeding prices */
  hf: number;
}

export interface RawTx {
  from: Hex20;
  to: Hex20;
  data: Hex;
  gas: bigint;
}

interface RpcCall {
  method: string;
  params: unknown[];
}

/** One JSON-RPC batch (array body); throws on the first error. */
export async function rpcBatch(url: string, calls: RpcCall[]): Promise<unknown[]> {
  if (calls.length === 0) return [];
  const body = JSON.stringify(calls.map((c, i) => ({ jsonrpc: "2.0", id: i, method: c.method, params: c.params })));
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const out = (await res.json()) as Array<{ id: number; result?: unknown; error?: { message: string } }>;
  const byId = new Map(out.map((o) => [o.id, o]));
  return calls.map((c, i) => {
    const r = byId.get(i);
    if (!r || r.error) throw new Error(`${c.method}: ${r?.error?.message ?? "no answer"}`);
    return r.result;
  });
}

/**
 * Hardhat 2.29's EDR keeps each request's execution trace (~0.4 KB per EVM step) in native memory owned by a small
 * JS object; V8 sees a tiny heap and does not collect it for a long time, so seeding 10k borrowers or a naive
 * keeper's eth_call storm grows the node by tens of GB. startHardhatNode preloads common/hardhat-node-gc.js (a full
 * GC every second); a 1 MB young generation makes the short-lived ones go sooner still.
 */
const NODE_OPTIONS_EXTRA = `--max-semi-space-size=1`;

/** startHardhatNode with NODE_OPTIONS_EXTRA: the child reads NODE_OPTIONS at spawn, before the function's first await. */
function startNode(port: number): Promise<NodeHandle> {
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = [saved, NODE_OPTIONS_EXTRA].filter(Boolean).join(" ");
  try {
    return startHardhatNode(port);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

/** Resident memory of a process, MB (Linux /proc); null elsewhere. */
export function rssMb(pid: number | undefined): number | null {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** The node is killed (and the run fails) above this resident size: the bench shares its machine. */
export const NODE_RSS_LIMIT_MB = Number(process.env.BENCH_NODE_RSS_LIMIT_MB ?? 8_000);

export async function startBenchChain(port: number): Promise<BenchChain> {
  // Compile first: a multi-second synchronous compile would stall the event loop while the node's sockets idle.
  const bytecode = batcherBytecode();
  const node = await startNode(port);
  let peak = 0;
  const watchdog = setInterval(() => {
    const mb = rssMb(node.child.pid) ?? 0;
    peak = Math.max(peak, mb);
    if (mb > NODE_RSS_LIMIT_MB && node.child.exitCode === null) {
      process.stderr.write(`[bench] hardhat node on :${port} uses ${mb} MB (> BENCH_NODE_RSS_LIMIT_MB=${NODE_RSS_LIMIT_MB}): killing it\n`);
      node.child.kill("SIGKILL");
    }
  }, 1_000);
  watchdog.unref();
  const stop = async () => {
    clearInterval(watchdog);
    await node.stop();
  };
  try {
    await withSocketRetry(() => node.rpc("evm_setBlockGasLimit", [toHex(BLOCK_GAS_LIMIT)]));
    const wallet = node.wallet(0);
    const d = await deployProtocol({ publicClient: node.publicClient, walletClient: wallet });
    const ctx: ChainContext = { publicClient: node.publicClient, deployment: d, admin: wallet };
    const admin = wallet.account.address.toLowerCase() as Hex20;
    const batcher = await deployContract({ publicClient: node.publicClient, walletClient: wallet }, [], bytecode, []);
    const borrowerImpl = (
      (await node.publicClient.readContract({ address: batcher, abi: batcherAbi, functionName: "borrowerImpl" })) as Hex20
    ).toLowerCase() as Hex20;
    const chain: BenchChain = {
      node,
      d,
      ctx,
      admin,
      batcher,
      borrowerImpl,
      nextSalt: 1,
      borrowers: [],
      stop,
      get peakRssMb() {
        return peak;
      },
    };
    // Deep liquidity to borrow from, deposited by the batcher on the admin's behalf.
    const liquidity: Record<string, string> = { WBTC: "1000000", WETH: "10000000", USDC: "100000000000", DAI: "100000000000" };
    await bulkSend(
      chain,
      d.assets.map((a) =>
        call(
          admin,
          batcher,
          batcherAbi,
          "depositFor",
          [d.pool, a.address, [parseUnits(liquidity[a.symbol] ?? "1000000", a.decimals)], [admin]],
          1_000_000n,
        ),
      ),
    );
    return chain;
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Retries an idempotent call whose keep-alive socket the node closed under it ("other side closed"). */
export async function withSocketRetry<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (
        i + 1 >= attempts ||
        !/fetch failed|other side closed|ECONNRESET|socket/i.test(String((e as Error).message) + String((e as { cause?: unknown }).cause))
      )
        throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export function call(from: Hex20, to: Hex20, abi: readonly unknown[], functionName: string, args: readonly unknown[], gas = 300_000n): RawTx {
  const encode = encodeFunctionData as (p: { abi: readonly unknown[]; functionName: string; args: readonly unknown[] }) => Hex;
  return { from, to, data: encode({ abi, functionName, args }), gas };
}

/**
 * Sends node-signed transactions (hardhat's own or impersonated accounts) with automine off, `perBlock` per
 * JSON-RPC batch and one evm_mine after each batch; leaves automine as it found it. Returns blocks mined.
 */
export async function bulkSend(chain: BenchChain, txs: readonly RawTx[], perBlock = 400): Promise<{ blocks: number; ms: number }> {
  const url = chain.node.url;
  const started = performance.now();
  // Callers build their transactions synchronously (thousands of ABI encodings): let the event loop notice any
  // keep-alive socket the node closed meanwhile before reusing one.
  await new Promise((r) => setTimeout(r, 20));
  const automine = (await withSocketRetry(() => chain.node.rpc<boolean>("hardhat_getAutomine"))) ?? true;
  await chain.node.rpc("evm_setAutomine", [false]);
  let blocks = 0;
  try {
    const senders = [...new Set(txs.map((t) => t.from))];
    const nonces = new Map<Hex20, number>();
    for (let i = 0; i < senders.length; i += 500) {
      const part = senders.slice(i, i + 500);
      const counts = (await rpcBatch(
        url,
        part.map((s) => ({ method: "eth_getTransactionCount", params: [s, "pending"] })),
      )) as Hex[];
      part.forEach((s, j) => {
        nonces.set(s, Number(counts[j]));
      });
    }
    for (let i = 0; i < txs.length; i += perBlock) {
      const part = txs.slice(i, i + perBlock);
      const calls = part.map((t) => {
        const nonce = nonces.get(t.from)!;
        nonces.set(t.from, nonce + 1);
        return {
          method: "eth_sendTransaction",
          params: [
            {
              from: t.from,
              to: t.to,
              data: t.data,
              gas: toHex(t.gas),
              nonce: toHex(nonce),
              maxFeePerGas: toHex(MAX_FEE),
              maxPriorityFeePerGas: toHex(PRIORITY_FEE),
            },
          ],
        };
      });
      await rpcBatch(url, calls);
      await chain.node.rpc("evm_mine");
      blocks++;
    }
    // Anything left in the pool (a block filled up): mine until it is empty.
    for (let guard = 0; guard < 1000; guard++) {
      const pending = (await chain.node.rpc<{ transactions: unknown[] }>("eth_getBlockByNumber", ["pending", false])).transactions.length;
      if (pending === 0) break;
      await chain.node.rpc("evm_mine");
      blocks++;
    }
  } finally {
    // Never mask the error that got us here.
    await chain.node.rpc("evm_setAutomine", [automine]).catch(() => undefined);
  }
  return { blocks, ms: performance.now() - started };
}

/** Deterministic address of bench account `i` in group `tag` (no key exists: only deposits on its behalf). */
export function benchAddress(tag: string, i: number): Hex20 {
  return `0x${keccak256(toHex(`marginwatch-bench-${tag}-${i}`)).slice(26)}` as Hex20;
}

const PRICES: Record<string, number> = { WETH: 3000, WBTC: 60000, USDC: 1, DAI: 1 };
const LT: Record<string, number> = { WETH: 0.825, WBTC: 0.78, USDC: 0.8, DAI: 0.8 };
const LTV: Record<string, number> = { WETH: 0.8, WBTC: 0.73, USDC: 0.77, DAI: 0.75 };

function units(usd: number, symbol: string, decimals: number): bigint {
  return parseUnits((usd / PRICES[symbol]!).toFixed(Math.min(decimals, 8)), decimals);
}

/** Borrower clones per openPositions call, deposits per depositFor call: both stay under a 16M-gas transaction. */
const BORROWERS_PER_TX = 40;
const DEPOSITS_PER_TX = 120;
/** batcher transactions per block */
const TXS_PER_BLOCK = 2;

export interface BorrowerSpec {
  count: number;
  /** target HF for borrower i (at the seeding prices) */
  hf: (i: number) => number;
  collateral: (i: number) => string;
  debt: (i: number) => string;
  /** USD collateral of borrower i */
  sizeUsd: (i: number) => number;
}

/**
 * Seeds borrowers: one EIP-1167 clone per borrower (its own account on the pool), collateral deposited on its
 * behalf and one borrow, 40 borrowers per transaction. HF targets are kept above the LTV limit the pool enforces.
 */
export async function seedBorrowers(chain: BenchChain, spec: BorrowerSpec): Promise<{ ms: number; txs: number; blocks: number; events: number }> {
  const started = performance.now();
  const { d } = chain;
  const groups = new Map<string, number[]>();
  for (let i = 0; i < spec.count; i++) {
    const key = `${spec.collateral(i)}|${spec.debt(i)}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(i);
  }
  const txs: RawTx[] = [];
  const seeded: SeededBorrower[] = new Array(spec.count);
  for (const [key, ids] of groups) {
    const [c, debt] = key.split("|") as [string, string];
    const ca = assetOf(d, c);
    const da = assetOf(d, debt);
    for (let k = 0; k < ids.length; k += BORROWERS_PER_TX) {
      const part = ids.slice(k, k + BORROWERS_PER_TX);
      const firstSalt = chain.nextSalt;
      chain.nextSalt += part.length;
      const coll: bigint[] = [];
      const owed: bigint[] = [];
      part.forEach((i, j) => {
        const usd = spec.sizeUsd(i);
        const hf = Math.max(spec.hf(i), (LT[c]! / LTV[c]!) * 1.002);
        coll.push(units(usd, c, ca.decimals));
        owed.push(units((usd * LT[c]!) / hf, debt, da.decimals));
        seeded[i] = { address: cloneAddress(chain, firstSalt + j), collateral: c, debt, hf };
      });
      txs.push(
        call(chain.admin, chain.batcher, batcherAbi, "openPositions", [d.pool, ca.address, coll, da.address, owed, BigInt(firstSalt)], 15_000_000n),
      );
    }
  }
  const r = await bulkSend(chain, txs, TXS_PER_BLOCK);
  chain.borrowers.push(...seeded);
  // deposit: ReserveDataUpdated + Deposit; borrow: ReserveDataUpdated + Borrow
  return { ms: performance.now() - started, txs: txs.length, blocks: r.blocks, events: spec.count * 4 };
}

export function cloneAddress(chain: BenchChain, salt: number): Hex20 {
  const bytecode = concat(["0x3d602d80600a3d3981f3363d3d373d3d3d363d73", chain.borrowerImpl, "0x5af43d82803e903d91602b57fd5bf3"]);
  return getContractAddress({ opcode: "CREATE2", from: chain.batcher, salt: pad(toHex(salt), { size: 32 }), bytecode }).toLowerCase() as Hex20;
}

/** Deposits on behalf of fresh addresses (suppliers without debt): two watched events each, 120 per transaction. */
export async function seedSupplierDeposits(
  chain: BenchChain,
  tag: string,
  count: number,
): Promise<{ ms: number; txs: number; blocks: number; events: number }> {
  const { d } = chain;
  const txs: RawTx[] = [];
  for (let i = 0; i < count; i += DEPOSITS_PER_TX) {
    const a = d.assets[(i / DEPOSITS_PER_TX) % d.assets.length]!;
    const n = Math.min(DEPOSITS_PER_TX, count - i);
    const amounts = Array.from({ length: n }, (_, j) => units(100 + ((i + j) % 997), a.symbol, a.decimals));
    const accounts = Array.from({ length: n }, (_, j) => benchAddress(tag, i + j));
    txs.push(call(chain.admin, chain.batcher, batcherAbi, "depositFor", [d.pool, a.address, amounts, accounts], 15_000_000n));
  }
  const r = await bulkSend(chain, txs, TXS_PER_BLOCK);
  return { ms: r.ms, txs: txs.length, blocks: r.blocks, events: count * 2 };
}

/** Sets a feed's answer from the admin (automine decides when it lands); returns the transaction hash. */
export async function sendPrice(chain: BenchChain, symbol: string, usd: number): Promise<Hex> {
  const a = assetOf(chain.d, symbol);
  const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
  const answer = (BigInt(Math.round(usd * 1e8)) * 10n ** BigInt(a.feedDecimals)) / 10n ** 8n;
  const tx = call(chain.admin, a.feed, abi, "updateAnswer", [answer], 200_000n);
  return chain.node.rpc<Hex>("eth_sendTransaction", [
    { from: tx.from, to: tx.to, data: tx.data, gas: toHex(tx.gas), maxFeePerGas: toHex(MAX_FEE), maxPriorityFeePerGas: toHex(PRIORITY_FEE) },
  ]);
}

/** Refreshes every feed at its current answer (keeps heartbeats alive), as one block. */
export async function refreshFeeds(chain: BenchChain, prices: Record<string, number>): Promise<void> {
  const txs = chain.d.assets.map((a) => {
    const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
    const answer = (BigInt(Math.round(prices[a.symbol]! * 1e8)) * 10n ** BigInt(a.feedDecimals)) / 10n ** 8n;
    return call(chain.admin, a.feed, abi, "updateAnswer", [answer], 200_000n);
  });
  await bulkSend(chain, txs);
}

export { PRICES as SEED_PRICES };
