// The Aave V3.0.x dev market deploys from the npm artifacts on a real Hardhat node and works: supply, variable
// borrow, interest over time, a price fall below HF 1, a third account's liquidationCall (amounts as
// LiquidationLogic sizes them), AaveOracle prices equal to the feeds, a user's eMode, and ReserveInitialized logs
// naming the tokens the deployment records. getUserAccountData is checked at each step against the V3.0.x formula
// over the token balances, to the wei.
import { expect } from "chai";
import { maxUint256, parseUnits, parseEventLogs, type Abi, type Address, type TransactionReceipt } from "viem";
import type { Deployment, Hex20 } from "../../common/deployment";
import { deployAaveMarket, linkBytecode } from "../../protocols/aave-v3/deploy";
import { flashLoanLogicBytecode, flashLoanLogicLinkReferences } from "../../protocols/aave-v3/generated/bytecode";
import {
  aTokenAbi,
  aaveOracleAbi,
  aaveProtocolDataProviderAbi,
  mintableErc20Abi,
  mockV3AggregatorAbi,
  poolAbi,
  poolAddressesProviderAbi,
  poolConfiguratorAbi,
} from "../../protocols/aave-v3/generated/abis";
import { AAVE_MARKET, STABLECOIN_EMODE } from "../../protocols/aave-v3/market";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";

const PORT = 8761;
const WAD = 10n ** 18n;
const BPS = 10_000n;

// V3.0.x rounding: half up.
const percentMul = (v: bigint, p: bigint) => (v * p + BPS / 2n) / BPS;
const percentDiv = (v: bigint, p: bigint) => (v * BPS + p / 2n) / p;
const wadDiv = (a: bigint, b: bigint) => (a * WAD + b / 2n) / b;

type AccountData = { collateral: bigint; debt: bigint; available: bigint; lt: bigint; ltv: bigint; hf: bigint };

describe("aave-v3: dev market deploy", function () {
  this.timeout(180_000);
  let node: NodeHandle;
  let d: Deployment;
  const ADMIN = 0;
  const SUPPLIER = 1;
  const BORROWER = 2;
  const LIQUIDATOR = 3;
  const EMODE_USER = 4;
  const addr = (i: number) => node.wallet(i).account.address.toLowerCase() as Hex20;
  const asset = (symbol: string) => d.assets.find((a) => a.symbol === symbol)!;
  const spec = (symbol: string) => AAVE_MARKET.assets.find((a) => a.symbol === symbol)!;

  async function tx(i: number, address: Address, abi: Abi, functionName: string, args: unknown[]): Promise<TransactionReceipt> {
    const w = node.wallet(i);
    // A fixed gas limit: an estimate taken in the same second as a reserve's last update skips the interest accrual
    // the mined transaction (a second later) performs, and runs out of gas (as common/actions.ts says for the own pool).
    const hash = await w.writeContract({ address, abi, functionName, args, account: w.account, chain: w.chain, gas: 3_000_000n });
    const receipt = await node.publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status, `${functionName} by #${i}`).to.equal("success");
    return receipt;
  }
  const read = async <T>(address: Address, abi: Abi, functionName: string, args: unknown[], blockNumber?: bigint): Promise<T> =>
    (await node.publicClient.readContract({ address, abi, functionName, args, blockNumber })) as T;

  async function mint(to: number, symbol: string, amount: string): Promise<bigint> {
    const value = parseUnits(amount, asset(symbol).decimals);
    await tx(ADMIN, asset(symbol).address, mintableErc20Abi, "mint", [addr(to), value]);
    return value;
  }
  async function supply(i: number, symbol: string, amount: string): Promise<bigint> {
    const value = await mint(i, symbol, amount);
    await tx(i, asset(symbol).address, mintableErc20Abi, "approve", [d.pool, value]);
    await tx(i, d.pool, poolAbi, "supply", [asset(symbol).address, value, addr(i), 0]);
    return value;
  }

  async function accountData(i: number, blockNumber: bigint): Promise<AccountData> {
    const [collateral, debt, available, lt, ltv, hf] = await read<readonly bigint[]>(d.pool, poolAbi, "getUserAccountData", [addr(i)], blockNumber);
    return { collateral: collateral!, debt: debt!, available: available!, lt: lt!, ltv: ltv!, hf: hf! };
  }

  /** calculateUserAccountData of V3.0.x over the user's token balances and the oracle's prices at one block. */
  async function expectedAccountData(i: number, blockNumber: bigint, eMode = 0): Promise<AccountData> {
    const prices = await read<readonly bigint[]>(d.oracle, aaveOracleAbi, "getAssetsPrices", [d.assets.map((a) => a.address)], blockNumber);
    const category = AAVE_MARKET.eModeCategories.find((c) => c.id === eMode);
    let collateral = 0n;
    let debt = 0n;
    let weightedLt = 0n;
    let weightedLtv = 0n;
    for (const [k, a] of d.assets.entries()) {
      const s = spec(a.symbol);
      const unit = 10n ** BigInt(a.decimals);
      const inCategory = category !== undefined && s.eModeCategory === category.id;
      const supplied = await read<bigint>(a.aToken!, aTokenAbi, "balanceOf", [addr(i)], blockNumber);
      const borrowed = await read<bigint>(a.variableDebtToken!, aTokenAbi, "balanceOf", [addr(i)], blockNumber);
      // every supply here is a first supply with LTV ≠ 0: the collateral bit is set
      const value = (supplied * prices[k]!) / unit;
      collateral += value;
      weightedLt += value * BigInt(inCategory ? category.liquidationThresholdBps : s.liquidationThresholdBps);
      weightedLtv += value * BigInt(inCategory ? category.ltvBps : s.ltvBps);
      debt += (borrowed * prices[k]!) / unit;
    }
    const lt = collateral === 0n ? 0n : weightedLt / collateral;
    const ltv = collateral === 0n ? 0n : weightedLtv / collateral;
    const hf = debt === 0n ? maxUint256 : wadDiv(percentMul(collateral, lt), debt);
    const limit = percentMul(collateral, ltv);
    return { collateral, debt, available: limit > debt ? limit - debt : 0n, lt, ltv, hf };
  }

  async function expectExact(i: number, eMode = 0): Promise<AccountData> {
    const block = await node.publicClient.getBlockNumber();
    const got = await accountData(i, block);
    expect(got, `account #${i} at block ${block}`).to.deep.equal(await expectedAccountData(i, block, eMode));
    return got;
  }

  before(async () => {
    node = await startHardhatNode(PORT);
    const publicClient = node.publicClient;
    const nonce0 = await publicClient.getTransactionCount({ address: addr(ADMIN) });
    const t0 = performance.now();
    d = await deployAaveMarket({ publicClient, walletClient: node.wallet(ADMIN) });
    const ms = performance.now() - t0;
    const txs = (await publicClient.getTransactionCount({ address: addr(ADMIN) })) - nonce0;
    console.log(`      aave-v3 market deployed: ${txs} transactions in ${ms.toFixed(0)} ms`);
  });
  after(async () => node?.stop());

  it("linkBytecode writes the library address at every reference and refuses a missing library", () => {
    const lib = "0x00000000000000000000000000000000000000aa";
    const linked = linkBytecode(flashLoanLogicBytecode, flashLoanLogicLinkReferences, { BorrowLogic: lib });
    expect(linked.length).to.equal(flashLoanLogicBytecode.length);
    expect(linked.includes("__$")).to.equal(false);
    for (const { start } of flashLoanLogicLinkReferences["contracts/protocol/libraries/logic/BorrowLogic.sol"].BorrowLogic) {
      expect(linked.slice(2 + start * 2, 2 + start * 2 + 40)).to.equal(lib.slice(2));
    }
    expect(() => linkBytecode(flashLoanLogicBytecode, flashLoanLogicLinkReferences, {})).to.throw(/no address for library BorrowLogic/);
  });

  it("records the market: Pool proxy, AaveOracle, the addresses provider's contracts, four reserves with their tokens", async () => {
    expect(d.protocol).to.equal("aave-v3");
    expect(d.chainId).to.equal(31337);
    expect(d.assets.map((a) => a.symbol)).to.deep.equal(["WETH", "WBTC", "USDC", "DAI"]);
    const provider = d.addressesProvider!;
    const pa = { address: provider, abi: poolAddressesProviderAbi } as const;
    expect((await node.publicClient.readContract({ ...pa, functionName: "getPool" })).toLowerCase()).to.equal(d.pool);
    expect((await node.publicClient.readContract({ ...pa, functionName: "getPriceOracle" })).toLowerCase()).to.equal(d.oracle);
    expect((await node.publicClient.readContract({ ...pa, functionName: "getPoolConfigurator" })).toLowerCase()).to.equal(d.poolConfigurator);
    expect((await node.publicClient.readContract({ ...pa, functionName: "getPoolDataProvider" })).toLowerCase()).to.equal(d.dataProvider);
    expect(await read<bigint>(d.pool, poolAbi, "POOL_REVISION", [])).to.equal(1n);
    const reserves = await read<readonly Address[]>(d.pool, poolAbi, "getReservesList", []);
    expect(reserves.map((r) => r.toLowerCase())).to.deep.equal(d.assets.map((a) => a.address));
    for (const a of d.assets) {
      const s = spec(a.symbol);
      expect(a.feedDecimals).to.equal(8);
      expect(a.feedKind).to.equal("silent");
      expect(a.heartbeat).to.equal(s.heartbeat);
      const [decimals, ltv, lt, bonus, rf, collateral, borrowing, stable, active, frozen] = await read<readonly unknown[]>(
        d.dataProvider!,
        aaveProtocolDataProviderAbi,
        "getReserveConfigurationData",
        [a.address],
      );
      expect([decimals, ltv, lt, bonus, rf], a.symbol).to.deep.equal(
        [a.decimals, s.ltvBps, s.liquidationThresholdBps, s.liquidationBonusBps, s.reserveFactorBps].map(BigInt),
      );
      expect([collateral, borrowing, stable, active, frozen], a.symbol).to.deep.equal([true, true, false, true, false]);
      expect(await read<boolean>(d.dataProvider!, aaveProtocolDataProviderAbi, "getFlashLoanEnabled", [a.address]), a.symbol).to.equal(true);
      expect(await read<bigint>(d.dataProvider!, aaveProtocolDataProviderAbi, "getLiquidationProtocolFee", [a.address])).to.equal(
        BigInt(s.liquidationProtocolFeeBps),
      );
      expect(await read<bigint>(d.dataProvider!, aaveProtocolDataProviderAbi, "getReserveEModeCategory", [a.address])).to.equal(
        BigInt(s.eModeCategory),
      );
    }
    const category = await read<{ ltv: number; liquidationThreshold: number; liquidationBonus: number; label: string }>(
      d.pool,
      poolAbi,
      "getEModeCategoryData",
      [STABLECOIN_EMODE],
    );
    expect([category.ltv, category.liquidationThreshold, category.liquidationBonus, category.label]).to.deep.equal([
      9300,
      9500,
      10100,
      "Stablecoins",
    ]);
  });

  it("the configurator's ReserveInitialized logs name the aToken, debt tokens and strategy the deployment records", async () => {
    const logs = await node.publicClient.getContractEvents({
      address: d.poolConfigurator!,
      abi: poolConfiguratorAbi,
      eventName: "ReserveInitialized",
      fromBlock: BigInt(d.startBlock),
    });
    expect(logs.length).to.equal(4);
    const got = logs.map((l) =>
      [l.args.asset, l.args.aToken, l.args.stableDebtToken, l.args.variableDebtToken, l.args.interestRateStrategyAddress].map((x) =>
        x!.toLowerCase(),
      ),
    );
    expect(got).to.deep.equal(d.assets.map((a) => [a.address, a.aToken, a.stableDebtToken, a.variableDebtToken, a.rateModel]));
    for (const a of d.assets) {
      expect(await read<string>(a.aToken!, aTokenAbi, "symbol", [])).to.equal(`a${a.symbol}`);
      expect((await read<Address>(a.aToken!, aTokenAbi, "UNDERLYING_ASSET_ADDRESS", [])).toLowerCase()).to.equal(a.address);
    }
  });

  it("AaveOracle.getAssetsPrices returns the feeds' answers", async () => {
    const prices = await read<readonly bigint[]>(d.oracle, aaveOracleAbi, "getAssetsPrices", [d.assets.map((a) => a.address)]);
    const answers = await Promise.all(d.assets.map((a) => read<bigint>(a.feed, mockV3AggregatorAbi, "latestAnswer", [])));
    expect(prices).to.deep.equal(answers);
    expect(prices).to.deep.equal(AAVE_MARKET.assets.map((s) => parseUnits(s.priceUsd, 8)));
    for (const a of d.assets) {
      expect((await read<Address>(d.oracle, aaveOracleAbi, "getSourceOfAsset", [a.address])).toLowerCase()).to.equal(a.feed);
      const [, answer] = await read<readonly bigint[]>(a.feed, mockV3AggregatorAbi, "latestRoundData", []);
      expect(answer).to.equal(await read<bigint>(a.feed, mockV3AggregatorAbi, "latestAnswer", []));
    }
  });

  it("two users supply: collateral = amount · price, the reserve's LTV and LT, no debt", async () => {
    await supply(SUPPLIER, "USDC", "1000000");
    const s = await expectExact(SUPPLIER);
    expect(s.collateral).to.equal(1_000_000n * 10n ** 8n);
    expect([s.lt, s.ltv, s.debt, s.hf]).to.deep.equal([8000n, 7700n, 0n, maxUint256]);

    const weth = await supply(BORROWER, "WETH", "10");
    const b = await expectExact(BORROWER);
    expect(b.collateral).to.equal((weth * 3000n * 10n ** 8n) / WAD);
    expect([b.lt, b.ltv, b.available]).to.deep.equal([8250n, 8000n, 24_000n * 10n ** 8n]);
  });

  it("a variable borrow (mode 2): debt = amount · price, HF = percentMul(collateral, LT) / debt > 1", async () => {
    const usdc = asset("USDC");
    await tx(BORROWER, d.pool, poolAbi, "borrow", [usdc.address, parseUnits("20000", 6), 2n, 0, addr(BORROWER)]);
    expect(await read<bigint>(usdc.variableDebtToken!, aTokenAbi, "balanceOf", [addr(BORROWER)])).to.equal(parseUnits("20000", 6));
    expect(await read<bigint>(usdc.stableDebtToken!, aTokenAbi, "balanceOf", [addr(BORROWER)])).to.equal(0n);
    const b = await expectExact(BORROWER);
    expect(b.debt).to.equal(20_000n * 10n ** 8n);
    expect(b.available).to.equal(4_000n * 10n ** 8n);
    expect(b.hf).to.equal(wadDiv(percentMul(30_000n * 10n ** 8n, 8250n), 20_000n * 10n ** 8n)); // 1.2375
  });

  it("time passes: the debt and the supplier's collateral grow; HF falls but stays above 1", async () => {
    const before = await expectExact(BORROWER);
    const supplierBefore = await expectExact(SUPPLIER);
    await node.rpc("evm_increaseTime", [30 * 86400]);
    await node.rpc("evm_mine");
    const after = await expectExact(BORROWER);
    const supplierAfter = await expectExact(SUPPLIER);
    expect(after.debt > before.debt, "debt accrued").to.equal(true);
    expect(after.hf < before.hf && after.hf > WAD).to.equal(true);
    expect(supplierAfter.collateral > supplierBefore.collateral, "supply income").to.equal(true);
  });

  it("a WETH price fall takes HF below 1; a third account's liquidationCall is sized as LiquidationLogic does", async () => {
    const weth = asset("WETH");
    const usdc = asset("USDC");
    await tx(ADMIN, weth.feed, mockV3AggregatorAbi, "updateAnswer", [parseUnits("2400", 8)]);
    const prices = await read<readonly bigint[]>(d.oracle, aaveOracleAbi, "getAssetsPrices", [[weth.address, usdc.address]]);
    expect(prices).to.deep.equal([parseUnits("2400", 8), parseUnits("1", 8)]);
    const before = await expectExact(BORROWER);
    expect(before.hf < WAD && before.hf > (WAD * 95n) / 100n, `HF ${before.hf} in (0.95, 1): close factor 50%`).to.equal(true);

    await mint(LIQUIDATOR, "USDC", "20000");
    await tx(LIQUIDATOR, usdc.address, mintableErc20Abi, "approve", [d.pool, maxUint256]);
    const collateralBefore = await read<bigint>(weth.aToken!, aTokenAbi, "balanceOf", [addr(BORROWER)]);
    const receipt = await tx(LIQUIDATOR, d.pool, poolAbi, "liquidationCall", [weth.address, usdc.address, addr(BORROWER), maxUint256, false]);
    const [event] = parseEventLogs({ abi: poolAbi, eventName: "LiquidationCall", logs: receipt.logs });
    expect(event, "LiquidationCall").to.not.equal(undefined);
    const { debtToCover, liquidatedCollateralAmount, liquidator, receiveAToken } = event!.args;
    expect([liquidator.toLowerCase(), receiveAToken]).to.deep.equal([addr(LIQUIDATOR), false]);

    // close factor 50% of the debt at the call (debt after + repaid, within the scaled burn's rounding)
    const debtAfter = await read<bigint>(usdc.variableDebtToken!, aTokenAbi, "balanceOf", [addr(BORROWER)], receipt.blockNumber);
    const debtAtCall = debtAfter + debtToCover;
    const closeFactorDiff = debtToCover - percentMul(debtAtCall, 5000n);
    expect(closeFactorDiff >= -1n && closeFactorDiff <= 1n, `repaid ${debtToCover} ≈ half of ${debtAtCall}`).to.equal(true);

    // _calculateAvailableCollateralToLiquidate: base value, bonus, protocol fee cut from the bonus
    const [wethPrice, usdcPrice] = prices as [bigint, bigint];
    const bonus = BigInt(spec("WETH").liquidationBonusBps);
    const base = (usdcPrice * debtToCover * WAD) / (wethPrice * 10n ** 6n);
    const collateralAmount = percentMul(base, bonus);
    expect(collateralAmount <= collateralBefore).to.equal(true);
    const fee = percentMul(collateralAmount - percentDiv(collateralAmount, bonus), BigInt(spec("WETH").liquidationProtocolFeeBps));
    expect(liquidatedCollateralAmount).to.equal(collateralAmount - fee);
    expect(await read<bigint>(weth.address, mintableErc20Abi, "balanceOf", [addr(LIQUIDATOR)])).to.equal(liquidatedCollateralAmount);
    const treasuryATokens = await read<bigint>(weth.aToken!, aTokenAbi, "balanceOf", [d.deployer]);
    expect(treasuryATokens >= fee - 1n && treasuryATokens <= fee + 1n, `treasury fee ${treasuryATokens} ≈ ${fee}`).to.equal(true);

    const after = await expectExact(BORROWER);
    expect(after.hf > before.hf, "HF recovers").to.equal(true);
    expect(after.debt < before.debt && after.collateral < before.collateral).to.equal(true);
  });

  it("a user sets the stablecoin eMode: LTV 93%, LT 95%, and borrows beyond the reserves' own LTV", async () => {
    await supply(EMODE_USER, "DAI", "10000");
    const plain = await expectExact(EMODE_USER);
    expect([plain.ltv, plain.lt]).to.deep.equal([7500n, 8000n]);
    const receipt = await tx(EMODE_USER, d.pool, poolAbi, "setUserEMode", [STABLECOIN_EMODE]);
    const [set] = parseEventLogs({ abi: poolAbi, eventName: "UserEModeSet", logs: receipt.logs });
    expect([set!.args.user.toLowerCase(), set!.args.categoryId]).to.deep.equal([addr(EMODE_USER), STABLECOIN_EMODE]);
    expect(await read<bigint>(d.pool, poolAbi, "getUserEMode", [addr(EMODE_USER)])).to.equal(BigInt(STABLECOIN_EMODE));
    const e = await expectExact(EMODE_USER, STABLECOIN_EMODE);
    expect([e.ltv, e.lt]).to.deep.equal([9300n, 9500n]);
    // 9,000 USDC on 10,000 DAI: above DAI's 75% LTV, within the category's 93%
    await tx(EMODE_USER, d.pool, poolAbi, "borrow", [asset("USDC").address, parseUnits("9000", 6), 2n, 0, addr(EMODE_USER)]);
    const b = await expectExact(EMODE_USER, STABLECOIN_EMODE);
    expect(b.hf > WAD && b.hf < wadDiv(percentMul(10_000n, 9500n), 9000n) + 1n).to.equal(true);
  });
});
