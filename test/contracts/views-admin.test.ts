// Views (healthFactor, getAccountData, getPosition, getAssets/Config) against a reference, and the owner's
// configuration: listing, risk parameters, rate models, constructors, with every revert path.
import type { PositionInput } from "../../protocols/types";
import { expect } from "chai";
import { encodeDeployData, parseEventLogs, type Hex } from "viem";
import { borrow, deposit, increaseTime, setPrice } from "../fixtures/protocol";
import { interestRateModelAbi, marginPoolAbi, priceOracleAbi } from "../../protocols/marginpool/generated/abis";
import { interestRateModelBytecode, marginPoolBytecode, priceOracleBytecode } from "../../protocols/marginpool/generated/bytecode";
import * as math from "../../protocols/marginpool/math";
import type { Fixture } from "../fixtures/protocol";
import {
  BPS,
  MAX_UINT,
  RAY,
  WAD,
  ZERO_ADDRESS,
  addr,
  ceilDiv,
  deployRateModel,
  deployToken,
  expectEq,
  expectRevert,
  floorDiv,
  oneEvent,
  poolTx,
  refBorrowRate,
  refreshFeeds,
  useFixture,
  from,
} from "./helpers";

/** Runs a contract's constructor in an eth_call: reverts surface without deploying anything. */
function construct(f: Fixture, abi: readonly unknown[], bytecode: Hex, args: unknown[]) {
  return f.publicClient.call({ account: f.owner.account, data: encodeDeployData({ abi, bytecode, args } as never) });
}

describe("MarginPool views", () => {
  const fx = useFixture();

  it("healthFactor is max uint256 and getAccountData all zero for an account with nothing", async () => {
    const f = fx();
    const A = addr(f.others[3]!);
    expect(await f.pool.read.healthFactor([A])).to.equal(MAX_UINT);
    expect(await f.pool.read.getAccountData([A])).to.deep.equal({
      totalCollateralBase: 0n,
      totalDebtBase: 0n,
      availableBorrowsBase: 0n,
      currentLiquidationThresholdBps: 0n,
      ltvBps: 0n,
      healthFactor: MAX_UINT,
    });
    expect(await f.pool.read.getPosition([A, f.asset("WETH").address])).to.deep.equal([0n, 0n, 0n, 0n]);
  });

  it("getAccountData equals the reference for a four-asset account with interest and odd prices", async () => {
    const f = fx();
    const B = addr(f.borrower);
    for (const s of ["USDC", "DAI"]) await deposit(f, f.supplier, s, "100000");
    await deposit(f, f.borrower, "WETH", "3");
    await deposit(f, f.borrower, "WBTC", "0.05");
    await deposit(f, f.borrower, "DAI", "1500");
    await borrow(f, f.borrower, "USDC", "5000");
    await borrow(f, f.borrower, "DAI", "500"); // DAI is both collateral and debt
    await increaseTime(10 * 86400);
    await refreshFeeds(f);
    await setPrice(f, "WETH", "2876.54321");
    await setPrice(f, "WBTC", "58123.45678901");
    await setPrice(f, "DAI", "0.999876543210987654");

    // Reference: per asset, collateral value rounded down and debt value rounded up, in 8-decimal USD.
    let coll = 0n,
      debt = 0n,
      wLtv = 0n,
      wLt = 0n;
    const inputs: PositionInput[] = [];
    for (const a of f.deployment.assets) {
      const [sc, sd, c, d] = await f.pool.read.getPosition([B, a.address as Hex]);
      if (sc === 0n && sd === 0n) continue;
      const r = await f.pool.read.getReserveData([a.address as Hex]);
      const cfg = await f.pool.read.getAssetConfig([a.address as Hex]);
      const price = await f.oracle.read.getAssetPrice([a.address as Hex]);
      const unit = 10n ** BigInt(a.decimals);
      expect(c).to.equal(floorDiv(sc * r.liquidityIndex, RAY));
      expect(d).to.equal(ceilDiv(sd * r.borrowIndex, RAY));
      const v = floorDiv(c * price, unit);
      coll += v;
      wLtv += v * BigInt(cfg.ltvBps);
      wLt += v * BigInt(cfg.liquidationThresholdBps);
      if (sd !== 0n) debt += ceilDiv(d * price, unit);
      inputs.push({
        scaledCollateral: sc,
        scaledDebt: sd,
        collateralEnabled: true,
        category: null,
        liquidityIndex: r.liquidityIndex,
        borrowIndex: r.borrowIndex,
        price,
        unit,
        ltvBps: BigInt(cfg.ltvBps),
        liquidationThresholdBps: BigInt(cfg.liquidationThresholdBps),
      });
    }
    const expected = {
      totalCollateralBase: coll,
      totalDebtBase: debt,
      availableBorrowsBase: wLtv / BPS > debt ? wLtv / BPS - debt : 0n,
      currentLiquidationThresholdBps: wLt / coll,
      ltvBps: wLtv / coll,
      healthFactor: floorDiv(wLt * WAD, debt * BPS),
    };
    const got = await f.pool.read.getAccountData([B]);
    expect(got).to.deep.equal(expected);
    expect(await f.pool.read.healthFactor([B])).to.equal(expected.healthFactor);
    const m = math.accountData(inputs);
    expect({ ...got }).to.deep.equal({
      totalCollateralBase: m.totalCollateralBase,
      totalDebtBase: m.totalDebtBase,
      availableBorrowsBase: m.availableBorrowsBase,
      currentLiquidationThresholdBps: m.currentLiquidationThresholdBps,
      ltvBps: m.ltvBps,
      healthFactor: m.healthFactor,
    });
    // The weighted thresholds lie between the assets' own values.
    expect(got.ltvBps > 7300n && got.ltvBps < 8000n).to.equal(true);
  });

  it("getAssets lists in listing order; getAssetConfig returns the deploy's parameters", async () => {
    const f = fx();
    expect((await f.pool.read.getAssets()).map((a) => a.toLowerCase())).to.deep.equal(f.deployment.assets.map((a) => a.address.toLowerCase()));
    const cfg = await f.pool.read.getAssetConfig([f.asset("WBTC").address]);
    expectEq(cfg, {
      listed: true,
      decimals: 8,
      ltvBps: 7300,
      liquidationThresholdBps: 7800,
      liquidationBonusBps: 650,
      reserveFactorBps: 2000,
      rateModel: f.asset("WBTC").rateModel,
    });
    expect((await f.pool.read.getAssetConfig([ZERO_ADDRESS])).listed).to.equal(false);
    expect(await f.pool.read.MAX_ASSETS()).to.equal(16n);
    expect(await f.pool.read.CLOSE_FACTOR_BPS()).to.equal(math.CLOSE_FACTOR_BPS);
    expect(await f.pool.read.CLOSE_FACTOR_HF_THRESHOLD()).to.equal(math.CLOSE_FACTOR_HF_THRESHOLD);
    expect(await f.pool.read.DUST_THRESHOLD_BASE()).to.equal(math.DUST_THRESHOLD_BASE);
  });
});

describe("MarginPool administration", () => {
  const fx = useFixture();
  const asOwner = (f: Fixture) => from(f.owner);

  describe("constructors", () => {
    it("ZeroAddress for a pool without an oracle or owner, and an oracle without owner", async () => {
      const f = fx();
      await expectRevert(construct(f, marginPoolAbi, marginPoolBytecode, [ZERO_ADDRESS, addr(f.owner)]), "ZeroAddress", []);
      await expectRevert(construct(f, marginPoolAbi, marginPoolBytecode, [f.deployment.oracle, ZERO_ADDRESS]), "ZeroAddress", []);
      await expectRevert(construct(f, priceOracleAbi, priceOracleBytecode, [ZERO_ADDRESS]), "ZeroAddress", []);
      await construct(f, marginPoolAbi, marginPoolBytecode, [f.deployment.oracle, addr(f.owner)]); // the valid one deploys
    });

    it("InvalidRateModelParams for an optimal utilisation of 0 or ≥ 100%", async () => {
      const f = fx();
      await expectRevert(construct(f, interestRateModelAbi, interestRateModelBytecode, [0n, 1n, 1n, 0n]), "InvalidRateModelParams", []);
      await expectRevert(construct(f, interestRateModelAbi, interestRateModelBytecode, [0n, 1n, 1n, RAY]), "InvalidRateModelParams", []);
      await construct(f, interestRateModelAbi, interestRateModelBytecode, [0n, 1n, 1n, RAY - 1n]);
    });
  });

  describe("listAsset", () => {
    it("lists a token: AssetListed, RiskParamsSet, ReserveDataUpdated at index 1 RAY; config and asset list updated", async () => {
      const f = fx();
      const token = await deployToken(f, "NEW", 12);
      const model = f.asset("USDC").rateModel;
      const receipt = await poolTx(f, f.owner, "listAsset", [token, model, 6000, 7000, 800, 500]);
      expectEq(oneEvent(receipt, "AssetListed").args, { asset: token, decimals: 12, rateModel: model });
      expectEq(oneEvent(receipt, "RiskParamsSet").args, {
        asset: token,
        ltvBps: 6000n,
        liquidationThresholdBps: 7000n,
        liquidationBonusBps: 800n,
        reserveFactorBps: 500n,
      });
      const rd = oneEvent(receipt, "ReserveDataUpdated").args;
      expect([rd.liquidityIndex, rd.borrowIndex, rd.liquidityRate, rd.borrowRate]).to.deep.equal([RAY, RAY, 0n, 0n]);
      const assets = await f.pool.read.getAssets();
      expect(assets[assets.length - 1]!.toLowerCase()).to.equal(token.toLowerCase());
      expect((await f.pool.read.getAssetConfig([token])).decimals).to.equal(12);
    });

    it("NotOwner, ZeroAddress (asset, rate model) and AssetAlreadyListed", async () => {
      const f = fx();
      const token = await deployToken(f, "NEW", 18);
      const model = f.asset("USDC").rateModel;
      await expectRevert(f.pool.simulate.listAsset([token, model, 1, 1, 0, 0], from(f.borrower)), "NotOwner", [addr(f.borrower)]);
      await expectRevert(f.pool.simulate.listAsset([ZERO_ADDRESS, model, 1, 1, 0, 0], asOwner(f)), "ZeroAddress", []);
      await expectRevert(f.pool.simulate.listAsset([token, ZERO_ADDRESS, 1, 1, 0, 0], asOwner(f)), "ZeroAddress", []);
      const weth = f.asset("WETH").address;
      await expectRevert(f.pool.simulate.listAsset([weth, model, 1, 1, 0, 0], asOwner(f)), "AssetAlreadyListed", [weth]);
    });

    it("TooManyAssets past MAX_ASSETS (16)", async () => {
      const f = fx();
      const model = f.asset("USDC").rateModel;
      for (let i = f.deployment.assets.length; i < 16; i++) {
        await poolTx(f, f.owner, "listAsset", [await deployToken(f, `T${i}`, 18), model, 5000, 6000, 500, 1000]);
      }
      expect((await f.pool.read.getAssets()).length).to.equal(16);
      await expectRevert(f.pool.simulate.listAsset([await deployToken(f, "T16", 18), model, 5000, 6000, 500, 1000], asOwner(f)), "TooManyAssets", [
        16n,
      ]);
    });
  });

  describe("risk parameters", () => {
    // LTV ≤ LT < 100%, reserve factor ≤ 100%, and LT·(1 + bonus) ≤ 100% so seizing can never exceed collateral.
    const invalid: [string, number, number, number, number][] = [
      ["LTV above LT", 8001, 8000, 500, 1000],
      ["LT of 100%", 9000, 10000, 0, 1000],
      ["reserve factor above 100%", 5000, 6000, 500, 10001],
      ["LT·(1+bonus) just above 100%", 7000, 8000, 2501, 1000],
    ];
    const valid: [string, number, number, number, number][] = [
      ["LTV = LT", 8000, 8000, 500, 1000],
      ["LT·(1+bonus) exactly 100%", 7000, 8000, 2500, 10000],
      ["everything zero", 0, 0, 0, 0],
    ];

    for (const [name, ltv, lt, bonus, rf] of invalid) {
      it(`InvalidRiskParams: ${name} (listAsset and setRiskParams)`, async () => {
        const f = fx();
        const token = await deployToken(f, "NEW", 18);
        await expectRevert(f.pool.simulate.listAsset([token, f.asset("USDC").rateModel, ltv, lt, bonus, rf], asOwner(f)), "InvalidRiskParams", [
          BigInt(ltv),
          BigInt(lt),
          BigInt(bonus),
          BigInt(rf),
        ]);
        await expectRevert(f.pool.simulate.setRiskParams([f.asset("WETH").address, ltv, lt, bonus, rf], asOwner(f)), "InvalidRiskParams", [
          BigInt(ltv),
          BigInt(lt),
          BigInt(bonus),
          BigInt(rf),
        ]);
      });
    }

    it(`accepts the boundary cases: ${valid.map((v) => v[0]).join(", ")}`, async () => {
      const f = fx();
      for (const [, ltv, lt, bonus, rf] of valid) {
        const receipt = await poolTx(f, f.owner, "setRiskParams", [f.asset("WETH").address, ltv, lt, bonus, rf]);
        expect(oneEvent(receipt, "RiskParamsSet").args.liquidationBonusBps).to.equal(BigInt(bonus));
      }
    });

    it("NotOwner and AssetNotListed", async () => {
      const f = fx();
      const token = await deployToken(f, "NEW", 18);
      await expectRevert(f.pool.simulate.setRiskParams([f.asset("WETH").address, 1, 1, 0, 0], from(f.liquidator)), "NotOwner", [addr(f.liquidator)]);
      await expectRevert(f.pool.simulate.setRiskParams([token, 1, 1, 0, 0], asOwner(f)), "AssetNotListed", [token]);
    });

    it("accrues first, then re-prices the supply rate with the new reserve factor", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      await deposit(f, f.supplier, "USDC", "100000");
      await deposit(f, f.borrower, "WETH", "10");
      const before = oneEvent(await poolTx(f, f.borrower, "borrow", [usdc, 20_000_000_000n]), "ReserveDataUpdated").args;
      await increaseTime(86400);
      const receipt = await poolTx(f, f.owner, "setRiskParams", [usdc, 7700, 8000, 450, 5000]);
      const rd = oneEvent(receipt, "ReserveDataUpdated").args;
      expect(rd.borrowIndex > before.borrowIndex).to.equal(true); // interest up to now was booked under the old factor
      const r = await f.pool.read.getReserveData([usdc]);
      const d = ceilDiv(r.totalScaledDebt * r.borrowIndex, RAY);
      const u = floorDiv(d * RAY, d + r.cash);
      expect(rd.liquidityRate).to.equal(floorDiv(floorDiv(rd.borrowRate * u, RAY) * 5000n, BPS));
    });
  });

  describe("setRateModel", () => {
    it("swaps the model, emits RateModelSet and re-prices the borrow rate with it", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      await deposit(f, f.supplier, "USDC", "100000");
      await deposit(f, f.borrower, "WETH", "30");
      await borrow(f, f.borrower, "USDC", "50000");
      const base = RAY / 10n,
        s1 = RAY / 5n,
        s2 = RAY,
        opt = RAY / 2n;
      const model = await deployRateModel(f, base, s1, s2, opt);
      const receipt = await poolTx(f, f.owner, "setRateModel", [usdc, model]);
      expectEq(oneEvent(receipt, "RateModelSet").args, { asset: usdc, rateModel: model });
      const rd = oneEvent(receipt, "ReserveDataUpdated").args;
      const r = await f.pool.read.getReserveData([usdc]);
      const d = ceilDiv(r.totalScaledDebt * r.borrowIndex, RAY);
      expect(rd.borrowRate).to.equal(refBorrowRate(floorDiv(d * RAY, d + r.cash), base, s1, s2, opt));
      expect((await f.pool.read.getAssetConfig([usdc])).rateModel.toLowerCase()).to.equal(model.toLowerCase());
    });

    it("NotOwner, AssetNotListed, ZeroAddress", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      const model = f.asset("WETH").rateModel;
      const token = await deployToken(f, "NEW", 18);
      await expectRevert(f.pool.simulate.setRateModel([usdc, model], from(f.supplier)), "NotOwner", [addr(f.supplier)]);
      await expectRevert(f.pool.simulate.setRateModel([token, model], asOwner(f)), "AssetNotListed", [token]);
      await expectRevert(f.pool.simulate.setRateModel([usdc, ZERO_ADDRESS], asOwner(f)), "ZeroAddress", []);
    });
  });

  it("the oracle's configuration events decode with the oracle ABI", async () => {
    const f = fx();
    const logs = await f.publicClient.getLogs({ address: f.deployment.oracle as Hex, fromBlock: BigInt(f.deployment.startBlock) });
    const feeds = parseEventLogs({ abi: priceOracleAbi, logs, eventName: "FeedSet" });
    expect(feeds.length).to.equal(f.deployment.assets.length);
  });
});
