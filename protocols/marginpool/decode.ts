// MarginPool, PriceOracle and feed logs → protocol-neutral changes (indexer/state/changes.ts).
import { decodeEventLog, type Log } from "viem";
import type { Change } from "../../indexer/state/changes";
import { type Address, isUnknownEvent, lowerArgs, MalformedLogError, metaOf } from "../../indexer/state/events";
import { emittingAggregatorAbi, marginPoolAbi, priceOracleAbi } from "./generated/abis";

/** The contract families of a MarginPool market: the pool, its PriceOracle and the Chainlink aggregators it reads. */
export type Family = "pool" | "oracle" | "feed";

const ABIS = { pool: marginPoolAbi, oracle: priceOracleAbi, feed: emittingAggregatorAbi } as const;

/** Decodes one log; [] for an event marginwatch does not use (NewRound, AnswerUpdated: prices are read per block). */
export function decodeLog(log: Log, family: string): Change[] {
  const meta = metaOf(log);
  const abi = ABIS[family as Family];
  if (!abi) throw new MalformedLogError(log, `no contract family "${family}" in a MarginPool market`);
  let decoded: { eventName: string; args: Record<string, unknown> };
  try {
    decoded = decodeEventLog({ abi, data: log.data, topics: log.topics, strict: true }) as never;
  } catch (e) {
    if (isUnknownEvent(e)) return [];
    throw new MalformedLogError(log, (e as { shortMessage?: string }).shortMessage ?? (e as Error).message.split("\n")[0]!);
  }
  // biome-ignore lint/suspicious/noExplicitAny: each case reads the fields its event declares (checked by decodeEventLog)
  const a = lowerArgs(decoded.args) as any;
  if (family === "oracle") {
    if (decoded.eventName === "FeedSet")
      return [{ kind: "feed-set", asset: a.asset, aggregator: a.aggregator, heartbeat: a.heartbeat, decimals: a.decimals, meta }];
    if (decoded.eventName === "SequencerUptimeFeedSet") return [{ kind: "sequencer-set", feed: a.feed, gracePeriod: a.gracePeriod, meta }];
    return [];
  }
  if (family !== "pool") return [];
  switch (decoded.eventName) {
    case "AssetListed":
      return [{ kind: "reserve-listed", asset: a.asset, decimals: a.decimals, rateModel: a.rateModel, meta }];
    case "RiskParamsSet":
      return [
        {
          kind: "reserve-params",
          asset: a.asset,
          ltvBps: a.ltvBps,
          liquidationThresholdBps: a.liquidationThresholdBps,
          liquidationBonusBps: a.liquidationBonusBps,
          reserveFactorBps: a.reserveFactorBps,
          meta,
        },
      ];
    case "RateModelSet":
      return [{ kind: "reserve-rate-model", asset: a.asset, rateModel: a.rateModel, meta }];
    case "ReserveDataUpdated":
      return [
        {
          kind: "reserve-indexes",
          asset: a.asset,
          liquidityRate: a.liquidityRate,
          borrowRate: a.borrowRate,
          liquidityIndex: a.liquidityIndex,
          borrowIndex: a.borrowIndex,
          timestamp: a.timestamp,
          meta,
        },
      ];
    case "Deposit":
      return [{ kind: "collateral", account: a.account, asset: a.asset, scaledDelta: a.scaledAmount, meta }];
    case "Withdraw":
      return [{ kind: "collateral", account: a.account, asset: a.asset, scaledDelta: -(a.scaledAmount as bigint), meta }];
    case "Borrow":
      return [{ kind: "debt", account: a.account, asset: a.asset, scaledDelta: a.scaledAmount, meta }];
    case "Repay":
      return [{ kind: "debt", account: a.account, asset: a.asset, scaledDelta: -(a.scaledAmount as bigint), meta }];
    case "Liquidation":
      // The pool burns the debt, then the collateral: state applies them in that order.
      return [
        { kind: "debt", account: a.borrower, asset: a.debtAsset, scaledDelta: -(a.debtScaledBurned as bigint), meta },
        { kind: "collateral", account: a.borrower, asset: a.collateralAsset, scaledDelta: -(a.collateralScaledBurned as bigint), meta },
        {
          kind: "liquidation",
          borrower: a.borrower,
          liquidator: a.liquidator,
          collateralAsset: a.collateralAsset,
          debtAsset: a.debtAsset,
          debtRepaid: a.debtRepaid,
          collateralSeized: a.collateralSeized,
          meta,
        },
      ];
    case "BadDebtWrittenOff":
      return [
        {
          kind: "debt",
          account: a.account,
          asset: a.asset,
          scaledDelta: -(a.scaledAmount as bigint),
          // A zero deficit in the event leaves the reserve's recorded one as it was.
          ...(a.reserveDeficit !== 0n ? { deficit: a.reserveDeficit } : {}),
          meta,
        },
        { kind: "bad-debt", account: a.account, asset: a.asset, amount: a.amount, reserveDeficit: a.reserveDeficit, meta },
      ];
    default:
      return [];
  }
}

/** Feeds named by FeedSet: their aggregators join the watch set (their logs in the same range are fetched too). */
export function discoverFeeds(changes: readonly Change[]): Array<{ address: Address; family: Family }> {
  return changes.flatMap((c) => (c.kind === "feed-set" ? [{ address: c.aggregator, family: "feed" as const }] : []));
}
