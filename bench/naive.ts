// The common keeper design, for comparison: on every block, ask the pool for healthFactor() of every known borrower
// (JSON-RPC batches of 100 eth_call, one HTTP request in flight — what a Multicall3 aggregate of 100 calls would
// do; Multicall3 is not deployed on the local chain), versus marginwatch's incremental indexer following the same
// blocks. Both count their calls with a counting transport.
//
// One request in flight on purpose: the hardhat node keeps every call's execution trace until its HTTP response
// is sent, so thousands of calls in concurrent batches hold gigabytes at once (see bench/chain.ts).
import { marginPoolAbi } from "../protocols/marginpool/generated/abis";
import { WAD } from "../common/math";
import type { Hex20 } from "../common/deployment";
import { sendPrice, type BenchChain } from "./chain";
import { countingClient, createCounter, sumCalls } from "./counting";
import type { Follower } from "./follower";
import { BASE_WETH } from "./population";
import { emit, median, note } from "./report";

/** Head detection is the same one call for both designs (and depends on the poll interval): left out of per-block counts. */
const HEAD_POLL = "eth_blockNumber";
/** eth_call per JSON-RPC batch (one HTTP request) */
export const NAIVE_BATCH = 100;

export async function naiveVsMarginwatch(chain: BenchChain, follower: Follower, blocks: number): Promise<void> {
  const n = chain.borrowers.length;
  const accounts = chain.borrowers.map((b) => b.address);
  const counter = createCounter();
  const naive = countingClient(chain.node.url, counter, { batchSize: NAIVE_BATCH, timeoutMs: 600_000 });
  const p = { borrowers: n, accounts_indexed: follower.health.stats().accounts, blocks, batch: NAIVE_BATCH };

  const naiveMs: number[] = [];
  const naiveCalls: number[] = [];
  const naiveHttp: number[] = [];
  const mwMs: number[] = [];
  const mwCalls: number[] = [];
  const mwHttp: number[] = [];
  const mwByMethod = new Map<string, number>();
  let mismatches = 0;
  for (let k = 0; k < blocks; k++) {
    // One price move per block (WETH ±0.5%, back to base on the last block): the event a keeper exists for.
    const price = k === blocks - 1 ? BASE_WETH : BASE_WETH * (k % 2 ? 1.005 : 0.995);
    const t0 = performance.now();
    const hash = await sendPrice(chain, "WETH", price);
    const receipt = await chain.node.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5 });
    const block = receipt.blockNumber;

    // marginwatch: block mined → indexer has applied it, polled the oracles and re-evaluated health
    const seen = await follower.waitBlock(block);
    mwMs.push(seen.at - t0);
    mwCalls.push(sumCalls(seen.calls, [HEAD_POLL]));
    mwHttp.push(seen.http);
    for (const [m, c] of seen.calls) if (m !== HEAD_POLL) mwByMethod.set(m, (mwByMethod.get(m) ?? 0) + c);

    // naive: learn the head, then healthFactor() of every borrower at that block
    const before = counter.snapshot();
    const t1 = performance.now();
    const head = await naive.getBlockNumber({ cacheTime: 0 });
    const at = head < block ? head : block;
    const hfs: PromiseSettledResult<bigint>[] = [];
    for (let i = 0; i < accounts.length; i += NAIVE_BATCH) {
      // issued in one tick: viem sends them as one JSON-RPC batch
      const part = accounts.slice(i, i + NAIVE_BATCH);
      hfs.push(
        ...(await Promise.allSettled(
          part.map((account) =>
            naive.readContract({ address: chain.d.pool, abi: marginPoolAbi, functionName: "healthFactor", args: [account], blockNumber: at }),
          ),
        )),
      );
    }
    const liquidatable = new Set<Hex20>();
    hfs.forEach((r, i) => {
      if (r.status === "fulfilled" && r.value < WAD) liquidatable.add(accounts[i]!);
    });
    naiveMs.push(performance.now() - t1);
    const d = counter.since(before);
    naiveCalls.push(sumCalls(d.calls, [HEAD_POLL]));
    naiveHttp.push(d.http);

    const mine = new Set(follower.health.liquidatable().map((e) => e.account.toLowerCase()));
    for (const a of liquidatable) if (!mine.has(a)) mismatches++;
    const failed = hfs.filter((r) => r.status === "rejected").length;
    if (failed) note(`naive: ${failed} healthFactor calls failed at block ${block}`);
  }
  const byMethod = [...mwByMethod].map(([m, c]) => `${m}:${round1(c / blocks)}`).join(",");
  emit("naive.rpc_calls_per_block", median(naiveCalls), "calls", { ...p, what: "eth_call healthFactor per borrower (head poll not counted)" });
  emit("naive.http_requests_per_block", median(naiveHttp), "requests", p);
  emit("naive.ms_per_block", median(naiveMs), "ms", { ...p, what: "head known → every borrower's HF read" });
  emit("marginwatch.rpc_calls_per_block", median(mwCalls), "calls", {
    ...p,
    by_method: byMethod,
    what: "indexer follow step (head poll not counted)",
  });
  emit("marginwatch.http_requests_per_block", median(mwHttp), "requests", { ...p, poll_ms: follower.pollIntervalMs, what: "incl. head polls" });
  emit("marginwatch.ms_per_block", median(mwMs), "ms", {
    ...p,
    poll_ms: follower.pollIntervalMs,
    what: "price tx sent → block applied, oracles polled, health re-evaluated, batch committed",
  });
  emit("compare.rpc_calls_per_block_ratio", median(naiveCalls) / Math.max(1, median(mwCalls)), "x", { ...p, what: "naive ÷ marginwatch" });
  emit("compare.ms_per_block_ratio", median(naiveMs) / median(mwMs), "x", { ...p, what: "naive ÷ marginwatch" });
  emit("compare.liquidatable_mismatches", mismatches, "accounts", {
    ...p,
    what: "accounts the naive scan found liquidatable that marginwatch did not; must be 0",
  });
}

const round1 = (x: number) => Math.round(x * 10) / 10;
