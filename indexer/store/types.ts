// The storage contract shared by the PGlite and PostgreSQL back-ends (same SQL on both).
import type { Alert, AlertStateRow } from "../alerts/types";
import type { KeeperOutcome, KeeperOutcomeKind } from "../../keeper/outcome-types";
import type { Address } from "../state/events";
import type { AssetState, CategoryConfig, FeedConfig, Position, SequencerConfig } from "../state/state";

export type Hex = `0x${string}`;
export type { Alert, AlertStateRow };

/** A block the sync engine has processed and may still see reorged away. */
export interface BlockRef {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
}

/** Where the indexer stands: written in the same transaction as the state it describes. */
export interface Checkpoint {
  /** last block whose events are fully applied */
  blockNumber: bigint;
  blockHash: Hex;
  /** ProtocolState.finalizedBlock at that moment */
  finalizedBlock: bigint;
  /** ProtocolState.dumpJournal(): undo data of unfinalised blocks */
  journal: string;
  /** unfinalised blocks, oldest first (hash chain for reorg detection after a restart) */
  recentBlocks: BlockRef[];
  /** ProtocolState.digest() at blockNumber */
  digest: string;
}

export interface PositionRow extends Position {
  account: Address;
  asset: Address;
}

export interface LiquidationRecord {
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
  timestamp: bigint | null;
  borrower: Address;
  liquidator: Address;
  collateralAsset: Address;
  debtAsset: Address;
  debtRepaid: bigint;
  collateralSeized: bigint;
}

export interface BadDebtRecord {
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
  account: Address;
  asset: Address;
  amount: bigint;
  reserveDeficit: bigint;
}

export interface OracleRound {
  asset: Address;
  feed: Address;
  roundId: bigint;
  answer: bigint;
  /** 8-decimal USD, or null when the answer is invalid (≤ 0) */
  price: bigint | null;
  updatedAt: bigint;
  /** block at which marginwatch first saw this round */
  blockNumber: bigint;
}

/** The health engine's view of one account, persisted for the API and restarts. */
export interface AccountHealthRow {
  account: Address;
  /** WAD; null when unknown (stale or invalid price); MAX_UINT256 with no debt */
  healthFactor: bigint | null;
  status: "healthy" | "warning" | "liquidatable" | "unknown";
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  blockNumber: bigint;
}

// The keeper owns its outcome rows (keeper/outcome-types.ts); the store implements its OutcomeRecorder.
export type { KeeperOutcome, KeeperOutcomeKind } from "../../keeper/outcome-types";

export interface RiskSnapshot {
  blockNumber: bigint;
  timestamp: bigint;
  /** JSON document of aggregates (HF buckets, totals by asset, bad debt) */
  payload: unknown;
}

/** Everything one sync batch changed, written in one transaction. */
export interface BatchWrite {
  checkpoint: Checkpoint;
  /**
   * when set, rows of liquidations / bad debt / oracle rounds / risk snapshots / account health history above this
   * block are deleted first (reorg)
   */
  rollbackTo?: bigint;
  assets: AssetState[];
  feeds: FeedConfig[];
  /** positions to upsert; a position with both balances zero is deleted */
  positions: PositionRow[];
  /** undefined = unchanged */
  sequencer?: SequencerConfig | null;
  liquidations: LiquidationRecord[];
  badDebt: BadDebtRecord[];
  oracleRounds: OracleRound[];
  /** upserted into account_health (the latest row per account) and appended to account_health_history */
  accountHealth: AccountHealthRow[];
  /** assets removed by a reorg that undid their listing (ProtocolState.rollbackTo deleted them) */
  deletedAssets?: Address[];
  /** feeds removed by a reorg that undid their first FeedSet */
  deletedFeeds?: Address[];
  /** accounts whose health rows no longer apply (e.g. a reorg undid their only position) */
  deletedAccountHealth?: Address[];
  /** efficiency-mode categories configured (upserted by id) */
  categories?: CategoryConfig[];
  /** categories a reorg undid */
  deletedCategories?: number[];
  /** accounts' category choices; category 0 deletes the row */
  accountCategories?: Array<{ account: Address; category: number }>;
  /** contracts found in logs (upserted by address) */
  contracts?: Array<{ address: Address; family: string }>;
  /** contracts whose finding a reorg undid */
  deletedContracts?: Address[];
  /**
   * alerts the policy decided for this batch (the outbox), delivered later by the dispatcher; an id already stored
   * is left as it is. Never deleted by rollbackTo: an alert once decided is history.
   */
  alertOutbox?: Alert[];
  /** alert policy state rows changed by this batch (upserted by key) */
  alertState?: AlertStateRow[];
}

/** An alert as the outbox holds it. */
export interface StoredAlert {
  alert: Alert;
  /** when the batch that decided it was committed */
  createdAt: Date;
  /** when the dispatcher handed it to the queue and webhooks; null while pending */
  deliveredAt: Date | null;
}

export interface LoadedState {
  checkpoint: Checkpoint | null;
  assets: AssetState[];
  feeds: FeedConfig[];
  positions: PositionRow[];
  sequencer: SequencerConfig | null;
  categories: CategoryConfig[];
  accountCategories: Array<{ account: Address; category: number }>;
  contracts: Array<{ address: Address; family: string }>;
}

export interface Page {
  limit: number;
  offset: number;
}

/** A page of a block-ordered history: inclusive block bounds and the direction (default newest first). */
export interface BlockRangePage extends Page {
  fromBlock?: bigint;
  toBlock?: bigint;
  order?: "asc" | "desc";
}

export interface Store {
  readonly kind: "pglite" | "postgres";
  /** creates tables if missing; idempotent */
  migrate(): Promise<void>;
  commitBatch(batch: BatchWrite): Promise<void>;
  loadState(): Promise<LoadedState>;
  listLiquidations(page: Page & { account?: Address }): Promise<LiquidationRecord[]>;
  listBadDebt(page: Page & { account?: Address }): Promise<BadDebtRecord[]>;
  listOracleRounds(asset: Address, page: Page): Promise<OracleRound[]>;
  recordKeeperOutcome(o: KeeperOutcome): Promise<void>;
  listKeeperOutcomes(page: Page & { account?: Address; outcome?: KeeperOutcomeKind }): Promise<KeeperOutcome[]>;
  insertRiskSnapshot(s: RiskSnapshot): Promise<void>;
  latestRiskSnapshot(): Promise<RiskSnapshot | null>;
  /** newest block first */
  listRiskSnapshots(page: Page): Promise<RiskSnapshot[]>;
  /** snapshots with fromBlock ≤ blockNumber ≤ toBlock, newest first unless order is "asc" */
  listRiskSnapshotRange(page: BlockRangePage): Promise<RiskSnapshot[]>;
  /** one account's row as the indexer last wrote it (the at-risk list itself is ranked by the health engine) */
  getAccountHealth(account: Address): Promise<AccountHealthRow | null>;
  /**
   * One account's health rows as every batch wrote them (one per block at most, the batch's last), within the
   * block bounds, newest first unless order is "asc". A reorg deletes the rows above its common ancestor.
   */
  listAccountHealthHistory(account: Address, page: BlockRangePage): Promise<AccountHealthRow[]>;
  /** every alert key's policy state, by key */
  loadAlertState(): Promise<AlertStateRow[]>;
  /** undelivered outbox alerts, oldest first (the order they were committed in) */
  pendingAlerts(limit: number): Promise<Alert[]>;
  /** marks outbox alerts delivered; unknown or already delivered ids are ignored */
  markAlertsDelivered(ids: readonly string[]): Promise<void>;
  /** outbox alerts, delivered or not, newest first */
  listAlerts(page: Page): Promise<StoredAlert[]>;
  /** deletes everything (tests, `--reset`) */
  reset(): Promise<void>;
  close(): Promise<void>;
}
