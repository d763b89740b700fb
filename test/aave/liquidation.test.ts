// The Aave V3.0.x liquidation venue against a real market on a Hardhat node: for each case (HF just under 1 → 50%
// close factor, HF < 0.95 → 100%, collateral-limited, balance-limited, eMode, receiveAToken both ways, protocol fee
// on and off, every pair of a two-collateral two-debt account), the plan made from the snapshot at block N equals
// what liquidationCall mined in block N+1 (same timestamp: no interest between the two) does — the LiquidationCall
// log's debtToCover and liquidatedCollateralAmount, the treasury's aToken BalanceTransfer, the keeper's balances.
// Reverts come back as Error(string) codes the keeper's revert sets match ('45', '46').
import { expect } from "chai";
import {
  type Abi,
  type Address,
  BaseError,
  erc20Abi,
  maxUint256,
  parseEventLogs,
  parseUnits,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import type { Deployment, Hex20 } from "../../common/deployment";
import { describeError, revertIn, revertOf } from "../../keeper/errors";
import { deployAaveMarket } from "../../protocols/aave-v3/deploy";
import { AAVE_ERRORS, LOST_RACE_ERRORS, PRICE_ERRORS } from "../../protocols/aave-v3/errors";
import { aTokenAbi, mintableErc20Abi, mockV3AggregatorAbi, poolAbi, poolConfiguratorAbi } from "../../protocols/aave-v3/generated/abis";
import { liquidation } from "../../protocols/aave-v3/liquidation";
import { STABLECOIN_EMODE } from "../../protocols/aave-v3/market";
import { type AaveLiquidationPlan, planPairs, rayDiv } from "../../protocols/aave-v3/plan";
import type { AaveAccountSnapshot } from "../../protocols/aave-v3/snapshot";
import type { AvailableBalance, LiquidationVenue } from "../../protocols/types";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";

const PORT = 8780;
const WAD = 10n ** 18n;
const GAS = 3_000_000n;

describe("aave-v3: liquidation venue (plan at block N = liquidationCall in block N+1)", function () {
  this.timeout(300_000);
  let node: NodeHandle;
  let pc: PublicClient;
  let d: Deployment;
  let venue: LiquidationVenue;
  let venueAToken: LiquidationVenue;
  let base: string;
  const ADMIN = 0;
  const SUPPLIER = 1;
  const BORROWER = 2;
  const OTHER = 3;
  const KEEPER = 5;
  const addr = (i: number) => node.wallet(i).account.address.toLowerCase() as Hex20;
  const asset = (symbol: string) => d.assets.find((a) => a.symbol === symbol)!;
  const units = (symbol: string, amount: string) => parseUnits(amount, asset(symbol).decimals);
  const all: AvailableBalance = (_a, b) => b;

  async function tx(i: number, address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<TransactionReceipt> {
    const w = node.wallet(i);
    const hash = await w.writeContract({ address, abi, functionName, args, account: w.account, chain: w.chain, gas: GAS });
    const receipt = await pc.waitForTransactionReceipt({ hash });
    expect(receipt.status, `${functionName} by #${i}`).to.equal("success");
    return receipt;
  }
  const balanceOf = (token: Address, who: Address, blockNumber?: bigint) =>
    pc.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [who], blockNumber });

  async function mint(to: number, symbol: string, amount: string): Promise<bigint> {
    const value = units(symbol, amount);
    await tx(ADMIN, asset(symbol).address, mintableErc20Abi, "mint", [addr(to), value]);
    return value;
  }
  async function supply(i: number, symbol: string, amount: string): Promise<void> {
    const value = await mint(i, symbol, amount);
    await tx(i, asset(symbol).address, mintableErc20Abi, "approve", [d.pool, value]);
    await tx(i, d.pool, poolAbi, "supply", [asset(symbol).address, value, addr(i), 0]);
  }
  const borrow = (i: number, symbol: string, amount: string) =>
    tx(i, d.pool, poolAbi, "borrow", [asset(symbol).address, units(symbol, amount), 2n, 0, addr(i)]);
  const setPrice = (symbol: string, usd: string) => tx(ADMIN, asset(symbol).feed, mockV3AggregatorAbi, "updateAnswer", [parseUnits(usd, 8)]);

  /** Back to the state after the market's setup (suppliers, a funded keeper with approvals). */
  async function fresh(): Promise<void> {
    await node.rpc("evm_revert", [base]);
    base = await node.rpc<string>("evm_snapshot");
  }

  interface Mined {
    snapshot: AaveAccountSnapshot;
    plan: AaveLiquidationPlan;
    receipt: TransactionReceipt;
  }

  /**
   * Snapshot and plan at the head block N, then the plan's call from the keeper as block N+1 with N's timestamp;
   * checks every amount the chain moved against the plan.
   */
  async function liquidateExactly(
    v: LiquidationVenue,
    user: Address,
    available: AvailableBalance = all,
    pick?: (p: AaveLiquidationPlan[]) => AaveLiquidationPlan,
  ): Promise<Mined> {
    const block = await pc.getBlock();
    const snapshot = (await v.snapshot(user, addr(KEEPER), block.number)) as AaveAccountSnapshot;
    const best = v.plan(snapshot, available) as AaveLiquidationPlan | null;
    expect(best, "an executable plan").to.not.equal(null);
    const plan = pick ? pick(planPairs(snapshot, available, { receiveAToken: best!.receiveAToken })) : best!;
    const coll = snapshot.assets.find((a) => a.asset === plan.collateralAsset)!;
    const debtToken = plan.debtAsset;
    const collToken = coll.asset;
    const keeper = addr(KEEPER);
    const [debtBefore, collBefore, aCollBefore] = await Promise.all([
      balanceOf(debtToken, keeper),
      balanceOf(collToken, keeper),
      balanceOf(coll.aToken, keeper),
    ]);

    const call = v.call(user, plan);
    await node.rpc("evm_setNextBlockTimestamp", [Number(block.timestamp)]);
    const receipt = await tx(KEEPER, call.address, call.abi, call.functionName, call.args);
    expect(receipt.blockNumber).to.equal(block.number + 1n);
    const mined = await pc.getBlock({ blockNumber: receipt.blockNumber });
    expect(mined.timestamp, "same timestamp: no interest between plan and call").to.equal(block.timestamp);

    const [event] = parseEventLogs({ abi: poolAbi, eventName: "LiquidationCall", logs: receipt.logs });
    expect(event, "LiquidationCall").to.not.equal(undefined);
    const e = event!.args;
    expect([e.collateralAsset.toLowerCase(), e.debtAsset.toLowerCase(), e.user.toLowerCase(), e.liquidator.toLowerCase()]).to.deep.equal([
      plan.collateralAsset,
      plan.debtAsset,
      user.toLowerCase(),
      keeper,
    ]);
    expect({ repaid: e.debtToCover, seized: e.liquidatedCollateralAmount, receiveAToken: e.receiveAToken }, "LiquidationCall amounts").to.deep.equal({
      repaid: plan.repayAmount,
      seized: plan.seizeAmount,
      receiveAToken: plan.receiveAToken,
    });
    expect(v.outcome(receipt.logs)).to.deep.equal({ debtRepaid: plan.repayAmount, collateralSeized: plan.seizeAmount });

    // aToken BalanceTransfers of the collateral reserve: the treasury's fee, and the keeper's seize with receiveAToken
    const transfers = parseEventLogs({
      abi: aTokenAbi,
      eventName: "BalanceTransfer",
      logs: receipt.logs.filter((l) => l.address.toLowerCase() === coll.aToken),
    });
    const toTreasury = transfers.filter((t) => t.args.to.toLowerCase() === d.deployer);
    if (plan.protocolFee === 0n) expect(toTreasury, "no fee transfer").to.deep.equal([]);
    else {
      expect(toTreasury.map((t) => [t.args.from.toLowerCase(), t.args.value, t.args.index])).to.deep.equal([
        [user.toLowerCase(), rayDiv(plan.protocolFee, coll.liquidityIndex), coll.liquidityIndex],
      ]);
    }
    expect(await balanceOf(debtToken, keeper), "keeper paid the repay").to.equal(debtBefore - plan.repayAmount);
    if (plan.receiveAToken) {
      const toKeeper = transfers.filter((t) => t.args.to.toLowerCase() === keeper);
      expect(toKeeper.map((t) => t.args.value)).to.deep.equal([rayDiv(plan.seizeAmount, coll.liquidityIndex)]);
      expect(await balanceOf(collToken, keeper), "no underlying").to.equal(collBefore);
      const aAfter = await balanceOf(coll.aToken, keeper);
      expect(aAfter - aCollBefore >= plan.seizeAmount - 1n && aAfter - aCollBefore <= plan.seizeAmount + 1n).to.equal(true);
    } else {
      expect(await balanceOf(collToken, keeper), "keeper received the underlying").to.equal(collBefore + plan.seizeAmount);
    }
    // the account lost collateral + fee and the repaid debt (within the scaled burns' rounding)
    const [collAfter, debtAfter] = await Promise.all([
      balanceOf(coll.aToken, user, receipt.blockNumber),
      balanceOf(asset(symbolOf(debtToken)).variableDebtToken!, user, receipt.blockNumber),
    ]);
    const debtHeld = snapshot.assets.find((a) => a.asset === debtToken)!.debt;
    expect(within(collAfter, coll.collateral - plan.collateralTaken, 1n), `collateral ${collAfter}`).to.equal(true);
    expect(within(debtAfter, debtHeld - plan.repayAmount, 1n), `debt ${debtAfter}`).to.equal(true);

    const found = await v.liquidationsOf(user, receipt.blockNumber, receipt.blockNumber);
    expect(found).to.deep.equal([{ liquidator: keeper, transactionHash: receipt.transactionHash }]);
    return { snapshot, plan, receipt };
  }
  const within = (a: bigint, b: bigint, tol: bigint) => a - b <= tol && b - a <= tol;
  const symbolOf = (token: Address) => d.assets.find((a) => a.address === token.toLowerCase())!.symbol;

  before(async () => {
    node = await startHardhatNode(PORT);
    pc = node.publicClient;
    d = await deployAaveMarket({ publicClient: pc, walletClient: node.wallet(ADMIN) });
    for (const [symbol, amount] of [
      ["USDC", "1000000"],
      ["DAI", "1000000"],
      ["WETH", "1000"],
      ["WBTC", "50"],
    ] as const) {
      await supply(SUPPLIER, symbol, amount);
      await mint(KEEPER, symbol, amount);
      await tx(KEEPER, asset(symbol).address, mintableErc20Abi, "approve", [d.pool, maxUint256]);
    }
    venue = await liquidation.connect(pc, { pool: d.pool });
    venueAToken = await liquidation.connect(pc, { pool: d.pool }, { receiveInterestBearing: true });
    base = await node.rpc<string>("evm_snapshot");
  });
  after(async () => node?.stop());

  it("connect reads the reserves and the oracle's feeds; the HF is getUserAccountData's", async () => {
    expect(venue.assets).to.deep.equal(d.assets.map((a) => a.address));
    expect(venue.spender).to.equal(d.pool);
    for (const a of d.assets) expect(await venue.feedOf(a.address)).to.equal(a.feed);
    await fresh();
    await supply(BORROWER, "WETH", "10");
    await borrow(BORROWER, "USDC", "20000");
    const n = await pc.getBlockNumber();
    const [, , , , , hf] = await pc.readContract({
      address: d.pool,
      abi: poolAbi,
      functionName: "getUserAccountData",
      args: [addr(BORROWER)],
      blockNumber: n,
    });
    expect(await venue.healthFactor(addr(BORROWER), n)).to.equal(hf);
    expect(hf > WAD).to.equal(true);
    const s = (await venue.snapshot(addr(BORROWER), addr(KEEPER), n)) as AaveAccountSnapshot;
    expect(s.healthFactor).to.equal(hf);
    expect(
      s.assets.map((a) => [symbolOf(a.asset), a.collateralEnabled, a.liquidationBonusBps, a.bonusFactorBps, a.liquidationProtocolFeeBps]),
    ).to.deep.equal([
      ["WETH", true, 500n, 10500n, 1000n],
      ["USDC", false, 450n, 10450n, 1000n],
    ]);
    expect(s.assets[0]!.collateral).to.equal(units("WETH", "10"));
    expect(s.assets[1]!.debt).to.equal(units("USDC", "20000"));
    expect(s.assets[0]!.cash).to.equal(await balanceOf(asset("WETH").address, asset("WETH").aToken!, n));
    expect(s.keeperBalances.get(asset("USDC").address)).to.equal(units("USDC", "1000000"));
    expect(s.category).to.equal(null);
    expect(venue.plan(s, all), "HF ≥ 1: nothing to liquidate").to.equal(null);
  });

  it("HF in (0.95, 1): 50% close factor, max uint repay argument, underlying received, fee to the treasury", async () => {
    await fresh();
    await supply(BORROWER, "WETH", "10");
    await borrow(BORROWER, "USDC", "23000");
    await setPrice("WETH", "2750");
    const { snapshot, plan } = await liquidateExactly(venue, addr(BORROWER));
    expect(snapshot.healthFactor > (95n * WAD) / 100n && snapshot.healthFactor < WAD).to.equal(true);
    expect([plan.closeFactorBps, plan.limitedBy, plan.repayArgument, plan.receiveAToken]).to.deep.equal([5000n, "close-factor", maxUint256, false]);
    expect(plan.repayAmount).to.equal(plan.maxRepay);
    expect(plan.protocolFee > 0n).to.equal(true);
  });

  it("the same with receiveAToken: the keeper receives aTokens", async () => {
    await fresh();
    await supply(BORROWER, "WETH", "10");
    await borrow(BORROWER, "USDC", "23000");
    await setPrice("WETH", "2750");
    const { plan } = await liquidateExactly(venueAToken, addr(BORROWER));
    expect([plan.closeFactorBps, plan.receiveAToken]).to.deep.equal([5000n, true]);
  });

  it("HF < 0.95: 100% close factor", async () => {
    await fresh();
    await supply(BORROWER, "WETH", "10");
    await borrow(BORROWER, "USDC", "23000");
    await node.rpc("evm_increaseTime", [7 * 86400]); // interest: the debt is no round number
    await setPrice("WETH", "2600");
    const { snapshot, plan } = await liquidateExactly(venue, addr(BORROWER));
    expect(snapshot.healthFactor < (95n * WAD) / 100n).to.equal(true);
    expect([plan.closeFactorBps, plan.limitedBy]).to.deep.equal([10000n, "close-factor"]);
    expect(plan.repayAmount).to.equal(snapshot.assets.find((a) => a.asset === asset("USDC").address)!.debt);
  });

  it("collateral-limited: all the collateral goes, the repay is what it buys; then debt without collateral is never executable", async () => {
    await fresh();
    await supply(BORROWER, "WETH", "1");
    await borrow(BORROWER, "USDC", "2300");
    await node.rpc("evm_increaseTime", [86400]);
    await setPrice("WETH", "2000");
    const { snapshot, plan, receipt } = await liquidateExactly(venue, addr(BORROWER));
    expect(plan.limitedBy).to.equal("collateral");
    const weth = snapshot.assets.find((a) => a.asset === asset("WETH").address)!;
    expect(plan.collateralTaken).to.equal(weth.collateral);
    expect(plan.repayAmount < plan.maxRepay).to.equal(true);
    const [disabled] = parseEventLogs({ abi: poolAbi, eventName: "ReserveUsedAsCollateralDisabled", logs: receipt.logs });
    expect(disabled?.args.reserve.toLowerCase()).to.equal(asset("WETH").address);

    // V3.0 writes nothing off: debt stays with no collateral, HF 0, and no pair is executable
    const n = await pc.getBlockNumber();
    const after = (await venue.snapshot(addr(BORROWER), addr(KEEPER), n)) as AaveAccountSnapshot;
    expect(after.healthFactor).to.equal(0n);
    expect(after.assets.some((a) => a.debt > 0n)).to.equal(true);
    expect(venue.plan(after, all)).to.equal(null);
    // the chain agrees: the collateral can no longer be liquidated ('46'), which the keeper reads as a lost race
    const err = await pc.simulateContract({ ...venue.call(addr(BORROWER), plan), account: node.wallet(KEEPER).account }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(BaseError);
    expect(revertOf(err, liquidation.errorsAbi)).to.deep.equal({ name: "Error", args: [AAVE_ERRORS.COLLATERAL_CANNOT_BE_LIQUIDATED] });
    expect(revertIn(revertOf(err, liquidation.errorsAbi), liquidation.lostRaceErrors)).to.equal(true);
    expect(revertIn(revertOf(err, liquidation.errorsAbi), liquidation.priceErrors)).to.equal(false);
    expect(describeError(err, liquidation.errorsAbi)).to.equal("Error(46)");
  });

  it("balance-limited: the available() limit sizes the repay; the exact amount is sent", async () => {
    await fresh();
    await supply(BORROWER, "WETH", "10");
    await borrow(BORROWER, "USDC", "23000");
    await setPrice("WETH", "2750");
    const cap = units("USDC", "1234.5");
    const { plan } = await liquidateExactly(venue, addr(BORROWER), (a, b) => (a === asset("USDC").address ? (b < cap ? b : cap) : b));
    expect([plan.limitedBy, plan.repayAmount, plan.repayArgument, plan.maxSpend]).to.deep.equal(["balance", cap, cap, cap]);
  });

  it("eMode: the category's bonus (101%) applies to a collateral in the account's category", async () => {
    await fresh();
    await supply(BORROWER, "DAI", "10000");
    await tx(BORROWER, d.pool, poolAbi, "setUserEMode", [STABLECOIN_EMODE]);
    await borrow(BORROWER, "USDC", "9200");
    await setPrice("DAI", "0.965");
    const { snapshot, plan } = await liquidateExactly(venue, addr(BORROWER));
    expect(snapshot.category).to.deep.equal({
      id: STABLECOIN_EMODE,
      bonusFactorBps: 10100n,
      priceSource: "0x0000000000000000000000000000000000000000",
      sourcePrice: null,
    });
    expect([plan.bonusFactorBps, plan.closeFactorBps]).to.deep.equal([10100n, 5000n]);
  });

  it("a collateral without protocol fee: no treasury transfer, the keeper gets the whole bonus", async () => {
    await fresh();
    await tx(ADMIN, d.poolConfigurator!, poolConfiguratorAbi, "setLiquidationProtocolFee", [asset("WETH").address, 0n]);
    await supply(BORROWER, "WETH", "10");
    await borrow(BORROWER, "USDC", "23000");
    await setPrice("WETH", "2750");
    const { plan } = await liquidateExactly(venue, addr(BORROWER));
    expect(plan.protocolFee).to.equal(0n);
    expect(plan.collateralTaken).to.equal(plan.seizeAmount);
  });

  it("two collaterals × two debts: every pair's plan is what its call does; the best pair pays the most; a disabled collateral is never planned", async () => {
    await fresh();
    await supply(BORROWER, "WETH", "5");
    await supply(BORROWER, "WBTC", "0.25");
    await supply(BORROWER, "DAI", "3000");
    await tx(BORROWER, d.pool, poolAbi, "setUserUseReserveAsCollateral", [asset("DAI").address, false]);
    await borrow(BORROWER, "USDC", "12000");
    await borrow(BORROWER, "DAI", "7000");
    await node.rpc("evm_increaseTime", [3 * 86400]);
    await setPrice("WETH", "2200");
    await setPrice("WBTC", "48000");
    const n = await pc.getBlockNumber();
    const s = (await venue.snapshot(addr(BORROWER), addr(KEEPER), n)) as AaveAccountSnapshot;
    expect(s.assets.find((a) => a.asset === asset("DAI").address)!.collateralEnabled).to.equal(false);
    const pairs = planPairs(s, all, { receiveAToken: false });
    const names = pairs.map((p) => `${symbolOf(p.collateralAsset)}/${symbolOf(p.debtAsset)}`);
    expect(names.sort()).to.deep.equal(["WBTC/DAI", "WBTC/USDC", "WETH/DAI", "WETH/USDC"]);
    const best = venue.plan(s, all)!;
    expect(pairs.every((p) => p.bonusValueBase <= best.bonusValueBase)).to.equal(true);

    // each pair from the same state (a revert consumes its snapshot: take a new one each time)
    let here = await node.rpc<string>("evm_snapshot");
    for (const name of names) {
      await node.rpc("evm_revert", [here]);
      here = await node.rpc<string>("evm_snapshot");
      const { plan } = await liquidateExactly(
        venue,
        addr(BORROWER),
        all,
        (ps) => ps.find((p) => `${symbolOf(p.collateralAsset)}/${symbolOf(p.debtAsset)}` === name)!,
      );
      expect(`${symbolOf(plan.collateralAsset)}/${symbolOf(plan.debtAsset)}`).to.equal(name);
    }

    // the disabled DAI collateral: the chain refuses it with '46'
    await node.rpc("evm_revert", [here]);
    const err = await pc
      .simulateContract({
        address: d.pool,
        abi: poolAbi,
        functionName: "liquidationCall",
        args: [asset("DAI").address, asset("USDC").address, addr(BORROWER), maxUint256, false],
        account: node.wallet(KEEPER).account,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(revertOf(err, liquidation.errorsAbi)?.args).to.deep.equal([AAVE_ERRORS.COLLATERAL_CANNOT_BE_LIQUIDATED]);
  });

  it("a lost race: another liquidator restores the HF first; the keeper's call reverts '45', a lost-race code", async () => {
    await fresh();
    await supply(BORROWER, "WETH", "10");
    await borrow(BORROWER, "USDC", "23000");
    await setPrice("WETH", "2750"); // HF just under 1: a 50% liquidation takes it back above 1
    const n = await pc.getBlockNumber();
    const s = await venue.snapshot(addr(BORROWER), addr(KEEPER), n);
    const plan = venue.plan(s, all)!;
    expect(plan).to.not.equal(null);
    await mint(OTHER, "USDC", "20000");
    await tx(OTHER, asset("USDC").address, mintableErc20Abi, "approve", [d.pool, maxUint256]);
    const theirs = await tx(OTHER, d.pool, poolAbi, "liquidationCall", [
      asset("WETH").address,
      asset("USDC").address,
      addr(BORROWER),
      maxUint256,
      false,
    ]);
    expect((await venue.healthFactor(addr(BORROWER), theirs.blockNumber)) >= WAD).to.equal(true);
    expect(await venue.liquidationsOf(addr(BORROWER), n, theirs.blockNumber)).to.deep.equal([
      { liquidator: addr(OTHER), transactionHash: theirs.transactionHash },
    ]);
    const err = await pc.simulateContract({ ...venue.call(addr(BORROWER), plan), account: node.wallet(KEEPER).account }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(revertOf(err, liquidation.errorsAbi)).to.deep.equal({ name: "Error", args: [AAVE_ERRORS.HEALTH_FACTOR_NOT_BELOW_THRESHOLD] });
    expect(revertIn(revertOf(err, liquidation.errorsAbi), LOST_RACE_ERRORS)).to.equal(true);
    expect(PRICE_ERRORS.has(AAVE_ERRORS.PRICE_ORACLE_SENTINEL_CHECK_FAILED)).to.equal(true);
  });
});
