// The keeper's view of an Aave V3.0.x market: re-check (getUserAccountData), snapshot, sizing, the liquidationCall
// and its outcome (the LiquidationCall log: V3.0's liquidationCall returns nothing).
import { parseEventLogs, type Log } from "viem";
import type { KeeperPublicClient } from "../../keeper/chain/clients";
import type { Address, LiquidationAdapter, LiquidationVenue, VenueOptions } from "../types";
import { errorsAbi, LOST_RACE_ERRORS, PRICE_ERRORS } from "./errors";
import { aaveOracleAbi, poolAbi, poolAddressesProviderAbi } from "./generated/abis";
import { planLiquidation, type AaveLiquidationPlan } from "./plan";
import { readAccountSnapshot, readHealthFactor, type AaveAccountSnapshot, type ReserveInfo, type SnapshotReader } from "./snapshot";

const lower = (a: string) => a.toLowerCase() as Address;

/** The Pool's reserves and their tokens, and the AaveOracle the addresses provider names, read now. */
export async function connectReader(pc: KeeperPublicClient, pool: Address): Promise<SnapshotReader> {
  const [list, provider] = await Promise.all([
    pc.readContract({ address: pool, abi: poolAbi, functionName: "getReservesList" }),
    pc.readContract({ address: pool, abi: poolAbi, functionName: "ADDRESSES_PROVIDER" }),
  ]);
  const [oracle, data] = await Promise.all([
    pc.readContract({ address: provider, abi: poolAddressesProviderAbi, functionName: "getPriceOracle" }),
    Promise.all(list.map((asset) => pc.readContract({ address: pool, abi: poolAbi, functionName: "getReserveData", args: [asset] }))),
  ]);
  const reserves: ReserveInfo[] = list.map((asset, i) => ({
    asset: lower(asset),
    id: data[i]!.id,
    aToken: lower(data[i]!.aTokenAddress),
    variableDebtToken: lower(data[i]!.variableDebtTokenAddress),
    stableDebtToken: lower(data[i]!.stableDebtTokenAddress),
  }));
  return { publicClient: pc, pool: lower(pool), oracle: lower(oracle), reserves };
}

async function connect(pc: KeeperPublicClient, d: { pool: Address }, options: VenueOptions = {}): Promise<LiquidationVenue> {
  const reader = await connectReader(pc, d.pool);
  const pool = reader.pool;
  const receiveAToken = options.receiveInterestBearing ?? false;
  return {
    assets: reader.reserves.map((r) => r.asset),
    spender: pool,
    healthFactor: (account, blockNumber) => readHealthFactor(reader, account, blockNumber),
    snapshot: (account, keeper, blockNumber) => readAccountSnapshot(reader, account, keeper, blockNumber),
    // The plan gets back the snapshot this venue returned.
    plan: (s, available) => planLiquidation(s as AaveAccountSnapshot, available, { receiveAToken }),
    call: (account, plan) => ({
      address: pool,
      abi: poolAbi,
      functionName: "liquidationCall",
      args: [
        plan.collateralAsset,
        plan.debtAsset,
        account,
        plan.repayArgument,
        (plan as Partial<AaveLiquidationPlan>).receiveAToken ?? receiveAToken,
      ] as const,
    }),
    // liquidationCall returns nothing: the keeper uses the plan's amounts, and `outcome` reads the mined ones.
    simulated: () => null,
    outcome: (logs: readonly Log[]) => {
      const mine = logs.filter((l) => l.address.toLowerCase() === pool);
      const [event] = parseEventLogs({ abi: poolAbi, eventName: "LiquidationCall", logs: mine });
      return event ? { debtRepaid: event.args.debtToCover, collateralSeized: event.args.liquidatedCollateralAmount } : null;
    },
    liquidationsOf: async (account, fromBlock, toBlock) => {
      const events = await pc.getContractEvents({
        address: pool,
        abi: poolAbi,
        eventName: "LiquidationCall",
        args: { user: account },
        fromBlock,
        toBlock,
      });
      return events.map((e) => ({ liquidator: lower(e.args.liquidator!), transactionHash: e.transactionHash }));
    },
    feedOf: async (asset) =>
      lower(await pc.readContract({ address: reader.oracle, abi: aaveOracleAbi, functionName: "getSourceOfAsset", args: [asset] })),
  };
}

export const liquidation: LiquidationAdapter = { connect, errorsAbi, priceErrors: PRICE_ERRORS, lostRaceErrors: LOST_RACE_ERRORS };
