// Decodes raw logs of the pool, the oracle and the feeds into a typed union the state applies in order.
import { decodeEventLog, type Log } from "viem";
import { MarginwatchError } from "../../common/errors";
import { emittingAggregatorAbi, marginPoolAbi, priceOracleAbi } from "../../common/generated/abis";

export type Address = `0x${string}`;

/** Where an event sits on chain; the order (block, logIndex) is the order state applies them. */
export interface EventMeta {
  blockNumber: bigint;
  blockHash: `0x${string}`;
  logIndex: number;
  transactionHash: `0x${string}`;
  /** the emitting contract, lower-case */
  address: Address;
}

type PoolEvent<N extends string, A> = { source: "pool"; eventName: N; args: A; meta: EventMeta };

export type ChainEvent =
  | PoolEvent<"AssetListed", { asset: Address; decimals: number; rateModel: Address }>
  | PoolEvent<
      "RiskParamsSet",
      { asset: Address; ltvBps: bigint; liquidationThresholdBps: bigint; liquidationBonusBps: bigint; reserveFactorBps: bigint }
    >
  | PoolEvent<"RateModelSet", { asset: Address; rateModel: Address }>
  | PoolEvent<
      "ReserveDataUpdated",
      { asset: Address; liquidityRate: bigint; borrowRate: bigint; liquidityIndex: bigint; borrowIndex: bigint; timestamp: bigint }
    >
  | PoolEvent<"Deposit", { asset: Address; account: Address; caller: Address; amount: bigint; scaledAmount: bigint; liquidityIndex: bigint }>
  | PoolEvent<"Withdraw", { asset: Address; account: Address; to: Address; amount: bigint; scaledAmount: bigint; liquidityIndex: bigint }>
  | PoolEvent<"Borrow", { asset: Address; account: Address; amount: bigint; scaledAmount: bigint; borrowIndex: bigint }>
  | PoolEvent<"Repay", { asset: Address; account: Address; payer: Address; amount: bigint; scaledAmount: bigint; borrowIndex: bigint }>
  | PoolEvent<
      "Liquidation",
      {
        borrower: Address;
        liquidator: Address;
        collateralAsset: Address;
        debtAsset: Address;
        debtRepaid: bigint;
        debtScaledBurned: bigint;
        collateralSeized: bigint;
        collateralScaledBurned: bigint;
      }
    >
  | PoolEvent<"BadDebtWrittenOff", { account: Address; asset: Address; amount: bigint; scaledAmount: bigint; reserveDeficit: bigint }>
  | { source: "oracle"; eventName: "FeedSet"; args: { asset: Address; aggregator: Address; heartbeat: bigint; decimals: number }; meta: EventMeta }
  | { source: "oracle"; eventName: "SequencerUptimeFeedSet"; args: { feed: Address; gracePeriod: bigint }; meta: EventMeta }
  | { source: "feed"; eventName: "AnswerUpdated"; args: { current: bigint; roundId: bigint; updatedAt: bigint }; meta: EventMeta };

const POOL_EVENTS = new Set([
  "AssetListed",
  "RiskParamsSet",
  "RateModelSet",
  "ReserveDataUpdated",
  "Deposit",
  "Withdraw",
  "Borrow",
  "Repay",
  "Liquidation",
  "BadDebtWrittenOff",
]);

/** Thrown for a log that claims to come from a watched contract but does not decode: logged, then skipped. */
export class MalformedLogError extends MarginwatchError {
  constructor(
    readonly log: Pick<Log, "address" | "blockNumber" | "logIndex" | "transactionHash">,
    reason: string,
  ) {
    super(`malformed log: ${reason}`, { message: `malformed log from ${log.address} at block ${log.blockNumber} index ${log.logIndex}: ${reason}` });
  }
}

const lower = (a: string): Address => a.toLowerCase() as Address;

/** The account whose position a pool event changes; null for events that change no position. */
export function accountOfEvent(e: ChainEvent): Address | null {
  if (e.source !== "pool") return null;
  switch (e.eventName) {
    case "Deposit":
    case "Withdraw":
    case "Borrow":
    case "Repay":
    case "BadDebtWrittenOff":
      return e.args.account;
    case "Liquidation":
      return e.args.borrower;
    default:
      return null;
  }
}

function lowerArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k] = typeof v === "string" && v.startsWith("0x") && v.length === 42 ? lower(v) : v;
  return out;
}

/**
 * Decodes one log. `kind` says which contract family the address belongs to. Returns null for an event of a
 * known contract that marginwatch does not use (e.g. NewRound, ERC20 Transfer); throws MalformedLogError when
 * the log cannot be decoded at all.
 */
export function decodeLog(log: Log, kind: "pool" | "oracle" | "feed"): ChainEvent | null {
  if (log.blockNumber == null || log.logIndex == null || log.blockHash == null || log.transactionHash == null) {
    throw new MalformedLogError(log, "pending log (no block number, hash or index)");
  }
  const abi = kind === "pool" ? marginPoolAbi : kind === "oracle" ? priceOracleAbi : emittingAggregatorAbi;
  let decoded: { eventName: string; args: unknown };
  try {
    decoded = decodeEventLog({ abi, data: log.data, topics: log.topics, strict: true }) as never;
  } catch (e) {
    // An unknown topic0 of a known contract is fine (events we do not track); anything else is malformed.
    const msg = (e as Error).message;
    if (/AbiEventSignatureNotFoundError|Encoded event signature .* not found/i.test(`${(e as Error).name} ${msg}`)) return null;
    throw new MalformedLogError(log, (e as { shortMessage?: string }).shortMessage ?? msg.split("\n")[0]!);
  }
  const meta: EventMeta = {
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    logIndex: log.logIndex,
    transactionHash: log.transactionHash,
    address: lower(log.address),
  };
  const args = lowerArgs(decoded.args as Record<string, unknown>);
  if (kind === "pool" && POOL_EVENTS.has(decoded.eventName)) return { source: "pool", eventName: decoded.eventName, args, meta } as ChainEvent;
  if (kind === "oracle" && (decoded.eventName === "FeedSet" || decoded.eventName === "SequencerUptimeFeedSet")) {
    return { source: "oracle", eventName: decoded.eventName, args, meta } as ChainEvent;
  }
  if (kind === "feed" && decoded.eventName === "AnswerUpdated") return { source: "feed", eventName: "AnswerUpdated", args, meta } as ChainEvent;
  return null;
}

export function compareEvents(a: { meta: EventMeta }, b: { meta: EventMeta }): number {
  if (a.meta.blockNumber !== b.meta.blockNumber) return a.meta.blockNumber < b.meta.blockNumber ? -1 : 1;
  return a.meta.logIndex - b.meta.logIndex;
}
