// The store suite, run unchanged against embedded PGlite and a real PostgreSQL (a fresh schema per run).
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Alert, AlertStateRow } from "../../indexer/alerts/types";
import type { Address } from "../../indexer/state/events";
import type { AssetState } from "../../indexer/state/state";
import {
  createSqlStore,
  MEMORY,
  openPgliteDb,
  openPostgresDb,
  openStore,
  StoreConnectionError,
  StoreQueryError,
  StoreWriteError,
  type AccountHealthRow,
  type BatchWrite,
  type Checkpoint,
  type Db,
  type Hex,
  type KeeperOutcome,
  type LiquidationRecord,
  type OracleRound,
  type PositionRow,
  type SqlExecutor,
  type Store,
} from "../../indexer/store";
import { MIGRATIONS } from "../../indexer/store/schema";

const PG_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MAX = (1n << 256n) - 1n;
const INT256_MIN = -(1n << 255n);
const WAD = 10n ** 18n;

const hex = (n: number | bigint, bytes: number): string => n.toString(16).padStart(bytes * 2, "0");
const account = (i: number): Address => `0x${hex(0xacc0000 + i, 20)}`;
const asset = (i: number): Address => `0x${hex(0xa55e7000 + i, 20)}`;
const feed = (i: number): Address => `0x${hex(0xfeed000 + i, 20)}`;
const hash = (i: number | bigint): Hex => `0x${hex(i, 32)}`;

function makeAsset(i: number, over: Partial<AssetState> = {}): AssetState {
  return {
    address: asset(i),
    index: i,
    decimals: 18,
    category: 0,
    rateModel: `0x${hex(0x4a7e + i, 20)}`,
    ltvBps: 7500n,
    liquidationThresholdBps: 8250n,
    liquidationBonusBps: 500n,
    reserveFactorBps: 1000n,
    liquidityIndex: 10n ** 27n + BigInt(i),
    borrowIndex: 10n ** 27n + 7n,
    liquidityRate: 123n,
    borrowRate: 456n,
    lastUpdateTimestamp: 1_700_000_000n,
    totalScaledCollateral: 10n ** 24n,
    totalScaledDebt: 10n ** 23n,
    deficit: 0n,
    ...over,
  };
}

function makeCheckpoint(block: bigint, over: Partial<Checkpoint> = {}): Checkpoint {
  return {
    blockNumber: block,
    blockHash: hash(block),
    finalizedBlock: block - 64n,
    journal: JSON.stringify([[`${block}n`, []]]),
    recentBlocks: [
      { number: block - 1n, hash: hash(block - 1n), parentHash: hash(block - 2n), timestamp: 1_700_000_000n + block - 1n },
      { number: block, hash: hash(block), parentHash: hash(block - 1n), timestamp: 1_700_000_000n + block },
    ],
    digest: `digest-${block}`,
    ...over,
  };
}

function batch(block: bigint, over: Partial<BatchWrite> = {}): BatchWrite {
  return {
    checkpoint: makeCheckpoint(block),
    assets: [],
    feeds: [],
    positions: [],
    liquidations: [],
    badDebt: [],
    oracleRounds: [],
    accountHealth: [],
    ...over,
  };
}

const liquidation = (block: bigint, logIndex: number, borrower = account(1), debtRepaid = 1000n): LiquidationRecord => ({
  blockNumber: block,
  logIndex,
  transactionHash: hash(block * 1000n + BigInt(logIndex)),
  timestamp: 1_700_000_000n + block,
  borrower,
  liquidator: account(999),
  collateralAsset: asset(0),
  debtAsset: asset(1),
  debtRepaid,
  collateralSeized: 2000n,
});

const round = (assetIdx: number, roundId: bigint, block: bigint, answer = 3000_00000000n): OracleRound => ({
  asset: asset(assetIdx),
  feed: feed(assetIdx),
  roundId,
  answer,
  price: answer > 0n ? answer : null,
  updatedAt: 1_700_000_000n + block,
  blockNumber: block,
});

const health = (i: number, hf: bigint | null, status: AccountHealthRow["status"], block = 1n): AccountHealthRow => ({
  account: account(i),
  healthFactor: hf,
  status,
  totalCollateralBase: 1000n * BigInt(i),
  totalDebtBase: 10n * BigInt(i),
  blockNumber: block,
});

const outcome = (i: number, over: Partial<KeeperOutcome> = {}): KeeperOutcome => ({
  jobId: `job-${i}`,
  account: account(i % 3),
  outcome: "liquidated",
  collateralAsset: asset(0),
  debtAsset: asset(1),
  repayAmount: 10n ** 18n,
  expectedProfitBase: 12_34000000n,
  transactionHash: hash(i),
  blockNumber: BigInt(100 + i),
  gasUsed: 210_000n,
  reason: null,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  ...over,
});

const alert = (i: number, block: bigint, over: Partial<Alert> = {}): Alert => ({
  id: `mc-${account(i)}-warning-triggered-${block}`,
  severity: "warning",
  blockNumber: String(block),
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  message: `account ${account(i)} HF 1.15 fell below the warning level`,
  body: {
    kind: "margin-call",
    account: account(i),
    level: "warning",
    state: "triggered",
    healthFactor: "1150000000000000000",
    card: { healthFactor: "1.15", totalCollateralUSD: "1000.00", totalBorrowsUSD: "700.00", availableBorrowsUSD: "50.00", borrowPowerUsed: "93.33%" },
  },
  ...over,
});

const alertState = (key: string, over: Partial<AlertStateRow> = {}): AlertStateRow => ({
  key,
  state: "triggered",
  variant: "",
  atMs: 1_767_225_600_123,
  muted: false,
  ...over,
});

/** The real Db with a statement counter, to prove batches are written with multi-row statements. */
function counting(db: Db): Db & { statements: number } {
  const counter = { statements: 0 };
  const wrap = (ex: SqlExecutor): SqlExecutor => ({
    query: (sql, params) => {
      counter.statements++;
      return ex.query(sql, params);
    },
  });
  return Object.assign(counter, {
    kind: db.kind,
    query: wrap(db).query,
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>) => db.transaction((tx) => fn(wrap(tx))),
    close: () => db.close(),
  });
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client(PG_URL);
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

const randomSchema = (): string => `mw_store_test_${randomBytes(6).toString("hex")}`;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the promise to reject");
}

for (const kind of ["pglite", "postgres"] as const) {
  describe(`store (${kind})`, function () {
    this.timeout(60_000);
    let db: Db & { statements: number };
    let store: Store;
    const schema = randomSchema();

    before(async () => {
      const raw = kind === "pglite" ? await openPgliteDb(MEMORY) : await openPostgresDb(PG_URL, { schema });
      db = counting(raw);
      store = createSqlStore(db, kind === "postgres" ? { schema } : {});
      await store.migrate();
    });

    after(async () => {
      await store?.close();
      if (kind === "postgres") await dropSchema(schema);
    });

    beforeEach(() => store.reset());

    it("migrate() is idempotent and records the schema version once", async () => {
      await store.migrate();
      await store.migrate();
      const rows = await db.query<{ version: number }>("SELECT version FROM schema_version ORDER BY version");
      expect(rows.map((r) => r.version)).to.deep.equal(MIGRATIONS.map((m) => m.version));
      expect(MIGRATIONS.map((m) => m.version)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
      // Version 4: no at-risk SQL reads account_health any more, so only its primary key is indexed.
      const indexes = await db.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'account_health' AND schemaname = current_schema() ORDER BY indexname",
      );
      expect(indexes.map((r) => r.indexname)).to.deep.equal(["account_health_pkey"]);
      expect(store.kind).to.equal(kind);
    });

    it("the address and bytes32 domains accept exactly 0x and 40 / 64 lower-case hex digits (migration 7)", async () => {
      const accepts = async (domain: string, v: string | null) => {
        try {
          await db.query(`SELECT $1::${domain} AS v`, [v]);
          return true;
        } catch {
          return false;
        }
      };
      for (const [domain, digits] of [
        ["address", 40],
        ["bytes32", 64],
      ] as const) {
        const ok = `0x${"0123456789abcdef".repeat(4).slice(0, digits)}`;
        expect(await accepts(domain, ok), ok).to.equal(true);
        expect(await accepts(domain, null), "NULL").to.equal(true);
        const bad = [
          `0X${ok.slice(2)}`,
          `0x${ok.slice(2, -1)}A`,
          ok.slice(0, -1),
          `${ok}0`,
          `0x${ok.slice(2, -1)}g`,
          `0x${ok.slice(2, -1)}é`,
          `0x${ok.slice(2, -1)}\n`,
          ` ${ok.slice(1)}`,
          `00${ok.slice(2)}`,
          "",
        ];
        for (const v of bad) expect(await accepts(domain, v), JSON.stringify(v)).to.equal(false);
      }
      const checks = async () =>
        (
          await db.query<{ conname: string }>(
            `SELECT k.conname FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid
             WHERE t.oid IN ('address'::regtype, 'bytes32'::regtype) ORDER BY k.conname`,
          )
        ).map((c) => c.conname);
      expect(await checks()).to.deep.equal(["address_hex", "bytes32_hex"]);
      // A version-6 store (the regex checks, rows in place) upgrades to the same constraints, its rows validated.
      await store.commitBatch(batch(7n, { accountHealth: [health(1, 2n * WAD, "healthy", 7n)] }));
      for (const [domain, digits] of [
        ["address", 40],
        ["bytes32", 64],
      ] as const) {
        await db.query(`ALTER DOMAIN ${domain} DROP CONSTRAINT ${domain}_hex`);
        await db.query(`ALTER DOMAIN ${domain} ADD CONSTRAINT ${domain}_check CHECK (VALUE ~ '^0x[0-9a-f]{${digits}}$')`);
      }
      await db.query("DELETE FROM schema_version WHERE version >= 7");
      expect(await checks()).to.deep.equal(["address_check", "bytes32_check"]);
      await store.migrate();
      expect(await checks()).to.deep.equal(["address_hex", "bytes32_hex"]);
      expect(await store.getAccountHealth(account(1))).to.deep.equal(health(1, 2n * WAD, "healthy", 7n));
    });

    it("migration 5 starts the health history of an existing database at each account's latest row", async () => {
      await store.commitBatch(batch(7n, { accountHealth: [health(1, 2n * WAD, "healthy", 7n)] }));
      // Back to version 4: no history table, one account_health row.
      await db.query("DROP TABLE account_health_history");
      await db.query("DELETE FROM schema_version WHERE version >= 5");
      await store.migrate();
      expect(await store.listAccountHealthHistory(account(1), { limit: 10, offset: 0 })).to.deep.equal([health(1, 2n * WAD, "healthy", 7n)]);
    });

    it("round-trips categories, accounts' category choices and collateral flags; a reorg's deletions remove them", async () => {
      const cat = {
        category: 1,
        ltvBps: 9_700n,
        liquidationThresholdBps: 9_750n,
        liquidationBonusBps: 10_100n,
        priceSource: asset(9),
        label: "Stablecoins",
      };
      await store.commitBatch(
        batch(3n, {
          assets: [makeAsset(0, { category: 1 })],
          categories: [cat],
          contracts: [{ address: asset(7), family: `atoken:${asset(0)}` }],
          accountCategories: [
            { account: account(1), category: 1 },
            { account: account(2), category: 1 },
          ],
          positions: [
            { account: account(1), asset: asset(0), scaledCollateral: 5n, scaledDebt: 0n, collateralFlag: true },
            // No balance but a flag of its own: kept (the flag applies to the next supply).
            { account: account(2), asset: asset(0), scaledCollateral: 0n, scaledDebt: 0n, collateralFlag: false },
            { account: account(3), asset: asset(0), scaledCollateral: 7n, scaledDebt: 1n },
          ],
        }),
      );
      let loaded = await store.loadState();
      expect(loaded.assets[0]!.category).to.equal(1);
      expect(loaded.categories).to.deep.equal([cat]);
      expect(loaded.contracts).to.deep.equal([{ address: asset(7), family: `atoken:${asset(0)}` }]);
      expect(loaded.accountCategories).to.deep.equal([
        { account: account(1), category: 1 },
        { account: account(2), category: 1 },
      ]);
      expect(loaded.positions).to.deep.equal([
        { account: account(1), asset: asset(0), scaledCollateral: 5n, scaledDebt: 0n, collateralFlag: true },
        { account: account(2), asset: asset(0), scaledCollateral: 0n, scaledDebt: 0n, collateralFlag: false },
        { account: account(3), asset: asset(0), scaledCollateral: 7n, scaledDebt: 1n },
      ]);
      await store.commitBatch(
        batch(4n, {
          deletedCategories: [1],
          deletedContracts: [asset(7)],
          accountCategories: [{ account: account(2), category: 0 }],
          positions: [{ account: account(2), asset: asset(0), scaledCollateral: 0n, scaledDebt: 0n, collateralFlag: null }],
        }),
      );
      loaded = await store.loadState();
      expect(loaded.categories).to.deep.equal([]);
      expect(loaded.contracts).to.deep.equal([]);
      expect(loaded.accountCategories).to.deep.equal([{ account: account(1), category: 1 }]);
      expect(loaded.positions.map((p) => p.account)).to.deep.equal([account(1), account(3)]);
    });

    it("round-trips max uint256, 0 and min int256 exactly", async () => {
      const extreme = makeAsset(0, {
        ltvBps: MAX,
        liquidationThresholdBps: 0n,
        liquidationBonusBps: MAX,
        reserveFactorBps: 0n,
        liquidityIndex: MAX,
        borrowIndex: MAX - 1n,
        liquidityRate: 0n,
        borrowRate: MAX,
        lastUpdateTimestamp: MAX,
        totalScaledCollateral: MAX,
        totalScaledDebt: 0n,
        deficit: MAX,
      });
      const positions: PositionRow[] = [
        { account: account(1), asset: asset(0), scaledCollateral: MAX, scaledDebt: 0n },
        { account: account(2), asset: asset(0), scaledCollateral: 0n, scaledDebt: MAX },
      ];
      const r = { ...round(0, MAX, 5n, INT256_MIN), updatedAt: MAX };
      await store.commitBatch(
        batch(5n, {
          assets: [extreme],
          feeds: [{ asset: asset(0), aggregator: feed(0), heartbeat: MAX, decimals: 8 }],
          sequencer: { feed: feed(99), gracePeriod: MAX },
          positions,
          oracleRounds: [r],
          liquidations: [liquidation(5n, 0, account(1), MAX)],
          accountHealth: [health(1, MAX, "healthy"), health(2, 0n, "liquidatable")],
        }),
      );
      await store.recordKeeperOutcome(outcome(1, { repayAmount: MAX, gasUsed: 0n, expectedProfitBase: -(10n ** 70n) }));

      const state = await store.loadState();
      expect(state.assets).to.deep.equal([extreme]);
      expect(state.feeds[0]!.heartbeat).to.equal(MAX);
      expect(state.sequencer).to.deep.equal({ feed: feed(99), gracePeriod: MAX });
      expect(state.positions).to.deep.equal(positions);
      expect(await store.listOracleRounds(asset(0), { limit: 10, offset: 0 })).to.deep.equal([{ ...r, price: null }]);
      expect((await store.listLiquidations({ limit: 10, offset: 0 }))[0]!.debtRepaid).to.equal(MAX);
      expect((await store.getAccountHealth(account(1)))!.healthFactor).to.equal(MAX);
      expect((await store.getAccountHealth(account(2)))!.healthFactor).to.equal(0n);
      const [o] = await store.listKeeperOutcomes({ limit: 1, offset: 0 });
      expect([o!.repayAmount, o!.gasUsed, o!.expectedProfitBase]).to.deep.equal([MAX, 0n, -(10n ** 70n)]);
    });

    it("refuses values outside uint256 instead of storing them", async () => {
      const err = await rejection(
        store.commitBatch(
          batch(1n, {
            positions: [{ account: account(1), asset: asset(0), scaledCollateral: MAX + 1n, scaledDebt: 0n }],
          }),
        ),
      );
      expect(err).to.be.instanceOf(StoreWriteError);
      expect(err.message).to.match(/commitBatch at block 1 failed: .*uint256/);
      expect((await store.loadState()).positions).to.deep.equal([]);
    });

    it("commitBatch then loadState returns identical data, assets in listing order, addresses lower-cased", async () => {
      const assets = [makeAsset(2), makeAsset(0), makeAsset(1, { decimals: 6 })];
      const feeds = [0, 1, 2].map((i) => ({ asset: asset(i), aggregator: feed(i), heartbeat: 3600n + BigInt(i), decimals: 8 }));
      const positions: PositionRow[] = [
        { account: account(2), asset: asset(1), scaledCollateral: 0n, scaledDebt: 5n },
        { account: account(1), asset: asset(0), scaledCollateral: 10n ** 30n, scaledDebt: 0n },
        { account: account(1), asset: asset(1), scaledCollateral: 3n, scaledDebt: 10n ** 20n },
      ];
      const cp = makeCheckpoint(100n, { finalizedBlock: -1n, journal: '[["99n",[{"kind":"sequencer","prev":null}]]]' });
      // Mixed-case input, as a checksummed address would arrive from a config file.
      const shouting = { ...feeds[0]!, aggregator: feed(0).toUpperCase().replace("0X", "0x") as Address };
      await store.commitBatch(
        batch(100n, { checkpoint: cp, assets, feeds: [shouting, ...feeds.slice(1)], positions, sequencer: { feed: feed(7), gracePeriod: 3600n } }),
      );

      const state = await store.loadState();
      expect(state.checkpoint).to.deep.equal(cp);
      expect(state.assets).to.deep.equal([makeAsset(0), makeAsset(1, { decimals: 6 }), makeAsset(2)]);
      expect(state.feeds).to.deep.equal(feeds);
      expect(state.positions).to.deep.equal([positions[1], positions[2], positions[0]]);
      expect(state.sequencer).to.deep.equal({ feed: feed(7), gracePeriod: 3600n });

      // sequencer undefined leaves it; null removes it. deletedAssets/deletedFeeds undo a listing.
      await store.commitBatch(batch(101n));
      expect((await store.loadState()).sequencer).to.deep.equal({ feed: feed(7), gracePeriod: 3600n });
      await store.commitBatch(batch(102n, { sequencer: null, deletedAssets: [asset(2)], deletedFeeds: [asset(2)] }));
      const after = await store.loadState();
      expect(after.sequencer).to.equal(null);
      expect(after.assets.map((a) => a.address)).to.deep.equal([asset(0), asset(1)]);
      expect(after.feeds.map((f) => f.asset)).to.deep.equal([asset(0), asset(1)]);
    });

    it("commits 20,000 positions in one transaction with a handful of multi-row statements", async () => {
      const positions: PositionRow[] = [];
      for (let i = 0; i < 10_000; i++) {
        for (const a of [0, 1])
          positions.push({ account: account(i), asset: asset(a), scaledCollateral: BigInt(i) * 10n ** 18n + 1n, scaledDebt: BigInt(a) * MAX });
      }
      const health = Array.from({ length: 10_000 }, (_, i) => ({
        account: account(i),
        healthFactor: BigInt(i) * WAD,
        status: "healthy" as const,
        totalCollateralBase: 1n,
        totalDebtBase: 1n,
        blockNumber: 7n,
      }));
      const before = db.statements;
      const t0 = performance.now();
      await store.commitBatch(batch(7n, { positions, accountHealth: health }));
      const ms = performance.now() - t0;
      const statements = db.statements - before;
      console.log(`      [${kind}] 20,000 positions + 10,000 health rows: ${ms.toFixed(0)} ms, ${statements} statements`);
      // 30,000 rows in 5,000-row chunks: 6 data statements + checkpoint; per-row writes would be 30,000.
      expect(statements <= 10).to.equal(true);

      const { n, tx } = (await db.query<{ n: string; tx: string }>("SELECT count(*) AS n, count(DISTINCT xmin::text) AS tx FROM positions"))[0]!;
      expect([n, tx]).to.deep.equal(["20000", "1"]);
      const state = await store.loadState();
      expect(state.positions.length).to.equal(20_000);
      expect(state.positions.find((p) => p.account === account(9_999) && p.asset === asset(1))).to.deep.equal({
        account: account(9_999),
        asset: asset(1),
        scaledCollateral: 9_999n * 10n ** 18n + 1n,
        scaledDebt: MAX,
      });
      const [healthRows] = await db.query<{ n: string }>("SELECT count(*) AS n FROM account_health");
      expect(healthRows!.n).to.equal("10000");
    });

    it("a failing batch leaves nothing half-written (rollback deletes and upserts included)", async () => {
      await store.commitBatch(
        batch(10n, {
          assets: [makeAsset(0)],
          positions: [{ account: account(1), asset: asset(0), scaledCollateral: 100n, scaledDebt: 50n }],
          liquidations: [liquidation(10n, 0)],
          oracleRounds: [round(0, 1n, 10n)],
          accountHealth: [health(1, 2n * WAD, "healthy", 10n)],
        }),
      );
      const before = await store.loadState();

      const bad = batch(11n, {
        rollbackTo: 5n, // would delete the liquidation and the round at block 10
        assets: [makeAsset(0, { borrowIndex: 2n * 10n ** 27n })],
        positions: [
          { account: account(1), asset: asset(0), scaledCollateral: 0n, scaledDebt: 0n }, // would delete
          { account: account(2), asset: asset(0), scaledCollateral: 7n, scaledDebt: 0n }, // would insert
        ],
        liquidations: [liquidation(11n, 0)],
        // The last write of the batch violates the uint256 check: everything before it must vanish too.
        accountHealth: [health(1, WAD, "warning", 11n), { ...health(2, WAD, "healthy", 11n), totalDebtBase: -1n }],
      });
      const err = await rejection(store.commitBatch(bad));
      expect(err).to.be.instanceOf(StoreWriteError);
      expect((err as StoreWriteError).code).to.equal("23514"); // check_violation

      expect(await store.loadState()).to.deep.equal(before);
      expect((await store.listLiquidations({ limit: 10, offset: 0 })).map((l) => l.blockNumber)).to.deep.equal([10n]);
      expect(await store.listOracleRounds(asset(0), { limit: 10, offset: 0 })).to.have.length(1);
      expect(await store.getAccountHealth(account(1))).to.deep.equal(health(1, 2n * WAD, "healthy", 10n));
      expect(await store.getAccountHealth(account(2))).to.equal(null);
    });

    it("rollbackTo removes liquidations, bad debt, oracle rounds and snapshots above the block before the batch's rows", async () => {
      await store.commitBatch(
        batch(7n, {
          liquidations: [liquidation(5n, 0), liquidation(6n, 3), liquidation(7n, 1)],
          badDebt: [5n, 7n].map((b) => ({
            blockNumber: b,
            logIndex: 2,
            transactionHash: hash(b),
            account: account(1),
            asset: asset(1),
            amount: 9n,
            reserveDeficit: 9n,
          })),
          oracleRounds: [round(0, 1n, 5n), round(0, 2n, 6n), round(0, 3n, 7n)],
        }),
      );
      for (const b of [5n, 7n]) await store.insertRiskSnapshot({ blockNumber: b, timestamp: 1_700_000_000n + b, payload: { block: Number(b) } });

      // Reorg to block 5, then the new branch's block 6 brings a different liquidation at the same log index.
      await store.commitBatch(
        batch(6n, { rollbackTo: 5n, liquidations: [liquidation(6n, 3, account(2), 777n)], oracleRounds: [round(0, 2n, 6n, 2900_00000000n)] }),
      );

      const liqs = await store.listLiquidations({ limit: 10, offset: 0 });
      expect(liqs.map((l) => [l.blockNumber, l.logIndex, l.borrower, l.debtRepaid])).to.deep.equal([
        [6n, 3, account(2), 777n],
        [5n, 0, account(1), 1000n],
      ]);
      expect((await store.listBadDebt({ limit: 10, offset: 0 })).map((d) => d.blockNumber)).to.deep.equal([5n]);
      const rounds = await store.listOracleRounds(asset(0), { limit: 10, offset: 0 });
      expect(rounds.map((r) => [r.roundId, r.answer])).to.deep.equal([
        [2n, 2900_00000000n],
        [1n, 3000_00000000n],
      ]);
      expect((await store.latestRiskSnapshot())!.blockNumber).to.equal(5n);
    });

    it("deletes a position whose balances are both zero; the last write of a position in a batch wins", async () => {
      await store.commitBatch(
        batch(1n, {
          positions: [
            { account: account(1), asset: asset(0), scaledCollateral: 10n, scaledDebt: 0n },
            { account: account(1), asset: asset(1), scaledCollateral: 0n, scaledDebt: 4n },
            { account: account(3), asset: asset(0), scaledCollateral: 0n, scaledDebt: 0n }, // never stored
          ],
        }),
      );
      expect((await store.loadState()).positions.map((p) => p.asset)).to.deep.equal([asset(0), asset(1)]);

      await store.commitBatch(
        batch(2n, {
          positions: [
            { account: account(1), asset: asset(0), scaledCollateral: 0n, scaledDebt: 0n },
            { account: account(1), asset: asset(1), scaledCollateral: 0n, scaledDebt: 0n },
            { account: account(1), asset: asset(1), scaledCollateral: 1n, scaledDebt: 4n }, // repaid and re-opened within the batch
            { account: account(2), asset: asset(0), scaledCollateral: 5n, scaledDebt: 0n },
            { account: account(2), asset: asset(0), scaledCollateral: 0n, scaledDebt: 0n }, // opened and closed within the batch
          ],
        }),
      );
      expect((await store.loadState()).positions).to.deep.equal([{ account: account(1), asset: asset(1), scaledCollateral: 1n, scaledDebt: 4n }]);
    });

    it("keeps a single checkpoint row, replaced by each batch", async () => {
      await store.commitBatch(batch(1n));
      const second = makeCheckpoint(2n, { recentBlocks: [], journal: "[]", digest: "d2" });
      await store.commitBatch(batch(2n, { checkpoint: second }));
      expect((await store.loadState()).checkpoint).to.deep.equal(second);
      const { n } = (await db.query<{ n: string }>("SELECT count(*) AS n FROM checkpoint"))[0]!;
      expect(n).to.equal("1");
    });

    it("records keeper outcomes and lists them newest first, filtered by account and outcome", async () => {
      const outcomes = [
        outcome(1),
        outcome(2, { outcome: "lost-race", transactionHash: null, gasUsed: null }),
        outcome(3, { outcome: "failed", reason: "nonce too low" }),
        outcome(4, {
          outcome: "skipped-unprofitable",
          expectedProfitBase: -5_00000000n,
          collateralAsset: null,
          debtAsset: null,
          repayAmount: null,
          transactionHash: null,
          blockNumber: null,
          gasUsed: null,
        }),
        outcome(5), // same account as outcome(2) (i % 3)
      ];
      for (const o of outcomes) await store.recordKeeperOutcome(o);

      const all = await store.listKeeperOutcomes({ limit: 10, offset: 0 });
      expect(all).to.deep.equal([...outcomes].reverse());
      expect((await store.listKeeperOutcomes({ limit: 10, offset: 0, account: account(2) })).map((o) => o.jobId)).to.deep.equal(["job-5", "job-2"]);
      expect((await store.listKeeperOutcomes({ limit: 10, offset: 0, outcome: "liquidated" })).map((o) => o.jobId)).to.deep.equal(["job-5", "job-1"]);
      expect((await store.listKeeperOutcomes({ limit: 10, offset: 0, account: account(2), outcome: "lost-race" })).map((o) => o.jobId)).to.deep.equal(
        ["job-2"],
      );
      expect(await rejection(store.listKeeperOutcomes({ limit: 10, offset: 0, outcome: "won" as never }))).to.be.instanceOf(StoreQueryError);
    });

    it("pages liquidations without gaps or overlaps; reads account health rows back", async () => {
      const liqs = Array.from({ length: 25 }, (_, i) => liquidation(BigInt(100 + Math.floor(i / 3)), i % 3, account(i % 2)));
      await store.commitBatch(
        batch(200n, {
          liquidations: liqs,
          accountHealth: [
            health(1, 3n * WAD, "healthy"),
            health(2, WAD / 2n, "liquidatable"),
            health(3, null, "unknown"),
            health(4, (WAD * 105n) / 100n, "warning"),
            health(5, MAX, "healthy"),
            health(6, (WAD * 9n) / 10n, "liquidatable"),
          ],
        }),
      );

      const pages = [];
      for (let offset = 0; offset < 30; offset += 10) pages.push(await store.listLiquidations({ limit: 10, offset }));
      expect(pages.map((p) => p.length)).to.deep.equal([10, 10, 5]);
      const keys = pages.flat().map((l) => `${l.blockNumber}:${l.logIndex}`);
      expect(keys).to.deep.equal(liqs.map((l) => `${l.blockNumber}:${l.logIndex}`).reverse());
      expect(await store.listLiquidations({ limit: 100, offset: 0, account: account(1) })).to.have.length(12);

      expect(await store.getAccountHealth(account(2))).to.deep.equal(health(2, WAD / 2n, "liquidatable"));
      expect(await store.getAccountHealth(account(3))).to.deep.equal(health(3, null, "unknown"));
      expect(await store.getAccountHealth(account(42))).to.equal(null);

      expect(await rejection(store.listLiquidations({ limit: 0, offset: 0 }))).to.be.instanceOf(StoreQueryError);
      expect(await rejection(store.listLiquidations({ limit: 10, offset: -1 }))).to.be.instanceOf(StoreQueryError);
      expect(await rejection(store.getAccountHealth("0x1234" as Address))).to.be.instanceOf(StoreQueryError);
    });

    it("stores risk snapshots with bigint payloads, one per block, newest first", async () => {
      await store.insertRiskSnapshot({ blockNumber: 9n, timestamp: 1_700_000_009n, payload: { totalDebt: MAX, buckets: [1, 2] } });
      await store.insertRiskSnapshot({ blockNumber: 10n, timestamp: 1_700_000_010n, payload: { v: 1 } });
      await store.insertRiskSnapshot({ blockNumber: 10n, timestamp: 1_700_000_011n, payload: { v: 2 } }); // replaces
      expect(await store.latestRiskSnapshot()).to.deep.equal({ blockNumber: 10n, timestamp: 1_700_000_011n, payload: { v: 2 } });
      const list = await store.listRiskSnapshots({ limit: 10, offset: 0 });
      expect(list.map((s) => s.blockNumber)).to.deep.equal([10n, 9n]);
      expect(list[1]!.payload).to.deep.equal({ totalDebt: MAX.toString(), buckets: [1, 2] });
    });

    it("lists risk snapshots within block bounds, either order, paged", async () => {
      for (const b of [10n, 20n, 30n, 40n, 50n])
        await store.insertRiskSnapshot({ blockNumber: b, timestamp: 1_700_000_000n + b, payload: { b: Number(b) } });
      const blocks = async (page: Parameters<Store["listRiskSnapshotRange"]>[0]) =>
        (await store.listRiskSnapshotRange(page)).map((s) => s.blockNumber);
      expect(await blocks({ limit: 10, offset: 0 })).to.deep.equal([50n, 40n, 30n, 20n, 10n]);
      expect(await blocks({ limit: 10, offset: 0, fromBlock: 20n, toBlock: 40n })).to.deep.equal([40n, 30n, 20n]);
      expect(await blocks({ limit: 2, offset: 1, fromBlock: 20n, order: "asc" })).to.deep.equal([30n, 40n]);
      expect(await blocks({ limit: 10, offset: 0, toBlock: 9n })).to.deep.equal([]);
      const [first] = await store.listRiskSnapshotRange({ limit: 1, offset: 0, order: "asc" });
      expect(first).to.deep.equal({ blockNumber: 10n, timestamp: 1_700_000_010n, payload: { b: 10 } });
      expect(await rejection(store.listRiskSnapshotRange({ limit: 10, offset: 0, fromBlock: -1n }))).to.be.instanceOf(StoreQueryError);
      expect(await rejection(store.listRiskSnapshotRange({ limit: 10, offset: 0, order: "up" as "asc" }))).to.be.instanceOf(StoreQueryError);
    });

    it("keeps every batch's health rows as history per account and block; a reorg drops the rows above its ancestor", async () => {
      await store.commitBatch(batch(10n, { accountHealth: [health(1, 2n * WAD, "healthy", 10n), health(2, WAD, "warning", 10n)] }));
      // two rows for one account and block in a batch: the last wins
      await store.commitBatch(batch(11n, { accountHealth: [health(1, WAD, "warning", 11n), health(1, WAD / 2n, "liquidatable", 11n)] }));
      await store.commitBatch(batch(12n, { accountHealth: [health(1, null, "unknown", 12n)] }));
      const hist = await store.listAccountHealthHistory(account(1), { limit: 10, offset: 0 });
      expect(hist).to.deep.equal([health(1, null, "unknown", 12n), health(1, WAD / 2n, "liquidatable", 11n), health(1, 2n * WAD, "healthy", 10n)]);
      expect(await store.getAccountHealth(account(1))).to.deep.equal(health(1, null, "unknown", 12n)); // latest row unchanged in meaning
      const asc = await store.listAccountHealthHistory(account(1), { limit: 2, offset: 0, order: "asc" });
      expect(asc.map((h) => h.blockNumber)).to.deep.equal([10n, 11n]);
      const bounded = await store.listAccountHealthHistory(account(1), { limit: 10, offset: 0, fromBlock: 11n, toBlock: 11n });
      expect(bounded.map((h) => h.blockNumber)).to.deep.equal([11n]);
      expect(await store.listAccountHealthHistory(account(2), { limit: 10, offset: 0 })).to.deep.equal([health(2, WAD, "warning", 10n)]);
      expect(await store.listAccountHealthHistory(account(42), { limit: 10, offset: 0 })).to.deep.equal([]);

      await store.commitBatch(batch(12n, { rollbackTo: 10n, accountHealth: [health(1, 3n * WAD, "healthy", 12n)] }));
      const after = await store.listAccountHealthHistory(account(1), { limit: 10, offset: 0 });
      expect(after).to.deep.equal([health(1, 3n * WAD, "healthy", 12n), health(1, 2n * WAD, "healthy", 10n)]);
      expect(await rejection(store.listAccountHealthHistory("0x12" as Address, { limit: 10, offset: 0 }))).to.be.instanceOf(StoreQueryError);
      expect(await rejection(store.listAccountHealthHistory(account(1), { limit: 0, offset: 0 }))).to.be.instanceOf(StoreQueryError);
    });

    it("reset() empties every table", async () => {
      await store.commitBatch(
        batch(3n, {
          assets: [makeAsset(0)],
          feeds: [{ asset: asset(0), aggregator: feed(0), heartbeat: 1n, decimals: 8 }],
          sequencer: { feed: feed(1), gracePeriod: 1n },
          positions: [{ account: account(1), asset: asset(0), scaledCollateral: 1n, scaledDebt: 0n }],
          liquidations: [liquidation(3n, 0)],
          oracleRounds: [round(0, 1n, 3n)],
          accountHealth: [health(1, WAD, "healthy")],
        }),
      );
      await store.recordKeeperOutcome(outcome(1));
      await store.insertRiskSnapshot({ blockNumber: 3n, timestamp: 3n, payload: {} });
      await store.reset();
      expect(await store.loadState()).to.deep.equal({
        checkpoint: null,
        assets: [],
        feeds: [],
        positions: [],
        sequencer: null,
        categories: [],
        accountCategories: [],
        contracts: [],
      });
      expect(await store.listLiquidations({ limit: 10, offset: 0 })).to.deep.equal([]);
      expect(await store.listOracleRounds(asset(0), { limit: 10, offset: 0 })).to.deep.equal([]);
      expect(await store.listKeeperOutcomes({ limit: 10, offset: 0 })).to.deep.equal([]);
      expect(await store.latestRiskSnapshot()).to.equal(null);
      expect(await store.getAccountHealth(account(1))).to.equal(null);
      expect(await store.listAccountHealthHistory(account(1), { limit: 10, offset: 0 })).to.deep.equal([]);
    });

    it("commits the alert outbox and alert state in the batch; pending oldest first until delivered; listAlerts newest first", async () => {
      const a1 = alert(1, 10n);
      const a2 = alert(2, 10n, {
        severity: "critical",
        body: { kind: "oracle", type: "feed-invalid", asset: asset(0), symbol: "WETH", detail: "WETH feed is invalid: answer 0 ≤ 0" },
      });
      const a3 = alert(3, 11n);
      const states = [alertState(`mc|${account(1)}|warning`), alertState(`oracle|${asset(0)}|fault`, { variant: "feed-invalid", muted: true })];
      await store.commitBatch(batch(10n, { alertOutbox: [a1, a2], alertState: states }));
      await store.commitBatch(
        batch(11n, { alertOutbox: [a3], alertState: [alertState(`mc|${account(1)}|warning`, { state: "resolved", atMs: 1_767_225_700_000 })] }),
      );

      expect(await store.pendingAlerts(10)).to.deep.equal([a1, a2, a3]);
      expect(await store.pendingAlerts(2)).to.deep.equal([a1, a2]);
      expect(await store.loadAlertState()).to.deep.equal([
        alertState(`mc|${account(1)}|warning`, { state: "resolved", atMs: 1_767_225_700_000 }),
        states[1],
      ]);

      await store.markAlertsDelivered([a1.id, "no-such-alert"]);
      expect((await store.pendingAlerts(10)).map((a) => a.id)).to.deep.equal([a2.id, a3.id]);
      const listed = await store.listAlerts({ limit: 10, offset: 0 });
      expect(listed.map((s) => s.alert)).to.deep.equal([a3, a2, a1]);
      expect(listed.map((s) => s.deliveredAt === null)).to.deep.equal([true, true, false]);
      expect(listed[2]!.deliveredAt).to.be.instanceOf(Date);
      expect(listed[0]!.createdAt).to.be.instanceOf(Date);
      expect((await store.listAlerts({ limit: 1, offset: 1 })).map((s) => s.alert.id)).to.deep.equal([a2.id]);
      expect(await rejection(store.pendingAlerts(0))).to.be.instanceOf(StoreQueryError);
    });

    it("an outbox id is stored once: a re-committed batch neither duplicates, re-queues nor rewrites a delivered alert", async () => {
      const a = alert(1, 20n);
      await store.commitBatch(batch(20n, { alertOutbox: [a, { ...a, message: "same id within the batch" }] }));
      await store.markAlertsDelivered([a.id]);
      // The batch again (an unacknowledged COMMIT retried, or the block replayed after a crash), with a later `at`.
      await store.commitBatch(batch(20n, { alertOutbox: [{ ...a, at: new Date().toISOString() }, alert(2, 20n)] }));
      expect((await store.pendingAlerts(10)).map((x) => x.id)).to.deep.equal([alert(2, 20n).id]);
      const listed = await store.listAlerts({ limit: 10, offset: 0 });
      expect(listed.map((s) => s.alert)).to.deep.equal([alert(2, 20n), a]);
      expect(listed[1]!.deliveredAt).to.not.equal(null);
    });

    it("a failing batch writes no alert; rollbackTo keeps alerts already decided", async () => {
      const kept = alert(1, 30n);
      await store.commitBatch(batch(30n, { alertOutbox: [kept], alertState: [alertState("mc|a|warning")] }));
      const err = await rejection(
        store.commitBatch(
          batch(31n, {
            alertOutbox: [alert(2, 31n)],
            alertState: [alertState("mc|a|warning", { state: "resolved" }), alertState("mc|b|warning")],
            accountHealth: [{ ...health(2, WAD, "healthy", 31n), totalDebtBase: -1n }],
          }),
        ),
      );
      expect(err).to.be.instanceOf(StoreWriteError);
      expect(await store.pendingAlerts(10)).to.deep.equal([kept]);
      expect(await store.loadAlertState()).to.deep.equal([alertState("mc|a|warning")]);

      await store.commitBatch(batch(29n, { rollbackTo: 29n, alertOutbox: [alert(3, 29n)] }));
      expect((await store.pendingAlerts(10)).map((a) => a.id)).to.deep.equal([kept.id, alert(3, 29n).id]);
      expect(await store.loadAlertState()).to.deep.equal([alertState("mc|a|warning")]);
    });

    it("reset() empties the alert outbox and state", async () => {
      await store.commitBatch(batch(3n, { alertOutbox: [alert(1, 3n)], alertState: [alertState("mc|a|warning")] }));
      await store.reset();
      expect(await store.pendingAlerts(10)).to.deep.equal([]);
      expect(await store.listAlerts({ limit: 10, offset: 0 })).to.deep.equal([]);
      expect(await store.loadAlertState()).to.deep.equal([]);
    });

    it("survives close and reopen through openStore (restart)", async () => {
      const dataDir = kind === "pglite" ? fs.mkdtempSync(path.join(os.tmpdir(), "marginwatch-store-")) : undefined;
      const open = () =>
        kind === "pglite" ? openStore({ dataDir: path.join(dataDir!, "nested", "pglite") }) : openStore({ databaseUrl: PG_URL, schema });
      try {
        const first = await open();
        const written = batch(42n, {
          assets: [makeAsset(0), makeAsset(1)],
          positions: [{ account: account(1), asset: asset(1), scaledCollateral: MAX, scaledDebt: 1n }],
          sequencer: { feed: feed(5), gracePeriod: 3600n },
          alertOutbox: [alert(1, 42n), alert(2, 42n)],
          alertState: [alertState("mc|a|warning")],
        });
        await first.commitBatch(written);
        await first.markAlertsDelivered([alert(1, 42n).id]);
        const expected = await first.loadState();
        await first.close();

        const second = await open(); // migrate() runs again on an existing schema
        try {
          expect(await second.loadState()).to.deep.equal(expected);
          expect(await second.pendingAlerts(10)).to.deep.equal([alert(2, 42n)]);
          expect(await second.loadAlertState()).to.deep.equal([alertState("mc|a|warning")]);
          expect(expected.checkpoint).to.deep.equal(written.checkpoint);
          expect(second.kind).to.equal(kind);
        } finally {
          await second.close();
        }
      } finally {
        if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

describe("openStore (postgres) errors and concurrency", function () {
  this.timeout(30_000);

  it("says clearly, without the password, that an unreachable PostgreSQL cannot be reached", async () => {
    const err = await rejection(openStore({ databaseUrl: "postgresql://postgres:s3cret@127.0.0.1:1/test" }));
    expect(err).to.be.instanceOf(StoreConnectionError);
    expect(err.message).to.match(/^cannot connect to PostgreSQL at postgresql:\/\/postgres@127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
    expect(err.message).not.to.contain("s3cret");
  });

  it("refuses a schema name that would need quoting", async () => {
    expect(await rejection(openStore({ databaseUrl: PG_URL, schema: 'x"; DROP TABLE y; --' }))).to.be.instanceOf(StoreQueryError);
  });

  it("two processes migrating one new schema at once both succeed", async () => {
    const schema = randomSchema();
    try {
      const stores = await Promise.all([openStore({ databaseUrl: PG_URL, schema }), openStore({ databaseUrl: PG_URL, schema })]);
      await stores[0].commitBatch(batch(1n));
      expect((await stores[1].loadState()).checkpoint!.blockNumber).to.equal(1n);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await dropSchema(schema);
    }
  });
});
