// withdraw(): scaled burn rounded up, whole-balance withdrawals, the solvency checks after it, every revert path.
import { expect } from "chai";
import { parseUnits } from "viem";
import { borrow, deposit, increaseTime, setPrice } from "../fixtures/protocol";
import {
  MAX_UINT,
  RAY,
  WAD,
  ZERO_ADDRESS,
  addr,
  ceilDiv,
  deployToken,
  expectEq,
  expectRevert,
  feedRound,
  floorDiv,
  freezeTime,
  lastReserveUpdate,
  oneEvent,
  poolTx,
  refLinearFactor,
  setNextTimestamp,
  tokenBalance,
  useFixture,
  zeroRates,
  from,
} from "./helpers";

describe("MarginPool.withdraw", () => {
  const fx = useFixture();

  it("burns ceil(amount / index) scaled, pays `to`, returns the amount and emits Withdraw", async () => {
    const f = fx();
    const usdc = f.asset("USDC").address;
    const SUPPLIER = addr(f.supplier);
    const RECEIVER = addr(f.others[0]!);
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    await borrow(f, f.borrower, "USDC", "20000");
    await increaseTime(7 * 86400);

    const before = await lastReserveUpdate(f, "USDC");
    const [scaledBefore] = await f.pool.read.getPosition([SUPPLIER, usdc]);
    const at = before.timestamp + 7n * 86400n + 10n;
    const amount = 12_345_678_901n;
    await setNextTimestamp(at);
    const receipt = await poolTx(f, f.supplier, "withdraw", [usdc, amount, RECEIVER]);

    const li = floorDiv(refLinearFactor(before.liquidityRate, at - before.timestamp) * before.liquidityIndex, RAY);
    const scaled = ceilDiv(amount * RAY, li); // rounded up: the pool never burns less than it pays out
    expectEq(oneEvent(receipt, "Withdraw").args, { asset: usdc, account: SUPPLIER, to: RECEIVER, amount, scaledAmount: scaled, liquidityIndex: li });
    expect((await f.pool.read.getPosition([SUPPLIER, usdc]))[0]).to.equal(scaledBefore - scaled);
    expect(await tokenBalance(f, "USDC", RECEIVER)).to.equal(amount);
  });

  it("type(uint256).max and the exact balance both withdraw everything and burn every scaled unit", async () => {
    const f = fx();
    const weth = f.asset("WETH").address;
    const BORROWER = addr(f.borrower);
    const SUPPLIER = addr(f.supplier);
    const a = await deposit(f, f.borrower, "WETH", "3");
    const b = await deposit(f, f.supplier, "WETH", "4");

    const sim = await f.pool.simulate.withdraw([weth, MAX_UINT, BORROWER], from(f.borrower));
    expect(sim.result).to.equal(a);
    const r1 = await poolTx(f, f.borrower, "withdraw", [weth, MAX_UINT, BORROWER]);
    expect(oneEvent(r1, "Withdraw").args.scaledAmount).to.equal(a);
    expect(await f.pool.read.getPosition([BORROWER, weth])).to.deep.equal([0n, 0n, 0n, 0n]);

    const r2 = await poolTx(f, f.supplier, "withdraw", [weth, b, SUPPLIER]);
    expect(oneEvent(r2, "Withdraw").args.scaledAmount).to.equal(b);
    expect((await f.pool.read.getReserveData([weth])).totalScaledCollateral).to.equal(0n);
    expect(await tokenBalance(f, "WETH", BORROWER)).to.equal(a);
  });

  it("needs no price when the account has no debt (a broken feed cannot lock idle collateral)", async () => {
    const f = fx();
    const weth = f.asset("WETH").address;
    await deposit(f, f.borrower, "WETH", "1");
    await setPrice(f, "WETH", "0");
    await poolTx(f, f.borrower, "withdraw", [weth, MAX_UINT, addr(f.borrower)]);
    expect((await f.pool.read.getPosition([addr(f.borrower), weth]))[0]).to.equal(0n);
  });

  describe("solvency after withdrawing (10 WETH at $3000, 20000 USDC debt, zero rates)", () => {
    // LTV 80% / LT 82.5%: keeping 8.5 WETH ($25500, limit $20400) is fine, 8.2 WETH ($24600) breaks the LTV
    // limit but keeps HF = 1.01475, 8 WETH ($24000) gives HF = 0.99.
    async function setup() {
      const f = fx();
      await zeroRates(f, ["USDC", "WETH"]);
      await deposit(f, f.supplier, "USDC", "100000");
      await deposit(f, f.borrower, "WETH", "10");
      await borrow(f, f.borrower, "USDC", "20000");
      return f;
    }

    it("HealthFactorBelowOne when the rest would give HF < 1, with the HF it would have", async () => {
      const f = await setup();
      await expectRevert(
        f.pool.simulate.withdraw([f.asset("WETH").address, parseUnits("2", 18), addr(f.borrower)], from(f.borrower)),
        "HealthFactorBelowOne",
        [addr(f.borrower), (99n * WAD) / 100n],
      );
    });

    it("ExceedsLtv when HF stays ≥ 1 but the debt passes the LTV limit (initial margin, not maintenance)", async () => {
      const f = await setup();
      await expectRevert(
        f.pool.simulate.withdraw([f.asset("WETH").address, parseUnits("1.8", 18), addr(f.borrower)], from(f.borrower)),
        "ExceedsLtv",
        [addr(f.borrower), 20_000n * 10n ** 8n, 19_680n * 10n ** 8n],
      );
    });

    it("allows a withdrawal that stays within the LTV limit", async () => {
      const f = await setup();
      await poolTx(f, f.borrower, "withdraw", [f.asset("WETH").address, parseUnits("1.5", 18), addr(f.borrower)]);
      const d = await f.pool.read.getAccountData([addr(f.borrower)]);
      expect(d.totalCollateralBase).to.equal(25_500n * 10n ** 8n);
      expect(d.availableBorrowsBase).to.equal(400n * 10n ** 8n);
    });

    it("a stale collateral price blocks a withdrawal while the account has debt (StalePrice)", async () => {
      const f = await setup();
      const weth = f.asset("WETH");
      const { updatedAt } = await feedRound(f, "WETH");
      await increaseTime(weth.heartbeat + 1);
      await expectRevert(f.pool.simulate.withdraw([weth.address, 1n, addr(f.borrower)], from(f.borrower)), "StalePrice", [
        weth.address,
        updatedAt,
        BigInt(weth.heartbeat),
      ]);
    });
  });

  describe("reverts", () => {
    it("AssetNotListed", async () => {
      const f = fx();
      const token = await deployToken(f, "XYZ", 18);
      await expectRevert(f.pool.simulate.withdraw([token, 1n, addr(f.supplier)], from(f.supplier)), "AssetNotListed", [token]);
    });

    it("ZeroAmount for amount 0, and for a whole-balance withdrawal of an empty balance", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      await expectRevert(f.pool.simulate.withdraw([usdc, 0n, addr(f.supplier)], from(f.supplier)), "ZeroAmount", []);
      await expectRevert(f.pool.simulate.withdraw([usdc, MAX_UINT, addr(f.supplier)], from(f.supplier)), "ZeroAmount", []);
    });

    it("ZeroAddress for to = 0", async () => {
      const f = fx();
      await deposit(f, f.supplier, "USDC", "10");
      await expectRevert(f.pool.simulate.withdraw([f.asset("USDC").address, 1n, ZERO_ADDRESS], from(f.supplier)), "ZeroAddress", []);
    });

    it("InsufficientCollateralBalance for one unit more than the balance", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      const amount = await deposit(f, f.supplier, "USDC", "10");
      await expectRevert(f.pool.simulate.withdraw([usdc, amount + 1n, addr(f.supplier)], from(f.supplier)), "InsufficientCollateralBalance", [
        usdc,
        amount + 1n,
        amount,
      ]);
    });

    it("InsufficientLiquidity when the cash is lent out", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      await zeroRates(f, ["USDC"]);
      const supplied = await deposit(f, f.supplier, "USDC", "10000");
      await deposit(f, f.borrower, "WETH", "10");
      const lent = await borrow(f, f.borrower, "USDC", "9000");
      await freezeTime(f);
      await expectRevert(f.pool.simulate.withdraw([usdc, MAX_UINT, addr(f.supplier)], from(f.supplier)), "InsufficientLiquidity", [
        usdc,
        supplied,
        supplied - lent,
      ]);
    });
  });
});
