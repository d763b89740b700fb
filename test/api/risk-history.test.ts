// GET /v1/risk/history and GET /v1/accounts/:address/history against a real chain + indexer + store: the world
// stores a risk snapshot every block through the app's recorder, and the indexer writes the health history.
import { expect } from "chai";
import { borrow, deposit, repay } from "../../protocols/marginpool/actions";
import { usdFromNumber } from "../../indexer/api/format";
import { apiWorld, type ApiWorld, type Borrower } from "./world";
import { expectClientError, get } from "./helpers";

const MAX_UINT256 = (1n << 256n) - 1n;

interface Bucket {
  label: string;
  min: number | null;
  max: number | null;
  accounts: number;
  debtUSD: number;
}

/** What the store holds for a snapshot (HealthEngine.aggregates as JSON). */
interface StoredPayload {
  accounts: { total: number; withDebt: number; liquidatable: number; unknown: number };
  totalCollateralUSD: number;
  totalDebtUSD: number;
  distribution: Bucket[];
  byAsset: Array<{ asset: string; collateral: string; debt: string; collateralUSD: number; debtUSD: number; deficit: string; deficitUSD: number }>;
  badDebt: { accounts: number; amountUSD: number; protocolDeficitUSD: number };
  liquidationCurves: Array<{ asset: string; currentUSD: number; within20PctUSD: number }>;
  liquidatableWithin20PctUSD: number;
}

describe("API risk and health history", function () {
  this.timeout(120_000);
  let w: ApiWorld;

  before(async () => {
    w = await apiWorld();
    await w.mine();
    await w.snapshotted();
  });

  describe("GET /v1/risk/history", () => {
    it("returns the stored snapshots, newest first, with the figures the store holds, stamped with the published block", async () => {
      const r = await get(w.app, "/v1/risk/history?limit=500");
      expect(r.status, r.text).to.equal(200);
      expect(r.body.blockNumber).to.equal(w.indexer.status.cursor.toString());
      expect(r.body).to.include.keys("blockHash", "blockTimestamp", "lastUpdated");
      expect(r.body.order).to.equal("desc");
      const stored = await w.store.listRiskSnapshotRange({ limit: 501, offset: 0 });
      expect(stored.length).to.be.at.least(2);
      expect(r.body.snapshots.map((s: { blockNumber: string }) => s.blockNumber)).to.deep.equal(stored.map((s) => s.blockNumber.toString()));

      for (const [i, s] of stored.entries()) {
        const p = s.payload as StoredPayload;
        const point = r.body.snapshots[i];
        expect(point.timestamp).to.equal(s.timestamp.toString());
        expect(point.time).to.equal(new Date(Number(s.timestamp) * 1000).toISOString());
        expect(point.accounts).to.deep.equal(p.accounts);
        expect(point.totalDebtUSD).to.equal(usdFromNumber(p.totalDebtUSD));
        expect(point.totalCollateralUSD).to.equal(usdFromNumber(p.totalCollateralUSD));
        expect(point.distribution).to.deep.equal(p.distribution.map((b) => ({ ...b, debtUSD: usdFromNumber(b.debtUSD) })));
        const below = (x: number) => p.distribution.filter((b) => b.max !== null && b.max <= x).reduce((a, b) => a + b.debtUSD, 0);
        expect(point.debtAtRiskUSD).to.equal(usdFromNumber(below(1.1)));
        expect(point.liquidatableDebtUSD).to.equal(usdFromNumber(p.distribution[0]!.debtUSD));
        expect(point.liquidatableWithin20PctUSD).to.equal(usdFromNumber(p.liquidatableWithin20PctUSD));
        expect(point.badDebt).to.deep.equal({
          accountsUnderWater: p.badDebt.accounts,
          underWaterUSD: usdFromNumber(p.badDebt.amountUSD),
          protocolDeficitUSD: usdFromNumber(p.badDebt.protocolDeficitUSD),
        });
        expect(point.byAsset.map((a: { symbol: string }) => a.symbol).sort()).to.deep.equal(["DAI", "USDC", "WBTC", "WETH"]);
        for (const a of p.byAsset) {
          const got = point.byAsset.find((x: { asset: string }) => x.asset === a.asset);
          const curve = p.liquidationCurves.find((c) => c.asset === a.asset)!;
          expect(got, a.asset).to.include({
            collateral: a.collateral,
            debt: a.debt,
            deficit: a.deficit,
            collateralUSD: usdFromNumber(a.collateralUSD),
            debtUSD: usdFromNumber(a.debtUSD),
            liquidatableNowUSD: usdFromNumber(curve.currentUSD),
            liquidatableWithin20PctUSD: usdFromNumber(curve.within20PctUSD),
          });
        }
      }
      // Someone is at risk in this world (b3, HF ≈ 1.04): the figure is not vacuous.
      expect(Number(r.body.snapshots.at(-1).debtAtRiskUSD)).to.be.greaterThan(0);
    });

    it("its newest snapshot is the risk overview of the same block", async () => {
      await w.mine();
      await w.snapshotted();
      const [risk, hist] = await Promise.all([get(w.app, "/v1/risk"), get(w.app, "/v1/risk/history?limit=1")]);
      const point = hist.body.snapshots[0];
      expect(point.blockNumber).to.equal(risk.body.blockNumber);
      expect(point.timestamp).to.equal(risk.body.blockTimestamp);
      expect(point.accounts).to.deep.equal(risk.body.accounts);
      expect(point.distribution).to.deep.equal(risk.body.distribution);
      expect(point.liquidatableWithin20PctUSD).to.equal(risk.body.liquidatableWithin20PctUSD);
      expect(point.totalDebtUSD).to.equal(risk.body.totalDebtUSD);
      expect(point.badDebt).to.deep.equal(risk.body.badDebt);
      for (const a of risk.body.byAsset) {
        expect(point.byAsset.find((x: { asset: string }) => x.asset === a.asset)).to.include({
          debt: a.debt,
          collateral: a.collateral,
          debtUSD: a.debtUSD,
        });
      }
    });

    it("pages with nextCursor without gaps or overlaps, either order, within from/to", async () => {
      const all = (await get(w.app, "/v1/risk/history?limit=500")).body.snapshots.map((s: { blockNumber: string }) => s.blockNumber) as string[];
      const paged: string[] = [];
      let url = "/v1/risk/history?limit=2";
      for (let i = 0; i < 500; i++) {
        const r = await get(w.app, url);
        expect(r.status, r.text).to.equal(200);
        expect(r.body.snapshots.length).to.be.at.most(2);
        paged.push(...r.body.snapshots.map((s: { blockNumber: string }) => s.blockNumber));
        if (r.body.nextCursor === null) break;
        url = `/v1/risk/history?limit=2&cursor=${r.body.nextCursor}`;
      }
      expect(paged).to.deep.equal(all);

      const asc = await get(w.app, "/v1/risk/history?limit=500&order=asc");
      expect(asc.body.order).to.equal("asc");
      expect(asc.body.snapshots.map((s: { blockNumber: string }) => s.blockNumber)).to.deep.equal([...all].reverse());

      const [hi, lo] = [all[1]!, all[all.length - 2]!];
      const bounded = await get(w.app, `/v1/risk/history?from=${lo}&to=${hi}&limit=500`);
      expect(bounded.body.snapshots.map((s: { blockNumber: string }) => s.blockNumber)).to.deep.equal(all.slice(1, -1));
      const one = await get(w.app, `/v1/risk/history?from=${hi}&to=${hi}`);
      expect(one.body.snapshots.map((s: { blockNumber: string }) => s.blockNumber)).to.deep.equal([hi]);
      const offset = await get(w.app, "/v1/risk/history?limit=1&offset=1");
      expect(offset.body.snapshots.map((s: { blockNumber: string }) => s.blockNumber)).to.deep.equal([all[1]]);
      const none = await get(w.app, "/v1/risk/history?from=999999999");
      expect(none.status).to.equal(200);
      expect(none.body.snapshots).to.deep.equal([]);
      expect(none.body.nextCursor).to.equal(null);
    });

    it("answers 400 naming the parameter for bad input", async () => {
      const cases: Array<[string, RegExp]> = [
        ["limit=0", /querystring\.limit: limit must be at least 1/],
        ["limit=501", /querystring\.limit: limit must be at most 500/],
        ["limit=abc", /querystring\.limit: limit must be a non-negative integer/],
        ["limit=", /querystring\.limit/],
        ["limit=1e3", /querystring\.limit/],
        ["from=-1", /querystring\.from: from \(a block number\) must be a non-negative integer/],
        ["to=1.5", /querystring\.to/],
        ["from=10&to=5", /querystring\.from: from must not be above to/],
        ["order=up", /querystring\.order: order must be "desc" \(newest first\) or "asc"/],
        ["offset=1&cursor=bzox", /querystring\.cursor: use either cursor or offset, not both/],
        ["cursor=!!", /querystring\.cursor/],
        ["cursor=abc", /cursor is not one this API issued/],
        ["offset=100001", /querystring\.offset: offset must be at most 100000/],
        ["limit=1&limit=2", /querystring\.limit/],
        ["block=5", /querystring: Unrecognized key\(s\) in object: 'block'/],
      ];
      for (const [q, pattern] of cases) expectClientError(await get(w.app, `/v1/risk/history?${q}`), 400, pattern);
    });

    it("is documented in the OpenAPI document", async () => {
      const doc = (await get(w.app, "/openapi.json")).body;
      const op = doc.paths["/v1/risk/history"].get;
      expect(op.parameters.map((p: { name: string }) => p.name).sort()).to.deep.equal(["cursor", "from", "limit", "offset", "order", "to"]);
      const item = op.responses["200"].content["application/json"].schema.properties.snapshots.items;
      expect(item.properties).to.include.keys("debtAtRiskUSD", "liquidatableWithin20PctUSD", "distribution", "badDebt", "byAsset");
      expect(doc.paths["/v1/accounts/{address}/history"].get.responses).to.include.keys("200", "400", "404");
    });
  });

  describe("GET /v1/accounts/:address/history", () => {
    let h: Borrower;

    before(async () => {
      // A borrower of its own (hardhat #14) whose position changes a few times: one health row per changing block.
      // Small, so that the shared world's other figures (top-10 debt share, −40% stress) stay as they were. The
      // indexer writes one row per applied step, so each change is followed before the next: an indexer more than
      // the finality depth behind takes the blocks as one range and writes their final state once.
      h = w.addBorrower("h1", 14);
      await deposit(w.chain, h.wallet, "WETH", "0.1");
      await w.synced();
      await borrow(w.chain, h.wallet, "USDC", "80");
      await w.synced();
      await borrow(w.chain, h.wallet, "USDC", "60");
      await w.synced();
      await repay(w.chain, h.wallet, "USDC", "20");
      await w.synced();
    });

    it("lists the rows the indexer wrote, newest first, each equal to the pool's own healthFactor at its block", async () => {
      const r = await get(w.app, `/v1/accounts/${h.address}/history`);
      expect(r.status, r.text).to.equal(200);
      expect(r.body.account).to.equal(h.address);
      expect(r.body.blockNumber).to.equal(w.indexer.status.cursor.toString());
      const stored = await w.store.listAccountHealthHistory(h.address, { limit: 100, offset: 0 });
      expect(stored.length).to.be.at.least(4); // deposit, two borrows, repay
      expect(r.body.history).to.have.length(stored.length);
      for (const [i, row] of stored.entries()) {
        const got = r.body.history[i];
        expect(got).to.deep.equal({
          blockNumber: row.blockNumber.toString(),
          status: row.status,
          healthFactor: got.healthFactor,
          healthFactorWad: row.healthFactor === null ? null : row.healthFactor.toString(),
          totalCollateralUSD: got.totalCollateralUSD,
          totalBorrowsUSD: got.totalBorrowsUSD,
          totalCollateralBase: row.totalCollateralBase.toString(),
          totalDebtBase: row.totalDebtBase.toString(),
        });
        // The exact figure is the protocol's, at that block, to the wei.
        expect(BigInt(got.healthFactorWad), `block ${row.blockNumber}`).to.equal(await w.chainHf(h.address, row.blockNumber));
      }
      const blocks = stored.map((x) => x.blockNumber);
      expect([...blocks].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).to.deep.equal(blocks);
      // Oldest row: collateral only, HF ∞; the latest is the card's row.
      expect(r.body.history.at(-1)).to.include({ healthFactor: "∞", healthFactorWad: MAX_UINT256.toString(), status: "healthy" });
      expect(r.body.history[0].healthFactorWad).to.equal((await w.store.getAccountHealth(h.address))!.healthFactor!.toString());
      expect(Number(r.body.history[0].totalBorrowsUSD)).to.be.within(119.9, 120.1);
    });

    it("pages with a cursor, in either order, within from/to", async () => {
      const all = (await get(w.app, `/v1/accounts/${h.address}/history?limit=500`)).body.history.map((x: { blockNumber: string }) => x.blockNumber);
      const first = await get(w.app, `/v1/accounts/${h.address}/history?limit=3`);
      expect(first.body.nextCursor).to.be.a("string");
      const rest = await get(w.app, `/v1/accounts/${h.address}/history?limit=500&cursor=${first.body.nextCursor}`);
      expect(rest.body.nextCursor).to.equal(null);
      expect([...first.body.history, ...rest.body.history].map((x: { blockNumber: string }) => x.blockNumber)).to.deep.equal(all);
      const asc = await get(w.app, `/v1/accounts/${h.address}/history?order=asc&limit=500`);
      expect(asc.body.history.map((x: { blockNumber: string }) => x.blockNumber)).to.deep.equal([...all].reverse());
      const bounded = await get(w.app, `/v1/accounts/${h.address}/history?from=${all[2]}&to=${all[1]}`);
      expect(bounded.body.history.map((x: { blockNumber: string }) => x.blockNumber)).to.deep.equal([all[1], all[2]]);
    });

    it("404 for an account that never held a position; 400 for a bad address or bad parameters", async () => {
      expectClientError(await get(w.app, `/v1/accounts/0x${"ab".repeat(20)}/history`), 404, /never held a position/);
      expectClientError(await get(w.app, "/v1/accounts/0x1234/history"), 400, /address must be a 0x-prefixed 20-byte hex address/);
      expectClientError(await get(w.app, `/v1/accounts/${h.address}/history?limit=0`), 400, /querystring\.limit/);
      expectClientError(await get(w.app, `/v1/accounts/${h.address}/history?from=9&to=1`), 400, /from must not be above to/);
      expectClientError(await get(w.app, `/v1/accounts/${h.address}/history?status=x`), 400, /Unrecognized key/);
    });
  });
});
