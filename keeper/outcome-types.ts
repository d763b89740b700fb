// What the keeper records about every finished job, and the one thing it needs from a store to record it. The keeper
// owns these types; the indexer's store implements OutcomeRecorder (and lists the rows for the API).

/** Every outcome a job can end with ("price-unavailable": the protocol could not price an asset; nothing was sent). */
export const KEEPER_OUTCOMES = [
  "liquidated",
  "skipped-unprofitable",
  "already-healthy",
  "lost-race",
  "reverted",
  "failed",
  "dry-run",
  "price-unavailable",
] as const;

export type KeeperOutcomeKind = (typeof KEEPER_OUTCOMES)[number];

export interface KeeperOutcome {
  jobId: string;
  account: `0x${string}`;
  outcome: KeeperOutcomeKind;
  collateralAsset: `0x${string}` | null;
  debtAsset: `0x${string}` | null;
  repayAmount: bigint | null;
  /** estimated profit in USD (8 decimals), bonus value minus gas */
  expectedProfitBase: bigint | null;
  transactionHash: `0x${string}` | null;
  blockNumber: bigint | null;
  gasUsed: bigint | null;
  reason: string | null;
  createdAt: Date;
}

/** Where outcome rows go: the only store access the liquidation pipeline has. */
export interface OutcomeRecorder {
  recordKeeperOutcome(o: KeeperOutcome): Promise<void>;
}
