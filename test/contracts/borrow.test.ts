// borrow(): scaled debt rounded up, the LTV limit to the unit, ExceedsLtv vs HealthFactorBelowOne, every revert path.
import { expect } from "chai";
import { parseUnits } from "viem";
import { borrow, deposit, increaseTime, setPrice, tx } from "../fixtures/protocol";
import { testTokenAbi } from "../../protocols/marginpool/generated/abis";
import {
  RAY,
  WAD,
  addr,
  ceilDiv,
  deployToken,
  expectEq,
  expectRevert,
  feedRound,
  floorDiv,
  lastReserveUpdate,
  latestTimestamp,
  refreshFeeds,
  oneEvent,
  poolTx,
  refCompoundedFactor,
  setNextTimestamp,
  tokenBalance,
  useFixture,
  zeroRates,
  from,
} from "./helpers";

const USD = 10n ** 8n;

describe("MarginPool.borrow", () => {
  const fx = useFixture();

  it("records ceil(amount / borrowIndex) as scaled debt, pays the borrower and emits Borrow", async () => {
    const f = fx();
    const usdc = f.asset("USDC").address;
    const BORROWER = addr(f.borrower);
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    const first = await borrow(f, f.borrower, "USDC", "5000");
    await increaseTime(10 * 86400);
    await refreshFeeds(f);

    const before = await lastReserveUpdate(f, "USDC");
    const at = (await latestTimestamp(f)) + 5n;
    const amount = 3_333_333_333n;
    await setNextTimestamp(at);
    const receipt = await poolTx(f, f.borrower, "borrow", [usdc, amount]);
    const bi = ceilDiv(refCompoundedFactor(before.borrowRate, at - before.timestamp) * before.borrowIndex, RAY);
    expect(bi > RAY).to.equal(true);
    const scaled = ceilDiv(amount * RAY, bi); // rounded up: the borrower owes at least what they took
    expectEq(oneEvent(receipt, "Borrow").args, { asset: usdc, account: BORROWER, amount, scaledAmount: scaled, borrowIndex: bi });
    const [, scaledDebt] = await f.pool.read.getPosition([BORROWER, usdc]);
    expect(scaledDebt).to.equal(first + scaled); // the first borrow ran at index 1 RAY
    expect(await tokenBalance(f, "USDC", BORROWER)).to.equal(first + amount);
  });

  it("borrows exactly up to Σ collateral·LTV across two collaterals; one unit more is ExceedsLtv", async () => {
    const f = fx();
    const usdc = f.asset("USDC").address;
    const BORROWER = addr(f.borrower);
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10"); // $30000 · 80%   = $24000
    await deposit(f, f.borrower, "WBTC", "0.1"); // $6000 · 73%   = $4380
    const limit = (30_000n * USD * 8000n + 6_000n * USD * 7300n) / 10_000n;
    expect(limit).to.equal(28_380n * USD);
    const exact = parseUnits("28380", 6);

    // One USDC unit (1e-6 USD) more is 100 base units over the limit.
    await expectRevert(f.pool.simulate.borrow([usdc, exact + 1n], from(f.borrower)), "ExceedsLtv", [BORROWER, limit + 100n, limit]);
    await poolTx(f, f.borrower, "borrow", [usdc, exact]);
    const d = await f.pool.read.getAccountData([BORROWER]);
    expect(d.availableBorrowsBase).to.equal(0n);
    await expectRevert(f.pool.simulate.borrow([usdc, 1n], from(f.borrower)), "ExceedsLtv");
  });

  it("between LTV and LT the error is ExceedsLtv; past LT it is HealthFactorBelowOne", async () => {
    const f = fx();
    const usdc = f.asset("USDC").address;
    const BORROWER = addr(f.borrower);
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10"); // $30000: LTV limit $24000, LT $24750
    // $24500: over the LTV limit, HF = 24750/24500 ≥ 1.
    await expectRevert(f.pool.simulate.borrow([usdc, parseUnits("24500", 6)], from(f.borrower)), "ExceedsLtv", [
      BORROWER,
      24_500n * USD,
      24_000n * USD,
    ]);
    // $25000: HF = 24750/25000 = 0.99 exactly.
    await expectRevert(f.pool.simulate.borrow([usdc, parseUnits("25000", 6)], from(f.borrower)), "HealthFactorBelowOne", [
      BORROWER,
      (99n * WAD) / 100n,
    ]);
  });

  it("HealthFactorBelowOne with HF 0 for an account without collateral", async () => {
    const f = fx();
    await deposit(f, f.supplier, "USDC", "1000");
    await expectRevert(f.pool.simulate.borrow([f.asset("USDC").address, 1n], from(f.borrower)), "HealthFactorBelowOne", [addr(f.borrower), 0n]);
  });

  it("HF exactly 1 is allowed: with LTV = LT a borrow may land on HF = 1e18, and one more unit cannot", async () => {
    const f = fx();
    const usdc = f.asset("USDC").address;
    const weth = f.asset("WETH").address;
    const BORROWER = addr(f.borrower);
    await zeroRates(f, ["USDC", "WETH"]);
    await poolTx(f, f.owner, "setRiskParams", [weth, 8250, 8250, 500, 1500]);
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    await setPrice(f, "WETH", "2000"); // $20000 · 82.5% = $16500
    await poolTx(f, f.borrower, "borrow", [usdc, parseUnits("16500", 6)]);
    expect(await f.pool.read.healthFactor([BORROWER])).to.equal(WAD);
    // HF is checked before the LTV: one more unit fails the maintenance test.
    const hf = floorDiv(20_000n * USD * 8250n * WAD, (16_500n * USD + 100n) * 10_000n);
    await expectRevert(f.pool.simulate.borrow([usdc, 1n], from(f.borrower)), "HealthFactorBelowOne", [BORROWER, hf]);
  });

  describe("reverts", () => {
    it("AssetNotListed", async () => {
      const f = fx();
      const token = await deployToken(f, "XYZ", 18);
      await expectRevert(f.pool.simulate.borrow([token, 1n], from(f.borrower)), "AssetNotListed", [token]);
    });

    it("ZeroAmount", async () => {
      const f = fx();
      await expectRevert(f.pool.simulate.borrow([f.asset("USDC").address, 0n], from(f.borrower)), "ZeroAmount", []);
    });

    it("InsufficientLiquidity when asking for more than the pool's cash", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      const cash = await deposit(f, f.supplier, "USDC", "500");
      await deposit(f, f.borrower, "WETH", "10");
      await expectRevert(f.pool.simulate.borrow([usdc, cash + 1n], from(f.borrower)), "InsufficientLiquidity", [usdc, cash + 1n, cash]);
    });

    it("StalePrice when a held asset's feed is past its heartbeat", async () => {
      const f = fx();
      const weth = f.asset("WETH");
      await deposit(f, f.supplier, "USDC", "1000");
      await deposit(f, f.borrower, "WETH", "1");
      const { updatedAt } = await feedRound(f, "WETH");
      await increaseTime(weth.heartbeat + 1);
      await setPrice(f, "USDC", "1"); // the borrowed asset is fresh; the collateral is not
      await expectRevert(f.pool.simulate.borrow([f.asset("USDC").address, 1n], from(f.borrower)), "StalePrice", [
        weth.address,
        updatedAt,
        BigInt(weth.heartbeat),
      ]);
    });

    it("InvalidPrice when a held asset's feed answers ≤ 0", async () => {
      const f = fx();
      await deposit(f, f.supplier, "USDC", "1000");
      await deposit(f, f.borrower, "WETH", "1");
      await setPrice(f, "USDC", "-1");
      await expectRevert(f.pool.simulate.borrow([f.asset("USDC").address, 1n], from(f.borrower)), "InvalidPrice", [
        f.asset("USDC").address,
        -(10n ** 8n),
      ]);
    });

    it("FeedNotSet when the account holds a listed asset that has no feed", async () => {
      const f = fx();
      const token = await deployToken(f, "NOFEED", 18);
      await poolTx(f, f.owner, "listAsset", [token, f.asset("USDC").rateModel, 5000, 6000, 500, 1000]);
      await tx(f, f.borrower, token, testTokenAbi, "mint", [addr(f.borrower), WAD]);
      await tx(f, f.borrower, token, testTokenAbi, "approve", [f.deployment.pool, WAD]);
      await poolTx(f, f.borrower, "deposit", [token, WAD, addr(f.borrower)]);
      await deposit(f, f.supplier, "USDC", "1000");
      await expectRevert(f.pool.simulate.borrow([f.asset("USDC").address, 1n], from(f.borrower)), "FeedNotSet", [token]);
    });
  });
});
