// Deploys a real Aave V3.0.x market from @aave/core-v3's artifacts with viem, in the order of ../shared/AAVE-V3.md:
// addresses provider → ACL → libraries → Pool (proxy) → configurator (proxy) → data provider → tokens and feeds →
// AaveOracle → token implementations → rate strategies → initReserves → risk parameters → eMode. Returns the
// deployment record (its `protocol` is "aave-v3"; `pool` is the Pool proxy, `oracle` the AaveOracle).
import type { Abi, Hex } from "viem";
import type { Deployment, Hex20 } from "../../common/deployment";
import { parseUnitsExact } from "../../common/units";
import { deployContract, send, type SendOptions } from "../../common/wallet";
import {
  aTokenAbi,
  aaveOracleAbi,
  aaveProtocolDataProviderAbi,
  aclManagerAbi,
  borrowLogicAbi,
  bridgeLogicAbi,
  configuratorLogicAbi,
  defaultReserveInterestRateStrategyAbi,
  eModeLogicAbi,
  flashLoanLogicAbi,
  liquidationLogicAbi,
  mintableErc20Abi,
  mockV3AggregatorAbi,
  poolAbi,
  poolAddressesProviderAbi,
  poolConfiguratorAbi,
  poolLogicAbi,
  stableDebtTokenAbi,
  supplyLogicAbi,
  variableDebtTokenAbi,
} from "./generated/abis";
import {
  aTokenBytecode,
  aaveOracleBytecode,
  aaveProtocolDataProviderBytecode,
  aclManagerBytecode,
  borrowLogicBytecode,
  bridgeLogicBytecode,
  configuratorLogicBytecode,
  defaultReserveInterestRateStrategyBytecode,
  eModeLogicBytecode,
  flashLoanLogicBytecode,
  flashLoanLogicLinkReferences,
  liquidationLogicBytecode,
  mintableErc20Bytecode,
  mockV3AggregatorBytecode,
  poolAddressesProviderBytecode,
  poolBytecode,
  poolConfiguratorBytecode,
  poolConfiguratorLinkReferences,
  poolLinkReferences,
  poolLogicBytecode,
  stableDebtTokenBytecode,
  supplyLogicBytecode,
  variableDebtTokenBytecode,
} from "./generated/bytecode";
import { AAVE_MARKET, type AaveAssetSpec, type AaveMarketSpec } from "./market";

/** Hardhat artifact linkReferences: source file → library name → byte ranges holding its placeholder. */
export type LinkReferences = Readonly<Record<string, Readonly<Record<string, ReadonlyArray<{ readonly start: number; readonly length: number }>>>>>;

/**
 * Links libraries into creation bytecode: writes each library's 20-byte address at every `start` of its
 * linkReferences (byte offsets into the code after "0x"). Every reference must have an address, and no placeholder
 * (`__$…$__`) may remain.
 */
export function linkBytecode(bytecode: string, refs: LinkReferences, libraries: Readonly<Record<string, Hex20>>): Hex {
  let code = bytecode.slice(2);
  for (const file of Object.keys(refs)) {
    for (const [name, ranges] of Object.entries(refs[file]!)) {
      const lib = libraries[name];
      if (!lib) throw new Error(`linkBytecode: no address for library ${name} (${file})`);
      for (const { start, length } of ranges) {
        if (length !== 20) throw new Error(`linkBytecode: ${name} reference of ${length} bytes`);
        const at = start * 2;
        if (!code.startsWith("__$", at)) throw new Error(`linkBytecode: no placeholder for ${name} at byte ${start}`);
        code = code.slice(0, at) + lib.slice(2).toLowerCase() + code.slice(at + 40);
      }
    }
  }
  if (code.includes("__$")) throw new Error("linkBytecode: an unlinked library placeholder remains");
  return `0x${code}`;
}

export interface AaveDeployOptions extends SendOptions {
  market?: AaveMarketSpec;
  /** receives the reserve factor's share and the liquidation protocol fee (default: the deployer) */
  treasury?: Hex20;
}

const RAY_DECIMALS = 27;

function strategyArgs(provider: Hex20, s: AaveAssetSpec["rateStrategy"]): unknown[] {
  return [
    provider,
    ...[
      s.optimalUsageRatio,
      s.baseVariableBorrowRate,
      s.variableRateSlope1,
      s.variableRateSlope2,
      s.stableRateSlope1,
      s.stableRateSlope2,
      s.baseStableRateOffset,
      s.stableRateExcessOffset,
      s.optimalStableToTotalDebtRatio,
    ].map((v) => parseUnitsExact(v, RAY_DECIMALS)),
  ];
}

export async function deployAaveMarket(o: AaveDeployOptions): Promise<Deployment> {
  const market = o.market ?? AAVE_MARKET;
  const owner = o.walletClient.account.address.toLowerCase() as Hex20;
  const treasury = o.treasury ?? owner;
  const startBlock = Number(await o.publicClient.getBlockNumber()) + 1;
  const read = async <T>(address: Hex20, abi: Abi, functionName: string, args: unknown[] = []): Promise<T> =>
    (await o.publicClient.readContract({ address, abi, functionName, args })) as T;

  // Addresses provider and access control: the deployer is the ACL admin and the pool admin.
  const provider = await deployContract(o, poolAddressesProviderAbi, poolAddressesProviderBytecode, [market.marketId, owner]);
  await send(o, provider, poolAddressesProviderAbi, "setACLAdmin", [owner]);
  const aclManager = await deployContract(o, aclManagerAbi, aclManagerBytecode, [provider]);
  await send(o, provider, poolAddressesProviderAbi, "setACLManager", [aclManager]);
  await send(o, aclManager, aclManagerAbi, "addPoolAdmin", [owner]);

  // Libraries (FlashLoanLogic links BorrowLogic), then Pool and PoolConfigurator behind the provider's proxies.
  const borrowLogic = await deployContract(o, borrowLogicAbi, borrowLogicBytecode, []);
  const libraries: Record<string, Hex20> = {
    BorrowLogic: borrowLogic,
    BridgeLogic: await deployContract(o, bridgeLogicAbi, bridgeLogicBytecode, []),
    EModeLogic: await deployContract(o, eModeLogicAbi, eModeLogicBytecode, []),
    FlashLoanLogic: await deployContract(
      o,
      flashLoanLogicAbi,
      linkBytecode(flashLoanLogicBytecode, flashLoanLogicLinkReferences, { BorrowLogic: borrowLogic }),
      [],
    ),
    LiquidationLogic: await deployContract(o, liquidationLogicAbi, liquidationLogicBytecode, []),
    PoolLogic: await deployContract(o, poolLogicAbi, poolLogicBytecode, []),
    SupplyLogic: await deployContract(o, supplyLogicAbi, supplyLogicBytecode, []),
    ConfiguratorLogic: await deployContract(o, configuratorLogicAbi, configuratorLogicBytecode, []),
  };
  const poolImpl = await deployContract(o, poolAbi, linkBytecode(poolBytecode, poolLinkReferences, libraries), [provider]);
  await send(o, provider, poolAddressesProviderAbi, "setPoolImpl", [poolImpl]);
  const pool = (await read<Hex20>(provider, poolAddressesProviderAbi, "getPool")).toLowerCase() as Hex20;
  const configuratorImpl = await deployContract(
    o,
    poolConfiguratorAbi,
    linkBytecode(poolConfiguratorBytecode, poolConfiguratorLinkReferences, libraries),
    [],
  );
  await send(o, provider, poolAddressesProviderAbi, "setPoolConfiguratorImpl", [configuratorImpl]);
  const configurator = (await read<Hex20>(provider, poolAddressesProviderAbi, "getPoolConfigurator")).toLowerCase() as Hex20;
  const dataProvider = await deployContract(o, aaveProtocolDataProviderAbi, aaveProtocolDataProviderBytecode, [provider]);
  await send(o, provider, poolAddressesProviderAbi, "setPoolDataProvider", [dataProvider]);

  // Underlying tokens and their feeds; AaveOracle over them (no fallback oracle, USD base currency of unit 1e8).
  const tokens: Hex20[] = [];
  const feeds: Hex20[] = [];
  for (const spec of market.assets) {
    if (spec.feedDecimals !== 8) throw new Error(`${spec.symbol}: AaveOracle prices in 8-decimal USD; its feed must have 8 decimals`);
    tokens.push(await deployContract(o, mintableErc20Abi, mintableErc20Bytecode, [spec.name, spec.symbol, spec.decimals]));
    feeds.push(
      await deployContract(o, mockV3AggregatorAbi, mockV3AggregatorBytecode, [spec.feedDecimals, parseUnitsExact(spec.priceUsd, spec.feedDecimals)]),
    );
  }
  const zero = "0x0000000000000000000000000000000000000000";
  const oracle = await deployContract(o, aaveOracleAbi, aaveOracleBytecode, [provider, tokens, feeds, zero, zero, 10n ** 8n]);
  await send(o, provider, poolAddressesProviderAbi, "setPriceOracle", [oracle]);

  // Token implementations (bound to the Pool proxy) and one rate strategy per reserve; then the reserves, two per
  // call (Hardhat's per-transaction gas cap makes eth_estimateGas fail for 3+).
  const aTokenImpl = await deployContract(o, aTokenAbi, aTokenBytecode, [pool]);
  const stableDebtImpl = await deployContract(o, stableDebtTokenAbi, stableDebtTokenBytecode, [pool]);
  const variableDebtImpl = await deployContract(o, variableDebtTokenAbi, variableDebtTokenBytecode, [pool]);
  const strategies: Hex20[] = [];
  for (const spec of market.assets) {
    strategies.push(
      await deployContract(
        o,
        defaultReserveInterestRateStrategyAbi,
        defaultReserveInterestRateStrategyBytecode,
        strategyArgs(provider, spec.rateStrategy),
      ),
    );
  }
  const inputs = market.assets.map((spec, i) => ({
    aTokenImpl,
    stableDebtTokenImpl: stableDebtImpl,
    variableDebtTokenImpl: variableDebtImpl,
    underlyingAssetDecimals: spec.decimals,
    interestRateStrategyAddress: strategies[i]!,
    underlyingAsset: tokens[i]!,
    treasury,
    incentivesController: zero,
    aTokenName: `Aave ${spec.symbol}`,
    aTokenSymbol: `a${spec.symbol}`,
    variableDebtTokenName: `Aave Variable Debt ${spec.symbol}`,
    variableDebtTokenSymbol: `variableDebt${spec.symbol}`,
    stableDebtTokenName: `Aave Stable Debt ${spec.symbol}`,
    stableDebtTokenSymbol: `stableDebt${spec.symbol}`,
    params: "0x" as Hex,
  }));
  for (let i = 0; i < inputs.length; i += 2) await send(o, configurator, poolConfiguratorAbi, "initReserves", [inputs.slice(i, i + 2)]);

  // Risk parameters: collateral, variable borrowing (stable borrowing stays off), reserve factor, liquidation
  // protocol fee, flash loans.
  for (const [i, spec] of market.assets.entries()) {
    const asset = tokens[i]!;
    await send(o, configurator, poolConfiguratorAbi, "configureReserveAsCollateral", [
      asset,
      BigInt(spec.ltvBps),
      BigInt(spec.liquidationThresholdBps),
      BigInt(spec.liquidationBonusBps),
    ]);
    await send(o, configurator, poolConfiguratorAbi, "setReserveBorrowing", [asset, true]);
    await send(o, configurator, poolConfiguratorAbi, "setReserveFactor", [asset, BigInt(spec.reserveFactorBps)]);
    await send(o, configurator, poolConfiguratorAbi, "setLiquidationProtocolFee", [asset, BigInt(spec.liquidationProtocolFeeBps)]);
    await send(o, configurator, poolConfiguratorAbi, "setReserveFlashLoaning", [asset, true]);
  }

  // Flash-loan premiums (the Pool's initial ones are 0).
  if (market.flashLoanPremiumTotalBps)
    await send(o, configurator, poolConfiguratorAbi, "updateFlashloanPremiumTotal", [BigInt(market.flashLoanPremiumTotalBps)]);
  if (market.flashLoanPremiumToProtocolBps) {
    await send(o, configurator, poolConfiguratorAbi, "updateFlashloanPremiumToProtocol", [BigInt(market.flashLoanPremiumToProtocolBps)]);
  }

  // eMode categories (no category price source: the oracle's prices), then their assets.
  for (const c of market.eModeCategories) {
    await send(o, configurator, poolConfiguratorAbi, "setEModeCategory", [
      c.id,
      c.ltvBps,
      c.liquidationThresholdBps,
      c.liquidationBonusBps,
      zero,
      c.label,
    ]);
  }
  for (const [i, spec] of market.assets.entries()) {
    if (spec.eModeCategory !== 0) await send(o, configurator, poolConfiguratorAbi, "setAssetEModeCategory", [tokens[i]!, spec.eModeCategory]);
  }

  const assets: Deployment["assets"] = [];
  for (const [i, spec] of market.assets.entries()) {
    const reserve = await read<{ aTokenAddress: Hex20; stableDebtTokenAddress: Hex20; variableDebtTokenAddress: Hex20 }>(
      pool,
      poolAbi,
      "getReserveData",
      [tokens[i]!],
    );
    assets.push({
      symbol: spec.symbol,
      address: tokens[i]!,
      decimals: spec.decimals,
      feed: feeds[i]!,
      feedDecimals: spec.feedDecimals,
      feedKind: "silent",
      heartbeat: spec.heartbeat,
      rateModel: strategies[i]!,
      aToken: reserve.aTokenAddress.toLowerCase() as Hex20,
      stableDebtToken: reserve.stableDebtTokenAddress.toLowerCase() as Hex20,
      variableDebtToken: reserve.variableDebtTokenAddress.toLowerCase() as Hex20,
    });
  }

  return {
    protocol: "aave-v3",
    chainId: await o.publicClient.getChainId(),
    startBlock,
    deployer: owner,
    pool,
    oracle,
    sequencerUptimeFeed: null,
    addressesProvider: provider,
    poolConfigurator: configurator,
    dataProvider,
    deployedAt: new Date().toISOString(),
    assets,
  };
}
