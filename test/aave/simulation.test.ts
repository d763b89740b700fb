// The Aave V3.0 dev-market actions and market simulation on a real Hardhat node: each action against the Pool (and
// a revert named by Aave's error code, in automine and in a mined block); then a seeded market whose borrowers span
// HF ≈ 1.05–3 (read from Pool.getUserAccountData), eMode users, collateral flags off, and 30 ticks in which a crash
// takes accounts below HF 1, a feed misses its heartbeat, and aToken transfers, collateral toggles, eMode switches,
// repayments with aTokens and flash loans happen (counted in the chain's own events).
import { expect } from "chai";
import { parseUnits, type Address } from "viem";
import pino from "pino";
import type { Deployment, Hex20 } from "../../common/deployment";
import { TransactionRevertedError } from "../../common/transact";
import * as act from "../../protocols/aave-v3/actions";
import { deployAaveMarket } from "../../protocols/aave-v3/deploy";
import { aTokenAbi, mintableErc20Abi, mockV3AggregatorAbi, poolAbi } from "../../protocols/aave-v3/generated/abis";
import { AAVE_MARKET, STABLECOIN_EMODE } from "../../protocols/aave-v3/market";
import { ACTION_KINDS, AaveMarketSimulation, type SimBorrower } from "../../protocols/aave-v3/simulation";
import { HARDHAT_KEYS, startHardhatNode, type NodeHandle } from "../fixtures/node";

/** Ports 8790–8799 belong to test/aave/simulation. */
const ACTIONS_PORT = 8790;
const SIM_PORT = 8791;
const WAD = 10n ** 18n;
const BORROWERS = 40;
const TICKS = 30;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

type AccountData = { collateral: bigint; debt: bigint; ltv: bigint; lt: bigint; hf: bigint };

async function accountData(node: NodeHandle, d: Deployment, user: Address): Promise<AccountData> {
  const [collateral, debt, , lt, ltv, hf] = await node.publicClient.readContract({
    address: d.pool,
    abi: poolAbi,
    functionName: "getUserAccountData",
    args: [user],
  });
  return { collateral, debt, lt, ltv, hf };
}

/** chai 4 compares numbers only: bigint comparisons with both values in the message. */
function above(x: bigint, y: bigint, what: string, orEqual = false): void {
  expect(orEqual ? x >= y : x > y, `${what}: ${x} ${orEqual ? ">=" : ">"} ${y}`).to.equal(true);
}
function below(x: bigint, y: bigint, what: string, orEqual = false): void {
  expect(orEqual ? x <= y : x < y, `${what}: ${x} ${orEqual ? "<=" : "<"} ${y}`).to.equal(true);
}

const hfNumber = (hf: bigint) => Number((hf * 1_000_000n) / WAD) / 1_000_000;

describe("aave-v3: dev-market actions", function () {
  this.timeout(120_000);
  let node: NodeHandle;
  let d: Deployment;
  let ctx: act.ChainContext;
  const addr = (i: number) => node.wallet(i).account.address.toLowerCase() as Hex20;

  before(async () => {
    node = await startHardhatNode(ACTIONS_PORT);
    d = await deployAaveMarket({ publicClient: node.publicClient, walletClient: node.wallet(0) });
    ctx = { publicClient: node.publicClient, deployment: d, admin: node.wallet(0) };
    await act.supply(ctx, ctx.admin, "USDC", "1000000");
    await act.supply(ctx, ctx.admin, "WETH", "1000");
  });
  after(async () => node?.stop());

  it("supply, borrow, repay, repay with aTokens, repay all, withdraw all: balances move by the amounts", async () => {
    const u = node.wallet(1);
    expect(await act.supply(ctx, u, "WETH", "10")).to.equal(parseUnits("10", 18));
    expect(await act.suppliedOf(ctx, "WETH", addr(1))).to.equal(parseUnits("10", 18));
    await act.borrow(ctx, u, "USDC", "10000");
    above(await act.debtOf(ctx, "USDC", addr(1)), parseUnits("10000", 6), "debt", true);
    expect(await act.repay(ctx, u, "USDC", "1000")).to.equal(parseUnits("1000", 6));
    await act.supply(ctx, u, "USDC", "500");
    above(await act.repayWithATokens(ctx, u, "USDC", "all"), parseUnits("500", 6), "repaid with aTokens", true);
    below(await act.suppliedOf(ctx, "USDC", addr(1)), 1n, "aUSDC left", true);
    const debt = await act.debtOf(ctx, "USDC", addr(1));
    const repaid = await act.repay(ctx, u, "USDC", "all");
    above(repaid, debt, "repaid all", true);
    expect(await act.debtOf(ctx, "USDC", addr(1))).to.equal(0n);
    const withdrawn = await act.withdraw(ctx, u, "WETH", "all");
    above(withdrawn, parseUnits("10", 18), "withdrawn", true);
    expect(await act.suppliedOf(ctx, "WETH", addr(1))).to.equal(0n);
  });

  it("aToken transfer, collateral flag, eMode, a flash loan paying Aave's premium; setPrice moves the oracle", async () => {
    const u = node.wallet(2);
    await act.supply(ctx, u, "DAI", "1000");
    expect(await act.transferAToken(ctx, u, "DAI", addr(3), "100")).to.equal(parseUnits("100", 18));
    expect(await act.suppliedOf(ctx, "DAI", addr(3))).to.equal(parseUnits("100", 18));

    await act.setCollateral(ctx, u, "DAI", false);
    expect((await accountData(node, d, addr(2))).collateral).to.equal(0n);
    await act.setCollateral(ctx, u, "DAI", true);
    expect((await accountData(node, d, addr(2))).collateral).to.equal(900n * 10n ** 8n);

    await act.setUserEMode(ctx, u, STABLECOIN_EMODE);
    expect(await node.publicClient.readContract({ address: d.pool, abi: poolAbi, functionName: "getUserEMode", args: [addr(2)] })).to.equal(1n);
    expect((await accountData(node, d, addr(2))).ltv).to.equal(9300n);

    const receiver = await act.deployFlashLoanReceiver(ctx);
    const amount = parseUnits("20000", 6);
    const premium = await act.flashLoanSimple(ctx, u, receiver, "USDC", amount);
    expect(premium).to.equal((amount * BigInt(AAVE_MARKET.flashLoanPremiumTotalBps!)) / 10_000n);

    await act.setPrice(ctx, "WETH", "2500.5");
    const [, answer] = await node.publicClient.readContract({
      address: act.assetOf(d, "WETH").feed,
      abi: mockV3AggregatorAbi,
      functionName: "latestRoundData",
    });
    expect(answer).to.equal(250_050_000_000n);
  });

  it("a revert names Aave's error: at send (automine) and from a mined block (interval mining)", async () => {
    const u = node.wallet(4);
    await act.supply(ctx, u, "WETH", "1");
    const tooMuch = act.borrow(ctx, u, "USDC", "100000");
    const e1 = await tooMuch.then(
      () => null,
      (e: unknown) => e,
    );
    expect(e1).to.be.instanceOf(TransactionRevertedError);
    expect((e1 as TransactionRevertedError).reason).to.equal("36");
    expect((e1 as Error).message).to.equal("borrow reverted: 36 (COLLATERAL_CANNOT_COVER_NEW_BORROW)");

    await node.rpc("evm_setAutomine", [false]);
    await node.rpc("evm_setIntervalMining", [200]);
    try {
      const e2 = await act.withdraw(ctx, node.wallet(5), "WETH", "1").then(
        () => null,
        (e: unknown) => e,
      );
      expect(e2).to.be.instanceOf(TransactionRevertedError);
      expect((e2 as TransactionRevertedError).hash, "reverted in a mined block").to.match(/^0x[0-9a-f]{64}$/);
      expect((e2 as TransactionRevertedError).reason).to.equal("32");
      expect((e2 as Error).message).to.match(/^withdraw reverted: 32 \(NOT_ENOUGH_AVAILABLE_USER_BALANCE\)/);
    } finally {
      await node.rpc("evm_setIntervalMining", [0]);
      await node.rpc("evm_setAutomine", [true]);
    }
  });
});

describe("aave-v3: market simulation", function () {
  this.timeout(180_000);
  let node: NodeHandle;
  let d: Deployment;
  let sim: AaveMarketSimulation;
  let keeper: Hex20;
  let seededAt: bigint;
  const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: unknown[]): Promise<T> =>
    node.publicClient.readContract({ address, abi: abi as never, functionName: functionName as never, args: args as never }) as Promise<T>;
  const eModeOf = (b: SimBorrower) => read<bigint>(d.pool, poolAbi, "getUserEMode", [b.address]);
  const ids = new Map<string, number>();
  async function collateralBit(user: Hex20, symbol: string): Promise<boolean> {
    const config = await read<{ data: bigint }>(d.pool, poolAbi, "getUserConfiguration", [user]);
    return ((config.data >> BigInt(2 * ids.get(symbol)! + 1)) & 1n) === 1n;
  }

  before(async () => {
    node = await startHardhatNode(SIM_PORT);
    d = await deployAaveMarket({ publicClient: node.publicClient, walletClient: node.wallet(0) });
    keeper = node.wallet(1).account.address.toLowerCase() as Hex20;
    for (const a of d.assets) ids.set(a.symbol, (await read<{ id: number }>(d.pool, poolAbi, "getReserveData", [a.address])).id);
    sim = new AaveMarketSimulation({
      url: node.url,
      publicClient: node.publicClient,
      deployment: d,
      adminKey: HARDHAT_KEYS[0],
      fundAddresses: [keeper],
      borrowers: BORROWERS,
      seed: 7,
      tickMs: 3_600_000, // never started: the test steps it
      logger: silent,
    });
    const t0 = performance.now();
    await sim.seed();
    seededAt = await node.publicClient.getBlockNumber();
    console.log(`      seeded ${BORROWERS} borrowers in ${(performance.now() - t0).toFixed(0)} ms`);
  });
  after(async () => {
    sim?.stop();
    await node?.stop();
  });

  it("seed: liquidity in every reserve from the admin, the keeper holds every asset", async () => {
    for (const a of d.assets) {
      above(await read<bigint>(a.aToken!, aTokenAbi, "balanceOf", [d.deployer]), parseUnits("10000", a.decimals), `a${a.symbol} of the admin`);
      expect(await read<bigint>(a.address, mintableErc20Abi, "balanceOf", [keeper]), `${a.symbol} of the keeper`).to.equal(
        parseUnits("1000000000", a.decimals),
      );
    }
  });

  it("seed: every borrower borrows; HFs span ≈ 1.05 to ≈ 3, each at its target or its LTV limit", async () => {
    const hfs: number[] = [];
    for (const b of sim.borrowers) {
      const a = await accountData(node, d, b.address);
      above(a.debt, 0n, `${b.profile} borrower ${b.address}'s debt`);
      const hf = hfNumber(a.hf);
      // The seed borrows collateral · LT / target, capped at 99.5% of the LTV limit: HF = max(target, LT / (0.995 · LTV)).
      const expected = Math.max(b.targetHf, Number(a.lt) / (0.995 * Number(a.ltv)));
      expect(Math.abs(hf - expected) / expected, `${b.profile} borrower: HF ${hf}, expected ${expected}`).to.be.lessThan(0.005);
      hfs.push(hf);
    }
    hfs.sort((x, y) => x - y);
    expect(hfs[0]).to.be.within(1.02, 1.1);
    expect(hfs[hfs.length - 1]).to.be.within(2.2, 3.01);
    expect(hfs.filter((h) => h < 1.5).length, "most borrowers close to the edge").to.be.greaterThan(BORROWERS / 4);
    expect(hfs.filter((h) => h > 2).length, "some far from it").to.be.greaterThan(2);
    const profiles = new Set(sim.borrowers.map((b) => b.profile));
    expect([...profiles].sort()).to.deep.equal(["emode", "mixed", "stable", "volatile"]);
  });

  it("seed: eMode users in the stablecoin category at its LTV; mixed borrowers with one collateral flag off", async () => {
    const eMode = sim.borrowers.filter((b) => b.profile === "emode");
    expect(eMode.length).to.be.greaterThan(2);
    for (const b of sim.borrowers) expect(await eModeOf(b), b.profile).to.equal(b.profile === "emode" ? 1n : 0n);
    for (const b of eMode) expect((await accountData(node, d, b.address)).ltv).to.equal(9300n);

    const mixed = sim.borrowers.filter((b) => b.flagOff !== null);
    expect(mixed.length).to.be.greaterThan(2);
    for (const b of mixed) {
      above(await read<bigint>(act.assetOf(d, b.flagOff!).aToken!, aTokenAbi, "balanceOf", [b.address]), 0n, `a${b.flagOff} supplied`);
      expect(await collateralBit(b.address, b.flagOff!), `${b.flagOff} flag of ${b.address}`).to.equal(false);
      for (const c of b.collateral.filter((s) => s !== b.flagOff)) expect(await collateralBit(b.address, c), c).to.equal(true);
    }
  });

  it("ticks 1–8: the scheduled WETH crash takes accounts that were healthy below HF 1", async () => {
    let before = new Map<Hex20, bigint>();
    for (let t = 1; t <= 8; t++) {
      if (t === 8) for (const b of sim.borrowers) before.set(b.address, (await accountData(node, d, b.address)).hf);
      await sim.tick();
    }
    expect(sim.stats.crashes).to.be.greaterThanOrEqual(1);
    const fell: string[] = [];
    for (const b of sim.borrowers) {
      const hf = (await accountData(node, d, b.address)).hf;
      if (before.get(b.address)! >= WAD && hf < WAD) fell.push(`${b.profile}:${hfNumber(hf)}`);
    }
    expect(fell.length, "accounts pushed below HF 1 by the crash").to.be.greaterThan(0);
    before = new Map();
  });

  it(`ticks 9–${TICKS}: WBTC's feed misses its heartbeat (updatedAt older than the deployment's heartbeat), then recovers`, async () => {
    const wbtc = act.assetOf(d, "WBTC");
    const staleness = async () => {
      const [, , , updatedAt] = await read<readonly bigint[]>(wbtc.feed, mockV3AggregatorAbi, "latestRoundData", []);
      const block = await node.publicClient.getBlock();
      return Number(block.timestamp - updatedAt!);
    };
    let staleTicks = 0;
    for (let t = 9; t <= TICKS; t++) {
      await sim.tick();
      const age = await staleness();
      if (age > wbtc.heartbeat) staleTicks++;
      if (t < 20) expect(age, `tick ${t}`).to.be.lessThan(wbtc.heartbeat);
    }
    expect(sim.stats.heartbeatMisses).to.equal(1);
    expect(staleTicks, "ticks with WBTC's feed stale").to.equal(6);
    expect(await staleness(), "fresh again").to.be.lessThan(wbtc.heartbeat);
  });

  it("the borrowers' actions happened on chain: events of transfers, toggles, eMode switches, flash loans, aToken repayments", async () => {
    const k = sim.kinds;
    const range = { fromBlock: seededAt + 1n, toBlock: "latest" as const };
    const pool = { address: d.pool, abi: poolAbi, ...range };
    const transfers = await node.publicClient.getContractEvents({
      address: d.assets.map((a) => a.aToken!),
      abi: aTokenAbi,
      eventName: "BalanceTransfer",
      ...range,
    });
    const eModeSets = await node.publicClient.getContractEvents({ ...pool, eventName: "UserEModeSet" });
    const flashLoans = await node.publicClient.getContractEvents({ ...pool, eventName: "FlashLoan" });
    const repays = await node.publicClient.getContractEvents({ ...pool, eventName: "Repay" });
    const enabled = await node.publicClient.getContractEvents({ ...pool, eventName: "ReserveUsedAsCollateralEnabled" });
    const disabled = await node.publicClient.getContractEvents({ ...pool, eventName: "ReserveUsedAsCollateralDisabled" });
    const withdraws = await node.publicClient.getContractEvents({ ...pool, eventName: "Withdraw" });
    console.log(
      `      actions: ${ACTION_KINDS.map((x) => `${x} ${k[x].ok}/${k[x].ok + k[x].failed}`).join(", ")}; ${transfers.length} BalanceTransfer, ` +
        `${eModeSets.length} UserEModeSet, ${enabled.length + disabled.length} collateral flag events, ${flashLoans.length} FlashLoan`,
    );
    // No keeper runs here: every BalanceTransfer is a borrower's transfer (no liquidation, no protocol fee).
    expect(transfers.length).to.equal(k.transfer.ok);
    expect(eModeSets.length).to.equal(k.eModeSwitch.ok);
    expect(flashLoans.length).to.equal(k.flashLoan.ok);
    expect(repays.filter((r) => r.args.useATokens).length).to.equal(k.repayWithATokens.ok);
    expect(repays.filter((r) => !r.args.useATokens).length).to.equal(k.repay.ok + k.repayAll.ok);
    expect(withdraws.length).to.equal(k.withdraw.ok + k.withdrawAll.ok);
    expect(enabled.length + disabled.length).to.be.greaterThanOrEqual(k.collateralToggle.ok);
    for (const kind of ["transfer", "collateralToggle", "eModeSwitch", "repayWithATokens", "flashLoan", "supply", "borrow", "repay"] as const) {
      expect(k[kind].ok, `${kind} went through at least once`).to.be.greaterThan(0);
    }
  });

  it("stats add up: ticks, actions = refused + done per kind, crashes, missed heartbeats", () => {
    const k = sim.kinds;
    const ok = ACTION_KINDS.reduce((s, x) => s + k[x].ok, 0);
    const failed = ACTION_KINDS.reduce((s, x) => s + k[x].failed, 0);
    expect(sim.stats.ticks).to.equal(TICKS);
    expect(sim.stats.actions).to.equal(TICKS * 4);
    expect(ok + failed).to.equal(sim.stats.actions);
    expect(failed).to.equal(sim.stats.failedActions);
    expect(sim.stats.crashes).to.be.greaterThanOrEqual(1);
    expect(sim.stats.heartbeatMisses).to.equal(1);
  });
});
