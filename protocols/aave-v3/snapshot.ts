// Reads from an Aave V3.0.x Pool, at one pinned block, everything LiquidationLogic.executeLiquidationCall's sizing
// uses for one account: its account data (HF), configuration bitmap (collateral bits), eMode category and that
// category's bonus and price source, every reserve's configuration bitmap (LT, bonus, decimals, protocol fee, flags),
// the account's aToken / debt token balances, the reserves' normalized income and debt, AaveOracle prices, each
// aToken's underlying cash and the keeper's balances. All reads of one phase go out together (Promise.all of
// readContract at the same blockNumber: a batching transport packs them; no multicall contract is needed).
import { erc20Abi } from "viem";
import type { KeeperPublicClient } from "../../keeper/chain/clients";
import type { AccountSnapshot, Address, HeldAsset } from "../types";
import { aTokenAbi, aaveOracleAbi, poolAbi, variableDebtTokenAbi } from "./generated/abis";

/** A listed reserve and its tokens, read once at connect time (they never change for a reserve). */
export interface ReserveInfo {
  asset: Address;
  /** the reserve's id: its bit pair in a user's configuration bitmap */
  id: number;
  aToken: Address;
  variableDebtToken: Address;
  stableDebtToken: Address;
}

export interface SnapshotReader {
  publicClient: KeeperPublicClient;
  pool: Address;
  oracle: Address;
  /** listed reserves, in the pool's order (getReservesList) */
  reserves: readonly ReserveInfo[];
}

/** One held asset with what Aave's liquidation needs beyond the neutral fields. */
export interface AaveHeldAsset extends HeldAsset {
  reserveId: number;
  aToken: Address;
  /** the account's collateral bit for this reserve (getUserConfiguration) */
  collateralEnabled: boolean;
  /** Aave's form of the reserve's bonus (10500 = 105%); `liquidationBonusBps` holds the neutral 500 */
  bonusFactorBps: bigint;
  /** share of the bonus that goes to the treasury, bps */
  liquidationProtocolFeeBps: bigint;
  /** the reserve's eMode category (0 = none) */
  eModeCategory: number;
  active: boolean;
  paused: boolean;
}

/** The account's eMode category as the liquidation reads it. */
export interface AaveCategory {
  id: number;
  /** Aave's form (10100 = 101%) */
  bonusFactorBps: bigint;
  /** the category's price source, zero address when none */
  priceSource: Address;
  /** AaveOracle's price of the price source (8-decimal USD), null when the category has none */
  sourcePrice: bigint | null;
}

export interface AaveAccountSnapshot extends AccountSnapshot {
  assets: AaveHeldAsset[];
  /** the account's eMode category, null when it uses none */
  category: AaveCategory | null;
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as Address;

/** ReserveConfiguration's bit layout (V3.0.x). */
export function decodeReserveConfiguration(data: bigint) {
  const bits = (start: bigint, width: bigint) => (data >> start) & ((1n << width) - 1n);
  return {
    ltvBps: bits(0n, 16n),
    liquidationThresholdBps: bits(16n, 16n),
    bonusFactorBps: bits(32n, 16n),
    decimals: Number(bits(48n, 8n)),
    active: bits(56n, 1n) === 1n,
    frozen: bits(57n, 1n) === 1n,
    paused: bits(60n, 1n) === 1n,
    liquidationProtocolFeeBps: bits(152n, 16n),
    eModeCategory: Number(bits(168n, 8n)),
  };
}

/** UserConfiguration: the collateral bit of reserve `id` (bit 2·id + 1). */
export const usesAsCollateral = (userConfig: bigint, id: number): boolean => ((userConfig >> BigInt(id * 2 + 1)) & 1n) === 1n;

/** Pool.getUserAccountData(account).healthFactor at a block. V3.0 never reverts it for a price (no staleness check). */
export async function readHealthFactor(r: SnapshotReader, account: Address, blockNumber: bigint): Promise<bigint> {
  const data = await r.publicClient.readContract({ address: r.pool, abi: poolAbi, functionName: "getUserAccountData", args: [account], blockNumber });
  return data[5];
}

export async function readAccountSnapshot(r: SnapshotReader, account: Address, keeper: Address, blockNumber: bigint): Promise<AaveAccountSnapshot> {
  const pc = r.publicClient;
  const at = { blockNumber } as const;
  const pool = { address: r.pool, abi: poolAbi } as const;
  const assets = r.reserves.map((x) => x.asset);
  // Phase 1: the account, the reserves, prices, balances.
  const [accountData, userConfig, eMode, prices, perReserve] = await Promise.all([
    pc.readContract({ ...pool, functionName: "getUserAccountData", args: [account], ...at }),
    pc.readContract({ ...pool, functionName: "getUserConfiguration", args: [account], ...at }),
    pc.readContract({ ...pool, functionName: "getUserEMode", args: [account], ...at }),
    pc.readContract({ address: r.oracle, abi: aaveOracleAbi, functionName: "getAssetsPrices", args: [assets], ...at }),
    Promise.all(
      r.reserves.map((x) =>
        Promise.all([
          pc.readContract({ address: x.aToken, abi: aTokenAbi, functionName: "balanceOf", args: [account], ...at }),
          pc.readContract({ address: x.aToken, abi: aTokenAbi, functionName: "scaledBalanceOf", args: [account], ...at }),
          pc.readContract({ address: x.variableDebtToken, abi: variableDebtTokenAbi, functionName: "balanceOf", args: [account], ...at }),
          pc.readContract({ address: x.variableDebtToken, abi: variableDebtTokenAbi, functionName: "scaledBalanceOf", args: [account], ...at }),
          pc.readContract({ address: x.stableDebtToken, abi: erc20Abi, functionName: "balanceOf", args: [account], ...at }),
          pc.readContract({ ...pool, functionName: "getConfiguration", args: [x.asset], ...at }),
          pc.readContract({ ...pool, functionName: "getReserveNormalizedIncome", args: [x.asset], ...at }),
          pc.readContract({ ...pool, functionName: "getReserveNormalizedVariableDebt", args: [x.asset], ...at }),
          pc.readContract({ address: x.asset, abi: erc20Abi, functionName: "balanceOf", args: [x.aToken], ...at }),
        ]),
      ),
    ),
  ]);
  const held: AaveHeldAsset[] = [];
  r.reserves.forEach((x, i) => {
    const [collateral, scaledCollateral, variableDebt, scaledDebt, stableDebt, config, liquidityIndex, borrowIndex, cash] = perReserve[i]!;
    const debt = variableDebt + stableDebt;
    if (collateral === 0n && debt === 0n) return;
    const c = decodeReserveConfiguration(config.data);
    held.push({
      asset: x.asset,
      decimals: c.decimals,
      unit: 10n ** BigInt(c.decimals),
      ltvBps: c.ltvBps,
      liquidationThresholdBps: c.liquidationThresholdBps,
      liquidationBonusBps: c.bonusFactorBps > 10_000n ? c.bonusFactorBps - 10_000n : 0n,
      price: prices[i]!,
      liquidityIndex,
      borrowIndex,
      scaledCollateral,
      scaledDebt,
      collateral,
      debt,
      cash,
      reserveId: x.id,
      aToken: x.aToken,
      collateralEnabled: usesAsCollateral(userConfig.data, x.id),
      bonusFactorBps: c.bonusFactorBps,
      liquidationProtocolFeeBps: c.liquidationProtocolFeeBps,
      eModeCategory: c.eModeCategory,
      active: c.active,
      paused: c.paused,
    });
  });
  // Phase 2: the account's eMode category and its price source; the keeper's balance of every debt asset.
  const categoryId = Number(eMode);
  const debtAssets = held.filter((a) => a.debt !== 0n).map((a) => a.asset);
  const [category, balances] = await Promise.all([
    categoryId === 0 ? null : readCategory(r, categoryId, blockNumber),
    Promise.all(debtAssets.map((asset) => pc.readContract({ address: asset, abi: erc20Abi, functionName: "balanceOf", args: [keeper], ...at }))),
  ]);
  return {
    blockNumber,
    account,
    healthFactor: accountData[5],
    assets: held,
    keeperBalances: new Map(debtAssets.map((a, i) => [a, balances[i]!])),
    category,
  };
}

async function readCategory(r: SnapshotReader, id: number, blockNumber: bigint): Promise<AaveCategory> {
  const pc = r.publicClient;
  const data = await pc.readContract({ address: r.pool, abi: poolAbi, functionName: "getEModeCategoryData", args: [id], blockNumber });
  const priceSource = data.priceSource.toLowerCase() as Address;
  const sourcePrice =
    priceSource === ZERO_ADDRESS
      ? null
      : await pc.readContract({ address: r.oracle, abi: aaveOracleAbi, functionName: "getAssetPrice", args: [priceSource], blockNumber });
  return { id, bonusFactorBps: BigInt(data.liquidationBonus), priceSource, sourcePrice };
}
