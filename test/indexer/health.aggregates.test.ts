// Risk aggregates and stress tests against brute force: stress results equal an exact bigint recomputation of every
// account under the shocked prices; the distribution, totals, bad debt and concentration agree with exact per-account
// values; the liquidation curve agrees with stress runs of the same price falls.
import { marginpool } from "../../protocols/marginpool";
import { expect } from "chai";
import { rayMulDown, rayMulUp } from "../../common/math";
import { ExactContext, isLiquidatable } from "../../indexer/health/exact";
import { HealthEngine } from "../../indexer/health/engine";
import { shockPrice } from "../../indexer/health/stress";
import { buildSyntheticPopulation, feedPrices, type SyntheticPopulation } from "../../indexer/health/synthetic";
import type { Address, PriceInfo } from "../../indexer/health/types";

describe("health engine: aggregates and stress", function () {
  this.timeout(60_000);
  const now = 1_700_003_600n;
  let pop: SyntheticPopulation;
  let engine: HealthEngine;
  let staleAsset: Address;
  let prices: Map<Address, PriceInfo>;

  before(() => {
    pop = buildSyntheticPopulation({ accounts: 6000, assets: 6, seed: 99, now: now - 3600n });
    engine = new HealthEngine(pop.state, marginpool.math);
    feedPrices(pop, engine);
    staleAsset = pop.assets[4]!; // its holders with debt are unknown: excluded from stress and buckets
    engine.setPrice(staleAsset, { price: pop.prices.get(staleAsset)!, status: "stale" });
    engine.evaluate(now, 1n);
    prices = new Map<Address, PriceInfo>(pop.assets.map((a) => [a, engine.price(a)!]));
    expect(engine.unknown().length).to.be.greaterThan(0);
  });

  /** Exact data of every account (optionally under shocked prices), with the unknown ones set apart. */
  function bruteForce(override?: Map<Address, bigint>) {
    const ctx = new ExactContext(pop.state, (a) => prices.get(a), now, marginpool.math);
    return [...pop.state.accounts.keys()].map((account) => {
      const r = ctx.account(account, override);
      return { account, r, unknown: r.hasDebt && r.unknownAssets.length > 0 };
    });
  }

  it("stress equals an exact recomputation of every account under the shocked prices", () => {
    for (const shocks of [
      new Map([[pop.assets[0]!, -0.3]]),
      new Map([
        [pop.assets[0]!, -0.1],
        [pop.assets[1]!, -0.2],
        [pop.assets[2]!, 0.05],
      ]),
      new Map<Address, number>(),
    ]) {
      const result = engine.stress(shocks, now);
      const override = new Map([...shocks].map(([a, s]) => [a, shockPrice(prices.get(a)!.price, s)]));
      let accounts = 0;
      let newly = 0;
      let debt = 0n;
      let bad = 0n;
      const liquidatableNow = new Set(engine.liquidatable().map((e) => e.account));
      for (const { account, r, unknown } of bruteForce(override)) {
        if (unknown || !isLiquidatable(r.data)) continue;
        accounts++;
        if (!liquidatableNow.has(account)) newly++;
        debt += r.data.totalDebtBase;
        if (r.data.totalDebtBase > r.data.totalCollateralBase) bad += r.data.totalDebtBase - r.data.totalCollateralBase;
      }
      expect([result.accountsLiquidatable, result.newlyLiquidatable, result.debtLiquidatableBase, result.projectedBadDebtBase]).to.deep.equal([
        accounts,
        newly,
        debt,
        bad,
      ]);
      expect(result.unknown).to.equal(engine.unknown().length);
      expect(result.recomputed).to.be.lessThan(pop.accounts.length / 2);
      if (shocks.size === 0) expect(newly).to.equal(0);
    }
  });

  it("distribution, totals, bad debt and concentration agree with exact per-account values", () => {
    const agg = engine.aggregates(now);
    const all = bruteForce();
    const withDebt = all.filter((x) => x.r.hasDebt);
    const known = withDebt.filter((x) => !x.unknown);
    expect(agg.accounts).to.deep.equal({
      total: pop.state.accounts.size,
      withDebt: withDebt.length,
      liquidatable: engine.liquidatable().length,
      unknown: engine.unknown().length,
    });
    expect(agg.distribution[0]!.accounts).to.equal(engine.liquidatable().length);
    expect(agg.distribution.reduce((s, b) => s + b.accounts, 0)).to.equal(known.length);
    // Buckets by exact HF; the float HF may sit on the other side of an edge only within rounding of it.
    const edges = [1, 1.05, 1.1, 1.25, 1.5, 2];
    const exactBuckets = new Array(7).fill(0);
    for (const { r } of known) {
      const hf = Number(r.data.healthFactor) / 1e18;
      exactBuckets[edges.filter((e) => hf >= e).length]++;
    }
    agg.distribution.forEach((b, i) => {
      expect(Math.abs(b.accounts - exactBuckets[i]!), b.label).to.be.lessThan(3);
    });

    const usd = (base: bigint) => Number(base) / 1e8;
    const totalDebt = withDebt.reduce((s, x) => s + usd(x.r.data.totalDebtBase), 0);
    const totalCollateral = all.reduce((s, x) => s + usd(x.r.data.totalCollateralBase), 0);
    // Float sums vs per-position rounding (up to one wei and one unit per position).
    expect(agg.totalDebtUSD / totalDebt).to.be.closeTo(1, 1e-7);
    expect(agg.totalCollateralUSD / totalCollateral).to.be.closeTo(1, 1e-7);
    const underwater = withDebt.filter((x) => x.r.data.totalDebtBase > x.r.data.totalCollateralBase);
    expect(agg.badDebt.accounts).to.equal(underwater.length);
    expect(agg.badDebt.accounts).to.be.greaterThan(0);
    const deficit = underwater.reduce((s, x) => s + usd(x.r.data.totalDebtBase - x.r.data.totalCollateralBase), 0);
    expect(agg.badDebt.amountUSD).to.be.closeTo(deficit, deficit * 1e-6);

    const debts = withDebt.map((x) => usd(x.r.data.totalDebtBase)).sort((a, b) => b - a);
    const top = (k: number) => debts.slice(0, k).reduce((s, x) => s + x, 0) / totalDebt;
    expect(agg.concentration.top10Share).to.be.closeTo(top(10), 1e-9);
    expect(agg.concentration.top1PctShare).to.be.closeTo(top(Math.ceil(debts.length / 100)), 1e-9);

    // Per asset: the pool's scaled totals at the current indexes.
    const ctx = new ExactContext(pop.state, (a) => prices.get(a), now, marginpool.math);
    for (const a of agg.byAsset) {
      const s = pop.state.assets.get(a.asset)!;
      const idx = ctx.indexes(a.asset)!;
      expect([a.collateral, a.debt]).to.deep.equal([
        rayMulDown(s.totalScaledCollateral, idx.liquidityIndex),
        rayMulUp(s.totalScaledDebt, idx.borrowIndex),
      ]);
    }
  });

  it("the liquidation curve counts the accounts a stress of the same fall makes liquidatable", () => {
    const agg = engine.aggregates(now);
    for (const curve of agg.liquidationCurves) {
      if (curve.asset === staleAsset) continue;
      expect(curve.steps.map((s) => s.dropPct)).to.deep.equal([5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
      for (let i = 1; i < curve.steps.length; i++) {
        expect(curve.steps[i]!.cumulativeAccounts).to.equal(curve.steps[i - 1]!.cumulativeAccounts + curve.steps[i]!.accounts);
      }
      expect(curve.within20PctUSD).to.equal(curve.steps[3]!.cumulativeCollateralUSD);
      for (const step of [curve.steps[1]!, curve.steps[3]!, curve.steps[9]!]) {
        const stress = engine.stress(new Map([[curve.asset, -step.dropPct / 100]]), now);
        // Float solve vs exact rounding: an account exactly on the step edge may land on either side.
        expect(Math.abs(stress.newlyLiquidatable - step.cumulativeAccounts), `${curve.asset} −${step.dropPct}%`).to.be.lessThan(3);
      }
    }
    expect(agg.liquidatableWithin20PctUSD).to.be.greaterThan(0);
  });
});
