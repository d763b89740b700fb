// deposit(): scaled collateral at the liquidity index, events, token flow, and every revert path.
import { expect } from "chai";
import { parseUnits } from "viem";
import { borrow, deposit, increaseTime, mintAndApprove, setPrice } from "../fixtures/protocol";
import {
  RAY,
  ZERO_ADDRESS,
  addr,
  expectEq,
  deployToken,
  depositRaw,
  expectRevert,
  floorDiv,
  lastReserveUpdate,
  oneEvent,
  poolTx,
  refLinearFactor,
  setNextTimestamp,
  tokenBalance,
  useFixture,
  from,
} from "./helpers";

describe("MarginPool.deposit", () => {
  const fx = useFixture();

  it("credits amount / liquidityIndex as scaled collateral and emits Deposit and ReserveDataUpdated", async () => {
    const f = fx();
    const SUPPLIER = addr(f.supplier);
    const usdc = f.asset("USDC").address;
    const amount = parseUnits("1000", 6);
    await mintAndApprove(f, f.supplier, "USDC", amount);
    const receipt = await poolTx(f, f.supplier, "deposit", [usdc, amount, SUPPLIER]);
    const block = await f.publicClient.getBlock({ blockNumber: receipt.blockNumber });

    // Fresh reserve: index exactly 1 RAY, so scaled == amount.
    const ev = oneEvent(receipt, "Deposit");
    expectEq(ev.args, { asset: usdc, account: SUPPLIER, caller: SUPPLIER, amount, scaledAmount: amount, liquidityIndex: RAY });
    const rd = oneEvent(receipt, "ReserveDataUpdated");
    expectEq(rd.args, { asset: usdc, liquidityRate: 0n, borrowRate: 0n, liquidityIndex: RAY, borrowIndex: RAY, timestamp: block.timestamp });

    expect(await f.pool.read.getPosition([SUPPLIER, usdc])).to.deep.equal([amount, 0n, amount, 0n]);
    const r = await f.pool.read.getReserveData([usdc]);
    expect(r.cash).to.equal(amount);
    expect(r.totalScaledCollateral).to.equal(amount);
    expect(await tokenBalance(f, "USDC", SUPPLIER)).to.equal(0n);
    expect(await tokenBalance(f, "USDC", f.deployment.pool as `0x${string}`)).to.equal(amount);
  });

  it("deposits on behalf of another account: the caller pays, the account is credited", async () => {
    const f = fx();
    const weth = f.asset("WETH").address;
    const amount = parseUnits("2", 18);
    await mintAndApprove(f, f.supplier, "WETH", amount);
    const receipt = await poolTx(f, f.supplier, "deposit", [weth, amount, addr(f.borrower)]);
    const ev = oneEvent(receipt, "Deposit");
    expectEq([ev.args.account, ev.args.caller], [addr(f.borrower), addr(f.supplier)]);
    expect((await f.pool.read.getPosition([addr(f.borrower), weth]))[0]).to.equal(amount);
    expect((await f.pool.read.getPosition([addr(f.supplier), weth]))[0]).to.equal(0n);
    expect(await tokenBalance(f, "WETH", addr(f.supplier))).to.equal(0n);
  });

  it("after interest, scales by the accrued index (rounded down) and refuses a deposit that scales to zero", async () => {
    const f = fx();
    const usdc = f.asset("USDC").address;
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    await borrow(f, f.borrower, "USDC", "20000");
    await increaseTime(30 * 86400);

    const before = await lastReserveUpdate(f, "USDC");
    const at = before.timestamp + 30n * 86400n + 100n;
    const amount = 1_234_567_891n;
    await mintAndApprove(f, f.supplier, "USDC", amount + 1n);
    await setNextTimestamp(at);
    const receipt = await poolTx(f, f.supplier, "deposit", [usdc, amount, addr(f.supplier)]);
    const ev = oneEvent(receipt, "Deposit");
    // Linear accrual of the liquidity index since the last update, applied to the stored index.
    const li = floorDiv(refLinearFactor(before.liquidityRate, at - before.timestamp) * before.liquidityIndex, RAY);
    expect(li > RAY).to.equal(true);
    expect(ev.args.liquidityIndex).to.equal(li);
    expect(ev.args.scaledAmount).to.equal(floorDiv(amount * RAY, li));

    // 1 wei / index > 1 RAY floors to 0 scaled: refused rather than taking the user's wei for nothing.
    await expectRevert(f.pool.simulate.deposit([usdc, 1n, addr(f.supplier)], from(f.supplier)), "ZeroAmount", []);
  });

  it("needs no price: collateral can be added while its feed reports an invalid answer", async () => {
    const f = fx();
    await setPrice(f, "WETH", "0");
    const amount = await deposit(f, f.borrower, "WETH", "1");
    expect((await f.pool.read.getPosition([addr(f.borrower), f.asset("WETH").address]))[0]).to.equal(amount);
  });

  describe("reverts", () => {
    it("AssetNotListed for a token the pool does not list (checked before the amount)", async () => {
      const f = fx();
      const token = await deployToken(f, "XYZ", 18);
      await expectRevert(f.pool.simulate.deposit([token, 0n, addr(f.supplier)], from(f.supplier)), "AssetNotListed", [token]);
      await expectRevert(f.pool.simulate.deposit([token, 1n, addr(f.supplier)], from(f.supplier)), "AssetNotListed", [token]);
    });

    it("ZeroAmount for amount 0", async () => {
      const f = fx();
      await expectRevert(f.pool.simulate.deposit([f.asset("USDC").address, 0n, addr(f.supplier)], from(f.supplier)), "ZeroAmount", []);
    });

    it("ZeroAddress for onBehalfOf = 0", async () => {
      const f = fx();
      await mintAndApprove(f, f.supplier, "USDC", 5n);
      await expectRevert(f.pool.simulate.deposit([f.asset("USDC").address, 5n, ZERO_ADDRESS], from(f.supplier)), "ZeroAddress", []);
    });

    it("bubbles the token's error when the caller has not approved the pool (no silent credit)", async () => {
      const f = fx();
      let threw = false;
      try {
        await f.pool.simulate.deposit([f.asset("USDC").address, 5n, addr(f.liquidator)], from(f.liquidator));
      } catch {
        threw = true;
      }
      expect(threw).to.equal(true);
      await depositRaw(f, f.liquidator, "USDC", 5n);
      expect((await f.pool.read.getPosition([addr(f.liquidator), f.asset("USDC").address]))[0]).to.equal(5n);
    });
  });
});
