// Keeper end to end on a real hardhat node and a real Redis: price drop → job → liquidation mined → HF restored,
// plus the jobs that must send nothing (unprofitable, lost race, stale feed, dry run) and many jobs on one key.
import { expect } from "chai";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { WAD } from "../../common/math";
import { marginPoolAbi } from "../../common/generated/abis";
import type { LiquidationJobResult } from "../../keeper/job";
import { liquidationJobId } from "../../keeper/job";
import { MAX_UINT256 } from "../../common/math";
import { testTokenAbi } from "../../common/generated/abis";
import {
  assetOf, dropPrefix, dumpPrefix, headContext, healthFactor, KEEPER_ADDRESS, KEEPER_KEY, liquidations, nonceOf, openPosition,
  opportunityFor, send, setPrice, startChain, startKeeper, uniqueQueue, waitFor, type Chain, type TestKeeper,
} from "./helpers";

const PORT = 8611;

describe("keeper: liquidation pipeline (hardhat node + Redis)", function () {
  this.timeout(120_000);
  let chain: Chain;
  let store: Store;
  let snap: string;
  const running: TestKeeper[] = [];
  const prefixes: string[] = [];
  const allLogs: string[] = [];

  before(async () => {
    // One in-memory store for the file (PGlite takes seconds to boot), emptied before each test. Opened before
    // the chain: its synchronous WASM start-up would otherwise outlast the node's HTTP keep-alive.
    store = await openStore({ dataDir: "memory://" });
    chain = await startChain(PORT);
    snap = await chain.rpc<string>("evm_snapshot");
  });
  beforeEach(async () => {
    await store.reset();
    await chain.rpc("evm_revert", [snap]);
    snap = await chain.rpc<string>("evm_snapshot");
  });
  afterEach(async () => {
    for (const k of running.splice(0)) {
      allLogs.push(...k.lines);
      await k.stop();
    }
  });
  after(async () => {
    for (const k of running.splice(0)) await k.stop().catch(() => undefined);
    await chain?.stop();
    await store?.close();
    for (const p of prefixes) await dropPrefix(p);
  });

  function queue(label: string) {
    const q = uniqueQueue(label);
    prefixes.push(q.prefix);
    return q;
  }
  async function keeper(config: Parameters<typeof startKeeper>[1], opts?: Parameters<typeof startKeeper>[2]) {
    const k = await startKeeper(chain, config, { store, ...opts });
    running.push(k);
    return k;
  }
  async function finished(k: TestKeeper, jobId: string): Promise<{ state: string; result: LiquidationJobResult | undefined; failedReason?: string }> {
    return waitFor(`job ${jobId} to finish`, async () => {
      const state = await k.keeper.producer.queue.getJobState(jobId);
      if (state !== "completed" && state !== "failed") return undefined;
      // read the job after its state: read before, it may still be the active job's (no result yet)
      const job = (await k.keeper.producer.queue.getJob(jobId))!;
      return { state, result: job.returnvalue as LiquidationJobResult | undefined, failedReason: job.failedReason };
    }, 30_000);
  }

  it("liquidates after a price drop: one transaction, HF above its pre-liquidation value, outcome row 'liquidated'", async () => {
    const q = queue("happy");
    const borrower = await openPosition(chain, 6, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400"); // HF 0.99: close factor 50%
    const before = await healthFactor(chain, borrower.account.address);
    expect(before < WAD).to.equal(true);

    const nonceBefore = await nonceOf(chain, KEEPER_ADDRESS);
    const k = await keeper({ ...q, minProfitUsd: "10" });
    const nonceAfterApprovals = await nonceOf(chain, KEEPER_ADDRESS);
    // USDC and DAI were approved when the keeper was funded: start-up approves only WETH and WBTC.
    expect(nonceAfterApprovals).to.equal(nonceBefore + 2);
    const ctx = await headContext(chain);
    const opp = await opportunityFor(chain, borrower.account.address, ctx.blockNumber);
    const r = await k.keeper.producer.enqueueOpportunities([opp], ctx);
    expect(r).to.deep.equal({ enqueued: 1, duplicates: 0, skippedUnknown: 0, retried: 0 });

    const jobId = liquidationJobId(borrower.account.address, ctx.blockNumber, 1);
    const done = await finished(k, jobId);
    expect(done.state).to.equal("completed");
    expect(done.result!.outcome).to.equal("liquidated");

    const after = await healthFactor(chain, borrower.account.address);
    expect(after > before).to.equal(true);
    expect(after >= WAD).to.equal(true);
    const events = await liquidations(chain, ctx.blockNumber, borrower.account.address);
    expect(events.length).to.equal(1);
    expect(events[0]!.args.liquidator).to.equal(KEEPER_ADDRESS);
    expect(events[0]!.transactionHash).to.equal(done.result!.transactionHash);
    // 50% of ~20000 USDC (plus a few seconds of interest) repaid for repay · 1.05 / 2400 WETH
    const repaid = events[0]!.args.debtRepaid!;
    expect(repaid >= 10_000n * 10n ** 6n && repaid < 10_000_010_000n).to.equal(true);
    expect(events[0]!.args.collateralSeized).to.equal((repaid * 10n ** 8n * 10n ** 18n * 10_500n) / (2_400n * 10n ** 8n * 10n ** 6n * 10_000n));
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonceAfterApprovals + 1);

    const rows = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account: borrower.account.address });
    expect(rows.length).to.equal(1);
    expect(rows[0]!.outcome).to.equal("liquidated");
    expect(rows[0]!.transactionHash).to.equal(events[0]!.transactionHash.toLowerCase());
    expect(rows[0]!.repayAmount).to.equal(repaid);
    expect(rows[0]!.gasUsed! > 0n).to.equal(true);
    // bonus 5% of $10000 = $500, minus gas: between $490 and $500
    expect(rows[0]!.expectedProfitBase! > 490n * 10n ** 8n && rows[0]!.expectedProfitBase! < 500n * 10n ** 8n).to.equal(true);

    // A second keeper on the same key finds every allowance sufficient: start-up sends nothing.
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    await keeper({ ...queue("again") });
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
  });

  /** Approves the pool for every asset from the keeper's account, so start-up sends nothing and nonces count only liquidations. */
  async function preApprove(): Promise<void> {
    const w = chain.wallet(2);
    for (const a of chain.d.assets) await send(chain, w, a.address, testTokenAbi, "approve", [chain.d.pool, MAX_UINT256]);
  }

  async function enqueue(k: TestKeeper, account: `0x${string}`, since?: bigint, healthFactor?: bigint) {
    const ctx = await headContext(chain);
    const opp = healthFactor === undefined
      ? await opportunityFor(chain, account, since ?? ctx.blockNumber)
      : { account, healthFactor, since: since ?? ctx.blockNumber, positionVersion: 1, status: "liquidatable" as const };
    const r = await k.keeper.producer.enqueueOpportunities([opp], ctx);
    return { r, jobId: liquidationJobId(account, opp.since, 1), ctx };
  }

  it("skips an unprofitable liquidation (minimum profit above the bonus): outcome row, no transaction", async () => {
    const borrower = await openPosition(chain, 6, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400");
    const hf = await healthFactor(chain, borrower.account.address);
    const k = await keeper({ ...queue("unprofitable"), minProfitUsd: "1000000" });
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    const { jobId } = await enqueue(k, borrower.account.address);
    const done = await finished(k, jobId);
    expect(done.state).to.equal("completed");
    expect(done.result!.outcome).to.equal("skipped-unprofitable");
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
    expect(await liquidations(chain, 0n, borrower.account.address)).to.deep.equal([]);
    expect((await healthFactor(chain, borrower.account.address)) <= hf).to.equal(true); // only interest moved it
    const [row] = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account: borrower.account.address });
    expect(row!.outcome).to.equal("skipped-unprofitable");
    expect(row!.transactionHash).to.equal(null);
    // the profit it would have made (~$500 bonus minus gas) is recorded, and it is below the minimum
    expect(row!.expectedProfitBase! > 400n * 10n ** 8n && row!.expectedProfitBase! < 1_000_000n * 10n ** 8n).to.equal(true);
  });

  it("someone else liquidates between enqueue and processing: lost-race, the keeper's nonce does not move", async () => {
    await preApprove();
    const borrower = await openPosition(chain, 6, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400");
    const k = await keeper({ ...queue("race") }, { start: false });
    const { jobId } = await enqueue(k, borrower.account.address);
    // The rival takes the 50% close factor, which lifts the HF above 1.
    await send(chain, chain.rival, chain.d.pool, marginPoolAbi, "liquidate", [
      borrower.account.address, assetOf(chain.d, "WETH").address, assetOf(chain.d, "USDC").address, MAX_UINT256,
    ]);
    expect((await healthFactor(chain, borrower.account.address)) >= WAD).to.equal(true);
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    await k.keeper.start();
    const done = await finished(k, jobId);
    expect(done.state).to.equal("completed");
    expect(done.result!.outcome).to.equal("lost-race");
    expect(done.result!.reason).to.contain(chain.rival.account.address);
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
    const events = await liquidations(chain, 0n, borrower.account.address);
    expect(events.map((e) => e.args.liquidator)).to.deep.equal([chain.rival.account.address]);
  });

  it("a stale feed sends nothing and fails the job once (no retries); when the price is back, the same opportunity is retried and liquidated", async () => {
    const borrower = await openPosition(chain, 6, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400");
    const k = await keeper({ ...queue("stale"), attempts: 5 });
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    const since = (await headContext(chain)).blockNumber;
    const hf = await healthFactor(chain, borrower.account.address);
    await chain.rpc("evm_increaseTime", [3_601]); // WETH heartbeat is 3600 s
    await chain.rpc("evm_mine");
    // (the health engine would mark this account "unknown"; the job was enqueued before the feed went stale)
    const { jobId } = await enqueue(k, borrower.account.address, since, hf);
    const done = await finished(k, jobId);
    expect(done.state).to.equal("failed");
    expect(done.failedReason).to.match(/^price-unavailable: StalePrice/);
    const job = await k.keeper.producer.queue.getJob(jobId);
    expect(job!.attemptsMade).to.equal(1);
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
    const rows = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account: borrower.account.address });
    expect(rows.map((r) => r.outcome)).to.deep.equal(["failed"]);

    // A fresh round: the health engine reports the account liquidatable again with the same episode.
    await setPrice(chain.ctx, "WETH", "2400");
    const again = await enqueue(k, borrower.account.address, since);
    expect(again.r).to.deep.equal({ enqueued: 0, duplicates: 0, skippedUnknown: 0, retried: 1 });
    const second = await finished(k, jobId);
    expect(second.state).to.equal("completed");
    expect(second.result!.outcome).to.equal("liquidated");
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce + 1);
  });

  it("dry run simulates and prices but sends nothing, not even approvals", async () => {
    const borrower = await openPosition(chain, 6, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400");
    const hf = await healthFactor(chain, borrower.account.address);
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    const k = await keeper({ ...queue("dry"), dryRun: "true" });
    const { jobId } = await enqueue(k, borrower.account.address);
    const done = await finished(k, jobId);
    expect(done.result!.outcome).to.equal("dry-run");
    expect(done.result!.collateralAsset!.toLowerCase()).to.equal(assetOf(chain.d, "WETH").address);
    expect(done.result!.debtAsset!.toLowerCase()).to.equal(assetOf(chain.d, "USDC").address);
    expect(BigInt(done.result!.expectedProfitBase!) > 400n * 10n ** 8n).to.equal(true);
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
    expect(await liquidations(chain, 0n, borrower.account.address)).to.deep.equal([]);
    expect((await healthFactor(chain, borrower.account.address)) <= hf).to.equal(true); // only interest moved it
  });

  it("two workers (concurrency 3 each, one key) and the same opportunities enqueued on every block: one transaction per opportunity, consecutive nonces", async () => {
    await preApprove();
    const borrowers = [
      await openPosition(chain, 6, "10", "20000"),
      await openPosition(chain, 7, "5", "10500"),
      await openPosition(chain, 8, "20", "41000"),
    ];
    await setPrice(chain.ctx, "WETH", "2400");
    const q = queue("scale");
    const since = (await headContext(chain)).blockNumber;
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    const a = await keeper({ ...q, concurrency: 3 });
    const b = await keeper({ ...q, concurrency: 3 });
    const totals = { enqueued: 0, duplicates: 0 };
    for (let block = 0; block < 6; block++) {
      const producer = (block % 2 === 0 ? a : b).keeper.producer;
      const ctx = await headContext(chain);
      const opps = await Promise.all(borrowers.map((w) => opportunityFor(chain, w.account.address, since)));
      const r = await producer.enqueueOpportunities(opps.map((o) => ({ ...o, healthFactor: o.healthFactor < WAD ? o.healthFactor : WAD - 1n })), ctx);
      totals.enqueued += r.enqueued;
      totals.duplicates += r.duplicates;
      await chain.rpc("evm_mine");
    }
    expect(totals).to.deep.equal({ enqueued: 3, duplicates: 15 });
    for (const w of borrowers) {
      const done = await finished(a, liquidationJobId(w.account.address, since, 1));
      expect(done.result!.outcome).to.equal("liquidated");
    }
    const events = await liquidations(chain, since);
    expect(events.length).to.equal(3);
    expect(new Set(events.map((e) => e.args.borrower)).size).to.equal(3);
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce + 3);
    const receipts = await Promise.all(events.map((e) => chain.node.publicClient.getTransactionReceipt({ hash: e.transactionHash })));
    expect(receipts.every((r) => r.status === "success")).to.equal(true);
    // both workers took part or not, every nonce is distinct
    const txs = await Promise.all(events.map((e) => chain.node.publicClient.getTransaction({ hash: e.transactionHash })));
    expect(new Set(txs.map((t) => t.nonce)).size).to.equal(3);
  });

  it("never writes the private key to a log line or to Redis (job data, results, events)", async () => {
    for (const k of running) allLogs.push(...k.lines);
    const bare = KEEPER_KEY.slice(2).toLowerCase();
    expect(allLogs.length > 20).to.equal(true);
    expect(allLogs.filter((l) => l.toLowerCase().includes(bare))).to.deep.equal([]);
    for (const p of prefixes) {
      const dumped = (await dumpPrefix(p)).toLowerCase();
      expect(dumped.length > 0).to.equal(true);
      expect(dumped.includes(bare), `key found under ${p}`).to.equal(false);
    }
  });
});
