// Outcome rows: one per finished job attempt, written to the Store and mirrored in the job's return value.
import type { Hex } from "viem";
import type { KeeperOutcome, KeeperOutcomeKind, OutcomeRecorder } from "./outcome-types";
import type { Address, LiquidationJobResult } from "./job";

/**
 * Outcome of a job that could not get a usable price (parked, then given up), and the failedReason prefix of jobs
 * that older keepers failed for the same reason; the producer re-runs both when the account is liquidatable again.
 */
export const PRICE_UNAVAILABLE = "price-unavailable";

export interface OutcomeFields {
  outcome: KeeperOutcomeKind;
  collateralAsset?: Address | null;
  debtAsset?: Address | null;
  repayAmount?: bigint | null;
  expectedProfitBase?: bigint | null;
  transactionHash?: Hex | null;
  blockNumber?: bigint | null;
  gasUsed?: bigint | null;
  reason?: string | null;
}

/** Writes the outcome row and returns the job result built from the same fields. */
export async function recordOutcome(store: OutcomeRecorder, jobId: string, account: Address, f: OutcomeFields): Promise<LiquidationJobResult> {
  const row: KeeperOutcome = {
    jobId,
    account,
    outcome: f.outcome,
    collateralAsset: f.collateralAsset ?? null,
    debtAsset: f.debtAsset ?? null,
    repayAmount: f.repayAmount ?? null,
    expectedProfitBase: f.expectedProfitBase ?? null,
    transactionHash: f.transactionHash ?? null,
    blockNumber: f.blockNumber ?? null,
    gasUsed: f.gasUsed ?? null,
    reason: f.reason ?? null,
    createdAt: new Date(),
  };
  await store.recordKeeperOutcome(row);
  return resultOf(f);
}

/** The job result for these fields, without writing a row (an episode whose row is already written). */
export function resultOf(f: OutcomeFields): LiquidationJobResult {
  return {
    outcome: f.outcome,
    transactionHash: f.transactionHash ?? null,
    collateralAsset: f.collateralAsset ?? null,
    debtAsset: f.debtAsset ?? null,
    repayAmount: f.repayAmount === undefined || f.repayAmount === null ? null : f.repayAmount.toString(),
    expectedProfitBase: f.expectedProfitBase === undefined || f.expectedProfitBase === null ? null : f.expectedProfitBase.toString(),
    reason: f.reason ?? null,
  };
}
