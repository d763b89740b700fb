// liquidate(): HF threshold to the wei, close factor (50% / 100% / dust), per-asset bonus, seize and repay rounding
// against an independent reference and common/math.ts, cross-decimal pairs, bad debt, every revert path.
import { expect } from "chai";
import { parseUnits } from "viem";
import { borrow, deposit, increaseTime, mintAndApprove, setPrice } from "../fixtures/protocol";
import * as math from "../../protocols/marginpool/math";
import type { Fixture } from "../fixtures/protocol";
import {
  BPS,
  MAX_UINT,
  RAY,
  WAD,
  addr,
  ceilDiv,
  deployToken,
  expectEq,
  expectRevert,
  feedRound,
  floorDiv,
  freezeTime,
  oneEvent,
  poolEvents,
  poolTx,
  refRepayForAll,
  refSeize,
  refreshFeeds,
  tokenBalance,
  useFixture,
  zeroRates,
  from,
} from "./helpers";

const USD = 10n ** 8n;

type Holding = [symbol: string, human: string];

/**
 * BORROWER deposits `collateral` and borrows `debt` (SUPPLIER provides the liquidity); LIQUIDATOR holds plenty of
 * every debt asset, approved. With `zero` the involved assets get zero rates so amounts stay exact.
 */
async function open(f: Fixture, collateral: Holding[], debt: Holding[], zero = true): Promise<void> {
  if (zero) await zeroRates(f, [...new Set([...collateral, ...debt].map(([s]) => s))]);
  for (const [s] of debt) await deposit(f, f.supplier, s, "1000000");
  for (const [s, h] of collateral) await deposit(f, f.borrower, s, h);
  for (const [s, h] of debt) {
    await borrow(f, f.borrower, s, h);
    await mintAndApprove(f, f.liquidator, s, parseUnits("1000000", f.asset(s).decimals));
  }
}

async function price(f: Fixture, symbol: string): Promise<bigint> {
  return f.oracle.read.getAssetPrice([f.asset(symbol).address]);
}

/** Everything the liquidation formula reads, at the latest block. */
async function inputs(f: Fixture, coll: string, debt: string) {
  const B = addr(f.borrower);
  const [, , userCollateral] = await f.pool.read.getPosition([B, f.asset(coll).address]);
  const [, , , userDebt] = await f.pool.read.getPosition([B, f.asset(debt).address]);
  const cfg = await f.pool.read.getAssetConfig([f.asset(coll).address]);
  return {
    hf: await f.pool.read.healthFactor([B]),
    userCollateral,
    userDebt,
    collPrice: await price(f, coll),
    debtPrice: await price(f, debt),
    collDecimals: f.asset(coll).decimals,
    debtDecimals: f.asset(debt).decimals,
    bonus: BigInt(cfg.liquidationBonusBps),
  };
}

describe("MarginPool.liquidate", () => {
  const fx = useFixture();

  describe("health factor threshold (10 WETH vs 16500 USDC, zero rates)", () => {
    it("HF exactly 1e18 cannot be liquidated; a price one feed unit lower can", async () => {
      const f = fx();
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await setPrice(f, "WETH", "2000"); // 10 · $2000 · 82.5% = $16500 = debt
      const args = [addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, MAX_UINT] as const;
      expect(await f.pool.read.healthFactor([addr(f.borrower)])).to.equal(WAD);
      await expectRevert(f.pool.simulate.liquidate(args, from(f.liquidator)), "HealthFactorNotBelowOne", [addr(f.borrower), WAD]);

      await setPrice(f, "WETH", "1999.99999999");
      const hf = await f.pool.read.healthFactor([addr(f.borrower)]);
      expect(hf).to.equal(floorDiv(10n * 199_999_999_999n * 8250n * WAD, 16_500n * USD * BPS));
      expect(hf < WAD).to.equal(true);
      const { result } = await f.pool.simulate.liquidate(args, from(f.liquidator));
      expect(result[0]).to.equal(parseUnits("8250", 6)); // 50%: HF ≥ 0.95
    });

    it("HF exactly 1e18 becomes liquidatable once one second of interest adds debt", async () => {
      const f = fx();
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await setPrice(f, "WETH", "2000");
      expect(await f.pool.read.healthFactor([addr(f.borrower)])).to.equal(WAD);
      // Back to the real USDC model: from the next second on, the debt grows by a few wei.
      await poolTx(f, f.owner, "setRateModel", [f.asset("USDC").address, f.asset("USDC").rateModel]);
      await increaseTime(1);
      const [, , , debt] = await f.pool.read.getPosition([addr(f.borrower), f.asset("USDC").address]);
      expect(debt > parseUnits("16500", 6)).to.equal(true);
      expect(debt - parseUnits("16500", 6) < 100n).to.equal(true);
      expect((await f.pool.read.healthFactor([addr(f.borrower)])) < WAD).to.equal(true);
      await poolTx(f, f.liquidator, "liquidate", [addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, 1_000_000n]);
    });
  });

  describe("close factor", () => {
    it("50% when 0.95 ≤ HF < 1: max uint repays half the debt; seize = repay·(1+bonus) in collateral, rounded down", async () => {
      const f = fx();
      const B = addr(f.borrower);
      const weth = f.asset("WETH").address;
      const usdc = f.asset("USDC").address;
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await setPrice(f, "WETH", "1990"); // HF = 19900 · 0.825 / 16500 = 0.995
      const i = await inputs(f, "WETH", "USDC");
      expect(i.hf).to.equal(995n * 10n ** 15n);

      const repay = parseUnits("8250", 6);
      const seize = refSeize(repay, i.debtPrice, 6, i.collPrice, 18, 500n);
      // The same numbers from common/math.ts and from the contract's own pure functions.
      const debtBase = ceilDiv(i.userDebt * i.debtPrice, 10n ** 6n);
      const collBase = floorDiv(i.userCollateral * i.collPrice, 10n ** 18n);
      expect(math.calculateMaxRepay(i.hf, i.userDebt, debtBase, collBase)).to.equal(repay);
      expect(await f.pool.read.calculateMaxRepay([i.hf, i.userDebt, debtBase, collBase])).to.equal(repay);
      expect(math.calculateSeize(repay, i.userCollateral, i.debtPrice, i.collPrice, 10n ** 6n, 10n ** 18n, 500n)).to.deep.equal([repay, seize]);
      expect(await f.pool.read.calculateSeize([repay, i.userCollateral, i.debtPrice, i.collPrice, 10n ** 6n, 10n ** 18n, 500n])).to.deep.equal([
        repay,
        seize,
      ]);

      const sim = await f.pool.simulate.liquidate([B, weth, usdc, MAX_UINT], from(f.liquidator));
      expect(sim.result).to.deep.equal([repay, seize]);
      const usdcBefore = await tokenBalance(f, "USDC", addr(f.liquidator));
      const receipt = await poolTx(f, f.liquidator, "liquidate", [B, weth, usdc, MAX_UINT]);
      expectEq(oneEvent(receipt, "Liquidation").args, {
        borrower: B,
        liquidator: addr(f.liquidator),
        collateralAsset: weth,
        debtAsset: usdc,
        debtRepaid: repay,
        debtScaledBurned: repay,
        collateralSeized: seize,
        collateralScaledBurned: seize, // indexes are 1 RAY
      });
      expect(usdcBefore - (await tokenBalance(f, "USDC", addr(f.liquidator)))).to.equal(repay);
      expect(await tokenBalance(f, "WETH", addr(f.liquidator))).to.equal(seize);
      expect(await f.pool.read.getPosition([B, weth])).to.deep.equal([parseUnits("10", 18) - seize, 0n, parseUnits("10", 18) - seize, 0n]);
      expect((await f.pool.read.getPosition([B, usdc]))[1]).to.equal(parseUnits("8250", 6));
      expect(poolEvents(receipt).some((e) => e.eventName === "BadDebtWrittenOff")).to.equal(false);
    });

    it("a repayAmount below the close factor is taken as given", async () => {
      const f = fx();
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await setPrice(f, "WETH", "1990");
      const repay = 1_234_567_891n;
      const { result } = await f.pool.simulate.liquidate(
        [addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, repay],
        from(f.liquidator),
      );
      expect(result).to.deep.equal([repay, refSeize(repay, USD, 6, 1990n * USD, 18, 500n)]);
    });

    it("HF exactly 0.95 is still 50%; one feed unit lower is 100%", async () => {
      const f = fx();
      const args = [addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, MAX_UINT] as const;
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await setPrice(f, "WETH", "1900"); // 19000 · 0.825 / 16500 = 0.95
      expect(await f.pool.read.healthFactor([addr(f.borrower)])).to.equal(95n * 10n ** 16n);
      expect((await f.pool.simulate.liquidate(args, from(f.liquidator))).result[0]).to.equal(parseUnits("8250", 6));
      await setPrice(f, "WETH", "1899.99999999");
      expect((await f.pool.simulate.liquidate(args, from(f.liquidator))).result[0]).to.equal(parseUnits("16500", 6));
    });

    it("100% when HF < 0.95: the whole debt is repaid, the leftover collateral stays with the borrower", async () => {
      const f = fx();
      const B = addr(f.borrower);
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await setPrice(f, "WETH", "1800"); // HF 0.9
      const repay = parseUnits("16500", 6);
      const seize = refSeize(repay, USD, 6, 1800n * USD, 18, 500n);
      expect(seize).to.equal(parseUnits("9.625", 18));
      const receipt = await poolTx(f, f.liquidator, "liquidate", [B, f.asset("WETH").address, f.asset("USDC").address, MAX_UINT]);
      const ev = oneEvent(receipt, "Liquidation");
      expect([ev.args.debtRepaid, ev.args.collateralSeized]).to.deep.equal([repay, seize]);
      expect((await f.pool.read.getPosition([B, f.asset("WETH").address]))[2]).to.equal(parseUnits("0.375", 18));
      expect(await f.pool.read.healthFactor([B])).to.equal(MAX_UINT);
    });

    it("100% for a dust debt (< $2000) even at HF 0.995", async () => {
      const f = fx();
      await open(f, [["WETH", "1"]], [["USDC", "1650"]]);
      await setPrice(f, "WETH", "1990");
      expect(await f.pool.read.healthFactor([addr(f.borrower)])).to.equal(995n * 10n ** 15n);
      const { result } = await f.pool.simulate.liquidate(
        [addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, MAX_UINT],
        from(f.liquidator),
      );
      const repay = parseUnits("1650", 6);
      expect(result).to.deep.equal([repay, refSeize(repay, USD, 6, 1990n * USD, 18, 500n)]);
    });

    it("100% when the chosen collateral position is dust; the collateral caps the seize and the repay rounds up (USDC 6d vs DAI 18d feed)", async () => {
      const f = fx();
      const B = addr(f.borrower);
      const usdc = f.asset("USDC").address;
      const dai = f.asset("DAI").address;
      await open(
        f,
        [
          ["WETH", "10"],
          ["USDC", "1000"],
        ],
        [["DAI", "16000"]],
      );
      await setPrice(f, "WETH", "1800"); // HF = (14850 + 800) / 16000 = 0.978125: 50% for a non-dust pair
      const i = await inputs(f, "USDC", "DAI");
      expect(i.hf).to.equal(978_125n * 10n ** 12n);
      expect(i.debtPrice).to.equal(USD); // 1e18 answer normalised to 8 decimals
      // The WETH collateral is not dust, so against it only half the DAI debt could go.
      expect((await f.pool.simulate.liquidate([B, f.asset("WETH").address, dai, MAX_UINT], from(f.liquidator))).result[0]).to.equal(
        parseUnits("8000", 18),
      );

      // USDC collateral ($1000) is dust: 100% allowed, but 16000 DAI · 1.045 is far more than $1000, so all the
      // USDC goes and the repay shrinks to ceil(1000 / 1.045) DAI.
      const repay = refRepayForAll(i.userCollateral, i.debtPrice, 18, i.collPrice, 6, 450n);
      expect(repay).to.equal(ceilDiv(1000n * 10n ** 18n * BPS, 10_450n));
      expect(repay).to.equal(956_937_799_043_062_200_957n);
      expect(math.calculateSeize(i.userDebt, i.userCollateral, i.debtPrice, i.collPrice, 10n ** 18n, 10n ** 6n, 450n)).to.deep.equal([
        repay,
        i.userCollateral,
      ]);

      const receipt = await poolTx(f, f.liquidator, "liquidate", [B, usdc, dai, MAX_UINT]);
      const ev = oneEvent(receipt, "Liquidation");
      expect([ev.args.debtRepaid, ev.args.collateralSeized, ev.args.collateralScaledBurned]).to.deep.equal([
        repay,
        i.userCollateral,
        i.userCollateral,
      ]);
      // Rounding up protects the pool: what the liquidator paid is worth at least the collateral minus its bonus.
      expect(repay * USD * 10n ** 6n * 10_450n >= i.userCollateral * USD * 10n ** 18n * BPS).to.equal(true);
      expect((await f.pool.read.getPosition([B, dai]))[1]).to.equal(parseUnits("16000", 18) - repay);
      // WETH remains, so nothing is written off.
      expect(poolEvents(receipt).some((e) => e.eventName === "BadDebtWrittenOff")).to.equal(false);
    });
  });

  it("uses the collateral asset's own bonus: WBTC (8d, 6.5%) against USDC (6d) debt", async () => {
    const f = fx();
    const B = addr(f.borrower);
    const wbtc = f.asset("WBTC").address;
    const usdc = f.asset("USDC").address;
    await open(f, [["WBTC", "1"]], [["USDC", "40000"]]);
    await setPrice(f, "WBTC", "51234.56789"); // HF = 51234.56789 · 0.78 / 40000 ≈ 0.99907
    const i = await inputs(f, "WBTC", "USDC");
    expect(i.bonus).to.equal(650n);
    expect(i.hf >= 95n * 10n ** 16n && i.hf < WAD).to.equal(true);
    const repay = parseUnits("20000", 6);
    const seize = refSeize(repay, i.debtPrice, 6, i.collPrice, 8, 650n);
    // Not a round number: the floor matters, and the USDC bonus (4.5%) would give a different amount.
    expect((repay * i.debtPrice * 10n ** 8n * 10_650n) % (10n ** 6n * BPS * i.collPrice) !== 0n).to.equal(true);
    expect(seize).to.not.equal(refSeize(repay, i.debtPrice, 6, i.collPrice, 8, 450n));
    expect(math.calculateSeize(repay, i.userCollateral, i.debtPrice, i.collPrice, 10n ** 6n, 10n ** 8n, 650n)).to.deep.equal([repay, seize]);

    const receipt = await poolTx(f, f.liquidator, "liquidate", [B, wbtc, usdc, MAX_UINT]);
    const ev = oneEvent(receipt, "Liquidation");
    expect([ev.args.debtRepaid, ev.args.collateralSeized]).to.deep.equal([repay, seize]);
    expect(await tokenBalance(f, "WBTC", addr(f.liquidator))).to.equal(seize);
  });

  it("bad debt: all collateral seized with debt left writes off every debt asset, with interest accrued", async () => {
    const f = fx();
    const B = addr(f.borrower);
    const weth = f.asset("WETH").address;
    const usdc = f.asset("USDC").address;
    const dai = f.asset("DAI").address;
    await open(
      f,
      [["WETH", "10"]],
      [
        ["USDC", "12000"],
        ["DAI", "4000"],
      ],
      false,
    );
    await increaseTime(30 * 86400);
    await refreshFeeds(f);
    await setPrice(f, "WETH", "1000"); // $10000 of collateral against ~$16000 of debt

    const [, usdcScaled] = await f.pool.read.getPosition([B, usdc]);
    const [, daiScaled, , daiDebt] = await f.pool.read.getPosition([B, dai]);
    const i = await inputs(f, "WETH", "USDC");
    const usdcIndex = (await f.pool.read.getReserveData([usdc])).borrowIndex;
    const deficitsBefore = [(await f.pool.read.getReserveData([usdc])).deficit, (await f.pool.read.getReserveData([dai])).deficit];
    expect(i.hf < 95n * 10n ** 16n).to.equal(true);
    expect(i.userDebt > parseUnits("12000", 6)).to.equal(true); // interest accrued

    // Seizing for the whole USDC debt would need 12.6+ WETH: all 10 go, the repay is the rounded-up inverse.
    const repay = refRepayForAll(i.userCollateral, i.debtPrice, 6, i.collPrice, 18, 500n);
    const burned = floorDiv(repay * RAY, usdcIndex);
    const usdcLeft = ceilDiv((usdcScaled - burned) * usdcIndex, RAY);

    await freezeTime(f); // the liquidation runs at the timestamp the values above were read at
    const receipt = await poolTx(f, f.liquidator, "liquidate", [B, weth, usdc, MAX_UINT]);
    const events = poolEvents(receipt);
    const liq = oneEvent(receipt, "Liquidation");
    expect([liq.args.debtRepaid, liq.args.debtScaledBurned, liq.args.collateralSeized]).to.deep.equal([repay, burned, i.userCollateral]);
    const bad = events.filter((e) => e.eventName === "BadDebtWrittenOff");
    // Emitted after the Liquidation, in listing order (USDC then DAI).
    expect(events.findIndex((e) => e.eventName === "Liquidation") < events.indexOf(bad[0]!)).to.equal(true);
    expectEq(
      bad.map((e) => e.args),
      [
        { account: B, asset: usdc, amount: usdcLeft, scaledAmount: usdcScaled - burned, reserveDeficit: deficitsBefore[0]! + usdcLeft },
        { account: B, asset: dai, amount: daiDebt, scaledAmount: daiScaled, reserveDeficit: deficitsBefore[1]! + daiDebt },
      ],
    );
    for (const a of [weth, usdc, dai]) expect(await f.pool.read.getPosition([B, a])).to.deep.equal([0n, 0n, 0n, 0n]);
    expect((await f.pool.read.getReserveData([usdc])).deficit).to.equal(deficitsBefore[0]! + usdcLeft);
    expect((await f.pool.read.getReserveData([dai])).deficit).to.equal(deficitsBefore[1]! + daiDebt);
    // Only the supplier's debt-free position is left in the reserves.
    expect((await f.pool.read.getReserveData([usdc])).totalScaledDebt).to.equal(0n);
    expect((await f.pool.read.getReserveData([dai])).totalScaledDebt).to.equal(0n);
    expect(await f.pool.read.healthFactor([B])).to.equal(MAX_UINT);
  });

  it("calculateMaxRepay switches to 100% exactly below 0.95 and exactly below $2000 (debt or collateral)", async () => {
    const f = fx();
    const debt = 1_000_001n;
    const big = 10_000n * USD;
    const dust = 2_000n * USD;
    const cases: [bigint, bigint, bigint, bigint][] = [
      [95n * 10n ** 16n, big, big, debt / 2n],
      [95n * 10n ** 16n - 1n, big, big, debt],
      [WAD - 1n, dust, big, debt / 2n],
      [WAD - 1n, dust - 1n, big, debt],
      [WAD - 1n, big, dust, debt / 2n],
      [WAD - 1n, big, dust - 1n, debt],
    ];
    for (const [hf, debtBase, collBase, expected] of cases) {
      expect(await f.pool.read.calculateMaxRepay([hf, debt, debtBase, collBase])).to.equal(expected);
      expect(math.calculateMaxRepay(hf, debt, debtBase, collBase)).to.equal(expected);
    }
  });

  describe("reverts", () => {
    async function liquidatable(f: Fixture) {
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await setPrice(f, "WETH", "1800");
    }

    it("AssetNotListed for an unlisted collateral or debt asset", async () => {
      const f = fx();
      const token = await deployToken(f, "XYZ", 18);
      const acct = from(f.liquidator);
      await expectRevert(f.pool.simulate.liquidate([addr(f.borrower), token, f.asset("USDC").address, 1n], acct), "AssetNotListed", [token]);
      await expectRevert(f.pool.simulate.liquidate([addr(f.borrower), f.asset("WETH").address, token, 1n], acct), "AssetNotListed", [token]);
    });

    it("ZeroAmount", async () => {
      const f = fx();
      await liquidatable(f);
      await expectRevert(
        f.pool.simulate.liquidate([addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, 0n], from(f.liquidator)),
        "ZeroAmount",
        [],
      );
    });

    it("SelfLiquidation", async () => {
      const f = fx();
      await liquidatable(f);
      await expectRevert(
        f.pool.simulate.liquidate([addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, 1n], from(f.borrower)),
        "SelfLiquidation",
        [],
      );
    });

    it("NoDebt in the named debt asset", async () => {
      const f = fx();
      await liquidatable(f);
      const dai = f.asset("DAI").address;
      await expectRevert(f.pool.simulate.liquidate([addr(f.borrower), f.asset("WETH").address, dai, 1n], from(f.liquidator)), "NoDebt", [
        addr(f.borrower),
        dai,
      ]);
    });

    it("NoCollateral in the named collateral asset", async () => {
      const f = fx();
      await liquidatable(f);
      const wbtc = f.asset("WBTC").address;
      await expectRevert(f.pool.simulate.liquidate([addr(f.borrower), wbtc, f.asset("USDC").address, 1n], from(f.liquidator)), "NoCollateral", [
        addr(f.borrower),
        wbtc,
      ]);
    });

    it("HealthFactorNotBelowOne for a healthy account, with its HF", async () => {
      const f = fx();
      await open(f, [["WETH", "10"]], [["USDC", "16500"]]);
      await expectRevert(
        f.pool.simulate.liquidate([addr(f.borrower), f.asset("WETH").address, f.asset("USDC").address, 1n], from(f.liquidator)),
        "HealthFactorNotBelowOne",
        [addr(f.borrower), 15n * 10n ** 17n], // 30000 · 0.825 / 16500 = 1.5
      );
    });

    it("StalePrice when a price the HF needs is stale: no liquidation on an old price", async () => {
      const f = fx();
      await liquidatable(f);
      const usdc = f.asset("USDC");
      const { updatedAt } = await feedRound(f, "USDC");
      await increaseTime(usdc.heartbeat + 1);
      await setPrice(f, "WETH", "1800"); // collateral fresh, debt feed stale
      await expectRevert(
        f.pool.simulate.liquidate([addr(f.borrower), f.asset("WETH").address, usdc.address, MAX_UINT], from(f.liquidator)),
        "StalePrice",
        [usdc.address, updatedAt, BigInt(usdc.heartbeat)],
      );
    });

    it("InsufficientLiquidity when the collateral to seize has been lent out", async () => {
      const f = fx();
      const weth = f.asset("WETH").address;
      await liquidatable(f);
      // Another account borrows almost all the pool's WETH cash.
      const other = f.others[0]!;
      await deposit(f, other, "USDC", "100000");
      await borrow(f, other, "WETH", "9.9");
      const cash = (await f.pool.read.getReserveData([weth])).cash;
      expect(cash).to.equal(parseUnits("0.1", 18));
      const seize = refSeize(parseUnits("16500", 6), USD, 6, 1800n * USD, 18, 500n);
      await expectRevert(
        f.pool.simulate.liquidate([addr(f.borrower), weth, f.asset("USDC").address, MAX_UINT], from(f.liquidator)),
        "InsufficientLiquidity",
        [weth, seize, cash],
      );
    });
  });
});
