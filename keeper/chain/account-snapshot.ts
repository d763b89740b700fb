// Reads, at one pinned block, everything needed to size a liquidation of one account: positions, reserves, prices.
import type { Address } from "../job";
import { erc20Abi } from "viem";
import { marginPoolAbi, priceOracleAbi } from "../../common/generated/abis";
import type { KeeperPublicClient } from "./clients";

/** One asset the account holds (collateral, debt or both), with the values the pool would use at `blockNumber`. */
export interface HeldAsset {
  asset: Address;
  decimals: number;
  unit: bigint;
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
  liquidationBonusBps: bigint;
  /** 8-decimal USD, PriceOracle.getAssetPrice */
  price: bigint;
  liquidityIndex: bigint;
  borrowIndex: bigint;
  scaledCollateral: bigint;
  scaledDebt: bigint;
  /** current collateral, rounded down, as the pool's liquidate computes it */
  collateral: bigint;
  /** current debt, rounded up */
  debt: bigint;
  /** the pool's cash in this asset: seizing more would revert InsufficientLiquidity */
  cash: bigint;
}

export interface AccountSnapshot {
  blockNumber: bigint;
  account: Address;
  /** WAD, MarginPool.healthFactor at blockNumber */
  healthFactor: bigint;
  assets: HeldAsset[];
  /** the keeper's balance of every asset the account owes */
  keeperBalances: Map<Address, bigint>;
}

export interface SnapshotReader {
  publicClient: KeeperPublicClient;
  pool: Address;
  oracle: Address;
  /** listed assets, in pool order */
  assets: readonly Address[];
}

/** MarginPool.healthFactor at a block; reverts (stale price, …) propagate as viem errors. */
export function readHealthFactor(r: SnapshotReader, account: Address, blockNumber: bigint): Promise<bigint> {
  return r.publicClient.readContract({ address: r.pool, abi: marginPoolAbi, functionName: "healthFactor", args: [account], blockNumber });
}

export async function readAccountSnapshot(r: SnapshotReader, account: Address, keeper: Address, blockNumber: bigint): Promise<AccountSnapshot> {
  const pc = r.publicClient;
  const healthFactor = await readHealthFactor(r, account, blockNumber);
  const positions = await Promise.all(
    r.assets.map((asset) =>
      pc.readContract({ address: r.pool, abi: marginPoolAbi, functionName: "getPosition", args: [account, asset], blockNumber }),
    ),
  );
  const held = r.assets.map((asset, i) => ({ asset, position: positions[i]! })).filter(({ position: [sc, sd] }) => sc !== 0n || sd !== 0n);
  const assets = await Promise.all(
    held.map(async ({ asset, position: [scaledCollateral, scaledDebt, collateral, debt] }): Promise<HeldAsset> => {
      const [config, reserve, price] = await Promise.all([
        pc.readContract({ address: r.pool, abi: marginPoolAbi, functionName: "getAssetConfig", args: [asset], blockNumber }),
        pc.readContract({ address: r.pool, abi: marginPoolAbi, functionName: "getReserveData", args: [asset], blockNumber }),
        pc.readContract({ address: r.oracle, abi: priceOracleAbi, functionName: "getAssetPrice", args: [asset], blockNumber }),
      ]);
      return {
        asset,
        decimals: config.decimals,
        unit: 10n ** BigInt(config.decimals),
        ltvBps: BigInt(config.ltvBps),
        liquidationThresholdBps: BigInt(config.liquidationThresholdBps),
        liquidationBonusBps: BigInt(config.liquidationBonusBps),
        price,
        liquidityIndex: reserve.liquidityIndex,
        borrowIndex: reserve.borrowIndex,
        scaledCollateral,
        scaledDebt,
        collateral,
        debt,
        cash: reserve.cash,
      };
    }),
  );
  const debtAssets = assets.filter((a) => a.debt !== 0n).map((a) => a.asset);
  const balances = await Promise.all(
    debtAssets.map((asset) => pc.readContract({ address: asset, abi: erc20Abi, functionName: "balanceOf", args: [keeper], blockNumber })),
  );
  return { blockNumber, account, healthFactor, assets, keeperBalances: new Map(debtAssets.map((a, i) => [a, balances[i]!])) };
}
