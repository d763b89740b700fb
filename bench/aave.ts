// Aave V3 figures: a real Aave V3.0 market (deployed from @aave/core-v3's artifacts) filled by its market
// simulation (borrowers across the HF spectrum, eMode, collateral toggles, aToken transfers, flash loans, crashes),
// then on that chain, side by side:
// - backfill: the floor (bare eth_getLogs + decode, address discovery included) and the real Indexer into
//   PostgreSQL and PGlite, events/s and the ratio to the floor measured just before each run;
// - the common keeper design vs marginwatch per block: on every block, Pool.getUserAccountData of every borrower
//   (JSON-RPC batches of 100 eth_call, one request in flight) versus marginwatch's indexer following the same blocks.
import pino from "pino";
import { HARDHAT_KEYS, startHardhatNode } from "../common/hardhat-node";
import { WAD } from "../common/math";
import type { Hex20 } from "../common/deployment";
import { setPrice } from "../protocols/aave-v3/actions";
import { deployAaveMarket } from "../protocols/aave-v3/deploy";
import { mockV3AggregatorAbi, poolAbi } from "../protocols/aave-v3/generated/abis";
import { AaveMarketSimulation } from "../protocols/aave-v3/simulation";
import { measureBackfill, measureFloor, pgliteBackend, postgresBackend } from "./backfill";
import type { IndexedChain } from "./chain";
import { countingClient, createCounter, sumCalls } from "./counting";
import { NAIVE_BATCH } from "./naive";
import { emit, median, note } from "./report";

const PREFIX = "backfill.aave-v3";
const HEAD_POLL = "eth_blockNumber";

export interface AaveBenchOptions {
  port: number;
  borrowers: number;
  ticks: number;
  blocks: number;
  pgUrl: string;
}

export async function aaveBench(o: AaveBenchOptions): Promise<void> {
  const node = await startHardhatNode(o.port);
  try {
    const t0 = performance.now();
    const d = await deployAaveMarket({ publicClient: node.publicClient, walletClient: node.wallet(0) });
    const sim = new AaveMarketSimulation({
      url: node.url,
      publicClient: node.publicClient,
      deployment: d,
      adminKey: HARDHAT_KEYS[0],
      fundAddresses: [],
      borrowers: o.borrowers,
      seed: 7,
      tickMs: 1_000,
      logger: pino({ level: "silent" }),
    });
    await sim.seed();
    for (let i = 0; i < o.ticks; i++) await sim.tick();
    const head = await node.publicClient.getBlockNumber();
    emit("aave.market_ms", performance.now() - t0, "ms", {
      borrowers: o.borrowers,
      ticks: o.ticks,
      actions: sim.stats.actions,
      failed_actions: sim.stats.failedActions,
      blocks: Number(head) - d.startBlock + 1,
      what: "deploy + simulation seed + ticks (automine)",
    });
    note(`aave: market of ${o.borrowers} borrowers after ${o.ticks} ticks at block ${head}`);
    const chain: IndexedChain = { node, d };
    const p = { protocol: d.protocol, borrowers: o.borrowers };

    const floorPg = await measureFloor(chain, { ...p, before: "postgres" }, true, PREFIX);
    try {
      await measureBackfill(chain, postgresBackend(o.pgUrl), p, false, floorPg, true, PREFIX);
    } catch (e) {
      note(`aave backfill on PostgreSQL skipped: ${(e as Error).message.split("\n")[0]}`);
    }
    const floorLite = await measureFloor(chain, { ...p, before: "pglite" }, false, PREFIX);
    const follower = await measureBackfill(chain, pgliteBackend(), p, true, floorLite, true, PREFIX);
    if (!follower) return;
    try {
      await naivePerBlock(
        chain,
        follower,
        sim.borrowers.map((b) => b.address),
        o.blocks,
      );
    } finally {
      await follower.stop();
    }
  } finally {
    await node.stop();
  }
}

/** Per block (one WETH price move each): every borrower's getUserAccountData vs marginwatch's follow step. */
async function naivePerBlock(
  chain: IndexedChain,
  follower: NonNullable<Awaited<ReturnType<typeof measureBackfill>>>,
  accounts: readonly Hex20[],
  blocks: number,
): Promise<void> {
  const counter = createCounter();
  const naive = countingClient(chain.node.url, counter, { batchSize: NAIVE_BATCH, timeoutMs: 600_000 });
  const ctx = { publicClient: chain.node.publicClient, deployment: chain.d, admin: chain.node.wallet(0) };
  const p = { protocol: chain.d.protocol, borrowers: accounts.length, blocks, batch: NAIVE_BATCH };
  const naiveMs: number[] = [];
  const naiveCalls: number[] = [];
  const mwMs: number[] = [];
  const mwCalls: number[] = [];
  let mismatches = 0;
  let unknown = 0;
  const base = 3000;
  // Fresh answers on every feed first: the simulation may have left one past its heartbeat, and marginwatch calls
  // its holders "unknown" (AaveOracle would still price them; that difference is the point of the heartbeat check,
  // not what this comparison measures).
  for (const a of chain.d.assets) {
    const answer = await chain.node.publicClient.readContract({ address: a.feed, abi: mockV3AggregatorAbi, functionName: "latestAnswer" });
    await setPrice(ctx, a.symbol, answer);
  }
  for (let k = 0; k < blocks; k++) {
    const price = k === blocks - 1 ? base : base * (k % 2 ? 1.005 : 0.995);
    const t0 = performance.now();
    await setPrice(ctx, "WETH", price.toFixed(2));
    const block = await chain.node.publicClient.getBlockNumber();
    const seen = await follower.waitBlock(block);
    mwMs.push(seen.at - t0);
    mwCalls.push(sumCalls(seen.calls, [HEAD_POLL]));

    const before = counter.snapshot();
    const t1 = performance.now();
    const hfs: PromiseSettledResult<readonly bigint[]>[] = [];
    for (let i = 0; i < accounts.length; i += NAIVE_BATCH) {
      const part = accounts.slice(i, i + NAIVE_BATCH);
      hfs.push(
        ...(await Promise.allSettled(
          part.map((account) =>
            naive.readContract({ address: chain.d.pool, abi: poolAbi, functionName: "getUserAccountData", args: [account], blockNumber: block }),
          ),
        )),
      );
    }
    naiveMs.push(performance.now() - t1);
    naiveCalls.push(sumCalls(counter.since(before).calls, [HEAD_POLL]));
    const mine = new Set(follower.health.liquidatable().map((e) => e.account.toLowerCase()));
    const stale = new Set(follower.health.unknown().map((a) => a.toLowerCase()));
    hfs.forEach((r, i) => {
      const account = accounts[i]!.toLowerCase();
      if (r.status !== "fulfilled" || r.value[5]! >= WAD || mine.has(account)) return;
      if (stale.has(account)) unknown++;
      else mismatches++;
    });
  }
  emit("aave.naive.rpc_calls_per_block", median(naiveCalls), "calls", { ...p, what: "eth_call getUserAccountData per borrower" });
  emit("aave.naive.ms_per_block", median(naiveMs), "ms", { ...p, what: "every borrower's getUserAccountData at the block" });
  emit("aave.marginwatch.rpc_calls_per_block", median(mwCalls), "calls", { ...p, what: "indexer follow step (head poll not counted)" });
  emit("aave.marginwatch.ms_per_block", median(mwMs), "ms", {
    ...p,
    what: "price tx sent → block applied, AaveOracle sources polled, health re-evaluated, batch committed",
  });
  emit("aave.compare.ms_per_block_ratio", median(naiveMs) / median(mwMs), "x", { ...p, what: "naive ÷ marginwatch" });
  emit("aave.compare.rpc_calls_per_block_ratio", median(naiveCalls) / Math.max(1, median(mwCalls)), "x", { ...p, what: "naive ÷ marginwatch" });
  emit("aave.compare.liquidatable_unknown", unknown, "accounts", {
    ...p,
    what: "accounts under HF 1 by getUserAccountData that marginwatch holds as unknown (a feed past its heartbeat); 0 with fresh feeds",
  });
  emit("aave.compare.liquidatable_mismatches", mismatches, "accounts", {
    ...p,
    what: "accounts getUserAccountData says are under HF 1 that marginwatch did not list; must be 0",
  });
}
