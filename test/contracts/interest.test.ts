// Interest: the kinked rate model, rates emitted on every action, borrow index = compounded formula, liquidity
// index = linear formula, views extrapolated to block.timestamp, and suppliers never owed more than exists.
import { expect } from "chai";
import Decimal from "decimal.js";

const D = Decimal.clone({ precision: 80 });
import { parseUnits } from "viem";
import { borrow, deposit, increaseTime, mintAndApprove } from "../fixtures/protocol";
import { interestRateModelAbi } from "../../protocols/marginpool/generated/abis";
import { DEFAULT_MARKET } from "../../protocols/marginpool/market";
import { parseUnitsExact } from "../../common/units";
import * as math from "../../protocols/marginpool/math";
import {
  RAY,
  YEAR,
  addr,
  ceilDiv,
  floorDiv,
  lastReserveUpdate,
  latestTimestamp,
  oneEvent,
  poolTx,
  refBorrowRate,
  refCompoundedFactor,
  refLinearFactor,
  refLiquidityRate,
  setNextTimestamp,
  useFixture,
} from "./helpers";
import type { Fixture } from "../fixtures/protocol";

function modelOf(symbol: string) {
  const m = DEFAULT_MARKET.find((a) => a.symbol === symbol)!;
  return {
    base: parseUnitsExact(m.rateModel.baseRate, 27),
    slope1: parseUnitsExact(m.rateModel.slope1, 27),
    slope2: parseUnitsExact(m.rateModel.slope2, 27),
    optimal: parseUnitsExact(m.rateModel.optimalUtilization, 27),
    reserveFactor: BigInt(m.reserveFactorBps),
  };
}

const rateFor = (symbol: string, u: bigint) => {
  const m = modelOf(symbol);
  return refBorrowRate(u, m.base, m.slope1, m.slope2, m.optimal);
};

/** Utilisation as the pool computes it: debt (rounded up) / (debt + cash), RAY, rounded down. */
async function utilisation(f: Fixture, symbol: string): Promise<bigint> {
  const r = await f.pool.read.getReserveData([f.asset(symbol).address]);
  const debt = ceilDiv(r.totalScaledDebt * r.borrowIndex, RAY);
  return debt === 0n ? 0n : floorDiv(debt * RAY, debt + r.cash);
}

describe("MarginPool interest", () => {
  const fx = useFixture();

  it("the rate model is kinked: slope1 up to the optimal utilisation, slope2 beyond it", async () => {
    const f = fx();
    for (const symbol of ["WETH", "WBTC", "USDC"]) {
      const m = modelOf(symbol);
      const points = [0n, m.optimal / 3n, m.optimal, m.optimal + 1n, (m.optimal + RAY) / 2n, RAY];
      for (const u of points) {
        const onChain = await f.publicClient.readContract({
          address: f.asset(symbol).rateModel as `0x${string}`,
          abi: interestRateModelAbi,
          functionName: "calculateBorrowRate",
          args: [u],
        });
        expect(onChain, `${symbol} at U=${u}`).to.equal(rateFor(symbol, u));
      }
      // At the kink the rate is base + slope1; at 100% it is base + slope1 + slope2.
      expect(rateFor(symbol, m.optimal)).to.equal(m.base + m.slope1);
      expect(rateFor(symbol, RAY)).to.equal(m.base + m.slope1 + m.slope2);
    }
  });

  it("a borrow below the kink emits rates for U = debt / (debt + cash), the supply rate net of the reserve factor", async () => {
    const f = fx();
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    const receipt = await poolTx(f, f.borrower, "borrow", [f.asset("USDC").address, parseUnits("20000", 6)]);
    const ev = oneEvent(receipt, "ReserveDataUpdated");
    const u = RAY / 5n; // 20000 / (20000 + 80000)
    expect(await utilisation(f, "USDC")).to.equal(u);
    const br = rateFor("USDC", u);
    expect(br).to.equal(floorDiv(modelOf("USDC").slope1 * u, modelOf("USDC").optimal));
    expect(ev.args.borrowRate).to.equal(br);
    expect(ev.args.liquidityRate).to.equal(refLiquidityRate(br, u, 1000n));
    expect(ev.args.liquidityRate).to.equal(math.bpsMulDown(math.rayMulDown(br, u), 9000n));
  });

  it("a borrow above the kink pays slope2 on the excess utilisation", async () => {
    const f = fx();
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "100");
    const receipt = await poolTx(f, f.borrower, "borrow", [f.asset("USDC").address, parseUnits("95000", 6)]);
    const ev = oneEvent(receipt, "ReserveDataUpdated");
    const m = modelOf("USDC");
    const u = (RAY * 95n) / 100n;
    expect(u > m.optimal).to.equal(true);
    expect(ev.args.borrowRate).to.equal(m.base + m.slope1 + floorDiv(m.slope2 * (u - m.optimal), RAY - m.optimal));
    expect(ev.args.liquidityRate).to.equal(refLiquidityRate(ev.args.borrowRate, u, m.reserveFactor));
  });

  describe("index accrual (100000 USDC supplied, 60000 borrowed)", () => {
    async function setup() {
      const f = fx();
      await deposit(f, f.supplier, "USDC", "100000");
      await deposit(f, f.borrower, "WETH", "40");
      await borrow(f, f.borrower, "USDC", "60000");
      return f;
    }

    it("views extrapolate to block.timestamp: borrow index compounded, liquidity index linear, balances from them", async () => {
      const f = await setup();
      const usdc = f.asset("USDC").address;
      const stored = await lastReserveUpdate(f, "USDC");
      expect(stored.borrowIndex).to.equal(RAY);
      for (const days of [1n, 30n, 365n]) {
        await setNextTimestamp(stored.timestamp + days * 86400n);
        await increaseTime(0);
        const now = await latestTimestamp(f);
        const dt = now - stored.timestamp;
        const r = await f.pool.read.getReserveData([usdc]);
        const bi = ceilDiv(refCompoundedFactor(stored.borrowRate, dt) * stored.borrowIndex, RAY);
        const li = floorDiv(refLinearFactor(stored.liquidityRate, dt) * stored.liquidityIndex, RAY);
        expect(r.borrowIndex, `borrow index after ${days} d`).to.equal(bi);
        expect(r.liquidityIndex, `liquidity index after ${days} d`).to.equal(li);
        expect(r.lastUpdateTimestamp).to.equal(stored.timestamp); // the stored state itself is untouched
        expect(math.currentIndexes({ ...stored, lastUpdateTimestamp: stored.timestamp }, now)).to.deep.equal({ liquidityIndex: li, borrowIndex: bi });

        // The cubic binomial expansion undershoots true per-second compounding (1 + r/year)^t by at most the
        // dropped tail (≤ C(t,4)·x⁴·(1+x)^t) plus RAY flooring: x² and x³ are each floored to 1e-27 before being
        // multiplied by C(t,2) and C(t,3) (per-second x³ is only a few RAY units: this is the larger error).
        const x = new D(stored.borrowRate.toString()).div(RAY.toString()).div(YEAR.toString());
        const exact = x.plus(1).pow(dt.toString());
        const factor = new D(refCompoundedFactor(stored.borrowRate, dt).toString()).div(RAY.toString());
        const n = new D(dt.toString());
        const c2 = n.mul(n.minus(1)).div(2);
        const c3 = c2.mul(n.minus(2)).div(3);
        const c4 = c3.mul(n.minus(3)).div(4);
        const bound = c4
          .mul(x.pow(4))
          .mul(exact)
          .plus(c2.plus(c3.mul(2)).plus(3).mul("1e-27"));
        expect(factor.lte(exact)).to.equal(true);
        expect(exact.minus(factor).lte(bound), `compounding error after ${days} d`).to.equal(true);

        const pos = await f.pool.read.getPosition([addr(f.borrower), usdc]);
        expect(pos[3]).to.equal(ceilDiv(pos[1] * bi, RAY)); // debt rounds up
        const sup = await f.pool.read.getPosition([addr(f.supplier), usdc]);
        expect(sup[2]).to.equal(floorDiv(sup[0] * li, RAY)); // collateral rounds down
      }
    });

    it("an action stores exactly the extrapolated indexes and re-prices the rates at the new utilisation", async () => {
      const f = await setup();
      const usdc = f.asset("USDC").address;
      await mintAndApprove(f, f.borrower, "USDC", 0n);
      const stored = await lastReserveUpdate(f, "USDC");
      const at = stored.timestamp + 90n * 86400n;
      await setNextTimestamp(at);
      const receipt = await poolTx(f, f.borrower, "repay", [usdc, parseUnits("10000", 6), addr(f.borrower)]);
      const bi = ceilDiv(refCompoundedFactor(stored.borrowRate, at - stored.timestamp) * stored.borrowIndex, RAY);
      const li = floorDiv(refLinearFactor(stored.liquidityRate, at - stored.timestamp) * stored.liquidityIndex, RAY);
      const ev = oneEvent(receipt, "ReserveDataUpdated");
      expect([ev.args.liquidityIndex, ev.args.borrowIndex, ev.args.timestamp]).to.deep.equal([li, bi, at]);
      expect(oneEvent(receipt, "Repay").args.borrowIndex).to.equal(bi);
      const u = await utilisation(f, "USDC");
      expect(u < (RAY * 6n) / 10n).to.equal(true); // repaid: utilisation fell
      expect(ev.args.borrowRate).to.equal(rateFor("USDC", u));
      expect(ev.args.liquidityRate).to.equal(refLiquidityRate(ev.args.borrowRate, u, 1000n));
      // Stored now, so the view returns the same numbers at this timestamp.
      const r = await f.pool.read.getReserveData([usdc]);
      expect([r.liquidityIndex, r.borrowIndex, r.lastUpdateTimestamp]).to.deep.equal([li, bi, at]);
    });

    it("suppliers are never owed more than the pool holds: cash + debt ≥ collateral, the gap is the reserve", async () => {
      const f = await setup();
      const usdc = f.asset("USDC").address;
      for (const days of [1, 100, 365 * 2]) {
        await increaseTime(days * 86400);
        const r = await f.pool.read.getReserveData([usdc]);
        const debt = ceilDiv(r.totalScaledDebt * r.borrowIndex, RAY);
        const owed = floorDiv(r.totalScaledCollateral * r.liquidityIndex, RAY);
        expect(owed > parseUnits("100000", 6)).to.equal(true); // suppliers did earn
        expect(r.cash + debt > owed, `after ${days} more days`).to.equal(true);
      }
    });
  });
});
