// Liquidation price per collateral asset, checked with the contract's own rounding on a synthetic population
// (including accounts that borrow the asset they post and dust accounts): at the price HF < 1, one unit above
// HF ≥ 1; null exactly when no fall of that price can make the account liquidatable.
import { marginpool } from "../../protocols/marginpool";
import { expect } from "chai";
import { collateralValue, debtValue, WAD } from "../../protocols/marginpool/math";
import { ExactContext, exactFromPositions, isLiquidatable } from "../../indexer/health/exact";
import { HealthEngine } from "../../indexer/health/engine";
import { liquidationPrice } from "../../indexer/health/liquidation-price";
import { buildSyntheticPopulation, feedPrices } from "../../indexer/health/synthetic";
import type { PriceInfo } from "../../indexer/health/types";

describe("health engine: liquidation price", () => {
  it("is the boundary of the chain's rule for every collateral of 3000 synthetic accounts", () => {
    const pop = buildSyntheticPopulation({ accounts: 3000, assets: 8, seed: 11 });
    const prices = new Map([...pop.prices].map(([a, p]) => [a, { price: p, status: "fresh" } as PriceInfo]));
    const ctx = new ExactContext(pop.state, (a) => prices.get(a), pop.now, marginpool.math);
    let checked = 0;
    let nulls = 0;
    let sameAsset = 0;
    for (const account of pop.state.accounts.keys()) {
      const positions = ctx.positions(account, pop.state.accounts.get(account));
      const hasDebt = positions.some((p) => p.scaledDebt !== 0n);
      positions.forEach((p, k) => {
        if (p.scaledCollateral === 0n) return;
        const price = liquidationPrice(marginpool.math, positions, k);
        const at = (x: bigint) =>
          exactFromPositions(
            marginpool.math,
            positions.map((q, i) => (i === k ? { ...q, price: x } : q)),
          ).data;
        if (price === null) {
          nulls++;
          // Unreachable: no debt, or even a price of one unit leaves HF ≥ 1, or the same asset's debt falls faster.
          const sameDebtDominates = p.scaledDebt !== 0n && debtValue(p) * 10_000n >= collateralValue(p) * p.liquidationThresholdBps;
          expect(!hasDebt || !isLiquidatable(at(1n)) || sameDebtDominates, `${account} null liquidation price`).to.equal(true);
          return;
        }
        if (p.scaledDebt !== 0n) sameAsset++;
        expect(isLiquidatable(at(price)), `${account}: liquidatable at ${price}`).to.equal(true);
        expect(isLiquidatable(at(price + 1n)), `${account}: safe at ${price + 1n}`).to.equal(false);
        // Away from dust, one unit of an 8-decimal price is a tiny step: HF sits right at 1 there.
        const d = at(price);
        if (d.totalDebtBase > 10n ** 10n && price > 10n ** 6n) expect(Math.abs(Number(d.healthFactor - WAD) / 1e18)).to.be.lessThan(1e-5);
        checked++;
      });
    }
    expect(checked).to.be.greaterThan(3000);
    expect(nulls).to.be.greaterThan(0);
    expect(sameAsset).to.be.greaterThan(0);
  });

  it("the account card reports it with the % fall from the current price", () => {
    const pop = buildSyntheticPopulation({ accounts: 200, assets: 4, seed: 5 });
    const engine = new HealthEngine(pop.state, marginpool.math);
    feedPrices(pop, engine);
    engine.evaluate(pop.now, 1n);
    let seen = 0;
    for (const account of pop.accounts) {
      const card = engine.account(account, pop.now);
      if (!card || card.healthFactor === null) continue;
      for (const l of card.liquidationPrices) {
        if (l.price === null) continue;
        const expected = (Number(l.currentPrice - l.price) / Number(l.currentPrice)) * 100;
        expect(Math.abs(Number(l.dropPct) - expected)).to.be.lessThan(0.011);
        // Liquidatable now ⟺ the liquidation price is at or above the current price (no fall needed).
        expect(card.status === "liquidatable").to.equal(l.price >= l.currentPrice);
        seen++;
      }
    }
    expect(seen).to.be.greaterThan(100);
  });
});
