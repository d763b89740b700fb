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
import { HARDHAT_KEYS, startHardhatNode, type NodeHandle } from "../fixtures/node";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pino from "pino";
import { createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { keeperConfigFromEnv, parseKeeperConfig, type KeeperConfigInput } from "../../keeper/config";
import { liquidationJobId, type LiquidationJobResult } from "../../keeper/job";
import { createKeeper, type Keeper } from "../../keeper/keeper";
import { REDIS } from "../keeper/helpers";

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

  it("random positions, prices, interest, receive modes and balance caps: every plan is what its call does, to the wei", async () => {
    let seed = 20240611;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let liquidated = 0;
    const seen = new Set<string>();
    for (let k = 0; k < 10; k++) {
      await fresh();
      const weth = 1 + rnd() * 9;
      const wbtc = 0.05 + rnd() * 0.5;
      await supply(BORROWER, "WETH", weth.toFixed(6));
      await supply(BORROWER, "WBTC", wbtc.toFixed(8));
      const capacityUsd = weth * 3000 * 0.8 + wbtc * 60000 * 0.7;
      const total = capacityUsd * (0.9 + rnd() * 0.09);
      const share = rnd();
      await borrow(BORROWER, "USDC", (total * share).toFixed(6));
      await borrow(BORROWER, "DAI", (total * (1 - share)).toFixed(6));
      await node.rpc("evm_increaseTime", [Math.floor(rnd() * 30 * 86400)]);
      await setPrice("WETH", (3000 * (0.7 + rnd() * 0.25)).toFixed(8));
      await setPrice("WBTC", (60000 * (0.7 + rnd() * 0.25)).toFixed(8));
      const hf = await venue.healthFactor(addr(BORROWER), await pc.getBlockNumber());
      if (hf >= WAD) continue;
      const v = rnd() < 0.5 ? venue : venueAToken;
      const capped = rnd() < 0.3;
      const cap = units("USDC", (100 + rnd() * 2000).toFixed(6));
      const capDai = parseUnits((100 + rnd() * 2000).toFixed(6), 18);
      const available: AvailableBalance = capped
        ? (a, b) => {
            const c = a === asset("USDC").address ? cap : a === asset("DAI").address ? capDai : b;
            return b < c ? b : c;
          }
        : all;
      const { plan } = await liquidateExactly(v, addr(BORROWER), available);
      seen.add(`${plan.closeFactorBps}/${plan.limitedBy}/${plan.receiveAToken}`);
      liquidated++;
    }
    expect(liquidated, `liquidated cases (${[...seen].join(", ")})`).to.be.greaterThanOrEqual(6);
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

describe("aave-v3: keeper pipeline end to end (hardhat node + Redis)", function () {
  this.timeout(300_000);
  const PORT2 = 8781;
  const KEEPER_INDEX = 5;
  let node: NodeHandle;
  let pc: PublicClient;
  let d: Deployment;
  let store: Store;
  let base: string;
  const prefixes: string[] = [];
  const running: Keeper[] = [];
  const addr = (i: number) => node.wallet(i).account.address.toLowerCase() as Hex20;
  const asset = (symbol: string) => d.assets.find((a) => a.symbol === symbol)!;
  const units = (symbol: string, amount: string) => parseUnits(amount, asset(symbol).decimals);

  async function tx(i: number, address: Address, abi: Abi, functionName: string, args: readonly unknown[]): Promise<TransactionReceipt> {
    const w = node.wallet(i);
    const hash = await w.writeContract({ address, abi, functionName, args, account: w.account, chain: w.chain, gas: GAS });
    const receipt = await pc.waitForTransactionReceipt({ hash });
    expect(receipt.status, `${functionName} by #${i}`).to.equal("success");
    return receipt;
  }
  async function mint(to: number, symbol: string, amount: string): Promise<bigint> {
    const value = units(symbol, amount);
    await tx(0, asset(symbol).address, mintableErc20Abi, "mint", [addr(to), value]);
    return value;
  }
  async function supply(i: number, symbol: string, amount: string): Promise<void> {
    const value = await mint(i, symbol, amount);
    await tx(i, asset(symbol).address, mintableErc20Abi, "approve", [d.pool, value]);
    await tx(i, d.pool, poolAbi, "supply", [asset(symbol).address, value, addr(i), 0]);
  }

  async function keeper(config: Partial<KeeperConfigInput>): Promise<Keeper> {
    const id = randomBytes(4).toString("hex");
    const prefix = `{mwa-${id}}`;
    prefixes.push(prefix);
    const walletClient = createWalletClient({
      chain: hardhat,
      transport: http(node.url, { retryCount: 0 }),
      account: privateKeyToAccount(HARDHAT_KEYS[KEEPER_INDEX]!),
    });
    const k = await createKeeper(
      parseKeeperConfig({
        pool: d.pool,
        protocol: "aave-v3",
        queueName: `ka-${id}`,
        prefix,
        pollIntervalMs: 50,
        backoffMs: 200,
        lockDurationMs: 5_000,
        stalledIntervalMs: 1_000,
        ...config,
      }),
      { publicClient: pc as never, walletClient, store, connection: { ...REDIS }, logger: pino({ level: "silent" }), liquidation },
    );
    running.push(k);
    await k.start();
    return k;
  }
  async function finished(k: Keeper, jobId: string): Promise<LiquidationJobResult> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await k.producer.queue.getJobState(jobId);
      if (state === "completed") return (await k.producer.queue.getJob(jobId))!.returnvalue as LiquidationJobResult;
      if (state === "failed") throw new Error(`job failed: ${(await k.producer.queue.getJob(jobId))!.failedReason}`);
      if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish (state ${state})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async function liquidatable(i: number): Promise<{ account: Hex20; blockNumber: bigint; blockHash: `0x${string}`; hf: bigint }> {
    await supply(i, "WETH", "10");
    await tx(i, d.pool, poolAbi, "borrow", [asset("USDC").address, units("USDC", "23000"), 2n, 0, addr(i)]);
    await tx(0, asset("WETH").feed, mockV3AggregatorAbi, "updateAnswer", [parseUnits("2750", 8)]);
    const b = await pc.getBlock();
    const [, , , , , hf] = await pc.readContract({ address: d.pool, abi: poolAbi, functionName: "getUserAccountData", args: [addr(i)] });
    expect(hf < WAD).to.equal(true);
    return { account: addr(i), blockNumber: b.number, blockHash: b.hash, hf };
  }

  before(async () => {
    store = await openStore({ dataDir: "memory://" });
    node = await startHardhatNode(PORT2);
    pc = node.publicClient;
    d = await deployAaveMarket({ publicClient: pc, walletClient: node.wallet(0) });
    for (const [symbol, amount] of [
      ["USDC", "1000000"],
      ["WETH", "1000"],
    ] as const) {
      await supply(1, symbol, amount);
      await mint(KEEPER_INDEX, symbol, amount);
    }
    base = await node.rpc<string>("evm_snapshot");
  });
  beforeEach(async () => {
    await store.reset();
    await node.rpc("evm_revert", [base]);
    base = await node.rpc<string>("evm_snapshot");
  });
  afterEach(async () => {
    for (const k of running.splice(0)) await k.stop();
  });
  after(async () => {
    for (const k of running.splice(0)) await k.stop().catch(() => undefined);
    await node?.stop();
    await store?.close();
    const redis = new Redis(REDIS);
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it("config: KEEPER_RECEIVE_ATOKEN and KEEPER_LIQUIDATE_ON_STALE_PRICE default to false and read from the environment", () => {
    const defaults = parseKeeperConfig({ pool: d.pool });
    expect([defaults.receiveAtoken, defaults.liquidateOnStalePrice]).to.deep.equal([false, false]);
    const env = keeperConfigFromEnv({ KEEPER_POOL: d.pool, KEEPER_RECEIVE_ATOKEN: "true", KEEPER_LIQUIDATE_ON_STALE_PRICE: "yes" });
    expect([env.receiveAtoken, env.liquidateOnStalePrice]).to.deep.equal([true, true]);
    expect(() => keeperConfigFromEnv({ KEEPER_POOL: d.pool, KEEPER_RECEIVE_ATOKEN: "maybe" })).to.throw(/receiveAtoken/);
  });

  for (const receiveAtoken of [false, true]) {
    it(`a liquidatable account is liquidated once; the outcome row holds the LiquidationCall's repay (receiveAToken ${receiveAtoken})`, async () => {
      const k = await keeper({ receiveAtoken, minProfitUsd: "10" });
      const opp = await liquidatable(2);
      const keeperAddress = privateKeyToAccount(HARDHAT_KEYS[KEEPER_INDEX]!).address.toLowerCase() as Hex20;
      const aBefore = await pc.readContract({ address: asset("WETH").aToken!, abi: erc20Abi, functionName: "balanceOf", args: [keeperAddress] });
      const wethBefore = await pc.readContract({ address: asset("WETH").address, abi: erc20Abi, functionName: "balanceOf", args: [keeperAddress] });
      const r = await k.producer.enqueueOpportunities(
        [{ account: opp.account, healthFactor: opp.hf, since: opp.blockNumber, positionVersion: 1, status: "liquidatable" }],
        opp,
      );
      expect(r.enqueued).to.equal(1);
      const result = await finished(k, liquidationJobId(opp.account, opp.blockNumber, 1));
      expect(result.outcome).to.equal("liquidated");
      const events = await pc.getContractEvents({
        address: d.pool,
        abi: poolAbi,
        eventName: "LiquidationCall",
        args: { user: opp.account },
        fromBlock: opp.blockNumber,
      });
      expect(events.length).to.equal(1);
      const e = events[0]!.args;
      expect([e.liquidator!.toLowerCase(), e.receiveAToken]).to.deep.equal([keeperAddress, receiveAtoken]);
      expect(events[0]!.transactionHash).to.equal(result.transactionHash);
      const rows = await store.listKeeperOutcomes({ limit: 10, offset: 0, account: opp.account });
      expect(rows.map((x) => [x.outcome, x.repayAmount])).to.deep.equal([["liquidated", e.debtToCover]]);
      // 50% of the debt, the keeper's balance far above it: passed as max uint, the pool took the exact half
      const [, , , , , hfAfter] = await pc.readContract({ address: d.pool, abi: poolAbi, functionName: "getUserAccountData", args: [opp.account] });
      expect(hfAfter >= WAD).to.equal(true);
      const aAfter = await pc.readContract({ address: asset("WETH").aToken!, abi: erc20Abi, functionName: "balanceOf", args: [keeperAddress] });
      const wethAfter = await pc.readContract({ address: asset("WETH").address, abi: erc20Abi, functionName: "balanceOf", args: [keeperAddress] });
      if (receiveAtoken) {
        expect(wethAfter).to.equal(wethBefore);
        expect(aAfter - aBefore >= e.liquidatedCollateralAmount! - 1n).to.equal(true);
      } else {
        expect(wethAfter - wethBefore).to.equal(e.liquidatedCollateralAmount);
        expect(aAfter).to.equal(aBefore);
      }
    });
  }

  it("an account whose HF rests on a stale price: refused by default, enqueued and liquidated with liquidateOnStalePrice", async () => {
    const opp = await liquidatable(3);
    const stale = { account: opp.account, healthFactor: opp.hf, since: opp.blockNumber, positionVersion: 1, status: "unknown" as const };
    const strict = await keeper({});
    expect(await strict.producer.enqueueOpportunities([stale], opp)).to.deep.equal({ enqueued: 0, duplicates: 0, skippedUnknown: 1, retried: 0 });
    await strict.stop();
    running.splice(running.indexOf(strict), 1);

    const lenient = await keeper({ liquidateOnStalePrice: true });
    // the HF on stale prices unknown (0n) or not below 1: still refused
    expect(
      await lenient.producer.enqueueOpportunities(
        [
          { ...stale, healthFactor: 0n },
          { ...stale, healthFactor: WAD },
        ],
        opp,
      ),
    ).to.deep.equal({
      enqueued: 0,
      duplicates: 0,
      skippedUnknown: 2,
      retried: 0,
    });
    expect(await lenient.producer.enqueueOpportunities([stale], opp)).to.deep.equal({ enqueued: 1, duplicates: 0, skippedUnknown: 0, retried: 0 });
    // the next block reports the same stale episode: the same job (one per account and position version)
    expect(await lenient.producer.enqueueOpportunities([{ ...stale, since: opp.blockNumber + 1n }], opp)).to.deep.equal({
      enqueued: 0,
      duplicates: 1,
      skippedUnknown: 0,
      retried: 0,
    });
    const result = await finished(lenient, liquidationJobId(opp.account, 0n, 1));
    expect(result.outcome).to.equal("liquidated");
  });
});
