// The apply step: one sync step (indexer/sync/types.ts) taken into memory — state, oracle readings, the held block
// chain, the health engine — synchronously and without I/O. It returns what the step's store batch needs; the
// indexer commits that batch and then publishes. A failed commit is undone by the indexer (from the store).
import type { FeedRead, OracleAlert, OracleTracker } from "./oracle/tracker";
import type { Change } from "./state/changes";
import type { Address } from "./state/events";
import { type ProtocolState, type StateChange, StateInvariantError } from "./state/state";
import type { BadDebtRecord, BatchWrite, BlockRef, Hex, LiquidationRecord, OracleRound, PositionRow } from "./store/types";
import type { HealthUpdate } from "./health/types";
import type { RecentBlocks } from "./sync/recent-blocks";
import type { SyncStep } from "./sync/types";

/** What the indexer needs from a health engine; indexer/health implements it. */
export interface HealthSink {
  setPrice(asset: Address, info: { price: bigint; status: "fresh" | "stale" | "invalid" }): void;
  onStateChange(change: StateChange): void;
  onRollback(change: StateChange): void;
  evaluate(now: bigint, blockNumber: bigint): HealthUpdate;
  /** the exact view of one account, persisted for the accounts a block touched */
  account?(
    address: Address,
    now: bigint,
  ):
    | { healthFactor: bigint | null; status: "healthy" | "warning" | "liquidatable" | "unknown"; totalCollateralBase: bigint; totalDebtBase: bigint }
    | undefined;
}

/** The in-memory side of the pipeline a step moves. */
export interface ApplyTarget {
  state: ProtocolState;
  oracle: OracleTracker;
  recent: RecentBlocks;
  health: HealthSink | undefined;
}

/** A step taken into memory: where it ends and everything its batch writes. */
export interface Applied {
  /** the block the step ends at (a reorg: its ancestor) */
  tip: BlockRef;
  kind: "range" | "block" | "rollback";
  /** first block the step covers */
  from: bigint;
  changes: Change[];
  /** what state (and a reorg's undo) touched */
  change: StateChange;
  /** `${account}|${asset}` positions to write */
  dirty: Set<string>;
  dirtyAssets: Set<Address>;
  dirtyFeeds: Set<Address>;
  /** efficiency-mode categories and accounts' category choices to write */
  dirtyCategories: Set<number>;
  dirtyModes: Set<Address>;
  dirtyContracts: Set<Address>;
  liquidations: LiquidationRecord[];
  badDebt: BadDebtRecord[];
  rounds: OracleRound[];
  oracleAlerts: OracleAlert[];
  sequencerChanged: boolean;
  health: HealthUpdate | undefined;
  reorg: { ancestor: BlockRef; depth: number } | null;
}

/**
 * Applies `step` (its events in order) with `feeds` read at its last block (null for a reorg: the readings roll back
 * with their journal). `replay`: the block is already held (a restored checkpoint re-published).
 */
export function applyStep(t: ApplyTarget, step: SyncStep, feeds: FeedRead | null, replay = false): Applied {
  const ends = step.find((e) => e.type !== "finalize");
  if (!ends) throw new StateInvariantError("a sync step with neither a block nor a reorg: nothing to publish");
  const a: Applied = {
    tip: ends.type === "block" ? ends.block : ends.ancestor,
    kind: "block",
    from: 0n,
    changes: [],
    change: { accounts: [], assets: [], feeds: [] },
    dirty: new Set(),
    dirtyAssets: new Set(),
    dirtyFeeds: new Set(),
    dirtyCategories: new Set(),
    dirtyModes: new Set(),
    dirtyContracts: new Set(),
    liquidations: [],
    badDebt: [],
    rounds: [],
    oracleAlerts: [],
    sequencerChanged: false,
    health: undefined,
    reorg: null,
  };
  const accounts = new Set<Address>();
  let finalized: bigint | null = null;
  for (const ev of step) {
    switch (ev.type) {
      case "block":
        a.tip = ev.block;
        a.kind = ev.kind;
        a.from = ev.from;
        applyChanges(t.state, ev.changes, a, accounts);
        if (ev.kind === "range") t.recent.reset(ev.block);
        else if (!replay) {
          if (ev.parent) t.recent.reset(ev.parent);
          t.recent.push(ev.block);
        }
        break;
      case "reorg": {
        const undone = t.state.rollbackTo(ev.ancestor.number);
        t.oracle.rollbackTo(ev.ancestor.number);
        t.recent.truncate(ev.ancestor.number);
        a.tip = ev.ancestor;
        a.kind = "rollback";
        a.from = ev.ancestor.number + 1n;
        a.reorg = { ancestor: ev.ancestor, depth: ev.depth };
        for (const acct of undone.accounts) {
          accounts.add(acct);
          for (const asset of t.state.assets.keys()) a.dirty.add(`${acct}|${asset}`);
        }
        for (const asset of undone.assets) a.dirtyAssets.add(asset);
        for (const f of undone.feeds) a.dirtyFeeds.add(f);
        for (const c of undone.categories ?? []) a.dirtyCategories.add(c);
        for (const m of undone.modes ?? []) a.dirtyModes.add(m);
        for (const k of undone.contracts ?? []) a.dirtyContracts.add(k);
        a.sequencerChanged = true;
        break;
      }
      case "finalize":
        finalized = ev.block;
        break;
    }
  }
  if (feeds) {
    const poll = t.oracle.apply(t.state, feeds);
    a.rounds.push(...poll.rounds);
    a.oracleAlerts = poll.alerts;
  }
  // After the readings: the step's own poll is journaled at its block, which may be the one now final.
  if (finalized !== null) {
    t.state.finalize(finalized);
    t.oracle.finalize(finalized);
    t.recent.prune(t.state.finalizedBlock);
  }
  a.change = { accounts: [...accounts], assets: [...a.dirtyAssets], feeds: [...a.dirtyFeeds] };
  syncPrices(t);
  if (a.reorg) t.health?.onRollback(a.change);
  else t.health?.onStateChange(a.change);
  a.health = t.health?.evaluate(a.tip.timestamp, a.tip.number);
  return a;
}

/** Gives the health engine every asset's price and status as the tracker holds them (unchanged ones cost nothing). */
export function syncPrices(t: Pick<ApplyTarget, "state" | "oracle" | "health">): void {
  const health = t.health;
  if (!health) return;
  for (const asset of t.state.assets.keys()) {
    const r = t.oracle.reading(asset);
    health.setPrice(asset, r ? { price: r.price ?? 0n, status: r.status } : { price: 0n, status: "invalid" });
  }
}

function applyChanges(state: ProtocolState, changes: Change[], a: Applied, accounts: Set<Address>): void {
  // A liquidation's timestamp: that of the reserve-index update its own transaction made just before it.
  let lastTimestamp: bigint | null = null;
  for (const c of changes) {
    const moved = state.apply(c);
    a.changes.push(c);
    for (const acct of moved.accounts) accounts.add(acct);
    for (const asset of moved.assets) a.dirtyAssets.add(asset);
    for (const f of moved.feeds) a.dirtyFeeds.add(f);
    for (const x of moved.categories ?? []) a.dirtyCategories.add(x);
    for (const m of moved.modes ?? []) a.dirtyModes.add(m);
    for (const k of moved.contracts ?? []) a.dirtyContracts.add(k);
    switch (c.kind) {
      case "sequencer-set":
        a.sequencerChanged = true;
        break;
      case "reserve-indexes":
        lastTimestamp = c.timestamp;
        break;
      case "collateral":
      case "debt":
      case "collateral-flag":
        a.dirty.add(`${c.account}|${c.asset}`);
        break;
      case "liquidation":
        a.liquidations.push({
          blockNumber: c.meta.blockNumber,
          logIndex: c.meta.logIndex,
          transactionHash: c.meta.transactionHash as Hex,
          timestamp: lastTimestamp,
          borrower: c.borrower,
          liquidator: c.liquidator,
          collateralAsset: c.collateralAsset,
          debtAsset: c.debtAsset,
          debtRepaid: c.debtRepaid,
          collateralSeized: c.collateralSeized,
        });
        break;
      case "bad-debt":
        a.badDebt.push({
          blockNumber: c.meta.blockNumber,
          logIndex: c.meta.logIndex,
          transactionHash: c.meta.transactionHash as Hex,
          account: c.account,
          asset: c.asset,
          amount: c.amount,
          reserveDeficit: c.reserveDeficit,
        });
        break;
    }
  }
}

/** Store rows for the accounts a step touched: position changes, status changes and level crossings. */
export function healthRowsOf(health: HealthSink | undefined, a: Pick<Applied, "change" | "health">, block: BlockRef): BatchWrite["accountHealth"] {
  if (!health?.account) return [];
  const u = a.health;
  const touched = new Set<Address>(a.change.accounts);
  for (const list of [u?.liquidatableAdded, u?.liquidatableRemoved, u?.unknownAdded, u?.unknownRemoved]) for (const x of list ?? []) touched.add(x);
  for (const c of u?.crossings ?? []) touched.add(c.account);
  const rows: BatchWrite["accountHealth"] = [];
  for (const account of touched) {
    const h = health.account(account, block.timestamp);
    if (!h) continue;
    rows.push({
      account,
      healthFactor: h.healthFactor,
      status: h.status,
      totalCollateralBase: h.totalCollateralBase,
      totalDebtBase: h.totalDebtBase,
      blockNumber: block.number,
    });
  }
  return rows;
}

/** The step's store batch: checkpoint (journal, held blocks, digest), the rows it changed, its history, `extra`. */
export function batchOf(
  a: Applied,
  state: ProtocolState,
  recent: RecentBlocks,
  healthRows: BatchWrite["accountHealth"],
  extra?: Partial<BatchWrite>,
): BatchWrite {
  const positions: PositionRow[] = [];
  for (const key of a.dirty) {
    const [account, asset] = key.split("|") as [Address, Address];
    const p = state.position(account, asset);
    positions.push({
      account,
      asset,
      scaledCollateral: p?.scaledCollateral ?? 0n,
      scaledDebt: p?.scaledDebt ?? 0n,
      collateralFlag: p?.collateralFlag ?? null,
    });
  }
  return {
    checkpoint: {
      blockNumber: a.tip.number,
      blockHash: a.tip.hash,
      finalizedBlock: state.finalizedBlock,
      journal: state.dumpJournal(),
      recentBlocks: [...recent.all],
      digest: state.digest(),
    },
    rollbackTo: a.reorg ? a.reorg.ancestor.number : undefined,
    assets: [...a.dirtyAssets].map((x) => state.assets.get(x)).filter((x) => x !== undefined),
    feeds: [...a.dirtyFeeds].map((x) => state.feeds.get(x)).filter((x) => x !== undefined),
    positions,
    sequencer: a.sequencerChanged ? state.sequencer : undefined,
    liquidations: a.liquidations,
    badDebt: a.badDebt,
    oracleRounds: a.rounds,
    accountHealth: healthRows,
    // A reorg can undo a listing or a first FeedSet: those rows must go too.
    deletedAssets: [...a.dirtyAssets].filter((x) => !state.assets.has(x)),
    deletedFeeds: [...a.dirtyFeeds].filter((x) => !state.feeds.has(x)),
    categories: [...a.dirtyCategories].map((x) => state.categories.get(x)).filter((x) => x !== undefined),
    deletedCategories: [...a.dirtyCategories].filter((x) => !state.categories.has(x)),
    accountCategories: [...a.dirtyModes].map((account) => ({ account, category: state.accountCategories.get(account) ?? 0 })),
    contracts: [...a.dirtyContracts].flatMap((address) => {
      const family = state.contracts.get(address);
      return family === undefined ? [] : [{ address, family }];
    }),
    deletedContracts: [...a.dirtyContracts].filter((x) => !state.contracts.has(x)),
    ...extra,
  };
}
