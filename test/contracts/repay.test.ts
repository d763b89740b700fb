// repay(): scaled burn rounded down, full repayment, repaying for someone else, every revert path.
import { expect } from "chai";
import { borrow, deposit, increaseTime, mintAndApprove, setPrice } from "../fixtures/protocol";
import {
  MAX_UINT,
  RAY,
  addr,
  ceilDiv,
  deployToken,
  expectEq,
  expectRevert,
  floorDiv,
  lastReserveUpdate,
  latestTimestamp,
  oneEvent,
  poolTx,
  refCompoundedFactor,
  setNextTimestamp,
  tokenBalance,
  useFixture,
  from,
} from "./helpers";

describe("MarginPool.repay", () => {
  const fx = useFixture();

  /** Borrower owes USDC that has accrued 20 days of interest. */
  async function withDebt() {
    const f = fx();
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    await borrow(f, f.borrower, "USDC", "15000");
    await increaseTime(20 * 86400);
    return f;
  }

  /** The borrow index the next block (at `at`) will accrue to. */
  async function indexAt(f: ReturnType<typeof fx>, at: bigint): Promise<bigint> {
    const r = await lastReserveUpdate(f, "USDC");
    return ceilDiv(refCompoundedFactor(r.borrowRate, at - r.timestamp) * r.borrowIndex, RAY);
  }

  it("a partial repay burns floor(amount / borrowIndex) scaled and emits Repay", async () => {
    const f = await withDebt();
    const usdc = f.asset("USDC").address;
    const BORROWER = addr(f.borrower);
    await mintAndApprove(f, f.borrower, "USDC", 0n);
    const [, scaledBefore] = await f.pool.read.getPosition([BORROWER, usdc]);
    const amount = 4_000_000_001n;
    const at = (await latestTimestamp(f)) + 3n;
    const bi = await indexAt(f, at);
    await setNextTimestamp(at);
    const receipt = await poolTx(f, f.borrower, "repay", [usdc, amount, BORROWER]);
    const scaled = floorDiv(amount * RAY, bi); // rounded down: the debt never shrinks more than was paid
    expectEq(oneEvent(receipt, "Repay").args, { asset: usdc, account: BORROWER, payer: BORROWER, amount, scaledAmount: scaled, borrowIndex: bi });
    expect((await f.pool.read.getPosition([BORROWER, usdc]))[1]).to.equal(scaledBefore - scaled);
  });

  it("type(uint256).max repays exactly ceil(scaledDebt · index), clears the debt and restores HF = max", async () => {
    const f = await withDebt();
    const usdc = f.asset("USDC").address;
    const BORROWER = addr(f.borrower);
    await mintAndApprove(f, f.borrower, "USDC", 1_000_000_000n); // enough for the interest
    const [, scaledDebt] = await f.pool.read.getPosition([BORROWER, usdc]);
    const walletBefore = await tokenBalance(f, "USDC", BORROWER);
    const at = (await latestTimestamp(f)) + 2n;
    const debt = ceilDiv(scaledDebt * (await indexAt(f, at)), RAY);
    expect(debt > 15_000_000_000n).to.equal(true);

    await setNextTimestamp(at);
    const receipt = await poolTx(f, f.borrower, "repay", [usdc, MAX_UINT, BORROWER]);
    const ev = oneEvent(receipt, "Repay");
    expect(ev.args.amount).to.equal(debt);
    expect(ev.args.scaledAmount).to.equal(scaledDebt);
    expect(walletBefore - (await tokenBalance(f, "USDC", BORROWER))).to.equal(debt);
    expect(await f.pool.read.getPosition([BORROWER, usdc])).to.deep.equal([0n, 0n, 0n, 0n]);
    expect(await f.pool.read.healthFactor([BORROWER])).to.equal(MAX_UINT);
  });

  it("returns the amount actually repaid (capped at the debt)", async () => {
    const f = await withDebt();
    const usdc = f.asset("USDC").address;
    await mintAndApprove(f, f.borrower, "USDC", 1_000_000_000n);
    const [, , , debtNow] = await f.pool.read.getPosition([addr(f.borrower), usdc]);
    const sim = await f.pool.simulate.repay([usdc, debtNow * 2n, addr(f.borrower)], from(f.borrower));
    expect(sim.result).to.equal(debtNow); // the simulation runs at the latest block, as the view did
  });

  it("anyone may repay for the borrower: the payer's tokens go, the borrower's debt shrinks", async () => {
    const f = await withDebt();
    const usdc = f.asset("USDC").address;
    const BORROWER = addr(f.borrower);
    const PAYER = addr(f.liquidator);
    await mintAndApprove(f, f.liquidator, "USDC", 1_000_000n);
    const [, scaledBefore] = await f.pool.read.getPosition([BORROWER, usdc]);
    const receipt = await poolTx(f, f.liquidator, "repay", [usdc, 1_000_000n, BORROWER]);
    const ev = oneEvent(receipt, "Repay");
    expectEq([ev.args.account, ev.args.payer], [BORROWER, PAYER]);
    expect((await f.pool.read.getPosition([BORROWER, usdc]))[1]).to.equal(scaledBefore - ev.args.scaledAmount);
    expect(await tokenBalance(f, "USDC", PAYER)).to.equal(0n);
  });

  it("needs no price: a borrower can always pay down debt while a feed is broken", async () => {
    const f = await withDebt();
    await mintAndApprove(f, f.borrower, "USDC", 0n);
    await setPrice(f, "USDC", "0");
    await poolTx(f, f.borrower, "repay", [f.asset("USDC").address, 1_000_000n, addr(f.borrower)]);
  });

  describe("reverts", () => {
    it("AssetNotListed", async () => {
      const f = fx();
      const token = await deployToken(f, "XYZ", 18);
      await expectRevert(f.pool.simulate.repay([token, 1n, addr(f.borrower)], from(f.borrower)), "AssetNotListed", [token]);
    });

    it("ZeroAmount", async () => {
      const f = fx();
      await expectRevert(f.pool.simulate.repay([f.asset("USDC").address, 0n, addr(f.borrower)], from(f.borrower)), "ZeroAmount", []);
    });

    it("NoDebt for an account that owes nothing in that asset, including after a full repay", async () => {
      const f = await withDebt();
      const usdc = f.asset("USDC").address;
      const dai = f.asset("DAI").address;
      await expectRevert(f.pool.simulate.repay([dai, 1n, addr(f.borrower)], from(f.borrower)), "NoDebt", [addr(f.borrower), dai]);
      await mintAndApprove(f, f.borrower, "USDC", 1_000_000_000n);
      await poolTx(f, f.borrower, "repay", [usdc, MAX_UINT, addr(f.borrower)]);
      await expectRevert(f.pool.simulate.repay([usdc, 1n, addr(f.borrower)], from(f.borrower)), "NoDebt", [addr(f.borrower), usdc]);
    });
  });
});
