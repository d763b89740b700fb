// Gas pricing in USD: fees from the node (capped), the native token's price from a Chainlink feed, cost = gas × fee × price.
import { mulDivDown, mulDivUp, normalisePrice } from "../common/math";
import { aggregatorV3Abi } from "../common/generated/chainlink";
import type { KeeperPublicClient } from "./chain/clients";
import type { Address } from "./job";

const NATIVE_UNIT = 10n ** 18n;

export interface FeeQuote {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** EIP-1559 fees as the node suggests them, with maxFeePerGas capped and the tip never above the cap. */
export async function quoteFees(pc: KeeperPublicClient, maxFeePerGasCap: bigint): Promise<FeeQuote> {
  const fees = await pc.estimateFeesPerGas({ type: "eip1559", chain: null });
  const maxFeePerGas = fees.maxFeePerGas < maxFeePerGasCap ? fees.maxFeePerGas : maxFeePerGasCap;
  const maxPriorityFeePerGas = fees.maxPriorityFeePerGas < maxFeePerGas ? fees.maxPriorityFeePerGas : maxFeePerGas;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/**
 * The native token's USD price (8 decimals) straight from its aggregator's latestRoundData. Deliberately without
 * the oracle's staleness check: a price an hour old is good enough to price gas, and a stale ETH feed must not
 * stop liquidations of accounts that do not hold ETH.
 */
export async function readNativePrice(pc: KeeperPublicClient, feed: Address): Promise<bigint> {
  const [decimals, round] = await Promise.all([
    pc.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "decimals" }),
    pc.readContract({ address: feed, abi: aggregatorV3Abi, functionName: "latestRoundData" }),
  ]);
  const answer = round[1];
  if (answer <= 0n) throw new Error(`native price feed ${feed} answered ${answer}`);
  return normalisePrice(answer, decimals);
}

/** USD (8 decimals, rounded up: cost never flatters profit) of `gas` units at `feePerGas` wei. */
export const gasCostBase = (gas: bigint, feePerGas: bigint, nativePriceBase: bigint): bigint =>
  mulDivUp(gas * feePerGas, nativePriceBase, NATIVE_UNIT);

/** The most wei that may be spent on gas for a USD budget (8 decimals), rounded down. */
export const weiForBudget = (budgetBase: bigint, nativePriceBase: bigint): bigint =>
  budgetBase <= 0n ? 0n : mulDivDown(budgetBase, NATIVE_UNIT, nativePriceBase);
