// The Store written once on top of the Db adapter: batched writes in one transaction, exact bigint round trips.
import { KEEPER_OUTCOMES } from "../../keeper/outcome-types";
import type { Address } from "../state/events";
import { type AssetState, type CategoryConfig, type FeedConfig, isEmptyPosition, type SequencerConfig } from "../state/state";
import { SCHEMA_NAME, type Db, type SqlExecutor, type SqlParam } from "./db";
import { StoreDecodeError, StoreQueryError, StoreSchemaError, StoreWriteError } from "./errors";
import { DATA_TABLES, MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_DDL } from "./schema";
import type {
  AccountHealthRow,
  Alert,
  AlertStateRow,
  BadDebtRecord,
  BatchWrite,
  BlockRangePage,
  BlockRef,
  Checkpoint,
  Hex,
  KeeperOutcome,
  KeeperOutcomeKind,
  LiquidationRecord,
  LoadedState,
  OracleRound,
  Page,
  PositionRow,
  RiskSnapshot,
  Store,
  StoredAlert,
} from "./types";

/**
 * Rows per multi-row statement. Parameters are one array per column, so the statement count is
 * rows / CHUNK whatever the row count; the cap only bounds the size of one protocol message.
 */
export const WRITE_CHUNK = 5_000;
/** Largest page a query method returns. */
export const MAX_PAGE = 10_000;

// ---- codecs: bigint ⇄ decimal string, never through a JS number ----

const num = (v: bigint): string => v.toString();
const numOrNull = (v: bigint | null): string | null => (v === null ? null : v.toString());
const lower = <T extends string>(v: T): T => v.toLowerCase() as T;

function big(v: unknown, column: string): bigint {
  if (typeof v === "string") return BigInt(v);
  if (typeof v === "bigint") return v;
  throw new StoreDecodeError(`column ${column}: expected a decimal string, got ${typeof v} (${String(v)})`);
}
const bigOrNull = (v: unknown, column: string): bigint | null => (v === null || v === undefined ? null : big(v, column));
const int = (v: unknown, column: string): number => {
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) throw new StoreDecodeError(`column ${column}: expected an integer, got ${String(v)}`);
  return n;
};

/** JSON for JSONB columns: bigints become decimal strings instead of making JSON.stringify throw. */
const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

function checkPage(page: Page): void {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE) {
    throw new StoreQueryError(`page limit must be an integer from 1 to ${MAX_PAGE}, got ${page.limit}`);
  }
  if (!Number.isInteger(page.offset) || page.offset < 0) throw new StoreQueryError(`page offset must be a non-negative integer, got ${page.offset}`);
}

/** WHERE clauses for inclusive block bounds, numbering parameters after `params`. */
function blockRange(page: BlockRangePage, params: SqlParam[]): string[] {
  const where: string[] = [];
  for (const [bound, op] of [
    [page.fromBlock, ">="],
    [page.toBlock, "<="],
  ] as const) {
    if (bound === undefined) continue;
    if (bound < 0n) throw new StoreQueryError(`block bounds must be non-negative, got ${bound}`);
    params.push(num(bound));
    where.push(`block_number ${op} $${params.length}::bigint`);
  }
  return where;
}

function orderOf(page: BlockRangePage): "ASC" | "DESC" {
  if (page.order !== undefined && page.order !== "asc" && page.order !== "desc") {
    throw new StoreQueryError(`order must be "asc" or "desc", got "${String(page.order)}"`);
  }
  return page.order === "asc" ? "ASC" : "DESC";
}

function checkAddress(a: string, what: string): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw new StoreQueryError(`${what} must be a 20-byte hex address, got "${a}"`);
  return a.toLowerCase() as Address;
}

/** Keeps the last row per key: one multi-row upsert cannot touch the same row twice. */
function lastByKey<T>(rows: readonly T[], key: (r: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    m.delete(k); // re-insert so the surviving row keeps the position of its last occurrence
    m.set(k, r);
  }
  return [...m.values()];
}

/**
 * Runs `sql` once per chunk of rows with one array parameter per column ($1 = column 0, ...), the SQL
 * typically `INSERT ... SELECT * FROM unnest($1::text[], $2::numeric[], ...)`.
 */
async function bulk<T>(
  tx: SqlExecutor,
  sql: string,
  rows: readonly T[],
  columns: readonly ((r: T) => string | number | boolean | null)[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
    const slice = rows.slice(i, i + WRITE_CHUNK);
    await tx.query(
      sql,
      columns.map((col) => slice.map(col)),
    );
  }
}

// ---- row decoders ----

type Row = Record<string, unknown>;

function assetFromRow(r: Row): AssetState {
  return {
    address: r.address as Address,
    index: int(r.listing_index, "assets.listing_index"),
    decimals: int(r.decimals, "assets.decimals"),
    rateModel: r.rate_model as Address,
    ltvBps: big(r.ltv_bps, "assets.ltv_bps"),
    liquidationThresholdBps: big(r.liquidation_threshold_bps, "assets.liquidation_threshold_bps"),
    liquidationBonusBps: big(r.liquidation_bonus_bps, "assets.liquidation_bonus_bps"),
    reserveFactorBps: big(r.reserve_factor_bps, "assets.reserve_factor_bps"),
    liquidityIndex: big(r.liquidity_index, "assets.liquidity_index"),
    borrowIndex: big(r.borrow_index, "assets.borrow_index"),
    liquidityRate: big(r.liquidity_rate, "assets.liquidity_rate"),
    borrowRate: big(r.borrow_rate, "assets.borrow_rate"),
    lastUpdateTimestamp: big(r.last_update_timestamp, "assets.last_update_timestamp"),
    totalScaledCollateral: big(r.total_scaled_collateral, "assets.total_scaled_collateral"),
    totalScaledDebt: big(r.total_scaled_debt, "assets.total_scaled_debt"),
    deficit: big(r.deficit, "assets.deficit"),
    category: int(r.category ?? 0, "assets.category"),
  };
}

const categoryFromRow = (r: Row): CategoryConfig => ({
  category: int(r.category, "categories.category"),
  ltvBps: big(r.ltv_bps, "categories.ltv_bps"),
  liquidationThresholdBps: big(r.liquidation_threshold_bps, "categories.liquidation_threshold_bps"),
  liquidationBonusBps: big(r.liquidation_bonus_bps, "categories.liquidation_bonus_bps"),
  priceSource: r.price_source as Address,
  label: r.label as string,
});

const feedFromRow = (r: Row): FeedConfig => ({
  asset: r.asset as Address,
  aggregator: r.aggregator as Address,
  heartbeat: big(r.heartbeat, "feeds.heartbeat"),
  decimals: int(r.decimals, "feeds.decimals"),
});

const positionFromRow = (r: Row): PositionRow => ({
  account: r.account as Address,
  asset: r.asset as Address,
  scaledCollateral: big(r.scaled_collateral, "positions.scaled_collateral"),
  scaledDebt: big(r.scaled_debt, "positions.scaled_debt"),
  // Absent when never set, as state holds such positions.
  ...(r.collateral_flag === null || r.collateral_flag === undefined ? {} : { collateralFlag: Boolean(r.collateral_flag) }),
});

const healthFromRow = (r: Row): AccountHealthRow => ({
  account: r.account as Address,
  healthFactor: bigOrNull(r.health_factor, "account_health.health_factor"),
  status: r.status as AccountHealthRow["status"],
  totalCollateralBase: big(r.total_collateral_base, "account_health.total_collateral_base"),
  totalDebtBase: big(r.total_debt_base, "account_health.total_debt_base"),
  blockNumber: big(r.block_number, "account_health.block_number"),
});

const liquidationFromRow = (r: Row): LiquidationRecord => ({
  blockNumber: big(r.block_number, "liquidations.block_number"),
  logIndex: int(r.log_index, "liquidations.log_index"),
  transactionHash: r.transaction_hash as Hex,
  timestamp: bigOrNull(r.timestamp, "liquidations.timestamp"),
  borrower: r.borrower as Address,
  liquidator: r.liquidator as Address,
  collateralAsset: r.collateral_asset as Address,
  debtAsset: r.debt_asset as Address,
  debtRepaid: big(r.debt_repaid, "liquidations.debt_repaid"),
  collateralSeized: big(r.collateral_seized, "liquidations.collateral_seized"),
});

const badDebtFromRow = (r: Row): BadDebtRecord => ({
  blockNumber: big(r.block_number, "bad_debt.block_number"),
  logIndex: int(r.log_index, "bad_debt.log_index"),
  transactionHash: r.transaction_hash as Hex,
  account: r.account as Address,
  asset: r.asset as Address,
  amount: big(r.amount, "bad_debt.amount"),
  reserveDeficit: big(r.reserve_deficit, "bad_debt.reserve_deficit"),
});

const roundFromRow = (r: Row): OracleRound => ({
  asset: r.asset as Address,
  feed: r.feed as Address,
  roundId: big(r.round_id, "oracle_rounds.round_id"),
  answer: big(r.answer, "oracle_rounds.answer"),
  price: bigOrNull(r.price, "oracle_rounds.price"),
  updatedAt: big(r.updated_at, "oracle_rounds.updated_at"),
  blockNumber: big(r.block_number, "oracle_rounds.block_number"),
});

const outcomeFromRow = (r: Row): KeeperOutcome => ({
  jobId: r.job_id as string,
  account: r.account as Address,
  outcome: r.outcome as KeeperOutcomeKind,
  collateralAsset: (r.collateral_asset as Address | null) ?? null,
  debtAsset: (r.debt_asset as Address | null) ?? null,
  repayAmount: bigOrNull(r.repay_amount, "keeper_outcomes.repay_amount"),
  expectedProfitBase: bigOrNull(r.expected_profit_base, "keeper_outcomes.expected_profit_base"),
  transactionHash: (r.transaction_hash as Hex | null) ?? null,
  blockNumber: bigOrNull(r.block_number, "keeper_outcomes.block_number"),
  gasUsed: bigOrNull(r.gas_used, "keeper_outcomes.gas_used"),
  reason: (r.reason as string | null) ?? null,
  createdAt: r.created_at instanceof Date ? r.created_at : new Date(r.created_at as string),
});

const snapshotFromRow = (r: Row): RiskSnapshot => ({
  blockNumber: big(r.block_number, "risk_snapshots.block_number"),
  timestamp: big(r.timestamp, "risk_snapshots.timestamp"),
  payload: r.payload,
});

const dateOf = (v: unknown): Date => (v instanceof Date ? v : new Date(v as string));

const alertFromPayload = (v: unknown): Alert => (typeof v === "string" ? JSON.parse(v) : v) as Alert;

const alertStateFromRow = (r: Row): AlertStateRow => ({
  key: r.key as string,
  state: r.state as AlertStateRow["state"],
  variant: r.variant as string,
  atMs: int(r.at_ms, "alert_state.at_ms"),
  muted: r.muted === true,
});

const storedAlertFromRow = (r: Row): StoredAlert => ({
  alert: alertFromPayload(r.payload),
  createdAt: dateOf(r.created_at),
  deliveredAt: r.delivered_at === null || r.delivered_at === undefined ? null : dateOf(r.delivered_at),
});

function checkpointFromRow(r: Row): Checkpoint {
  const blocks = (typeof r.recent_blocks === "string" ? JSON.parse(r.recent_blocks) : r.recent_blocks) as Record<string, string>[];
  return {
    blockNumber: big(r.block_number, "checkpoint.block_number"),
    blockHash: r.block_hash as Hex,
    finalizedBlock: big(r.finalized_block, "checkpoint.finalized_block"),
    journal: r.journal as string,
    recentBlocks: blocks.map(
      (b): BlockRef => ({
        number: big(b.number, "checkpoint.recent_blocks.number"),
        hash: b.hash as Hex,
        parentHash: b.parentHash as Hex,
        timestamp: big(b.timestamp, "checkpoint.recent_blocks.timestamp"),
      }),
    ),
    digest: r.digest as string,
  };
}

// ---- the writes of one batch, each a constant number of statements per WRITE_CHUNK rows ----

const UPSERT_ASSETS = `INSERT INTO assets (address, listing_index, decimals, rate_model, ltv_bps, liquidation_threshold_bps,
    liquidation_bonus_bps, reserve_factor_bps, liquidity_index, borrow_index, liquidity_rate, borrow_rate,
    last_update_timestamp, total_scaled_collateral, total_scaled_debt, deficit, category)
  SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::numeric[], $6::numeric[], $7::numeric[],
    $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[],
    $15::numeric[], $16::numeric[], $17::int[])
  ON CONFLICT (address) DO UPDATE SET listing_index = EXCLUDED.listing_index, decimals = EXCLUDED.decimals,
    rate_model = EXCLUDED.rate_model, ltv_bps = EXCLUDED.ltv_bps,
    liquidation_threshold_bps = EXCLUDED.liquidation_threshold_bps, liquidation_bonus_bps = EXCLUDED.liquidation_bonus_bps,
    reserve_factor_bps = EXCLUDED.reserve_factor_bps, liquidity_index = EXCLUDED.liquidity_index,
    borrow_index = EXCLUDED.borrow_index, liquidity_rate = EXCLUDED.liquidity_rate, borrow_rate = EXCLUDED.borrow_rate,
    last_update_timestamp = EXCLUDED.last_update_timestamp, total_scaled_collateral = EXCLUDED.total_scaled_collateral,
    total_scaled_debt = EXCLUDED.total_scaled_debt, deficit = EXCLUDED.deficit, category = EXCLUDED.category`;

const UPSERT_CATEGORIES = `INSERT INTO categories (category, ltv_bps, liquidation_threshold_bps, liquidation_bonus_bps, price_source, label)
  SELECT * FROM unnest($1::int[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[], $6::text[])
  ON CONFLICT (category) DO UPDATE SET ltv_bps = EXCLUDED.ltv_bps, liquidation_threshold_bps = EXCLUDED.liquidation_threshold_bps,
    liquidation_bonus_bps = EXCLUDED.liquidation_bonus_bps, price_source = EXCLUDED.price_source, label = EXCLUDED.label`;

const UPSERT_CONTRACTS = `INSERT INTO contracts (address, family) SELECT * FROM unnest($1::text[], $2::text[])
  ON CONFLICT (address) DO UPDATE SET family = EXCLUDED.family`;

const UPSERT_ACCOUNT_CATEGORIES = `INSERT INTO account_categories (account, category)
  SELECT * FROM unnest($1::text[], $2::int[])
  ON CONFLICT (account) DO UPDATE SET category = EXCLUDED.category`;

const UPSERT_FEEDS = `INSERT INTO feeds (asset, aggregator, heartbeat, decimals)
  SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::int[])
  ON CONFLICT (asset) DO UPDATE SET aggregator = EXCLUDED.aggregator, heartbeat = EXCLUDED.heartbeat, decimals = EXCLUDED.decimals`;

const UPSERT_POSITIONS = `INSERT INTO positions (account, asset, scaled_collateral, scaled_debt, collateral_flag)
  SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::boolean[])
  ON CONFLICT (account, asset) DO UPDATE SET scaled_collateral = EXCLUDED.scaled_collateral, scaled_debt = EXCLUDED.scaled_debt,
    collateral_flag = EXCLUDED.collateral_flag`;

const DELETE_POSITIONS = `DELETE FROM positions p USING unnest($1::text[], $2::text[]) AS d(account, asset)
  WHERE p.account = d.account AND p.asset = d.asset`;

// Upsert, not plain insert: a batch re-committed after an unacknowledged COMMIT converges instead of failing.
const UPSERT_LIQUIDATIONS = `INSERT INTO liquidations (block_number, log_index, transaction_hash, timestamp, borrower,
    liquidator, collateral_asset, debt_asset, debt_repaid, collateral_seized)
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::numeric[], $10::numeric[])
  ON CONFLICT (block_number, log_index) DO UPDATE SET transaction_hash = EXCLUDED.transaction_hash,
    timestamp = EXCLUDED.timestamp, borrower = EXCLUDED.borrower, liquidator = EXCLUDED.liquidator,
    collateral_asset = EXCLUDED.collateral_asset, debt_asset = EXCLUDED.debt_asset, debt_repaid = EXCLUDED.debt_repaid,
    collateral_seized = EXCLUDED.collateral_seized`;

const UPSERT_BAD_DEBT = `INSERT INTO bad_debt (block_number, log_index, transaction_hash, account, asset, amount, reserve_deficit)
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[])
  ON CONFLICT (block_number, log_index) DO UPDATE SET transaction_hash = EXCLUDED.transaction_hash,
    account = EXCLUDED.account, asset = EXCLUDED.asset, amount = EXCLUDED.amount, reserve_deficit = EXCLUDED.reserve_deficit`;

// DO NOTHING keeps the block at which the round was first seen (the event and the per-block poll both report it).
const INSERT_ROUNDS = `INSERT INTO oracle_rounds (asset, feed, round_id, answer, price, updated_at, block_number)
  SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[], $7::bigint[])
  ON CONFLICT (feed, round_id) DO NOTHING`;

const UPSERT_HEALTH = `INSERT INTO account_health (account, health_factor, status, total_collateral_base, total_debt_base, block_number)
  SELECT * FROM unnest($1::text[], $2::numeric[], $3::text[], $4::numeric[], $5::numeric[], $6::bigint[])
  ON CONFLICT (account) DO UPDATE SET health_factor = EXCLUDED.health_factor, status = EXCLUDED.status,
    total_collateral_base = EXCLUDED.total_collateral_base, total_debt_base = EXCLUDED.total_debt_base,
    block_number = EXCLUDED.block_number`;

// A block's row is the batch's last for it: a batch re-committed, or a block replayed after a reorg, replaces it.
const UPSERT_HEALTH_HISTORY = `INSERT INTO account_health_history (account, health_factor, status, total_collateral_base, total_debt_base, block_number)
  SELECT * FROM unnest($1::text[], $2::numeric[], $3::text[], $4::numeric[], $5::numeric[], $6::bigint[])
  ON CONFLICT (account, block_number) DO UPDATE SET health_factor = EXCLUDED.health_factor, status = EXCLUDED.status,
    total_collateral_base = EXCLUDED.total_collateral_base, total_debt_base = EXCLUDED.total_debt_base`;

const UPSERT_CHECKPOINT = `INSERT INTO checkpoint (id, block_number, block_hash, finalized_block, journal, recent_blocks, digest, updated_at)
  VALUES (1, $1::bigint, $2, $3::bigint, $4, $5::jsonb, $6, now())
  ON CONFLICT (id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
    finalized_block = EXCLUDED.finalized_block, journal = EXCLUDED.journal, recent_blocks = EXCLUDED.recent_blocks,
    digest = EXCLUDED.digest, updated_at = EXCLUDED.updated_at`;

// DO NOTHING: an alert id is decided once; a batch re-committed after an unacknowledged COMMIT, or a replayed
// block, must neither duplicate nor rewrite it (it may already be delivered). ORDER BY keeps seq in raise order.
const INSERT_OUTBOX = `INSERT INTO alert_outbox (id, block_number, payload)
  SELECT id, block_number, payload::jsonb FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS t(id, block_number, payload, n)
  ORDER BY n
  ON CONFLICT (id) DO NOTHING`;

const UPSERT_ALERT_STATE = `INSERT INTO alert_state (key, state, variant, at_ms, muted)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::boolean[])
  ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, variant = EXCLUDED.variant, at_ms = EXCLUDED.at_ms, muted = EXCLUDED.muted`;

const HEALTH_COLUMNS = "account, health_factor, status, total_collateral_base, total_debt_base, block_number";

async function writeBatch(tx: SqlExecutor, b: BatchWrite): Promise<void> {
  if (b.rollbackTo !== undefined) {
    const to = [num(b.rollbackTo)];
    for (const table of ["liquidations", "bad_debt", "oracle_rounds", "risk_snapshots", "account_health_history"]) {
      await tx.query(`DELETE FROM ${table} WHERE block_number > $1::bigint`, to);
    }
  }
  if (b.deletedAssets?.length) await tx.query("DELETE FROM assets WHERE address = ANY($1::text[])", [b.deletedAssets.map(lower)]);
  if (b.deletedFeeds?.length) await tx.query("DELETE FROM feeds WHERE asset = ANY($1::text[])", [b.deletedFeeds.map(lower)]);
  if (b.deletedAccountHealth?.length) {
    await tx.query("DELETE FROM account_health WHERE account = ANY($1::text[])", [b.deletedAccountHealth.map(lower)]);
  }

  const assets = lastByKey(b.assets, (a) => lower(a.address));
  await bulk(tx, UPSERT_ASSETS, assets, [
    (a) => lower(a.address),
    (a) => a.index,
    (a) => a.decimals,
    (a) => lower(a.rateModel),
    (a) => num(a.ltvBps),
    (a) => num(a.liquidationThresholdBps),
    (a) => num(a.liquidationBonusBps),
    (a) => num(a.reserveFactorBps),
    (a) => num(a.liquidityIndex),
    (a) => num(a.borrowIndex),
    (a) => num(a.liquidityRate),
    (a) => num(a.borrowRate),
    (a) => num(a.lastUpdateTimestamp),
    (a) => num(a.totalScaledCollateral),
    (a) => num(a.totalScaledDebt),
    (a) => num(a.deficit),
    (a) => a.category ?? 0,
  ]);

  if (b.deletedCategories?.length) await tx.query("DELETE FROM categories WHERE category = ANY($1::int[])", [b.deletedCategories]);
  await bulk(
    tx,
    UPSERT_CATEGORIES,
    lastByKey(b.categories ?? [], (c) => String(c.category)),
    [
      (c) => c.category,
      (c) => num(c.ltvBps),
      (c) => num(c.liquidationThresholdBps),
      (c) => num(c.liquidationBonusBps),
      (c) => lower(c.priceSource),
      (c) => c.label,
    ],
  );
  if (b.deletedContracts?.length) await tx.query("DELETE FROM contracts WHERE address = ANY($1::text[])", [b.deletedContracts.map(lower)]);
  await bulk(
    tx,
    UPSERT_CONTRACTS,
    lastByKey(b.contracts ?? [], (k) => lower(k.address)),
    [(k) => lower(k.address), (k) => k.family],
  );
  const modes = lastByKey(b.accountCategories ?? [], (m) => lower(m.account));
  const leaving = modes.filter((m) => m.category === 0).map((m) => lower(m.account));
  if (leaving.length) await tx.query("DELETE FROM account_categories WHERE account = ANY($1::text[])", [leaving]);
  await bulk(
    tx,
    UPSERT_ACCOUNT_CATEGORIES,
    modes.filter((m) => m.category !== 0),
    [(m) => lower(m.account), (m) => m.category],
  );

  const feeds = lastByKey(b.feeds, (f) => lower(f.asset));
  await bulk(tx, UPSERT_FEEDS, feeds, [(f) => lower(f.asset), (f) => lower(f.aggregator), (f) => num(f.heartbeat), (f) => f.decimals]);

  if (b.sequencer === null) await tx.query("DELETE FROM sequencer");
  else if (b.sequencer !== undefined) {
    await tx.query(
      `INSERT INTO sequencer (id, feed, grace_period) VALUES (1, $1, $2::numeric)
       ON CONFLICT (id) DO UPDATE SET feed = EXCLUDED.feed, grace_period = EXCLUDED.grace_period`,
      [lower(b.sequencer.feed), num(b.sequencer.gracePeriod)],
    );
  }

  // The last write of a position in the batch wins; no balance and no flag means the position is gone.
  const positions = lastByKey(b.positions, (p) => `${lower(p.account)}|${lower(p.asset)}`);
  const gone = positions.filter(isEmptyPosition);
  const live = positions.filter((p) => !isEmptyPosition(p));
  await bulk(tx, DELETE_POSITIONS, gone, [(p) => lower(p.account), (p) => lower(p.asset)]);
  await bulk(tx, UPSERT_POSITIONS, live, [
    (p) => lower(p.account),
    (p) => lower(p.asset),
    (p) => num(p.scaledCollateral),
    (p) => num(p.scaledDebt),
    (p) => p.collateralFlag ?? null,
  ]);

  await bulk(tx, UPSERT_LIQUIDATIONS, b.liquidations, [
    (l) => num(l.blockNumber),
    (l) => l.logIndex,
    (l) => lower(l.transactionHash),
    (l) => numOrNull(l.timestamp),
    (l) => lower(l.borrower),
    (l) => lower(l.liquidator),
    (l) => lower(l.collateralAsset),
    (l) => lower(l.debtAsset),
    (l) => num(l.debtRepaid),
    (l) => num(l.collateralSeized),
  ]);
  await bulk(tx, UPSERT_BAD_DEBT, b.badDebt, [
    (d) => num(d.blockNumber),
    (d) => d.logIndex,
    (d) => lower(d.transactionHash),
    (d) => lower(d.account),
    (d) => lower(d.asset),
    (d) => num(d.amount),
    (d) => num(d.reserveDeficit),
  ]);
  await bulk(tx, INSERT_ROUNDS, b.oracleRounds, [
    (o) => lower(o.asset),
    (o) => lower(o.feed),
    (o) => num(o.roundId),
    (o) => num(o.answer),
    (o) => numOrNull(o.price),
    (o) => num(o.updatedAt),
    (o) => num(o.blockNumber),
  ]);

  const healthColumns: ((h: AccountHealthRow) => string | null)[] = [
    (h) => lower(h.account),
    (h) => numOrNull(h.healthFactor),
    (h) => h.status,
    (h) => num(h.totalCollateralBase),
    (h) => num(h.totalDebtBase),
    (h) => num(h.blockNumber),
  ];
  await bulk(
    tx,
    UPSERT_HEALTH,
    lastByKey(b.accountHealth, (h) => lower(h.account)),
    healthColumns,
  );
  await bulk(
    tx,
    UPSERT_HEALTH_HISTORY,
    lastByKey(b.accountHealth, (h) => `${lower(h.account)}|${h.blockNumber}`),
    healthColumns,
  );

  // The first occurrence of an id wins, as ON CONFLICT DO NOTHING does across batches.
  const seen = new Set<string>();
  const outbox = (b.alertOutbox ?? []).filter((a) => !seen.has(a.id) && seen.add(a.id));
  await bulk(tx, INSERT_OUTBOX, outbox, [(a) => a.id, (a) => a.blockNumber, (a) => toJson(a)]);
  const alertState = lastByKey(b.alertState ?? [], (r) => r.key);
  await bulk(tx, UPSERT_ALERT_STATE, alertState, [(r) => r.key, (r) => r.state, (r) => r.variant, (r) => String(r.atMs), (r) => r.muted]);

  const c = b.checkpoint;
  const recent = c.recentBlocks.map((r) => ({
    number: num(r.number),
    hash: lower(r.hash),
    parentHash: lower(r.parentHash),
    timestamp: num(r.timestamp),
  }));
  await tx.query(UPSERT_CHECKPOINT, [num(c.blockNumber), lower(c.blockHash), num(c.finalizedBlock), c.journal, JSON.stringify(recent), c.digest]);
}

export interface SqlStoreOptions {
  /** Postgres schema holding the tables (created by migrate); the Db must already use it as search_path */
  schema?: string;
}

/** The Store over any Db; openStore() picks the Db. */
export function createSqlStore(db: Db, opts: SqlStoreOptions = {}): Store {
  const schema = opts.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new StoreQueryError(`invalid schema name "${schema}": use lower-case letters, digits and _ (max 63)`);
  }

  const write = async (what: string, fn: (tx: SqlExecutor) => Promise<void>): Promise<void> => {
    try {
      await db.transaction(fn);
    } catch (e) {
      throw new StoreWriteError(what, e);
    }
  };

  return {
    kind: db.kind,

    async migrate() {
      await db.transaction(async (tx) => {
        // Two processes starting together must not both create the same tables (CREATE IF NOT EXISTS races).
        await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`marginwatch.migrate:${schema ?? "public"}`]);
        if (schema) await tx.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await tx.query(SCHEMA_VERSION_DDL);
        const [row] = await tx.query<{ v: number | null }>("SELECT max(version) AS v FROM schema_version");
        const current = row?.v ?? 0;
        if (current > SCHEMA_VERSION) {
          throw new StoreSchemaError(
            `database schema version ${current} is newer than this marginwatch supports (${SCHEMA_VERSION}): upgrade marginwatch`,
          );
        }
        for (const m of MIGRATIONS) {
          if (m.version <= current) continue;
          for (const sql of m.statements) await tx.query(sql);
          await tx.query("INSERT INTO schema_version (version, description) VALUES ($1, $2)", [m.version, m.description]);
        }
      });
    },

    async commitBatch(batch) {
      await write(`commitBatch at block ${batch.checkpoint.blockNumber}`, (tx) => writeBatch(tx, batch));
    },

    async loadState(): Promise<LoadedState> {
      return db.transaction(async (tx) => {
        // One snapshot for all reads: a concurrent commit must not give positions of one block and assets of another.
        await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        const [cp] = await tx.query("SELECT * FROM checkpoint WHERE id = 1");
        const assets = await tx.query("SELECT * FROM assets ORDER BY listing_index, address");
        const feeds = await tx.query("SELECT * FROM feeds ORDER BY asset");
        const positions = await tx.query(
          "SELECT account, asset, scaled_collateral, scaled_debt, collateral_flag FROM positions ORDER BY account, asset",
        );
        const categories = await tx.query("SELECT * FROM categories ORDER BY category");
        const modes = await tx.query("SELECT account, category FROM account_categories ORDER BY account");
        const contracts = await tx.query("SELECT address, family FROM contracts ORDER BY address");
        const [seq] = await tx.query("SELECT feed, grace_period FROM sequencer WHERE id = 1");
        const sequencer: SequencerConfig | null = seq
          ? { feed: seq.feed as Address, gracePeriod: big(seq.grace_period, "sequencer.grace_period") }
          : null;
        return {
          checkpoint: cp ? checkpointFromRow(cp) : null,
          assets: assets.map(assetFromRow),
          feeds: feeds.map(feedFromRow),
          positions: positions.map(positionFromRow),
          sequencer,
          categories: categories.map(categoryFromRow),
          accountCategories: modes.map((m) => ({ account: m.account as Address, category: int(m.category, "account_categories.category") })),
          contracts: contracts.map((k) => ({ address: k.address as Address, family: k.family as string })),
        };
      });
    },

    async listLiquidations(page) {
      checkPage(page);
      const params: SqlParam[] = [page.limit, page.offset];
      let where = "";
      if (page.account !== undefined) {
        params.push(checkAddress(page.account, "account"));
        where = "WHERE borrower = $3";
      }
      const rows = await db.query(`SELECT * FROM liquidations ${where} ORDER BY block_number DESC, log_index DESC LIMIT $1 OFFSET $2`, params);
      return rows.map(liquidationFromRow);
    },

    async listBadDebt(page) {
      checkPage(page);
      const params: SqlParam[] = [page.limit, page.offset];
      let where = "";
      if (page.account !== undefined) {
        params.push(checkAddress(page.account, "account"));
        where = "WHERE account = $3";
      }
      const rows = await db.query(`SELECT * FROM bad_debt ${where} ORDER BY block_number DESC, log_index DESC LIMIT $1 OFFSET $2`, params);
      return rows.map(badDebtFromRow);
    },

    async listOracleRounds(asset, page) {
      checkPage(page);
      const rows = await db.query("SELECT * FROM oracle_rounds WHERE asset = $1 ORDER BY updated_at DESC, round_id DESC LIMIT $2 OFFSET $3", [
        checkAddress(asset, "asset"),
        page.limit,
        page.offset,
      ]);
      return rows.map(roundFromRow);
    },

    async recordKeeperOutcome(o) {
      await write(`recordKeeperOutcome for job ${o.jobId}`, async (tx) => {
        await tx.query(
          `INSERT INTO keeper_outcomes (job_id, account, outcome, collateral_asset, debt_asset, repay_amount,
             expected_profit_base, transaction_hash, block_number, gas_used, reason, created_at)
           VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::numeric, $8, $9::bigint, $10::numeric, $11, $12::timestamptz)`,
          [
            o.jobId,
            lower(o.account),
            o.outcome,
            o.collateralAsset && lower(o.collateralAsset),
            o.debtAsset && lower(o.debtAsset),
            numOrNull(o.repayAmount),
            numOrNull(o.expectedProfitBase),
            o.transactionHash && lower(o.transactionHash),
            numOrNull(o.blockNumber),
            numOrNull(o.gasUsed),
            o.reason,
            o.createdAt.toISOString(),
          ],
        );
      });
    },

    async listKeeperOutcomes(page) {
      checkPage(page);
      const params: SqlParam[] = [page.limit, page.offset];
      const where: string[] = [];
      if (page.account !== undefined) {
        params.push(checkAddress(page.account, "account"));
        where.push(`account = $${params.length}`);
      }
      if (page.outcome !== undefined) {
        if (!KEEPER_OUTCOMES.includes(page.outcome))
          throw new StoreQueryError(`unknown keeper outcome "${page.outcome}": use one of ${KEEPER_OUTCOMES.join(", ")}`);
        params.push(page.outcome);
        where.push(`outcome = $${params.length}`);
      }
      const rows = await db.query(
        `SELECT * FROM keeper_outcomes ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`,
        params,
      );
      return rows.map(outcomeFromRow);
    },

    async insertRiskSnapshot(s) {
      await write(`insertRiskSnapshot at block ${s.blockNumber}`, async (tx) => {
        await tx.query(
          `INSERT INTO risk_snapshots (block_number, timestamp, payload) VALUES ($1::bigint, $2::bigint, $3::jsonb)
           ON CONFLICT (block_number) DO UPDATE SET timestamp = EXCLUDED.timestamp, payload = EXCLUDED.payload`,
          [num(s.blockNumber), num(s.timestamp), toJson(s.payload)],
        );
      });
    },

    async latestRiskSnapshot() {
      const [row] = await db.query("SELECT * FROM risk_snapshots ORDER BY block_number DESC LIMIT 1");
      return row ? snapshotFromRow(row) : null;
    },

    async listRiskSnapshots(page) {
      checkPage(page);
      const rows = await db.query("SELECT * FROM risk_snapshots ORDER BY block_number DESC LIMIT $1 OFFSET $2", [page.limit, page.offset]);
      return rows.map(snapshotFromRow);
    },

    async listRiskSnapshotRange(page) {
      checkPage(page);
      const params: SqlParam[] = [page.limit, page.offset];
      const where = blockRange(page, params);
      const rows = await db.query(
        `SELECT * FROM risk_snapshots ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY block_number ${orderOf(page)} LIMIT $1 OFFSET $2`,
        params,
      );
      return rows.map(snapshotFromRow);
    },

    async getAccountHealth(account) {
      const [row] = await db.query(`SELECT ${HEALTH_COLUMNS} FROM account_health WHERE account = $1`, [checkAddress(account, "account")]);
      return row ? healthFromRow(row) : null;
    },

    async listAccountHealthHistory(account, page) {
      checkPage(page);
      const params: SqlParam[] = [page.limit, page.offset, checkAddress(account, "account")];
      const where = ["account = $3", ...blockRange(page, params)];
      const rows = await db.query(
        `SELECT ${HEALTH_COLUMNS} FROM account_health_history WHERE ${where.join(" AND ")} ORDER BY block_number ${orderOf(page)} LIMIT $1 OFFSET $2`,
        params,
      );
      return rows.map(healthFromRow);
    },

    async loadAlertState() {
      const rows = await db.query("SELECT key, state, variant, at_ms, muted FROM alert_state ORDER BY key");
      return rows.map(alertStateFromRow);
    },

    async pendingAlerts(limit) {
      checkPage({ limit, offset: 0 });
      const rows = await db.query("SELECT payload FROM alert_outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT $1", [limit]);
      return rows.map((r) => alertFromPayload(r.payload));
    },

    async markAlertsDelivered(ids) {
      if (ids.length === 0) return;
      await write(`markAlertsDelivered (${ids.length} alerts)`, async (tx) => {
        await tx.query("UPDATE alert_outbox SET delivered_at = now() WHERE id = ANY($1::text[]) AND delivered_at IS NULL", [[...ids]]);
      });
    },

    async listAlerts(page) {
      checkPage(page);
      const rows = await db.query("SELECT payload, created_at, delivered_at FROM alert_outbox ORDER BY seq DESC LIMIT $1 OFFSET $2", [
        page.limit,
        page.offset,
      ]);
      return rows.map(storedAlertFromRow);
    },

    async reset() {
      await write("reset", async (tx) => {
        await tx.query(`TRUNCATE ${DATA_TABLES.join(", ")} RESTART IDENTITY`);
      });
    },

    close: () => db.close(),
  };
}
