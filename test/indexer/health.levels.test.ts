// Margin levels: crossings with hysteresis (no flapping while HF oscillates inside the band), liquidation with
// none (the chain's rule), crossings caused by interest alone, and resolution when the debt is repaid.
import { marginpool } from "../../protocols/marginpool";
import { expect } from "chai";
import { RAY, WAD } from "../../common/math";
import { HealthEngine } from "../../indexer/health/engine";
import { buildSyntheticPopulation, feedPrices } from "../../indexer/health/synthetic";
import type { Address, HealthUpdate } from "../../indexer/health/types";

const ACCOUNT = "0x00000000000000000000000000000000000000a1" as Address;

/** One account: 1 unit of asset 0 (WETH-like) as collateral, 2000 of asset 2 (USDC-like) as debt. */
function setup(opts = {}) {
  const pop = buildSyntheticPopulation({ accounts: 0, assets: 4, seed: 3 });
  const [weth, , usdc] = pop.assets as [Address, Address, Address];
  const w = pop.state.assets.get(weth)!;
  const u = pop.state.assets.get(usdc)!;
  // Debt accrues faster than collateral (30% vs 1% a year), so time alone lowers the HF.
  u.borrowRate = (RAY * 30n) / 100n;
  w.liquidityRate = RAY / 100n;
  pop.state.accounts.set(
    ACCOUNT,
    new Map([
      [weth, { scaledCollateral: (10n ** 18n * RAY) / w.liquidityIndex, scaledDebt: 0n }],
      [usdc, { scaledCollateral: 0n, scaledDebt: (2000n * 10n ** 6n * RAY) / u.borrowIndex }],
    ]),
  );
  const engine = new HealthEngine(pop.state, marginpool.math, opts);
  feedPrices(pop, engine);
  let block = 0n;
  let now = pop.now;
  const hf = () => engine.account(ACCOUNT, now)!.healthFactor!;
  /** Sets the collateral price so that the exact HF is `target` (to 1e-6), then evaluates. */
  const moveTo = (target: number): HealthUpdate => {
    const p = engine.price(weth)!.price;
    const current = Number(hf()) / 1e18;
    engine.setPrice(weth, { price: BigInt(Math.round((Number(p) * target) / current)), status: "fresh" });
    const update = engine.evaluate(now, ++block);
    expect(Math.abs(Number(hf()) / 1e18 - target)).to.be.lessThan(1e-6);
    return update;
  };
  const wait = (seconds: bigint): HealthUpdate => {
    now += seconds;
    return engine.evaluate(now, ++block);
  };
  return { pop, engine, weth, usdc, moveTo, wait, hf, evaluate: () => engine.evaluate(now, ++block) };
}

const crossings = (u: HealthUpdate) => u.crossings.map((c) => `${c.level}:${c.direction}`);

describe("health engine: margin levels", () => {
  it("crosses warning (1.2) and critical (1.05) with 2% hysteresis and never flaps inside the band", () => {
    const { engine, moveTo } = setup();
    moveTo(1.25);
    expect(engine.marginLevels(ACCOUNT)).to.deep.equal([]);
    expect(crossings(moveTo(1.21))).to.deep.equal([]);
    expect(crossings(moveTo(1.19))).to.deep.equal(["warning:down"]);
    // Oscillating between 1.19 and 1.223 (< 1.2·1.02): silence.
    for (const x of [1.21, 1.195, 1.223, 1.19, 1.2, 1.22]) expect(crossings(moveTo(x)), `at ${x}`).to.deep.equal([]);
    expect(engine.marginLevels(ACCOUNT)).to.deep.equal(["warning"]);
    expect(crossings(moveTo(1.2245))).to.deep.equal(["warning:up"]);
    expect(crossings(moveTo(1.21))).to.deep.equal([]);
    expect(crossings(moveTo(1.04))).to.deep.equal(["warning:down", "critical:down"]);
    for (const x of [1.06, 1.049, 1.07]) expect(crossings(moveTo(x)), `at ${x}`).to.deep.equal([]);
    expect(engine.marginLevels(ACCOUNT)).to.deep.equal(["warning", "critical"]);
    expect(crossings(moveTo(1.0715))).to.deep.equal(["critical:up"]);
    expect(engine.marginLevels(ACCOUNT)).to.deep.equal(["warning"]);
  });

  it("liquidation follows the chain's rule exactly (no hysteresis), and the crossing carries the exact HF", () => {
    const { engine, moveTo, hf } = setup();
    moveTo(1.25);
    const under = moveTo(0.999);
    expect(under.liquidatableAdded).to.deep.equal([ACCOUNT]);
    expect(crossings(under)).to.deep.equal(["warning:down", "critical:down"]);
    expect(under.crossings.map((c) => c.healthFactor)).to.deep.equal([hf(), hf()]);
    expect(engine.liquidatable()[0]!.healthFactor).to.equal(hf());
    const back = moveTo(1.0001);
    expect(back.liquidatableRemoved).to.deep.equal([ACCOUNT]);
    expect(crossings(back)).to.deep.equal([]);
    expect(moveTo(0.9999).liquidatableAdded).to.deep.equal([ACCOUNT]);
  });

  it("a crossing the bounds prove needs no exact math: its HF is null and healthFactors gives the exact one", () => {
    const { engine, moveTo, hf } = setup();
    moveTo(1.25);
    const down = moveTo(1.15); // 8% under the previous HF, far from the 1.2 threshold either way
    expect(crossings(down)).to.deep.equal(["warning:down"]);
    expect(down.recomputed).to.equal(0);
    expect(down.crossings[0]!.healthFactor).to.equal(null);
    const now = down.timestamp;
    expect(engine.healthFactors([ACCOUNT], now)).to.deep.equal([hf()]);
    expect(engine.healthFactors([ACCOUNT], now)).to.deep.equal([engine.account(ACCOUNT, now)!.healthFactor]);
    // Close to a threshold the bounds cannot decide: exact math does, and the crossing carries its HF.
    const edge = moveTo(1.049999); // 0.01 bps under the level, inside the 0.1 bps band
    expect(crossings(edge)).to.deep.equal(["critical:down"]);
    expect(edge.recomputed).to.equal(1);
    expect(edge.crossings[0]!.healthFactor).to.equal(hf());
  });

  it("interest alone crosses a level: no price, no event, only time", () => {
    const { moveTo, wait, hf, engine } = setup({ driftBudgetBps: 1_000 });
    moveTo(1.25);
    moveTo(1.2002);
    expect(engine.marginLevels(ACCOUNT)).to.deep.equal([]);
    let update: HealthUpdate | undefined;
    let hours = 0;
    while (hf() >= (WAD * 12n) / 10n && hours < 24 * 365) {
      update = wait(3600n);
      hours++;
      if (hf() >= (WAD * 12n) / 10n) expect(update.crossings).to.deep.equal([]);
    }
    expect(hours).to.be.greaterThan(0);
    expect(update!.rebased).to.equal(false);
    expect(crossings(update!)).to.deep.equal(["warning:down"]);
    expect(update!.crossings[0]!.healthFactor).to.equal(hf());
    expect(engine.marginLevels(ACCOUNT)).to.deep.equal(["warning"]);
  });

  it("repaying the whole debt resolves every active level (HF becomes max)", () => {
    const { pop, engine, moveTo, usdc, evaluate } = setup();
    moveTo(0.98);
    expect(engine.marginLevels(ACCOUNT)).to.deep.equal(["warning", "critical"]);
    pop.state.accounts.get(ACCOUNT)!.get(usdc)!.scaledDebt = 0n;
    engine.onStateChange({ accounts: [ACCOUNT], assets: [], feeds: [] });
    const u = evaluate();
    expect(u.liquidatableRemoved).to.deep.equal([ACCOUNT]);
    expect(crossings(u)).to.deep.equal(["warning:up", "critical:up"]);
    expect(engine.positionVersion(ACCOUNT)).to.equal(1);
  });

  it("custom levels: names, thresholds and hysteresis come from the options; a level at or under 1 is refused", () => {
    const { moveTo, engine } = setup({ levels: [{ name: "call", healthFactor: "1.5" }], hysteresisBps: 1000 });
    expect(engine.levels()).to.deep.equal([{ name: "call", down: 15n * 10n ** 17n, up: 165n * 10n ** 16n }]);
    expect(crossings(moveTo(1.4))).to.deep.equal(["call:down"]);
    expect(crossings(moveTo(1.6))).to.deep.equal([]);
    expect(crossings(moveTo(1.66))).to.deep.equal(["call:up"]);
    expect(() => setup({ levels: [{ name: "bad", healthFactor: 1 }] })).to.throw(RangeError);
  });
});
