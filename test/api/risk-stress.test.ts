// GET /v1/risk (JSON and CSV), POST /v1/stress and GET /v1/stress/scenarios against a real chain + indexer.
import { expect } from "chai";
import { setPrice } from "../../protocols/marginpool/actions";
import { marginPoolAbi } from "../../protocols/marginpool/generated/abis";
import { MAX_UINT256 } from "../../common/math";
import { apiWorld, type ApiWorld } from "./world";

const MAX = MAX_UINT256.toString();
import { expectClientError, get, post } from "./helpers";

describe("API risk and stress", function () {
  this.timeout(120_000);
  let w: ApiWorld;

  before(async () => {
    w = await apiWorld();
    await w.synced();
  });

  describe("GET /v1/risk", () => {
    it("aggregates totals, HF buckets, assets, bad debt, concentration and liquidation curves, stamped", async () => {
      const r = await get(w.app, "/v1/risk");
      expect(r.status, r.text).to.equal(200);
      const k = r.body;
      expect(k.blockNumber).to.equal(w.indexer.status.cursor.toString());
      expect(k.accounts.total).to.equal(w.indexer.state.accounts.size);
      expect(k.accounts.withDebt).to.equal(w.borrowers.length);
      expect(k.distribution.map((b: { label: string }) => b.label)).to.deep.equal([
        "< 1",
        "1–1.05",
        "1.05–1.1",
        "1.1–1.25",
        "1.25–1.5",
        "1.5–2",
        "> 2",
      ]);
      const inBuckets = k.distribution.reduce((s: number, b: { accounts: number }) => s + b.accounts, 0);
      expect(inBuckets).to.equal(k.accounts.withDebt - k.accounts.unknown);
      // The buckets hold exactly the accounts of the at-risk list (exact HFs) in each HF range.
      const list = (await get(w.app, "/v1/accounts?limit=500")).body.accounts as Array<{ status: string; healthFactorWad: string | null }>;
      const edges = [1, 1.05, 1.1, 1.25, 1.5, 2].map((x) => BigInt(Math.round(x * 100)) * 10n ** 16n);
      const expected = new Array(7).fill(0);
      for (const a of list) {
        if (a.healthFactorWad === null || a.healthFactorWad === MAX) continue;
        const hf = BigInt(a.healthFactorWad);
        expected[edges.filter((e) => hf >= e).length]++;
      }
      expect(k.distribution.map((b: { accounts: number }) => b.accounts)).to.deep.equal(expected);
      expect(expected.filter((n) => n > 0).length).to.be.at.least(3);
      const bucketDebt = k.distribution.reduce((s: number, b: { debtUSD: string }) => s + Number(b.debtUSD), 0);
      expect(bucketDebt).to.be.closeTo(Number(k.totalDebtUSD), 1);

      // Totals agree with the account cards.
      let debt = 0;
      for (const b of w.borrowers) debt += Number((await get(w.app, `/v1/accounts/${b.address}`)).body.totalBorrowsUSD);
      expect(Number(k.totalDebtUSD)).to.be.closeTo(debt, 1);
      expect(k.byAsset.map((a: { symbol: string }) => a.symbol).sort()).to.deep.equal(["DAI", "USDC", "WBTC", "WETH"]);
      const weth = k.byAsset.find((a: { symbol: string }) => a.symbol === "WETH");
      expect(Number(weth.collateralAmount)).to.be.at.least(215); // supplier 200 + b1 10 + b3 5 + random
      expect(k.badDebt.accountsUnderWater).to.equal(0);
      expect(k.badDebt.protocolDeficitUSD).to.equal("0.00");
      expect(Number(k.concentration.top10Share)).to.be.within(0.99, 1); // ten borrowers hold all the debt

      // WETH curve: every WETH holder with debt sits in the 5% step of its own liquidation price (account card).
      const curve = k.liquidationCurves.find((c: { symbol: string }) => c.symbol === "WETH");
      expect(curve.steps.map((x: { dropPct: number }) => x.dropPct)).to.deep.equal([5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
      const perStep = new Array(10).fill(0);
      const usdPerStep = new Array(10).fill(0);
      for (const b of w.borrowers) {
        const c = (await get(w.app, `/v1/accounts/${b.address}`)).body;
        const lp = c.liquidationPrices.find((l: { symbol: string }) => l.symbol === "WETH");
        if (!lp || lp.dropPct === null || c.status === "liquidatable") continue;
        const step = Math.ceil(Number(lp.dropPct) / 5) - 1;
        if (step < 0 || step >= 10) continue;
        perStep[step]++;
        usdPerStep[step] += Number(c.positions.find((p: { symbol: string }) => p.symbol === "WETH").collateralUSD);
      }
      expect(curve.steps.map((x: { accounts: number }) => x.accounts)).to.deep.equal(perStep);
      curve.steps.forEach((x: { collateralUSD: string }, i: number) => {
        expect(Number(x.collateralUSD)).to.be.closeTo(usdPerStep[i], 0.05);
      });
      expect(perStep.slice(0, 4).reduce((a, x) => a + x, 0)).to.be.at.least(2); // b1 (−19%) and b3
      expect(Number(curve.within20PctUSD)).to.equal(Number(curve.steps[3].cumulativeCollateralUSD));
      const headline = k.liquidationCurves.reduce((a: number, c: { within20PctUSD: string }) => a + Number(c.within20PctUSD), 0);
      expect(Number(k.liquidatableWithin20PctUSD)).to.be.closeTo(headline, 0.05);
    });

    it("exports the HF buckets and liquidation curves as CSV that match the JSON", async () => {
      const json = (await get(w.app, "/v1/risk")).body;
      const r = await get(w.app, "/v1/risk?format=csv");
      expect(r.status).to.equal(200);
      expect(String(r.headers["content-type"])).to.match(/^text\/csv/);
      expect(String(r.headers["content-disposition"])).to.match(/attachment; filename="marginwatch-risk-\d+\.csv"/);
      const lines = r.text.trim().split("\r\n");
      expect(lines[0]).to.equal(
        "section,asset,symbol,bucket_or_drop_pct,accounts,usd,cumulative_accounts,cumulative_usd,block_number,block_timestamp",
      );
      const hf = lines.filter((l) => l.startsWith("hf_distribution,"));
      expect(hf).to.have.length(7);
      expect(hf.map((l) => Number(l.split(",")[4]))).to.deep.equal(json.distribution.map((b: { accounts: number }) => b.accounts));
      const wethCurve = lines.filter((l) => l.includes(",WETH,"));
      expect(wethCurve).to.have.length(11); // already liquidatable + ten 5% steps
      expect(wethCurve[4]!.split(",")[7]).to.equal(
        json.liquidationCurves.find((c: { symbol: string }) => c.symbol === "WETH").steps[3].cumulativeCollateralUSD,
      );
      expect(lines.every((l) => l.split(",").length === 10)).to.equal(true);
    });

    it("rejects unknown formats and parameters", async () => {
      expectClientError(await get(w.app, "/v1/risk?format=xml"), 400, /format/);
      expectClientError(await get(w.app, "/v1/risk?format=csv&x=1"), 400);
    });
  });

  describe("POST /v1/stress", () => {
    it("finds the borrowers a WETH −40% shock makes liquidatable, and agrees with the chain at that price", async () => {
      const none = await post(w.app, "/v1/stress", { shocks: { WETH: 0 } });
      expect(none.status, none.text).to.equal(200);
      expect(none.body.accountsLiquidatable).to.equal(w.health.liquidatable().length);

      const r = await post(w.app, "/v1/stress", { shocks: { weth: -0.4 } });
      expect(r.status, r.text).to.equal(200);
      expect(r.body.shocks).to.have.length(1);
      expect(r.body.shocks[0]).to.include({ symbol: "WETH", shock: -0.4, priceUSD: "3000", shockedPriceUSD: "1800" });
      expect(r.body.accountsLiquidatable).to.be.at.least(2); // b1 (0.74) and b3 (0.62)
      expect(r.body.newlyLiquidatable).to.equal(r.body.accountsLiquidatable - none.body.accountsLiquidatable);
      expect(BigInt(r.body.projectedBadDebtBase) > 0n).to.equal(true); // b1: 18000 of collateral against 20000 of debt

      // The same shock for real: the accounts pool.healthFactor calls liquidatable, and their shortfall, match.
      await setPrice(w.chain, "WETH", "1800");
      const block = await w.synced();
      let onChain = 0;
      let shortfall = 0n;
      let debt = 0n;
      for (const b of w.borrowers) {
        if ((await w.chainHf(b.address, block)) >= 10n ** 18n) continue;
        onChain++;
        const d = await w.node.publicClient.readContract({
          address: w.d.pool,
          abi: marginPoolAbi,
          functionName: "getAccountData",
          args: [b.address],
          blockNumber: block,
        });
        debt += d.totalDebtBase;
        if (d.totalDebtBase > d.totalCollateralBase) shortfall += d.totalDebtBase - d.totalCollateralBase;
      }
      await setPrice(w.chain, "WETH", "3000");
      await w.synced();
      expect(onChain).to.equal(r.body.accountsLiquidatable);
      // A few blocks of interest later on chain: equal to a cent.
      const diff = shortfall - BigInt(r.body.projectedBadDebtBase);
      expect(diff >= 0n && diff < 1_000_000n, `chain ${shortfall} vs stress ${r.body.projectedBadDebtBase}`).to.equal(true);
      const debtDiff = debt - BigInt(r.body.debtLiquidatableBase);
      expect(debtDiff >= 0n && debtDiff < 1_000_000n, `chain ${debt} vs stress ${r.body.debtLiquidatableBase}`).to.equal(true);
    });

    it("accepts assets by address, projects bad debt under a deep shock, and changes with the shock", async () => {
      const wbtc = w.d.assets.find((a) => a.symbol === "WBTC")!.address;
      const r = await post(w.app, "/v1/stress", { shocks: { [wbtc]: -0.5 } });
      expect(r.status, r.text).to.equal(200);
      expect(r.body.shocks[0].symbol).to.equal("WBTC");
      expect(r.body.accountsLiquidatable).to.be.at.least(1); // b2: 1.56 × 0.5

      const deep = await post(w.app, "/v1/stress", { shocks: { WETH: -0.9 } });
      // b1 alone: 3000 of collateral against 20000 of debt.
      expect(Number(deep.body.projectedBadDebtUSD)).to.be.at.least(17_000);
      expect(BigInt(deep.body.projectedBadDebtBase) > 0n).to.equal(true);
      expect(deep.body.accountsLiquidatable).to.be.greaterThan(r.body.accountsLiquidatable - 1);
      // WETH ×3 hurts the WETH borrower instead: b4 (10000 DAI against 1 WETH) goes under 1.
      const up = await post(w.app, "/v1/stress", { shocks: { WETH: 2 } });
      expect(up.body.accountsLiquidatable).to.equal(1);
    });

    it("rejects bad shocks, bodies and content types with 4xx JSON errors", async () => {
      const wethAddr = w.d.assets.find((a) => a.symbol === "WETH")!.address;
      const bad: Array<[unknown, RegExp]> = [
        [{ shocks: { WETH: -1 } }, /shocks\.WETH: .*-0\.99/],
        [{ shocks: { WETH: -0.999 } }, /-0\.99/],
        [{ shocks: { WETH: 10.5 } }, /less than or equal to 10/],
        [{ shocks: { WETH: 1e308 } }, /10/],
        [{ shocks: { WETH: "-0.1" } }, /Expected number, received string/],
        [{ shocks: { WETH: null } }, /Expected number, received null/],
        [{ shocks: { WETH: [] } }, /Expected number/],
        [{ shocks: { WETH: {} } }, /Expected number/],
        [{ shocks: { WETH: true } }, /Expected number/],
        [{ shocks: {} }, /at least one asset/],
        [{}, /shocks: Required/],
        [{ shocks: { DOGE: -0.1 } }, /not a listed asset/],
        [{ shocks: { WETH: -0.1, [wethAddr]: -0.2 } }, /twice/],
        [{ shocks: { WETH: -0.1 }, extra: 1 }, /Unrecognized key.*extra/],
        [[1, 2], /Expected object, received array/],
        [{ shocks: [] }, /Expected object/],
        [{ shocks: Object.fromEntries(Array.from({ length: 65 }, (_x, i) => [`A${i}`, 0])) }, /at most 64/],
        [{ shocks: { ["x".repeat(100)]: 0 } }, /at most 42 characters/],
        [null, /Expected object/],
        [42, /Expected object/],
      ];
      for (const [body, pattern] of bad) expectClientError(await post(w.app, "/v1/stress", body), 400, pattern);
      expectClientError(await post(w.app, "/v1/stress", "{not json"), 400);
      expectClientError(await post(w.app, "/v1/stress", '{"shocks":{"WETH":NaN}}'), 400);
      expectClientError(await post(w.app, "/v1/stress", "", { "content-type": "application/json" }), 400);
      expectClientError(await post(w.app, "/v1/stress", "shocks=WETH", { "content-type": "application/x-www-form-urlencoded" }), 415);
      expectClientError(await post(w.app, "/v1/stress", '{"shocks":{"WETH":-0.1}}', { "content-type": "text/plain" }), 415);
      const huge = JSON.stringify({ shocks: { WETH: -0.1 }, pad: "x".repeat(100_000) });
      const tooBig = await post(w.app, "/v1/stress", huge);
      expectClientError(tooBig, 413);
      expect(tooBig.body.error).to.equal("payload_too_large");
      expectClientError(await get(w.app, "/v1/stress"), 404);
    });
  });

  describe("GET /v1/stress/scenarios", () => {
    it("evaluates the fixed scenarios at the latest block", async () => {
      const r = await get(w.app, "/v1/stress/scenarios");
      expect(r.status, r.text).to.equal(200);
      expect(r.body.blockNumber).to.equal(w.indexer.status.cursor.toString());
      const by = Object.fromEntries(r.body.scenarios.map((s: { id: string }) => [s.id, s]));
      expect(Object.keys(by)).to.deep.equal(["eth-30", "btc-30", "volatile-40", "stable-depeg-10"]);
      expect(by["eth-30"].result.shocks.map((s: { symbol: string; shock: number }) => [s.symbol, s.shock])).to.deep.equal([["WETH", -0.3]]);
      expect(by["volatile-40"].result.shocks.map((s: { symbol: string }) => s.symbol).sort()).to.deep.equal(["WBTC", "WETH"]);
      expect(by["stable-depeg-10"].result.shocks.map((s: { symbol: string }) => s.symbol).sort()).to.deep.equal(["DAI", "USDC"]);
      expect(by["eth-30"].result.accountsLiquidatable).to.be.at.least(2); // b1 0.87, b3 0.73
      expect(by["volatile-40"].result.accountsLiquidatable).to.be.at.least(by["eth-30"].result.accountsLiquidatable);
      // Same numbers as the equivalent custom stress test.
      const custom = await post(w.app, "/v1/stress", { shocks: { WETH: -0.3 } });
      expect(custom.body.accountsLiquidatable).to.equal(by["eth-30"].result.accountsLiquidatable);
      expect(custom.body.debtLiquidatableBase).to.equal(by["eth-30"].result.debtLiquidatableBase);
      expectClientError(await get(w.app, "/v1/stress/scenarios?shock=1"), 400);
    });
  });
});
