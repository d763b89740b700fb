// ProtocolMath.health — the health engine's lean exact confirmation — equals accountData's HF and total debt to the
// wei for both adapters, on a synthetic population with Aave's collateral flags (some off), an eMode category, a
// zero-LT reserve, repaid debt and accounts without collateral.
import { expect } from "chai";
import { ExactContext } from "../../indexer/health/exact";
import { buildSyntheticPopulation, seededRandom } from "../../indexer/health/synthetic";
import type { Address, PriceInfo } from "../../indexer/health/types";
import { aaveV3 } from "../../protocols/aave-v3";
import { marginpool } from "../../protocols/marginpool";

describe("ProtocolMath.health equals accountData's HF and debt", () => {
  for (const adapter of [marginpool, aaveV3]) {
    it(`${adapter.name}: every account of a 6 000-account population`, () => {
      const pop = buildSyntheticPopulation({ accounts: 6_000, assets: 6, seed: 99 });
      const rand = seededRandom(9);
      pop.state.assets.get(pop.assets[5]!)!.liquidationThresholdBps = 0n;
      const categorised = pop.assets[1]!;
      pop.state.assets.get(categorised)!.category = 1;
      pop.state.categories.set(1, {
        category: 1,
        ltvBps: 9000n,
        liquidationThresholdBps: 9300n,
        liquidationBonusBps: 10_100n,
        priceSource: "0x0000000000000000000000000000000000000000",
        label: "test",
      });
      for (const [account, held] of pop.state.accounts) {
        if (rand() < 0.3) pop.state.accountCategories.set(account, 1);
        for (const p of held.values()) {
          p.collateralFlag = rand() < 0.85;
          if (rand() < 0.03) p.scaledDebt = 0n;
          if (rand() < 0.03) p.scaledCollateral = 0n;
        }
      }
      const prices = (a: Address): PriceInfo => ({ price: pop.prices.get(a)!, status: "fresh" });
      const ctx = new ExactContext(pop.state, prices, pop.now + 3600n, adapter.math);
      let withDebt = 0;
      for (const account of pop.state.accounts.keys()) {
        const positions = ctx.positions(account, pop.state.accounts.get(account));
        const full = adapter.math.accountData(positions);
        const lean = adapter.math.health(positions);
        expect(lean, account).to.deep.equal({ healthFactor: full.healthFactor, totalDebtBase: full.totalDebtBase });
        if (full.totalDebtBase > 0n) withDebt++;
      }
      expect(withDebt).to.be.greaterThan(4_000);
    });
  }
});
