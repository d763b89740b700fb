// The keeper's view of a MarginPool market: re-check, snapshot, sizing, the liquidate() call and its outcome.
import { parseEventLogs, type Log } from "viem";
import type { KeeperPublicClient } from "../../keeper/chain/clients";
import type { Address, LiquidationAdapter, LiquidationVenue } from "../types";
import { errorsAbi, LOST_RACE_ERRORS, PRICE_ERRORS } from "./errors";
import { marginPoolAbi, priceOracleAbi } from "./generated/abis";
import { planLiquidation } from "./plan";
import { readAccountSnapshot, readHealthFactor } from "./snapshot";

async function connect(pc: KeeperPublicClient, d: { pool: Address }): Promise<LiquidationVenue> {
  const pool = d.pool;
  const [oracle, assets] = await Promise.all([
    pc.readContract({ address: pool, abi: marginPoolAbi, functionName: "oracle" }),
    pc.readContract({ address: pool, abi: marginPoolAbi, functionName: "getAssets" }),
  ]);
  const reader = { publicClient: pc, pool, oracle, assets };
  return {
    assets,
    spender: pool,
    healthFactor: (account, blockNumber) => readHealthFactor(reader, account, blockNumber),
    snapshot: (account, keeper, blockNumber) => readAccountSnapshot(reader, account, keeper, blockNumber),
    plan: (s, available) => planLiquidation(s, available),
    call: (account, plan) => ({
      address: pool,
      abi: marginPoolAbi,
      functionName: "liquidate",
      args: [account, plan.collateralAsset, plan.debtAsset, plan.repayArgument] as const,
    }),
    simulated: (result) => {
      const [repaid, seized] = result as readonly [bigint, bigint];
      return { repaid, seized };
    },
    outcome: (logs: readonly Log[]) => {
      const [event] = parseEventLogs({ abi: marginPoolAbi, eventName: "Liquidation", logs: [...logs] });
      return event ? { debtRepaid: event.args.debtRepaid, collateralSeized: event.args.collateralSeized } : null;
    },
    liquidationsOf: async (account, fromBlock, toBlock) => {
      const events = await pc.getContractEvents({
        address: pool,
        abi: marginPoolAbi,
        eventName: "Liquidation",
        args: { borrower: account },
        fromBlock,
        toBlock,
      });
      return events.map((e) => ({ liquidator: e.args.liquidator as Address, transactionHash: e.transactionHash }));
    },
    feedOf: async (asset) => (await pc.readContract({ address: oracle, abi: priceOracleAbi, functionName: "getFeed", args: [asset] })).aggregator,
  };
}

export const liquidation: LiquidationAdapter = { connect, errorsAbi, priceErrors: PRICE_ERRORS, lostRaceErrors: LOST_RACE_ERRORS };
