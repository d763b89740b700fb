// Outcome rows: one per finished job attempt, written to the Store and mirrored in the job's return value.
import type { Hex } from "viem";
import type { KeeperOutcome, KeeperOutcomeKind, Store } from "../indexer/store/types";
import type { Address, LiquidationJobResult } from "./job";

/** failedReason prefix of jobs that failed only because the protocol could not price an asset (producer retries them). */
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
export async function recordOutcome(store: Store, jobId: string, account: Address, f: OutcomeFields): Promise<LiquidationJobResult> {
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
  return {
    outcome: row.outcome,
    transactionHash: row.transactionHash,
    collateralAsset: row.collateralAsset,
    debtAsset: row.debtAsset,
    repayAmount: row.repayAmount === null ? null : row.repayAmount.toString(),
    expectedProfitBase: row.expectedProfitBase === null ? null : row.expectedProfitBase.toString(),
    reason: row.reason,
  };
}
