// The indexer: backfills then follows the chain, keeps ProtocolState, feeds the oracle tracker and the health
// engine, and checkpoints every batch to the store in one transaction. Data flows one way:
// chain → sync → state → health engine → (store, listeners: keeper producer, alerts, API).
import { EventEmitter } from "node:events";
import type { Log, PublicClient } from "viem";
import type { Logger } from "pino";
import type { Deployment } from "../common/deployment";
import { errorText, isTransientError, sleep, backoffDelay, retry } from "../common/retry";
import type { Address, ChainEvent } from "./state/events";
import { ProtocolState, StateInvariantError, type StateChange } from "./state/state";
import type { BadDebtRecord, BatchWrite, BlockRef, Hex, LiquidationRecord, OracleRound, PositionRow, Store } from "./store/types";
import { AdaptiveRange, type AdaptiveRangeOptions } from "./sync/adaptive-range";
import { decodeLogs, getLogsAdaptive, watchedAddresses, type WatchedContracts } from "./sync/get-logs";
import { RecentBlocks } from "./sync/recent-blocks";
import { ChainMismatchError, DeepReorgError, InconsistentNodeError, RpcUnreachableError } from "./sync/errors";
import { OracleTracker, type OracleAlert } from "./oracle/tracker";
import type { MalformedLogError } from "./state/events";

/** What the indexer needs from a health engine; indexer/health implements it. */
export interface HealthSink {
  setPrice(asset: Address, info: { price: bigint; status: "fresh" | "stale" | "invalid" }): void;
  onStateChange(change: StateChange): void;
  onRollback(change: StateChange): void;
  evaluate(now: bigint, blockNumber: bigint): unknown;
  /** the exact view of one account, persisted for the accounts a block touched */
  account?(address: Address, now: bigint):
    | { healthFactor: bigint | null; status: "healthy" | "warning" | "liquidatable" | "unknown"; totalCollateralBase: bigint; totalDebtBase: bigint }
    | undefined;
}

/** The lists of a health update that name accounts whose row in the store must be refreshed. */
interface HealthUpdateLists {
  liquidatableAdded?: Address[];
  liquidatableRemoved?: Address[];
  unknownAdded?: Address[];
  unknownRemoved?: Address[];
  crossings?: Array<{ account: Address }>;
}

export interface IndexerConfig {
  /** blocks after which a block is final; a reorg deeper than this stops the indexer (default 12) */
  finalityDepth: number;
  /** head polling interval, ms (default 1000) */
  pollIntervalMs: number;
  /** head not advancing for this long → not ready (default 60_000) */
  stallTimeoutMs: number;
  range?: AdaptiveRangeOptions;
  /** show a cli-progress bar during backfill (default: stderr is a TTY) */
  progress?: boolean;
}

export const DEFAULT_INDEXER_CONFIG: IndexerConfig = { finalityDepth: 12, pollIntervalMs: 1000, stallTimeoutMs: 60_000 };

export interface IndexerStatus {
  phase: "starting" | "backfill" | "follow" | "stopped" | "failed";
  head: bigint | null;
  cursor: bigint;
  finalizedBlock: bigint;
  lastBlockTimestamp: bigint | null;
  /** ms epoch of the last successful RPC call */
  lastRpcOkAt: number;
  /** ms epoch when the head last advanced */
  lastHeadChangeAt: number;
  rpcError: string | null;
  /** the last failed sync step's error while steps keep failing (cleared by a successful step) */
  syncError: string | null;
  consecutiveFailures: number;
  fatalError: string | null;
  reorgs: number;
  malformedLogs: number;
  eventsApplied: number;
}

export interface BlockProcessed {
  block: BlockRef;
  phase: "backfill" | "follow";
  events: ChainEvent[];
  health: unknown;
}

export interface IndexerDeps {
  client: PublicClient;
  store: Store;
  deployment: Deployment;
  logger: Logger;
  /** builds the health engine over the (restored) state; called once by start() */
  createHealth?: (state: ProtocolState) => HealthSink;
  oracle?: OracleTracker;
  config?: Partial<IndexerConfig>;
}

/**
 * Events: "block" (BlockProcessed, follow mode, after commit), "batch" ({from, to, events}), "reorg"
 * ({ancestor, depth}), "alert" (OracleAlert), "malformed" (MalformedLogError), "caught-up", "fatal" (Error).
 */
export class Indexer extends EventEmitter {
  readonly cfg: IndexerConfig;
  state = new ProtocolState();
  readonly oracle: OracleTracker;
  private readonly recent = new RecentBlocks();
  private readonly range: AdaptiveRange;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private bar: { update(n: number): void; stop(): void; start(total: number, n: number): void; setTotal(n: number): void } | null = null;
  readonly status: IndexerStatus;
  health: HealthSink | undefined;

  constructor(private readonly deps: IndexerDeps) {
    super();
    this.cfg = { ...DEFAULT_INDEXER_CONFIG, ...deps.config };
    this.range = new AdaptiveRange(this.cfg.range);
    this.oracle = deps.oracle ?? new OracleTracker(deps.client);
    this.status = {
      phase: "starting", head: null, cursor: BigInt(deps.deployment.startBlock) - 1n, finalizedBlock: -1n,
      lastBlockTimestamp: null, lastRpcOkAt: 0, lastHeadChangeAt: Date.now(), rpcError: null, syncError: null, consecutiveFailures: 0, fatalError: null,
      reorgs: 0, malformedLogs: 0, eventsApplied: 0,
    };
  }

  get watched(): WatchedContracts {
    const feeds = new Set<Address>(this.deps.deployment.assets.map((a) => a.feed.toLowerCase() as Address));
    for (const f of this.state.feeds.values()) feeds.add(f.aggregator);
    return { pool: this.deps.deployment.pool.toLowerCase() as Address, oracle: this.deps.deployment.oracle.toLowerCase() as Address, feeds: [...feeds].sort() };
  }

  /** Ready: following the head, RPC answering, head advancing, no fatal error. */
  isReady(now = Date.now()): { ready: boolean; reason: string | null } {
    const s = this.status;
    if (s.fatalError) return { ready: false, reason: s.fatalError };
    if (s.phase !== "follow") return { ready: false, reason: `phase ${s.phase}` };
    if (s.rpcError && now - s.lastRpcOkAt > this.cfg.pollIntervalMs * 3) return { ready: false, reason: `RPC failing: ${s.rpcError}` };
    if (s.syncError && s.consecutiveFailures >= 3) return { ready: false, reason: `sync failing: ${s.syncError}` };
    if (now - s.lastHeadChangeAt > this.cfg.stallTimeoutMs) {
      return { ready: false, reason: `head stuck at ${s.head} for ${Math.round((now - s.lastHeadChangeAt) / 1000)}s` };
    }
    return { ready: true, reason: null };
  }

  /** Restores the checkpoint (if any) and starts the loop in the background. */
  async start(): Promise<void> {
    await this.restore();
    this.health = this.deps.createHealth?.(this.state);
    // A restored state: every account is new to the engine.
    if (this.state.accounts.size) {
      this.health?.onStateChange({ accounts: [...this.state.accounts.keys()], assets: [...this.state.assets.keys()], feeds: [...this.state.feeds.keys()] });
    }
    this.loop = this.run().catch((e: unknown) => {
      this.status.phase = "failed";
      this.status.fatalError = errorText(e).trim();
      this.deps.logger.error({ err: e }, "indexer stopped on a fatal error");
      this.emit("fatal", e);
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.bar?.stop();
    if (this.status.phase !== "failed") this.status.phase = "stopped";
  }

  /** Resolves once the cursor has reached the head seen at call time (tests, `start`). */
  async waitForBlock(target: bigint, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.status.cursor < target) {
      if (this.status.fatalError) throw new Error(this.status.fatalError);
      if (Date.now() > deadline) throw new Error(`indexer did not reach block ${target} in ${timeoutMs} ms (at ${this.status.cursor})`);
      await sleep(25);
    }
  }

  private async restore(): Promise<void> {
    let chainId: number;
    try {
      // A few tries only: an unreachable RPC at start-up is a configuration problem to report, not to wait out.
      chainId = await retry(() => this.deps.client.getChainId(), { attempts: 5, baseMs: 300, maxMs: 3_000, signal: this.abort.signal });
    } catch (e) {
      throw new RpcUnreachableError((e as { shortMessage?: string }).shortMessage ?? errorText(e).trim().slice(0, 200));
    }
    if (chainId !== this.deps.deployment.chainId) throw new ChainMismatchError(this.deps.deployment.chainId, chainId);
    const loaded = await this.deps.store.loadState();
    if (!loaded.checkpoint) return;
    const cp = loaded.checkpoint;
    this.state = ProtocolState.restore({ ...loaded, finalizedBlock: cp.finalizedBlock, journal: cp.journal });
    this.recent.reset(cp.recentBlocks[0]!);
    for (const b of cp.recentBlocks.slice(1)) this.recent.push(b);
    this.status.cursor = cp.blockNumber;
    this.status.finalizedBlock = cp.finalizedBlock;
    this.status.lastBlockTimestamp = this.recent.last?.timestamp ?? null;
    this.deps.logger.info({ block: cp.blockNumber, accounts: this.state.accounts.size }, "resumed from checkpoint");
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const head = await this.rpc(() => this.deps.client.getBlockNumber({ cacheTime: 0 }));
        if (this.status.head !== head) {
          this.status.head = head;
          this.status.lastHeadChangeAt = Date.now();
        }
        const safe = head - BigInt(this.cfg.finalityDepth);
        this.deps.logger.debug({ head: String(head), cursor: String(this.status.cursor) }, "sync tick");
        if (this.status.cursor < safe) {
          this.status.phase = this.status.phase === "follow" ? "follow" : "backfill";
          await this.backfillStep(this.status.cursor + 1n, safe, head);
        } else if (this.status.cursor < head) {
          if (this.status.phase !== "follow") this.enterFollow();
          await this.followStep(this.status.cursor + 1n);
        } else {
          if (this.status.phase !== "follow") this.enterFollow();
          await sleep(this.cfg.pollIntervalMs, signal);
        }
        failures = 0;
        this.status.syncError = null;
        this.status.consecutiveFailures = 0;
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof DeepReorgError || e instanceof StateInvariantError || e instanceof ChainMismatchError) throw e;
        failures++;
        this.status.syncError = errorText(e).trim().slice(0, 300);
        this.status.consecutiveFailures = failures;
        const delay = backoffDelay(Math.min(failures, 6), 250, 10_000);
        this.deps.logger.warn({ err: errorText(e).slice(0, 300), retryInMs: delay }, "sync step failed; retrying");
        await sleep(delay, signal);
      }
    }
  }

  private enterFollow(): void {
    this.bar?.stop();
    this.bar = null;
    this.status.phase = "follow";
    this.deps.logger.info({ block: this.status.cursor }, "caught up; following the head");
    this.emit("caught-up", this.status.cursor);
  }

  /** Calls the RPC, retrying transient errors with backoff and recording RPC health for /readyz. */
  private async rpc<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const v = await fn();
        this.status.lastRpcOkAt = Date.now();
        this.status.rpcError = null;
        return v;
      } catch (e) {
        this.status.rpcError = errorText(e).trim().slice(0, 200);
        if (!isTransientError(e) || this.abort.signal.aborted) throw e;
        if (attempt % 10 === 0) this.deps.logger.warn({ err: this.status.rpcError, attempt: attempt + 1 }, "RPC unreachable; retrying");
        await sleep(backoffDelay(Math.min(attempt, 6), 200, 5_000), this.abort.signal);
      }
    }
  }

  private async getBlockRef(number: bigint): Promise<BlockRef> {
    const b = await this.rpc(() => this.deps.client.getBlock({ blockNumber: number }));
    if (!b.hash) throw new Error(`block ${number} has no hash (pending?)`);
    return { number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp };
  }

  // ---------------------------------------------------------------- backfill: final blocks, large ranges

  private async backfillStep(from: bigint, to: bigint, head: bigint): Promise<void> {
    this.progress(from, head);
    // The range must extend the chain we hold: a reorg can jump straight past the safe head.
    const anchor = this.recent.last;
    if (anchor && anchor.number === from - 1n) {
      const first = await this.getBlockRef(from);
      if (first.parentHash !== anchor.hash) {
        await this.handleReorg();
        return;
      }
    }
    const res = await getLogsAdaptive(this.deps.client, this.watched, from, to, this.range, (e, n) => {
      this.status.rpcError = errorText(e).trim().slice(0, 200);
      if (n % 5 === 1) this.deps.logger.warn({ err: this.status.rpcError, attempt: n }, "eth_getLogs failing; retrying");
    }, this.abort.signal);
    this.status.lastRpcOkAt = Date.now();
    const end = await this.getBlockRef(res.to);
    // Everything in this range is final: apply, then drop undo data at once.
    const applied = this.applyLogs(res.logs, null);
    this.health?.onStateChange(applied.change);
    this.state.finalize(res.to);
    this.recent.reset(end);
    await this.commit(applied, end, undefined);
    this.status.cursor = res.to;
    this.status.finalizedBlock = res.to;
    this.status.lastBlockTimestamp = end.timestamp;
    this.emit("batch", { from: res.from, to: res.to, events: applied.events });
  }

  private progress(from: bigint, head: bigint): void {
    const start = BigInt(this.deps.deployment.startBlock);
    const total = Number(head - start + 1n);
    const done = Number(from - start);
    const wanted = this.cfg.progress ?? (process.stderr.isTTY && !process.env.CI);
    if (!wanted || total < 10_000) return;
    if (!this.bar) {
      // Loaded lazily: only a long interactive backfill needs it.
      const { SingleBar, Presets } = require("cli-progress") as typeof import("cli-progress");
      this.bar = new SingleBar({ format: "backfill [{bar}] {percentage}% | block {value}/{total} | ETA {eta_formatted}", stream: process.stderr }, Presets.shades_classic);
      this.bar.start(total, done);
    }
    this.bar.setTotal(total);
    this.bar.update(done);
  }

  // ---------------------------------------------------------------- follow: one block at a time, reorg-aware

  private async followStep(number: bigint): Promise<void> {
    const block = await this.getBlockRef(number);
    let parent = this.recent.last;
    if (!parent) {
      parent = await this.getBlockRef(number - 1n);
      this.recent.reset(parent);
    }
    if (block.parentHash !== parent.hash) {
      await this.handleReorg();
      return;
    }
    const address = watchedAddresses(this.watched);
    const logs = await this.rpc(() => this.deps.client.getLogs({ address, blockHash: block.hash }));
    const applied = this.applyLogs(logs, block);

    const poll = await this.rpc(() => this.oracle.poll(this.state, block));
    const health = this.health;
    if (health) {
      for (const asset of new Set([...poll.changed, ...applied.priceEvents])) {
        const r = this.oracle.reading(asset);
        if (r) health.setPrice(asset, { price: r.price ?? 0n, status: r.status });
      }
      health.onStateChange(applied.change);
    }
    const healthUpdate = health?.evaluate(block.timestamp, block.number);

    this.recent.push(block);
    const finalized = number - BigInt(this.cfg.finalityDepth);
    if (finalized > this.state.finalizedBlock) this.state.finalize(finalized);
    this.recent.prune(this.state.finalizedBlock);
    applied.rounds.push(...poll.rounds);
    applied.healthRows = this.healthRows(applied.change.accounts, healthUpdate as HealthUpdateLists | undefined, block);
    await this.commit(applied, block, undefined);
    this.status.cursor = number;
    this.status.finalizedBlock = this.state.finalizedBlock;
    this.status.lastBlockTimestamp = block.timestamp;
    for (const a of poll.alerts) this.emitAlert(a);
    this.emit("block", { block, phase: "follow", events: applied.events, health: healthUpdate } satisfies BlockProcessed);
  }

  /** Store rows for the accounts this block touched: position events, status changes and level crossings. */
  private healthRows(changed: Address[], u: HealthUpdateLists | undefined, block: BlockRef): BatchWrite["accountHealth"] {
    const health = this.health;
    if (!health?.account) return [];
    const touched = new Set<Address>(changed);
    for (const list of [u?.liquidatableAdded, u?.liquidatableRemoved, u?.unknownAdded, u?.unknownRemoved]) for (const a of list ?? []) touched.add(a);
    for (const c of u?.crossings ?? []) touched.add(c.account);
    const rows: BatchWrite["accountHealth"] = [];
    for (const account of touched) {
      const h = health.account(account, block.timestamp);
      if (!h) continue;
      rows.push({ account, healthFactor: h.healthFactor, status: h.status, totalCollateralBase: h.totalCollateralBase, totalDebtBase: h.totalDebtBase, blockNumber: block.number });
    }
    return rows;
  }

  private emitAlert(a: OracleAlert): void {
    this.deps.logger.warn({ alert: { ...a, blockNumber: String(a.blockNumber) } }, `oracle alert: ${a.type}`);
    this.emit("alert", a);
  }

  /** Walks back the unfinalised chain to the common ancestor, undoes the orphaned blocks and checkpoints. */
  private async handleReorg(): Promise<void> {
    const blocks = [...this.recent.all].reverse();
    let ancestor: BlockRef | null = null;
    for (const b of blocks) {
      const onChain = await this.getBlockRef(b.number);
      if (onChain.hash === b.hash) {
        ancestor = b;
        break;
      }
    }
    if (!ancestor || ancestor.number < this.state.finalizedBlock) {
      throw new DeepReorgError(blocks[blocks.length - 1]?.number ?? this.state.finalizedBlock, this.cfg.finalityDepth);
    }
    const depth = Number(this.status.cursor - ancestor.number);
    if (depth === 0) {
      // Our newest block is still canonical, yet the next block does not name it as parent: the node is
      // mid-update or inconsistent. Nothing to undo; back off and ask again.
      throw new InconsistentNodeError(ancestor.number);
    }
    const change = this.state.rollbackTo(ancestor.number);
    this.oracle.rollbackTo(ancestor.number);
    this.recent.truncate(ancestor.number);
    this.health?.onRollback(change);
    const applied = emptyApplied();
    applied.change = change;
    for (const acct of change.accounts) for (const asset of this.state.assets.keys()) applied.dirty.add(`${acct}|${asset}`);
    for (const asset of change.assets) applied.dirtyAssets.add(asset);
    for (const f of change.feeds) applied.dirtyFeeds.add(f);
    applied.sequencerChanged = true;
    await this.commit(applied, ancestor, ancestor.number);
    this.status.cursor = ancestor.number;
    this.status.reorgs++;
    this.deps.logger.warn({ ancestor: String(ancestor.number), depth }, "chain reorganised; rolled back to the common ancestor");
    this.emit("reorg", { ancestor: ancestor.number, depth });
  }

  // ---------------------------------------------------------------- applying and committing

  private applyLogs(logs: Log[], block: BlockRef | null): Applied {
    const { events, malformed } = decodeLogs(logs, this.watched);
    for (const m of malformed) this.reportMalformed(m);
    const a = emptyApplied();
    a.events = events;
    const accounts = new Set<Address>();
    let lastTimestamp: bigint | null = block?.timestamp ?? null;
    for (const e of events) {
      if (block && e.meta.blockHash !== block.hash) continue; // a log from another branch: ignore
      const c = this.state.apply(e);
      this.status.eventsApplied++;
      for (const acct of c.accounts) accounts.add(acct);
      for (const asset of c.assets) a.dirtyAssets.add(asset);
      for (const f of c.feeds) a.dirtyFeeds.add(f);
      if (e.source === "oracle" && e.eventName === "SequencerUptimeFeedSet") a.sequencerChanged = true;
      switch (e.eventName) {
        case "ReserveDataUpdated":
          lastTimestamp = e.args.timestamp;
          break;
        case "Deposit": case "Withdraw": case "Borrow": case "Repay":
          a.dirty.add(`${e.args.account}|${e.args.asset}`);
          break;
        case "Liquidation":
          a.dirty.add(`${e.args.borrower}|${e.args.debtAsset}`);
          a.dirty.add(`${e.args.borrower}|${e.args.collateralAsset}`);
          a.liquidations.push({
            blockNumber: e.meta.blockNumber, logIndex: e.meta.logIndex, transactionHash: e.meta.transactionHash as Hex,
            timestamp: lastTimestamp, borrower: e.args.borrower, liquidator: e.args.liquidator, collateralAsset: e.args.collateralAsset,
            debtAsset: e.args.debtAsset, debtRepaid: e.args.debtRepaid, collateralSeized: e.args.collateralSeized,
          });
          break;
        case "BadDebtWrittenOff":
          a.dirty.add(`${e.args.account}|${e.args.asset}`);
          a.badDebt.push({
            blockNumber: e.meta.blockNumber, logIndex: e.meta.logIndex, transactionHash: e.meta.transactionHash as Hex,
            account: e.args.account, asset: e.args.asset, amount: e.args.amount, reserveDeficit: e.args.reserveDeficit,
          });
          break;
        case "AnswerUpdated":
          if (block) {
            const asset = this.oracle.onAnswerUpdated(this.state, e.meta.address, e.args, block);
            if (asset) a.priceEvents.push(asset);
          }
          break;
      }
    }
    a.change = { accounts: [...accounts], assets: [...a.dirtyAssets], feeds: [...a.dirtyFeeds] };
    return a;
  }

  private reportMalformed(m: MalformedLogError): void {
    this.status.malformedLogs++;
    this.deps.logger.error({ err: m.message }, "skipping a malformed log");
    this.emit("malformed", m);
  }

  private async commit(a: Applied, block: BlockRef, rollbackTo: bigint | undefined): Promise<void> {
    const positions: PositionRow[] = [];
    for (const key of a.dirty) {
      const [account, asset] = key.split("|") as [Address, Address];
      const p = this.state.position(account, asset) ?? { scaledCollateral: 0n, scaledDebt: 0n };
      positions.push({ account, asset, scaledCollateral: p.scaledCollateral, scaledDebt: p.scaledDebt });
    }
    const batch: BatchWrite = {
      checkpoint: {
        blockNumber: block.number, blockHash: block.hash, finalizedBlock: this.state.finalizedBlock,
        journal: this.state.dumpJournal(), recentBlocks: [...this.recent.all], digest: "",
      },
      rollbackTo,
      assets: [...a.dirtyAssets].map((x) => this.state.assets.get(x)).filter((x) => x !== undefined),
      feeds: [...a.dirtyFeeds].map((x) => this.state.feeds.get(x)).filter((x) => x !== undefined),
      positions,
      sequencer: a.sequencerChanged ? this.state.sequencer : undefined,
      liquidations: a.liquidations,
      badDebt: a.badDebt,
      oracleRounds: a.rounds,
      accountHealth: a.healthRows ?? [],
      // A reorg can undo a listing or a first FeedSet: those rows must go too.
      deletedAssets: [...a.dirtyAssets].filter((x) => !this.state.assets.has(x)),
      deletedFeeds: [...a.dirtyFeeds].filter((x) => !this.state.feeds.has(x)),
    };
    await this.deps.store.commitBatch(batch);
  }
}

interface Applied {
  events: ChainEvent[];
  change: StateChange;
  /** `${account}|${asset}` positions to write */
  dirty: Set<string>;
  dirtyAssets: Set<Address>;
  dirtyFeeds: Set<Address>;
  liquidations: LiquidationRecord[];
  badDebt: BadDebtRecord[];
  rounds: OracleRound[];
  /** assets whose price moved by an AnswerUpdated event in this block */
  priceEvents: Address[];
  sequencerChanged: boolean;
  healthRows?: BatchWrite["accountHealth"];
}

function emptyApplied(): Applied {
  return {
    events: [], change: { accounts: [], assets: [], feeds: [] }, dirty: new Set(), dirtyAssets: new Set(), dirtyFeeds: new Set(),
    liquidations: [], badDebt: [], rounds: [], priceEvents: [], sequencerChanged: false,
  };
}
