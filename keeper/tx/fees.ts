// Replacement fee arithmetic (pure): bump both EIP-1559 fees by at least the nodes' minimum, within caps.
import type { FeeQuote } from "../gas";

/** Raises `x` by `bps` (rounded up) and at least 1 wei, so a +12.5% rule is always met exactly or more. */
export const bumpBy = (x: bigint, bps: bigint): bigint => {
  const bumped = (x * (10_000n + bps) + 9_999n) / 10_000n;
  return bumped > x ? bumped : x + 1n;
};

export interface BumpLimits {
  /** bps per replacement (≥ 1250) */
  bumpBps: bigint;
  /** absolute cap on maxFeePerGas */
  maxFeePerGasCap: bigint;
  /** gas limit of the transaction */
  gas: bigint;
  /** cap on gas × maxFeePerGas, wei: the replacement must not eat the expected profit */
  maxGasCostWei: bigint;
}

/** The next replacement's fees, or null when a full bump would break a cap (then the current version keeps waiting). */
export function nextReplacementFees(current: FeeQuote, limits: BumpLimits): FeeQuote | null {
  const maxFeePerGas = bumpBy(current.maxFeePerGas, limits.bumpBps);
  const maxPriorityFeePerGas = bumpBy(current.maxPriorityFeePerGas, limits.bumpBps);
  if (maxFeePerGas > limits.maxFeePerGasCap) return null;
  if (limits.gas * maxFeePerGas > limits.maxGasCostWei) return null;
  return { maxFeePerGas, maxPriorityFeePerGas: maxPriorityFeePerGas < maxFeePerGas ? maxPriorityFeePerGas : maxFeePerGas };
}
