// The read frame (indexer/health/risk-frame.ts) is computed once per engine state and timestamp and its buffers are
// reused from block to block: after price moves, position edits, a stale feed and time passing, the aggregates and
// the at-risk view a long-lived engine serves from it equal those of an engine built from scratch on the same state
// and prices; a change between reads is never served from the old frame, and a superseded view refuses to be read.
import { marginpool } from "../../protocols/marginpool";
import { expect } from "chai";
import { queryAtRisk } from "../../indexer/api/at-risk";
import { StaleViewError } from "../../indexer/health/at-risk";
import { HealthEngine } from "../../indexer/health/engine";
import { buildSyntheticPopulation, feedPrices, seededRandom } from "../../indexer/health/synthetic";
import type { Address, RiskAggregates } from "../../indexer/health/types";

/** Equal structure; floats equal to 1e-9 relative (a holder list's order, hence a curve's summation order, differs). */
function expectClose(got: unknown, want: unknown, path: string): void {
  if (typeof want === "number" && typeof got === "number") {
    if (Number.isInteger(want) && Number.isInteger(got) && Math.abs(want) < 2 ** 31) expect(got, path).to.equal(want);
    else expect(got, path).to.be.closeTo(want, Math.abs(want) * 1e-9 + 1e-9);
  } else if (Array.isArray(want)) {
    expect(got, path).to.be.an("array").with.length(want.length);
    for (let i = 0; i < want.length; i++) expectClose((got as unknown[])[i], want[i], `${path}[${i}]`);
  } else if (want !== null && typeof want === "object") {
    expect(Object.keys(got as object).sort(), path).to.deep.equal(Object.keys(want).sort());
    for (const k of Object.keys(want)) expectClose((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${path}.${k}`);
  } else expect(got, path).to.equal(want);
}

describe("health engine: the read frame equals a from-scratch engine", function () {
  this.timeout(120_000);

  it("aggregates and at-risk view after price moves, position edits, a stale feed and time passing", () => {
    const pop = buildSyntheticPopulation({ accounts: 5_000, seed: 21 });
    const engine = new HealthEngine(pop.state, marginpool.math);
    feedPrices(pop, engine);
    const rand = seededRandom(3);
    const accounts = [...pop.state.accounts.keys()];
    let now = pop.now;
    let block = 1n;
    engine.evaluate(now, block);

    const fromScratch = (): HealthEngine => {
      const e = new HealthEngine(pop.state, marginpool.math);
      for (const a of pop.assets) e.setPrice(a, engine.price(a)!);
      e.evaluate(now, block);
      return e;
    };
    const viewRows = (e: HealthEngine) => {
      const v = e.atRiskView(now);
      const rows = new Map<Address, { rank: number; hf: number; status: string }>();
      for (let i = 0; i < v.size; i++) {
        const k = v.key(i);
        rows.set(v.address(i), { rank: k.rank, hf: k.hf, status: v.status(i) });
      }
      return { rows, page: queryAtRisk(v, {}, { limit: 200 }).rows };
    };

    const steps = ["price", "edit", "price", "time", "stale", "edit", "fresh", "price", "time", "price"] as const;
    for (const step of steps) {
      // Read before the change: the long-lived engine's frame is now at this state and timestamp.
      const before: RiskAggregates = engine.aggregates(now);
      const oldView = engine.atRiskView(now);
      block++;
      if (step === "price") {
        for (const asset of pop.assets) {
          if (rand() < 0.5) continue;
          const p = engine.price(asset)!;
          engine.setPrice(asset, { price: (p.price * BigInt(Math.round((0.94 + rand() * 0.1) * 1e6))) / 1_000_000n, status: p.status });
        }
      } else if (step === "time") now += 3n * 86_400n;
      else if (step === "stale" || step === "fresh") {
        const a = pop.assets[2]!;
        engine.setPrice(a, { price: engine.price(a)!.price, status: step });
      } else {
        const touched: Address[] = [];
        for (let i = 0; i < 200; i++) {
          const account = accounts[Math.floor(rand() * accounts.length)]!;
          const held = pop.state.accounts.get(account)!;
          const [asset, pos] = [...held.entries()][Math.floor(rand() * held.size)]!;
          if (rand() < 0.15) held.delete(asset);
          else if (pos.scaledDebt > 0n) pos.scaledDebt = (pos.scaledDebt * BigInt(Math.round((0.8 + rand() * 0.4) * 1e6))) / 1_000_000n;
          else pos.scaledCollateral = (pos.scaledCollateral * BigInt(Math.round((0.8 + rand() * 0.4) * 1e6))) / 1_000_000n;
          touched.push(account);
        }
        engine.onStateChange({ accounts: touched, assets: [], feeds: [] });
      }
      // A read between the change and the evaluate (positions and flags still of the last evaluate) must not be
      // served once the evaluate has run.
      const between = engine.aggregates(now);
      engine.evaluate(now, block);

      const got = engine.aggregates(now);
      expect(got, `${step}: a new frame`).to.not.equal(before);
      expect(got, `${step}: a new frame after evaluate`).to.not.equal(between);
      expect(engine.aggregates(now), `${step}: memoised`).to.equal(got);
      expectClose(got, fromScratch().aggregates(now), step);

      const mine = viewRows(engine);
      const fresh = viewRows(fromScratch());
      expect(oldView.current, step).to.equal(false);
      expect(() => oldView.key(0), step).to.throw(StaleViewError);
      expect([...mine.rows.keys()].sort(), step).to.deep.equal([...fresh.rows.keys()].sort());
      for (const [account, want] of fresh.rows) {
        const r = mine.rows.get(account)!;
        expect([r.rank, r.status], `${step} ${account}`).to.deep.equal([want.rank, want.status]);
        if (Number.isFinite(want.hf) && want.hf !== 0) expect(r.hf, `${step} ${account}`).to.be.closeTo(want.hf, want.hf * 1e-9);
      }
      expect(
        mine.page.map((x) => [x.account, x.healthFactorWad, x.status]),
        step,
      ).to.deep.equal(fresh.page.map((x) => [x.account, x.healthFactorWad, x.status]));
    }
    // The steps reached every kind of account the frame tells apart.
    const last = engine.aggregates(now);
    expect(last.accounts.liquidatable).to.be.greaterThan(0);
    expect(last.accounts.withDebt).to.be.lessThan(last.accounts.total);
  });

  it("a price set between two reads of one block is not served from the old frame", () => {
    const pop = buildSyntheticPopulation({ accounts: 2_000, seed: 22 });
    const engine = new HealthEngine(pop.state, marginpool.math);
    feedPrices(pop, engine);
    engine.evaluate(pop.now, 1n);
    const a = engine.aggregates(pop.now);
    const asset = pop.assets[0]!;
    engine.setPrice(asset, { price: (engine.price(asset)!.price * 9n) / 10n, status: "fresh" });
    const b = engine.aggregates(pop.now);
    expect(b.totalCollateralUSD).to.be.lessThan(a.totalCollateralUSD);
    // Another timestamp is another frame too (interest).
    expect(engine.aggregates(pop.now + 86_400n * 30n).totalDebtUSD).to.be.greaterThan(b.totalDebtUSD);
  });
});
