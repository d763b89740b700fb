// Keeper end to end on a real hardhat node and a real Redis: price drop → job → liquidation mined → HF restored,
// plus the jobs that must send nothing (unprofitable, lost race, dry run), a feed going stale between enqueue and
// send (parked, then liquidated or given up), a remembered nonce the chain does not know, and many jobs on one key.
import { expect } from "chai";
import { Redis } from "ioredis";
import { erc20Abi } from "viem";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { WAD } from "../../common/math";
import { marginPoolAbi } from "../../protocols/marginpool/generated/abis";
import type { LiquidationJobData, LiquidationJobResult } from "../../keeper/job";
import { resetKeeperState } from "../../keeper/keeper";
import { signerKeyBase } from "../../keeper/tx/nonce-manager";
import { liquidationJobId } from "../../keeper/job";
import { MAX_UINT256 } from "../../common/math";
import { testTokenAbi } from "../../protocols/marginpool/generated/abis";
import {
  assetOf,
  dropPrefix,
  dumpPrefix,
  headContext,
  healthFactor,
  KEEPER_ADDRESS,
  KEEPER_KEY,
  liquidations,
  nonceOf,
  openPosition,
  opportunityFor,
  REDIS,
  send,
  setPrice,
  startChain,
  startKeeper,
  uniqueQueue,
  waitFor,
  type Chain,
  type TestKeeper,
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
    return waitFor(
      `job ${jobId} to finish`,
      async () => {
        const state = await k.keeper.producer.queue.getJobState(jobId);
        if (state !== "completed" && state !== "failed") return undefined;
        // read the job after its state: read before, it may still be the active job's (no result yet)
        const job = (await k.keeper.producer.queue.getJob(jobId))!;
        return { state, result: job.returnvalue as LiquidationJobResult | undefined, failedReason: job.failedReason };
      },
      30_000,
    );
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
    const opp =
      healthFactor === undefined
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
      borrower.account.address,
      assetOf(chain.d, "WETH").address,
      assetOf(chain.d, "USDC").address,
      MAX_UINT256,
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

  /** Opens the usual HF-0.99 position, then lets the WETH feed go stale (heartbeat 3600 s) after the HF was read. */
  async function staleAfterSeen(walletIndex = 6) {
    const borrower = await openPosition(chain, walletIndex, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400");
    const since = (await headContext(chain)).blockNumber;
    const hf = await healthFactor(chain, borrower.account.address);
    expect(hf < WAD, `HF ${hf} before the feed goes stale`).to.equal(true);
    await chain.rpc("evm_increaseTime", [3_601]);
    await chain.rpc("evm_mine");
    return { account: borrower.account.address, since, hf };
  }
  const levelOf = (line: string): number => (JSON.parse(line) as { level: number }).level;
  const msgCount = (k: TestKeeper, msg: string) => k.lines.filter((l) => l.includes(`"msg":"${msg}"`)).length;
  async function parkedJob(k: TestKeeper, jobId: string, minRechecks: number) {
    return waitFor(`job ${jobId} parked (delayed) after ${minRechecks} re-check(s)`, async () => {
      const job = await k.keeper.producer.queue.getJob(jobId);
      const parked = (job?.data as LiquidationJobData | undefined)?.parked;
      if (!job || !parked || parked.count < minRechecks) return undefined;
      return (await k.keeper.producer.queue.getJobState(jobId)) === "delayed" ? { job, parked } : undefined;
    });
  }

  it("a feed that goes stale between enqueue and send parks the job (delayed, one 'price-unavailable' row, no failure, no attempt used); once the feed is updated the job liquidates", async () => {
    const { account, since, hf } = await staleAfterSeen();
    const k = await keeper({ ...queue("park"), priceRetryMs: 200, priceRetryMaxMs: 400 });
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    // (the health engine would now mark this account "unknown"; the job was enqueued before the feed went stale)
    const { jobId } = await enqueue(k, account, since, hf);

    // re-checked twice while the feed stays stale: still parked, one row for the episode, nothing sent or failed
    const { job, parked } = await parkedJob(k, jobId, 2);
    expect(parked.reason).to.match(/^StalePrice\(/);
    expect(job.attemptsMade).to.equal(0);
    expect(await k.keeper.producer.queue.getJobCounts("failed", "completed")).to.deep.equal({ failed: 0, completed: 0 });
    const parkedRows = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account });
    expect(parkedRows.map((r) => r.outcome)).to.deep.equal(["price-unavailable"]);
    expect(parkedRows[0]!.reason).to.match(/^StalePrice\(.*nothing sent; waiting up to 600 s for a usable price$/);
    expect(parkedRows[0]!.transactionHash).to.equal(null);
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
    expect(await liquidations(chain, since, account)).to.deep.equal([]);

    // the feed is updated: the next re-check (≤ 400 ms, no new enqueue) finds a usable price and liquidates
    await setPrice(chain.ctx, "WETH", "2400");
    const done = await finished(k, jobId);
    expect(done.state).to.equal("completed");
    expect(done.result!.outcome).to.equal("liquidated");
    const events = await liquidations(chain, since, account);
    expect(events.map((e) => e.args.liquidator)).to.deep.equal([KEEPER_ADDRESS]);
    expect(events[0]!.transactionHash).to.equal(done.result!.transactionHash);
    const after = await healthFactor(chain, account);
    expect(after >= WAD, `HF after liquidation ${after}`).to.equal(true);
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce + 1);
    const rows = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account });
    expect(rows.map((r) => r.outcome)).to.deep.equal(["liquidated", "price-unavailable"]);
    expect(await k.keeper.producer.queue.getJobCounts("failed")).to.deep.equal({ failed: 0 });
    const finalJob = (await k.keeper.producer.queue.getJob(jobId))!;
    expect(finalJob.attemptsMade).to.equal(1); // the successful run only: parking used none
    expect((finalJob.data as LiquidationJobData).parked).to.equal(undefined);
    // logged once when parked (warn) and once when it proceeded (info); never at error level
    expect(msgCount(k, "price unavailable: job parked until the feed is usable again")).to.equal(1);
    expect(msgCount(k, "prices usable again: parked job proceeds")).to.equal(1);
    expect(k.lines.filter((l) => levelOf(l) >= 50)).to.deep.equal([]);
  });

  it("a parked job is woken when the producer reports the account liquidatable again (price usable), instead of at its next re-check", async () => {
    const { account, since, hf } = await staleAfterSeen();
    const k = await keeper({ ...queue("wake"), priceRetryMs: 60_000, priceRetryMaxMs: 60_000 });
    const { jobId } = await enqueue(k, account, since, hf);
    await parkedJob(k, jobId, 0);
    await setPrice(chain.ctx, "WETH", "2400");
    const t0 = Date.now();
    const again = await enqueue(k, account, since);
    expect(again.r).to.deep.equal({ enqueued: 0, duplicates: 0, skippedUnknown: 0, retried: 1 });
    const done = await finished(k, jobId);
    expect(done.result!.outcome).to.equal("liquidated");
    const waitedMs = Date.now() - t0;
    expect(waitedMs).to.be.lessThan(30_000); // its own re-check was 60 s away
    expect((await liquidations(chain, since, account)).length).to.equal(1);
  });

  it("a parked job whose account became healthy meanwhile (the new price lifts its HF) ends 'already-healthy', nothing sent", async () => {
    const { account, since, hf } = await staleAfterSeen();
    const k = await keeper({ ...queue("park-healthy"), priceRetryMs: 200, priceRetryMaxMs: 400 });
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    const { jobId } = await enqueue(k, account, since, hf);
    await parkedJob(k, jobId, 1);
    await setPrice(chain.ctx, "WETH", "3000"); // HF ≈ 1.24
    const done = await finished(k, jobId);
    expect(done.state).to.equal("completed");
    expect(done.result!.outcome).to.equal("already-healthy");
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
    const rows = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account });
    expect(rows.map((r) => r.outcome)).to.deep.equal(["already-healthy", "price-unavailable"]);
  });

  it("a job parked longer than priceWaitMs ends 'price-unavailable' (completed, not failed, one row, nothing sent); when the price is back the producer runs it again and it liquidates", async () => {
    const { account, since, hf } = await staleAfterSeen();
    const k = await keeper({ ...queue("park-bound"), priceWaitMs: 1_500, priceRetryMs: 200, priceRetryMaxMs: 400, attempts: 5 });
    const nonce = await nonceOf(chain, KEEPER_ADDRESS);
    const t0 = Date.now();
    const { jobId } = await enqueue(k, account, since, hf);
    const done = await finished(k, jobId);
    const elapsedMs = Date.now() - t0;
    expect(done.state).to.equal("completed");
    expect(done.failedReason).to.equal(undefined);
    expect(done.result!.outcome).to.equal("price-unavailable");
    expect(done.result!.transactionHash).to.equal(null);
    expect(done.result!.reason).to.match(/^no usable price for \d+ s \(\d+ re-checks\), nothing sent: StalePrice\(/);
    expect(elapsedMs).to.be.greaterThanOrEqual(1_500);
    expect(await k.keeper.producer.queue.getJobCounts("failed")).to.deep.equal({ failed: 0 });
    const job = (await k.keeper.producer.queue.getJob(jobId))!;
    expect((job.data as LiquidationJobData).parked).to.equal(undefined); // the episode is over
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce);
    const rows = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account });
    expect(rows.map((r) => r.outcome)).to.deep.equal(["price-unavailable"]); // one row per parking episode
    expect(msgCount(k, "price still unavailable after the maximum wait: job ends without sending")).to.equal(1);
    expect(k.lines.filter((l) => levelOf(l) >= 50)).to.deep.equal([]);

    // A fresh round: the price is back and the health engine reports the same opportunity liquidatable again.
    await setPrice(chain.ctx, "WETH", "2400");
    const again = await enqueue(k, account, since);
    expect(again.r).to.deep.equal({ enqueued: 0, duplicates: 0, skippedUnknown: 0, retried: 1 });
    const second = await finished(k, jobId);
    expect(second.state).to.equal("completed");
    expect(second.result!.outcome).to.equal("liquidated");
    expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce + 1);
    const after = await k.store.listKeeperOutcomes({ limit: 10, offset: 0, account });
    expect(after.map((r) => r.outcome)).to.deep.equal(["liquidated", "price-unavailable"]);
  });

  it("a remembered nonce above the chain's (an embedded chain restarted under it) does not stop the keeper: approvals and the liquidation land; the reset deletes the signer's keys", async () => {
    const q = queue("nonce");
    const borrower = await openPosition(chain, 6, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400");
    const k = await keeper({ ...q }, { start: false });
    const redis = new Redis(REDIS);
    try {
      const key = await k.keeper.nonceManager.nextNonceKey();
      const nonce = await nonceOf(chain, KEEPER_ADDRESS);
      await redis.set(key, String(nonce + 14), "PX", 60_000); // "Expected nonce to be N but got N+14"
      await k.keeper.start(); // approves WETH and WBTC (USDC and DAI were approved when the keeper was funded)
      expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce + 2);
      for (const symbol of ["WETH", "WBTC"]) {
        const allowance = await chain.node.publicClient.readContract({
          address: assetOf(chain.d, symbol).address,
          abi: erc20Abi,
          functionName: "allowance",
          args: [KEEPER_ADDRESS, chain.d.pool],
        });
        expect(allowance, symbol).to.equal(MAX_UINT256);
      }
      expect(await redis.get(key)).to.equal(String(nonce + 2));

      await redis.set(key, String(nonce + 2 + 14), "PX", 60_000);
      const { jobId } = await enqueue(k, borrower.account.address);
      const done = await finished(k, jobId);
      expect(done.result!.outcome).to.equal("liquidated");
      expect(await nonceOf(chain, KEEPER_ADDRESS)).to.equal(nonce + 3);
      expect(msgCount(k, "nonce refused by the node; forgetting the remembered nonce and re-reading the chain")).to.equal(2);

      // Reset for a fresh chain: the signer's lock and remembered nonces go, the queue stays.
      const base = signerKeyBase(q.prefix, KEEPER_ADDRESS);
      const lock = `${base}:lock`;
      await redis.set(lock, "a-dead-process", "PX", 60_000);
      expect((await redis.keys(`${base}:*`)).sort()).to.deep.equal([key, lock].sort());
      const deleted = await resetKeeperState({ ...REDIS }, q.prefix, KEEPER_ADDRESS);
      expect(deleted.sort()).to.deep.equal([key, lock].sort());
      expect(await redis.keys(`${base}:*`)).to.deep.equal([]);
      expect(await k.keeper.producer.queue.getJobState(jobId)).to.equal("completed");
      // the same through the keeper itself
      await redis.set(key, "99", "PX", 60_000);
      expect(await k.keeper.resetChainState()).to.deep.equal([key]);
      expect(await redis.exists(key)).to.equal(0);
    } finally {
      redis.disconnect();
    }
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
      const r = await producer.enqueueOpportunities(
        opps.map((o) => ({ ...o, healthFactor: o.healthFactor < WAD ? o.healthFactor : WAD - 1n })),
        ctx,
      );
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
