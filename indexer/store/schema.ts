// The store's DDL as numbered migrations: the same statements run on PGlite and PostgreSQL.
//
// Units: every on-chain uint256 (amounts, indexes, rates, bps, prices, round ids, health factors) is the
// `uint256` domain, NUMERIC(78,0) with a range check, so a negative or overflowing value is refused by the
// database instead of being stored; Chainlink answers are `int256`. Block numbers, log indexes and block
// timestamps are BIGINT/INT: the node reports them as uint64 and they sort and index faster. Addresses and
// hashes are lower-case hex text, checked by domains, so `=` comparisons never miss on checksum casing.

export interface Migration {
  version: number;
  description: string;
  /** one statement per entry: PGlite's extended protocol runs a single statement per query */
  statements: string[];
}

const UINT256_LIMIT = (1n << 256n).toString();
const INT256_MIN = (-(1n << 255n)).toString();
const INT256_LIMIT = (1n << 255n).toString();

/**
 * `0x` and exactly `digits` lower-case hex digits: the values `VALUE ~ '^0x[0-9a-f]{digits}$'` accepts, without
 * the regular expression, which cost ~5 µs per value on PGlite (its regex engine runs in WASM) — two address
 * columns per position row made it a third of a backfill's PGlite write time.
 */
const hexCheck = (digits: number): string =>
  `CHECK (length(VALUE) = ${digits + 2} AND left(VALUE, 2) = '0x' AND translate(substr(VALUE, 3), '0123456789abcdef', '') = '')`;

/** CREATE DOMAIN has no IF NOT EXISTS: swallow duplicate_object so a half-applied schema can be re-migrated. */
const domain = (name: string, definition: string): string =>
  `DO $$ BEGIN CREATE DOMAIN ${name} AS ${definition}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "initial schema: checkpoint, protocol state, account health, history, keeper outcomes, snapshots",
    statements: [
      domain("uint256", `NUMERIC(78,0) CHECK (VALUE >= 0 AND VALUE < ${UINT256_LIMIT})`),
      domain("int256", `NUMERIC(78,0) CHECK (VALUE >= ${INT256_MIN} AND VALUE < ${INT256_LIMIT})`),
      domain("address", `TEXT CHECK (VALUE ~ '^0x[0-9a-f]{40}$')`),
      domain("bytes32", `TEXT CHECK (VALUE ~ '^0x[0-9a-f]{64}$')`),

      // Single row (id = 1), replaced by every batch in the same transaction as the state it describes.
      `CREATE TABLE IF NOT EXISTS checkpoint (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        block_number BIGINT NOT NULL,
        block_hash bytes32 NOT NULL,
        finalized_block BIGINT NOT NULL,
        journal TEXT NOT NULL,
        recent_blocks JSONB NOT NULL,
        digest TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`,

      `CREATE TABLE IF NOT EXISTS assets (
        address address PRIMARY KEY,
        listing_index INT NOT NULL,
        decimals INT NOT NULL,
        rate_model address NOT NULL,
        ltv_bps uint256 NOT NULL,
        liquidation_threshold_bps uint256 NOT NULL,
        liquidation_bonus_bps uint256 NOT NULL,
        reserve_factor_bps uint256 NOT NULL,
        liquidity_index uint256 NOT NULL,
        borrow_index uint256 NOT NULL,
        liquidity_rate uint256 NOT NULL,
        borrow_rate uint256 NOT NULL,
        last_update_timestamp uint256 NOT NULL,
        total_scaled_collateral uint256 NOT NULL,
        total_scaled_debt uint256 NOT NULL,
        deficit uint256 NOT NULL
      )`,
      // Not unique: a reorg may unlist one asset and list another at the same index within one batch.
      `CREATE INDEX IF NOT EXISTS assets_listing_index_idx ON assets (listing_index)`,

      `CREATE TABLE IF NOT EXISTS feeds (
        asset address PRIMARY KEY,
        aggregator address NOT NULL,
        heartbeat uint256 NOT NULL,
        decimals INT NOT NULL
      )`,

      `CREATE TABLE IF NOT EXISTS sequencer (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        feed address NOT NULL,
        grace_period uint256 NOT NULL
      )`,

      `CREATE TABLE IF NOT EXISTS positions (
        account address NOT NULL,
        asset address NOT NULL,
        scaled_collateral uint256 NOT NULL,
        scaled_debt uint256 NOT NULL,
        PRIMARY KEY (account, asset)
      )`,
      `CREATE INDEX IF NOT EXISTS positions_asset_idx ON positions (asset)`,

      `CREATE TABLE IF NOT EXISTS account_health (
        account address PRIMARY KEY,
        health_factor uint256,
        status TEXT NOT NULL CHECK (status IN ('healthy', 'warning', 'liquidatable', 'unknown')),
        total_collateral_base uint256 NOT NULL,
        total_debt_base uint256 NOT NULL,
        block_number BIGINT NOT NULL
      )`,
      // At-risk queries: "liquidatable, lowest HF first" and "HF below x" across statuses (dropped in version 4).
      `CREATE INDEX IF NOT EXISTS account_health_status_hf_idx ON account_health (status, health_factor)`,
      `CREATE INDEX IF NOT EXISTS account_health_hf_idx ON account_health (health_factor)`,

      `CREATE TABLE IF NOT EXISTS oracle_rounds (
        asset address NOT NULL,
        feed address NOT NULL,
        round_id uint256 NOT NULL,
        answer int256 NOT NULL,
        price uint256,
        updated_at uint256 NOT NULL,
        block_number BIGINT NOT NULL,
        UNIQUE (feed, round_id)
      )`,
      `CREATE INDEX IF NOT EXISTS oracle_rounds_asset_idx ON oracle_rounds (asset, updated_at DESC, round_id DESC)`,
      `CREATE INDEX IF NOT EXISTS oracle_rounds_block_idx ON oracle_rounds (block_number)`,

      `CREATE TABLE IF NOT EXISTS liquidations (
        block_number BIGINT NOT NULL,
        log_index INT NOT NULL,
        transaction_hash bytes32 NOT NULL,
        timestamp BIGINT,
        borrower address NOT NULL,
        liquidator address NOT NULL,
        collateral_asset address NOT NULL,
        debt_asset address NOT NULL,
        debt_repaid uint256 NOT NULL,
        collateral_seized uint256 NOT NULL,
        PRIMARY KEY (block_number, log_index)
      )`,
      `CREATE INDEX IF NOT EXISTS liquidations_borrower_idx ON liquidations (borrower, block_number DESC, log_index DESC)`,

      `CREATE TABLE IF NOT EXISTS bad_debt (
        block_number BIGINT NOT NULL,
        log_index INT NOT NULL,
        transaction_hash bytes32 NOT NULL,
        account address NOT NULL,
        asset address NOT NULL,
        amount uint256 NOT NULL,
        reserve_deficit uint256 NOT NULL,
        PRIMARY KEY (block_number, log_index)
      )`,
      `CREATE INDEX IF NOT EXISTS bad_debt_account_idx ON bad_debt (account, block_number DESC, log_index DESC)`,

      // Not unique on job_id: a retried job may record several outcomes (reverted, then liquidated).
      `CREATE TABLE IF NOT EXISTS keeper_outcomes (
        id BIGSERIAL PRIMARY KEY,
        job_id TEXT NOT NULL,
        account address NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('liquidated', 'skipped-unprofitable', 'already-healthy', 'lost-race', 'reverted', 'failed', 'dry-run')),
        collateral_asset address,
        debt_asset address,
        repay_amount uint256,
        expected_profit_base NUMERIC(78,0),
        transaction_hash bytes32,
        block_number BIGINT,
        gas_used uint256,
        reason TEXT,
        created_at TIMESTAMPTZ NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS keeper_outcomes_account_idx ON keeper_outcomes (account, created_at DESC, id DESC)`,
      `CREATE INDEX IF NOT EXISTS keeper_outcomes_outcome_idx ON keeper_outcomes (outcome, created_at DESC, id DESC)`,
      `CREATE INDEX IF NOT EXISTS keeper_outcomes_created_idx ON keeper_outcomes (created_at DESC, id DESC)`,

      // One snapshot per block: a later write for the same block (e.g. after a reorg) replaces it.
      `CREATE TABLE IF NOT EXISTS risk_snapshots (
        block_number BIGINT PRIMARY KEY,
        timestamp BIGINT NOT NULL,
        payload JSONB NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    description: "keeper outcome 'price-unavailable' (a job parked, or given up, for want of a usable price)",
    statements: [
      // Postgres names an unnamed column CHECK <table>_<column>_check; replaced so existing databases accept the new kind.
      `ALTER TABLE keeper_outcomes DROP CONSTRAINT IF EXISTS keeper_outcomes_outcome_check`,
      `ALTER TABLE keeper_outcomes ADD CONSTRAINT keeper_outcomes_outcome_check CHECK (outcome IN ('liquidated', 'skipped-unprofitable', 'already-healthy', 'lost-race', 'reverted', 'failed', 'dry-run', 'price-unavailable'))`,
    ],
  },
  {
    version: 3,
    description: "alert outbox and alert policy state, written in the block's batch",
    statements: [
      // One row per alert key (mc|account|level, oracle|asset|fault, oracle|sequencer|sequencer).
      `CREATE TABLE IF NOT EXISTS alert_state (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('triggered', 'resolved')),
        variant TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        muted BOOLEAN NOT NULL
      )`,
      // seq orders the outbox: every alert of one batch shares its created_at.
      `CREATE TABLE IF NOT EXISTS alert_outbox (
        id TEXT PRIMARY KEY,
        seq BIGSERIAL NOT NULL UNIQUE,
        block_number BIGINT NOT NULL,
        payload JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        delivered_at TIMESTAMPTZ
      )`,
      `CREATE INDEX IF NOT EXISTS alert_outbox_pending_idx ON alert_outbox (seq) WHERE delivered_at IS NULL`,
    ],
  },
  {
    version: 4,
    description: "no SQL at-risk queries (the API ranks from the health engine): account_health's HF indexes go",
    statements: [`DROP INDEX IF EXISTS account_health_status_hf_idx`, `DROP INDEX IF EXISTS account_health_hf_idx`],
  },
  {
    version: 5,
    description: "account health history: every batch's health rows kept per (account, block) for the HF history",
    statements: [
      `CREATE TABLE IF NOT EXISTS account_health_history (
        account address NOT NULL,
        block_number BIGINT NOT NULL,
        health_factor uint256,
        status TEXT NOT NULL CHECK (status IN ('healthy', 'warning', 'liquidatable', 'unknown')),
        total_collateral_base uint256 NOT NULL,
        total_debt_base uint256 NOT NULL,
        PRIMARY KEY (account, block_number)
      )`,
      // The reorg rollback deletes by block across accounts.
      `CREATE INDEX IF NOT EXISTS account_health_history_block_idx ON account_health_history (block_number)`,
      // An existing database starts each account's history at its latest row.
      `INSERT INTO account_health_history (account, block_number, health_factor, status, total_collateral_base, total_debt_base)
        SELECT account, block_number, health_factor, status, total_collateral_base, total_debt_base FROM account_health
        ON CONFLICT (account, block_number) DO NOTHING`,
    ],
  },
  {
    version: 6,
    description: "efficiency-mode categories, reserve and account categories, per-position collateral flags, contracts found in logs (Aave V3)",
    statements: [
      `ALTER TABLE assets ADD COLUMN IF NOT EXISTS category INT NOT NULL DEFAULT 0`,
      // NULL: the account never set the flag (the protocol's default applies).
      `ALTER TABLE positions ADD COLUMN IF NOT EXISTS collateral_flag BOOLEAN`,
      `CREATE TABLE IF NOT EXISTS categories (
        category INT PRIMARY KEY CHECK (category > 0),
        ltv_bps uint256 NOT NULL,
        liquidation_threshold_bps uint256 NOT NULL,
        liquidation_bonus_bps uint256 NOT NULL,
        price_source address NOT NULL,
        label TEXT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS account_categories (
        account address PRIMARY KEY,
        category INT NOT NULL CHECK (category > 0)
      )`,
      // Contracts found in logs (Aave's reserve tokens, the Pool and oracle named by the addresses provider).
      `CREATE TABLE IF NOT EXISTS contracts (
        address address PRIMARY KEY,
        family TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 7,
    description: "address and bytes32 domains checked without a regular expression (same values accepted)",
    statements: [
      // The constraints created with the domains are unnamed (address_check, bytes32_check): drop whatever is there.
      `DO $$ DECLARE c record; BEGIN
        FOR c IN SELECT t.typname, k.conname FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid
          WHERE t.oid IN ('address'::regtype, 'bytes32'::regtype) LOOP
          EXECUTE format('ALTER DOMAIN %I DROP CONSTRAINT %I', c.typname, c.conname);
        END LOOP;
      END $$`,
      `ALTER DOMAIN address ADD CONSTRAINT address_hex ${hexCheck(40)}`,
      `ALTER DOMAIN bytes32 ADD CONSTRAINT bytes32_hex ${hexCheck(64)}`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The version table itself lives outside the migrations: it records them. */
export const SCHEMA_VERSION_DDL = `CREATE TABLE IF NOT EXISTS schema_version (
  version INT PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

/** Every table holding data (not schema_version): what reset() empties. */
export const DATA_TABLES = [
  "checkpoint",
  "assets",
  "feeds",
  "sequencer",
  "positions",
  "categories",
  "account_categories",
  "contracts",
  "account_health",
  "account_health_history",
  "oracle_rounds",
  "liquidations",
  "bad_debt",
  "keeper_outcomes",
  "risk_snapshots",
  "alert_state",
  "alert_outbox",
] as const;
