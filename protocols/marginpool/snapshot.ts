// Reads from MarginPool, at one pinned block, everything needed to size a liquidation of one account: positions,
// reserves, prices.
import { erc20Abi } from "viem";
import type { KeeperPublicClient } from "../../keeper/chain/clients";
import type { AccountSnapshot, Address, HeldAsset } from "../types";
import { marginPoolAbi, priceOracleAbi } from "./generated/abis";

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
