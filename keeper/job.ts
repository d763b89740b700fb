// The liquidation job: its deterministic id, its data (public facts only, never a secret) and its result.
import { z } from "zod";
import type { Hex } from "viem";
import type { KeeperOutcomeKind } from "./outcome-types";

export type Address = `0x${string}`;

/** BullMQ job name of every liquidation job. */
export const LIQUIDATION_JOB = "liquidate";

/**
 * One opportunity = one job id: the account, the block its liquidatable episode began and its position version.
 * BullMQ custom ids must not contain ':' nor be integers, hence the "liq-" prefix and '-' separators.
 */
export function liquidationJobId(account: Address, since: bigint, positionVersion: number): string {
  return `liq-${account.toLowerCase()}-${since}-${positionVersion}`;
}

const hex = z
  .string()
  .regex(/^0x[0-9a-fA-F]*$/)
  .transform((s) => s as Hex);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .transform((s) => s as Address);
const uint = z.string().regex(/^\d+$/);

/**
 * Write-ahead record of what this job broadcast, saved in the job before each broadcast so that a retry or a
 * worker that inherits the stalled job waits for these transactions instead of sending another.
 */
export const sentRecordSchema = z.object({
  nonce: z.number().int().nonnegative(),
  to: address,
  data: hex,
  gas: uint,
  /** every version broadcast at this nonce, oldest first */
  txs: z.array(z.object({ hash: hex, maxFeePerGas: uint, maxPriorityFeePerGas: uint, sentAt: z.number() })).min(1),
  /** ceiling on gas × maxFeePerGas for replacements (wei): keeps the expected profit ≥ the minimum */
  maxGasCostWei: uint,
  /** the plan the transaction executes, for the outcome row */
  collateralAsset: address,
  debtAsset: address,
  repayAmount: uint,
  expectedProfitBase: z.string().regex(/^-?\d+$/),
});
export type SentRecord = z.infer<typeof sentRecordSchema>;

/**
 * A job parked because the protocol could not price an asset (one parking episode): when it began, how many
 * re-checks since, and the last refusal. Cleared once the prices are usable again or the episode ends.
 */
export const parkedRecordSchema = z.object({
  /** ms since the epoch of the first refusal of this episode */
  since: z.number().int().nonnegative(),
  /** re-checks that found the price still unusable */
  count: z.number().int().nonnegative(),
  reason: z.string(),
});
export type ParkedRecord = z.infer<typeof parkedRecordSchema>;

export const liquidationJobDataSchema = z.object({
  account: address,
  /** health factor seen by the producer, WAD, decimal string */
  healthFactor: uint,
  blockNumber: uint,
  blockHash: hex,
  since: uint,
  positionVersion: z.number().int().nonnegative(),
  sent: sentRecordSchema.optional(),
  parked: parkedRecordSchema.optional(),
});
export type LiquidationJobData = z.input<typeof liquidationJobDataSchema>;

/** What a finished job returns (stored by BullMQ as the job's return value). */
export interface LiquidationJobResult {
  outcome: KeeperOutcomeKind;
  transactionHash: Hex | null;
  collateralAsset: Address | null;
  debtAsset: Address | null;
  repayAmount: string | null;
  expectedProfitBase: string | null;
  reason: string | null;
}
