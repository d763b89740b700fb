// GET /v1/oracles, /v1/oracles/:asset/rounds, /v1/liquidations and /v1/keeper/outcomes against a real chain +
// indexer + store: a feed going stale after evm_increaseTime, a real liquidation, recorded keeper outcomes.
import { expect } from "chai";
import { setPrice } from "../../protocols/marginpool/actions";
import type { KeeperOutcome } from "../../indexer/store/types";
import { apiWorld, refreshAllFeeds, type ApiWorld } from "./world";
import { expectClientError, get } from "./helpers";

const PRICES = { WETH: "3000", WBTC: "60000", USDC: "1", DAI: "1" };

describe("API oracles and history", function () {
  this.timeout(120_000);
  let w: ApiWorld;

  before(async () => {
    w = await apiWorld();
    await w.synced();
  });

  describe("GET /v1/oracles", () => {
    type Feed = {
      symbol: string;
      status: string;
      priceUSD: string;
      heartbeat: string;
      age: string;
      ageRatio: string;
      reason: string | null;
      roundId: string;
    };
    const feeds = async (): Promise<Record<string, Feed>> => {
      const r = await get(w.app, "/v1/oracles");
      expect(r.status, r.text).to.equal(200);
      expect(r.body.blockNumber).to.equal(w.indexer.status.cursor.toString());
      return Object.fromEntries(r.body.feeds.map((f: Feed) => [f.symbol, f]));
    };

    it("shows every feed fresh, with price, round, age against heartbeat and the sequencer status", async () => {
      const r = await get(w.app, "/v1/oracles");
      expect(r.body.sequencer.status).to.equal("none");
      const f = await feeds();
      expect(Object.keys(f).sort()).to.deep.equal(["DAI", "USDC", "WBTC", "WETH"]);
      expect(f.WETH).to.include({ status: "fresh", priceUSD: "3000", heartbeat: "3600", reason: null });
      expect(f.DAI).to.include({ status: "fresh", priceUSD: "1", heartbeat: "86400" });
      expect(Number(f.WETH!.ageRatio)).to.be.within(0, 1);
      expect(Number(f.WETH!.ageRatio)).to.be.closeTo(Number(f.WETH!.age) / 3600, 1e-4);
      expect(BigInt(f.WETH!.roundId) > 0n).to.equal(true);
    });

    it("turns a feed stale after evm_increaseTime past its heartbeat and a mined block; accounts on it become unknown", async () => {
      await w.node.rpc("evm_increaseTime", [3601]);
      await w.mine();
      const f = await feeds();
      expect(f.WETH!.status).to.equal("stale");
      expect(f.WBTC!.status).to.equal("stale");
      expect(f.WETH!.reason).to.match(/heartbeat 3600/);
      expect(Number(f.WETH!.ageRatio)).to.be.greaterThan(1);
      expect(f.USDC!.status).to.equal("fresh"); // 1-day heartbeat

      const card = await get(w.app, `/v1/accounts/${w.b.b1.address}`);
      expect(card.body).to.include({ status: "unknown", healthFactor: "?", healthFactorWad: null });
      const unknown = await get(w.app, "/v1/accounts?status=unknown&limit=500");
      expect(unknown.body.accounts.map((a: { account: string }) => a.account)).to.include.members([w.b.b1.address, w.b.b2.address, w.b.b3.address]);
      expect(
        unknown.body.accounts.every((a: { healthFactor: string; healthFactorWad: null }) => a.healthFactor === "?" && a.healthFactorWad === null),
      ).to.equal(true);
      const metrics = await get(w.app, "/metrics");
      expect(metrics.text).to.match(/marginwatch_oracle_feed_stale\{asset="WETH"\} 1/);
      expect(metrics.text).to.match(/marginwatch_accounts_unknown [1-9]/);

      await refreshAllFeeds(w, PRICES);
      await w.synced();
      const again = await feeds();
      for (const s of Object.keys(PRICES)) expect(again[s]!.status, s).to.equal("fresh");
      expect((await get(w.app, `/v1/accounts/${w.b.b1.address}`)).body.status).to.not.equal("unknown");
    });
  });

  describe("GET /v1/oracles/:asset/rounds", () => {
    it("lists the rounds the indexer stored, newest first, by symbol or address, with paging", async () => {
      await setPrice(w.chain, "WBTC", "61000");
      await setPrice(w.chain, "WBTC", "60000");
      await w.synced();
      const r = await get(w.app, "/v1/oracles/WBTC/rounds?limit=2");
      expect(r.status, r.text).to.equal(200);
      expect(r.body.symbol).to.equal("WBTC");
      expect(r.body.rounds.map((x: { priceUSD: string }) => x.priceUSD)).to.deep.equal(["60000", "61000"]);
      const ids = r.body.rounds.map((x: { roundId: string }) => BigInt(x.roundId));
      expect(ids[0] > ids[1]).to.equal(true);
      expect(r.body.nextCursor).to.be.a("string");
      const next = await get(w.app, `/v1/oracles/WBTC/rounds?limit=2&cursor=${r.body.nextCursor}`);
      expect(next.body.rounds.length).to.be.at.least(1);
      expect(BigInt(next.body.rounds[0].roundId) < ids[1]).to.equal(true);
      const wbtc = w.d.assets.find((a) => a.symbol === "WBTC")!.address;
      expect((await get(w.app, `/v1/oracles/${wbtc}/rounds?limit=2`)).body.rounds).to.deep.equal(r.body.rounds);

      expectClientError(await get(w.app, "/v1/oracles/DOGE/rounds"), 404, /no listed asset/);
      expectClientError(await get(w.app, `/v1/oracles/0x${"ab".repeat(20)}/rounds`), 404);
      expectClientError(await get(w.app, "/v1/oracles/WBTC/rounds?limit=0"), 400, /limit/);
      expectClientError(await get(w.app, "/v1/oracles/WBTC/rounds?cursor=zzz"), 400, /cursor/);
      expectClientError(await get(w.app, `/v1/oracles/${"x".repeat(60)}/rounds`), 400, /asset/);
      expectClientError(await get(w.app, "/v1/oracles?verbose=1"), 400);
    });
  });

  describe("GET /v1/liquidations", () => {
    it("lists a real liquidation, newest first, filtered by account", async () => {
      // WETH 2800: b3 (5 WETH against 11900 USDC) falls to 0.97; b1 stays at 1.15.
      await setPrice(w.chain, "WETH", "2800");
      await w.synced();
      const liq = await get(w.app, "/v1/accounts?status=liquidatable");
      expect(liq.body.accounts.map((a: { account: string }) => a.account)).to.deep.equal([w.b.b3.address]);
      expect((await get(w.app, `/v1/accounts/${w.b.b3.address}`)).body.status).to.equal("liquidatable");

      await w.liquidate(w.b.b3.address, "WETH", "USDC", "5000");
      await setPrice(w.chain, "WETH", "3000");
      const block = await w.synced();

      const r = await get(w.app, "/v1/liquidations");
      expect(r.status, r.text).to.equal(200);
      const l = r.body.liquidations[0];
      expect(l.borrower).to.equal(w.b.b3.address);
      expect(l).to.include({ debtSymbol: "USDC", collateralSymbol: "WETH", debtRepaidAmount: "5000", debtRepaid: "5000000000" });
      expect(Number(l.collateralSeizedAmount)).to.be.closeTo((5000 * 1.05) / 2800, 1e-6); // repay × (1 + bonus) ÷ price
      expect(BigInt(l.blockNumber) < block).to.equal(true);
      expect(l.transactionHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(l.timestamp).to.match(/^\d+$/);

      expect((await get(w.app, `/v1/liquidations?account=${w.b.b3.address}`)).body.liquidations).to.have.length(1);
      expect((await get(w.app, `/v1/liquidations?account=${w.b.b1.address}`)).body.liquidations).to.have.length(0);
      // (The dashboard test may have liquidated a borrower of its own: page over b3's alone.)
      const page = await get(w.app, `/v1/liquidations?account=${w.b.b3.address}&limit=1`);
      expect(page.body.liquidations).to.have.length(1);
      expect(page.body.nextCursor).to.equal(null);
      // After the liquidation b3 is healthy again: 3.125 WETH against 6900 USDC.
      expect((await get(w.app, `/v1/accounts/${w.b.b3.address}`)).body.status).to.not.equal("liquidatable");
      // The at-risk list took the liquidation event: still in exact ascending order, b3 at its new HF.
      const list = (await get(w.app, "/v1/accounts?limit=500")).body;
      const wads = list.accounts
        .filter((a: { healthFactorWad: string | null }) => a.healthFactorWad !== null)
        .map((a: { healthFactorWad: string }) => BigInt(a.healthFactorWad));
      for (let i = 1; i < wads.length; i++) expect(wads[i - 1] <= wads[i], `order at ${i}`).to.equal(true);
      const b3Row = list.accounts.find((a: { account: string }) => a.account === w.b.b3.address);
      expect(b3Row.healthFactorWad).to.equal((await w.chainHf(w.b.b3.address, BigInt(list.blockNumber))).toString());

      expectClientError(await get(w.app, "/v1/liquidations?account=0x12"), 400, /account/);
      expectClientError(await get(w.app, "/v1/liquidations?limit=100000"), 400, /limit/);
      expectClientError(await get(w.app, "/v1/liquidations?borrower=0x12"), 400);
    });
  });

  describe("GET /v1/keeper/outcomes", () => {
    it("lists recorded keeper outcomes newest first, filtered by account and outcome, paged", async () => {
      const base: Omit<KeeperOutcome, "jobId" | "account" | "outcome" | "createdAt"> = {
        collateralAsset: null,
        debtAsset: null,
        repayAmount: null,
        expectedProfitBase: null,
        transactionHash: null,
        blockNumber: null,
        gasUsed: null,
        reason: null,
      };
      const t0 = Date.now();
      await w.store.recordKeeperOutcome({
        ...base,
        jobId: "job-1",
        account: w.b.b1.address,
        outcome: "skipped-unprofitable",
        reason: "profit below minimum",
        createdAt: new Date(t0 - 2000),
      });
      await w.store.recordKeeperOutcome({
        ...base,
        jobId: "job-2",
        account: w.b.b2.address,
        outcome: "failed",
        reason: "rpc timeout",
        createdAt: new Date(t0 - 1000),
      });
      await w.store.recordKeeperOutcome({
        ...base,
        jobId: "job-3",
        account: w.b.b3.address,
        outcome: "liquidated",
        repayAmount: 5_000_000_000n,
        expectedProfitBase: 12_345_000_000n,
        transactionHash: `0x${"ab".repeat(32)}`,
        blockNumber: 123n,
        gasUsed: 210_000n,
        createdAt: new Date(t0),
      });

      const r = await get(w.app, "/v1/keeper/outcomes");
      expect(r.status, r.text).to.equal(200);
      expect(r.body.outcomes.map((o: { jobId: string }) => o.jobId)).to.deep.equal(["job-3", "job-2", "job-1"]);
      expect(r.body.outcomes[0]).to.include({
        outcome: "liquidated",
        repayAmount: "5000000000",
        expectedProfitBase: "12345000000",
        gasUsed: "210000",
        blockNumber: "123",
      });
      expect(r.body.outcomes[0].createdAt).to.equal(new Date(t0).toISOString());

      const liq = await get(w.app, "/v1/keeper/outcomes?outcome=liquidated");
      expect(liq.body.outcomes.map((o: { jobId: string }) => o.jobId)).to.deep.equal(["job-3"]);
      const b1 = await get(w.app, `/v1/keeper/outcomes?account=${w.b.b1.address}`);
      expect(b1.body.outcomes.map((o: { jobId: string }) => o.jobId)).to.deep.equal(["job-1"]);
      const p1 = await get(w.app, "/v1/keeper/outcomes?limit=2");
      expect(p1.body.outcomes).to.have.length(2);
      const p2 = await get(w.app, `/v1/keeper/outcomes?limit=2&cursor=${p1.body.nextCursor}`);
      expect(p2.body.outcomes.map((o: { jobId: string }) => o.jobId)).to.deep.equal(["job-1"]);
      expect(p2.body.nextCursor).to.equal(null);

      expectClientError(await get(w.app, "/v1/keeper/outcomes?outcome=exploded"), 400, /outcome/);
      expectClientError(await get(w.app, "/v1/keeper/outcomes?account=nope"), 400, /account/);
      expectClientError(await get(w.app, "/v1/keeper/outcomes?offset=1&cursor=abc"), 400, /cursor or offset|either/);
    });
  });
});
