// Benchmark at 100k synthetic accounts: prints (does not assert) the time of one price update → updated
// liquidatable set, of an interest-only block, of a rebase, aggregates and stress, and memory per account. It does
// assert that after all those updates the liquidatable set is still exactly the brute-force one.
import { marginpool } from "../../protocols/marginpool";
import { expect } from "chai";
import { ExactContext, isLiquidatable } from "../../indexer/health/exact";
import { runHealthBenchmark } from "../../indexer/health/benchmark";

describe("health engine: benchmark (100k accounts)", function () {
  this.timeout(120_000);

  it("measures one price update → evaluate, and stays exact", () => {
    const { figures: f, engine, pop, now } = runHealthBenchmark(100_000, marginpool.math, { repeats: 7 });
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    const row = (name: string, t: typeof f.priceUpdateSmall) =>
      `      ${name.padEnd(34)} median ${ms(t.medianMs).padStart(9)}  max ${ms(t.maxMs).padStart(9)}  exact ${String(t.exact).padStart(5)}  classified ${t.classified}`;
    console.log(
      [
        `      ${f.accounts} accounts, ${f.assets} assets; shocked asset held by ${f.holdersOfShockedAsset}`,
        `      build ${ms(f.buildMs)}, initial evaluate ${ms(f.initialEvaluateMs)}`,
        row("price update ±0.5%", f.priceUpdateSmall),
        row("price update ±3%", f.priceUpdateLarge),
        row("block, interest only (+12 s)", f.interestBlock),
        row("rebase (+1 day)", f.rebase),
        `      aggregates ${ms(f.aggregatesMs)}, stress −30% ${ms(f.stressMs)}; watched ${f.watched}, liquidatable ${f.liquidatable}`,
        `      engine memory ${f.engineBytesPerAccount?.toFixed(0) ?? "?"} B/account (typed arrays ${f.engineTypedBytesPerAccount.toFixed(0)}), ` +
          `ProtocolState ${f.stateBytesPerAccount?.toFixed(0) ?? "?"} B/account`,
      ].join("\n"),
    );
    const ctx = new ExactContext(pop.state, (a) => engine.price(a), now, marginpool.math);
    const expected = [...pop.state.accounts.keys()]
      .filter((a) => {
        const r = ctx.account(a);
        return r.unknownAssets.length === 0 && isLiquidatable(r.data);
      })
      .sort();
    expect(engine.liquidatable().map((e) => e.account)).to.deep.equal(expected);
  });
});
