// The operator gauges of indexer/api/metrics.ts on a real /metrics: readiness, indexer phase / head / RPC / sync,
// the keeper queue (a real BullMQ queue on Redis) and outcomes (rows in a real PGlite store), the HF distribution and
// risk figures, each against the value it mirrors. Its own chain on port 8755 (8751–8759 are the ops tests').
import { expect } from "chai";
import { Queue } from "bullmq";
import { Registry } from "prom-client";
import type { FastifyInstance } from "fastify";
import type { PublicClient } from "viem";
import { marginpool } from "../../protocols/marginpool";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import { borrow, deposit } from "../../protocols/marginpool/actions";
import type { Deployment } from "../../common/deployment";
import { buildApi, type ApiContext } from "../../indexer/api";
import { OutcomeTally } from "../../indexer/api/metrics";
import { HealthEngine } from "../../indexer/health";
import type { Indexer } from "../../indexer/indexer";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import type { KeeperOutcome } from "../../keeper/outcome-types";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";
import { makeIndexer, silentLogger, waitFor } from "../fixtures/indexer";
import { get } from "../api/helpers";

const PORT = 8755;

/** The value of one series in a scrape (NaN when absent). */
function seriesValue(text: string, series: string): number {
  for (const line of text.split("\n")) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return Number.NaN;
}

function outcome(jobId: string, kind: KeeperOutcome["outcome"], createdAt: Date): KeeperOutcome {
  return {
    jobId,
    account: "0x00000000000000000000000000000000000000a1",
    outcome: kind,
    collateralAsset: null,
    debtAsset: null,
    repayAmount: null,
    expectedProfitBase: null,
    transactionHash: null,
    blockNumber: null,
    gasUsed: null,
    reason: null,
    createdAt,
  };
}

describe("operator metrics on /metrics", function () {
  this.timeout(180_000);
  let node: NodeHandle;
  let d: Deployment;
  let store: Store;
  let indexer: Indexer;
  let health: HealthEngine;
  let ctx: ApiContext;
  let app: FastifyInstance;
  const scrape = async (a: FastifyInstance = app): Promise<string> => {
    const r = await get(a, "/metrics");
    expect(r.status).to.equal(200);
    return r.text;
  };

  before(async () => {
    node = await startHardhatNode(PORT);
    d = await deployProtocol({ publicClient: node.publicClient, walletClient: node.wallet(0) });
    const chain = { publicClient: node.publicClient, deployment: d, admin: node.wallet(0) };
    const supplier = node.wallet(1);
    await deposit(chain, supplier, "USDC", "1000000");
    // Two borrowers: HF ≈ 1.24 (WETH → USDC) and ≈ 1.56 (WBTC → USDC).
    const b1 = node.wallet(2);
    await deposit(chain, b1, "WETH", "10");
    await borrow(chain, b1, "USDC", "20000");
    const b2 = node.wallet(3);
    await deposit(chain, b2, "WBTC", "1");
    await borrow(chain, b2, "USDC", "30000");
    store = await openStore({ dataDir: "memory://" });
    let h: HealthEngine | undefined;
    indexer = makeIndexer(node.publicClient as PublicClient, store, d, {}, (state) => (h = new HealthEngine(state, marginpool.math)));
    ctx = { indexer, health: undefined as never, store, deployment: d, registry: new Registry() };
    await indexer.start();
    await indexer.waitForBlock(await node.publicClient.getBlockNumber(), 30_000);
    await waitFor(() => indexer.status.phase === "follow", 30_000, "indexer following");
    health = h!;
    ctx = { ...ctx, health };
    app = await buildApi(ctx, { logger: silentLogger, dashboard: false });
  });

  after(async () => {
    await app?.close().catch(() => undefined);
    await indexer?.stop().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await node?.stop();
  });

  it("readiness, phase, head, RPC and sync gauges mirror the indexer's status", async () => {
    const m = await scrape();
    expect(seriesValue(m, "marginwatch_ready")).to.equal(1);
    expect(m).to.match(/# TYPE marginwatch_ready gauge/);
    expect(seriesValue(m, 'marginwatch_indexer_phase{phase="follow"}')).to.equal(1);
    for (const p of ["starting", "backfill", "stopped", "failed"]) expect(seriesValue(m, `marginwatch_indexer_phase{phase="${p}"}`)).to.equal(0);
    // A book this small never needs the sweep worker.
    expect(seriesValue(m, 'marginwatch_health_sweep_worker{state="off"}')).to.equal(1);
    for (const s of ["starting", "on", "failed"]) expect(seriesValue(m, `marginwatch_health_sweep_worker{state="${s}"}`)).to.equal(0);
    const head = seriesValue(m, "marginwatch_indexer_head_block");
    expect(head).to.be.greaterThan(0);
    expect(head - seriesValue(m, "marginwatch_indexer_last_block")).to.equal(seriesValue(m, "marginwatch_indexer_head_lag_blocks"));
    expect(BigInt(head) <= (await node.publicClient.getBlockNumber())).to.equal(true);
    expect(seriesValue(m, "marginwatch_indexer_rpc_failing")).to.equal(0);
    const lastOk = seriesValue(m, "marginwatch_indexer_rpc_last_success_timestamp_seconds");
    expect(lastOk).to.be.within(Date.now() / 1000 - 30, Date.now() / 1000 + 1);
    expect(seriesValue(m, "marginwatch_indexer_sync_consecutive_failures")).to.equal(0);
    expect(seriesValue(m, "marginwatch_indexer_reorgs_total")).to.equal(indexer.status.reorgs);
    expect(seriesValue(m, "marginwatch_indexer_malformed_logs_total")).to.equal(0);
    expect(m).to.match(/# TYPE marginwatch_indexer_reorgs_total counter/);
    // Without a keeper queue in this process there is no queue series (nothing made up).
    expect(m).to.not.match(/marginwatch_keeper_queue_/);
  });

  it("marginwatch_ready is 0 (phase starting) for an indexer that has not started, as /readyz is 503", async () => {
    const idle = makeIndexer(node.publicClient as PublicClient, store, d);
    const a = await buildApi({ ...ctx, indexer: idle, registry: new Registry() }, { logger: silentLogger, dashboard: false });
    try {
      const m = await scrape(a);
      expect((await get(a, "/readyz")).status).to.equal(503);
      expect(seriesValue(m, "marginwatch_ready")).to.equal(0);
      expect(seriesValue(m, 'marginwatch_indexer_phase{phase="starting"}')).to.equal(1);
      expect(seriesValue(m, "marginwatch_indexer_head_block")).to.equal(0);
    } finally {
      await a.close();
    }
  });

  it("the HF distribution, debt at risk, collateral within −20% and bad debt equal the engine's aggregates", async () => {
    const m = await scrape();
    const view = indexer.snapshots.current!;
    const agg = health.aggregates(view.block.timestamp);
    expect(agg.distribution.length).to.equal(7);
    let accounts = 0;
    for (const b of agg.distribution) {
      const le = b.max === null ? "+Inf" : String(b.max);
      expect(seriesValue(m, `marginwatch_hf_bucket_accounts{hf_below="${le}"}`), b.label).to.equal(b.accounts);
      expect(seriesValue(m, `marginwatch_hf_bucket_debt_usd{hf_below="${le}"}`), b.label).to.be.closeTo(b.debtUSD, 1e-6);
      accounts += b.accounts;
    }
    expect(accounts).to.equal(2);
    expect(seriesValue(m, 'marginwatch_hf_bucket_accounts{hf_below="1.25"}')).to.equal(1); // HF ≈ 1.24
    expect(seriesValue(m, 'marginwatch_hf_bucket_accounts{hf_below="2"}')).to.equal(1); // HF ≈ 1.56
    expect(seriesValue(m, 'marginwatch_hf_bucket_debt_usd{hf_below="1"}')).to.equal(0);
    expect(seriesValue(m, "marginwatch_collateral_liquidatable_within_20pct_usd")).to.be.closeTo(agg.liquidatableWithin20PctUSD, 1e-6);
    expect(agg.liquidatableWithin20PctUSD).to.be.greaterThan(0); // WETH −20% takes b1 under 1
    expect(seriesValue(m, "marginwatch_bad_debt_usd")).to.equal(0);
  });

  it("keeper queue jobs by state and queue_up from a real BullMQ queue; a queue that hangs is reported down", async function () {
    const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null, lazyConnect: true, connectTimeout: 1000 };
    const queue = new Queue(`mw-ops-metrics-${process.pid}-${Date.now()}`, { connection });
    try {
      try {
        await queue.waitUntilReady();
      } catch {
        console.log("      (Redis not reachable on 127.0.0.1:6379: keeper queue gauges not tested)");
        this.skip();
      }
      await queue.add("liquidate", { n: 1 });
      await queue.add("liquidate", { n: 2 });
      await queue.add("liquidate", { n: 3 }, { delay: 60_000 });
      const a = await buildApi(
        { ...ctx, registry: new Registry(), keeperQueue: { counts: () => queue.getJobCounts() } },
        { logger: silentLogger, dashboard: false },
      );
      try {
        const m = await scrape(a);
        expect(seriesValue(m, "marginwatch_keeper_queue_up")).to.equal(1);
        expect(seriesValue(m, 'marginwatch_keeper_queue_jobs{state="waiting"}')).to.equal(2);
        expect(seriesValue(m, 'marginwatch_keeper_queue_jobs{state="delayed"}')).to.equal(1);
        expect(seriesValue(m, 'marginwatch_keeper_queue_jobs{state="active"}')).to.equal(0);
        expect(seriesValue(m, 'marginwatch_keeper_queue_jobs{state="failed"}')).to.equal(0);
      } finally {
        await a.close();
      }
      const hung = await buildApi(
        { ...ctx, registry: new Registry(), keeperQueue: { counts: () => new Promise<Record<string, number>>(() => undefined) } },
        { logger: silentLogger, dashboard: false },
      );
      try {
        const t0 = Date.now();
        const m = await scrape(hung);
        expect(Date.now() - t0).to.be.below(3_000);
        expect(seriesValue(m, "marginwatch_keeper_queue_up")).to.equal(0);
        expect(m).to.not.match(/^marginwatch_keeper_queue_jobs\{/m);
      } finally {
        await hung.close();
      }
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
  });

  it("marginwatch_keeper_outcomes_total counts the store's outcome rows once each, by outcome, late rows included", async () => {
    const a = await buildApi({ ...ctx, registry: new Registry() }, { logger: silentLogger, dashboard: false });
    const count = (m: string, o: string) => seriesValue(m, `marginwatch_keeper_outcomes_total{outcome="${o}"}`);
    try {
      let m = await scrape(a);
      expect(m).to.match(/# TYPE marginwatch_keeper_outcomes_total counter/);
      for (const o of ["liquidated", "skipped-unprofitable", "already-healthy", "lost-race", "reverted", "failed", "dry-run", "price-unavailable"])
        expect(count(m, o), o).to.equal(0);
      const now = Date.now();
      await store.recordKeeperOutcome(outcome("j1", "liquidated", new Date(now - 2_000)));
      await store.recordKeeperOutcome(outcome("j2", "failed", new Date(now - 1_000)));
      await store.recordKeeperOutcome(outcome("j3", "liquidated", new Date(now)));
      m = await scrape(a);
      expect(count(m, "liquidated")).to.equal(2);
      expect(count(m, "failed")).to.equal(1);
      expect(count(await scrape(a), "liquidated")).to.equal(2); // a second scrape counts nothing twice
      // A row committed late with an earlier timestamp (another keeper's clock) is still counted, once.
      await store.recordKeeperOutcome(outcome("j4", "reverted", new Date(now - 30_000)));
      await store.recordKeeperOutcome(outcome("j1", "liquidated", new Date(now + 5))); // the same job's next attempt
      m = await scrape(a);
      expect(count(m, "reverted")).to.equal(1);
      expect(count(m, "liquidated")).to.equal(3);
      expect(count(m, "failed")).to.equal(1);
    } finally {
      await a.close();
    }
  });

  it("OutcomeTally pages through the rows newest first and stops below the overlap window", async () => {
    const rows: KeeperOutcome[] = [];
    const pages: number[] = [];
    const list = async (p: { limit: number; offset: number }) => {
      pages.push(p.offset);
      return [...rows].sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime()).slice(p.offset, p.offset + p.limit);
    };
    const tally = new OutcomeTally(list, 1_000, 3);
    for (let i = 0; i < 10; i++) rows.push(outcome(`a${i}`, i % 2 ? "failed" : "liquidated", new Date(100_000 + i * 10_000)));
    await tally.update();
    expect(tally.counts.get("liquidated")).to.equal(5);
    expect(tally.counts.get("failed")).to.equal(5);
    expect(pages).to.deep.equal([0, 3, 6, 9]); // every row on the first scrape
    pages.length = 0;
    rows.push(outcome("b0", "lost-race", new Date(200_000)));
    await tally.update();
    expect(tally.counts.get("lost-race")).to.equal(1);
    expect(tally.counts.get("liquidated")).to.equal(5);
    expect(pages).to.deep.equal([0]); // then only the newest page(s)
  });
});
