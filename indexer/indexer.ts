// The indexer: backfills then follows the chain, keeps ProtocolState, feeds the oracle tracker and the health
// engine, checkpoints every step to the store in one transaction, then publishes it. Data flows one way:
// chain → sync → state → health engine → published snapshot → (store, listeners: keeper producer, alerts, API).
//
// Every step — a caught-up range or one block at the head — has two halves: a fetch that changes nothing (block
// headers, logs, every feed read at the step's last block), then a synchronous apply under the publication's write
// gate (state, readings, health evaluated at that block's timestamp) closed by the store commit and `publish`.
import { EventEmitter } from "node:events";
import type { PublicClient } from "viem";
import type { Logger } from "pino";
import type { Deployment } from "../common/deployment";
import { errorText, shouldRetry, sleep, backoffDelay, retry } from "../common/retry";
import type { Address, ChainEvent } from "./state/events";
import { ProtocolState, StateInvariantError, type StateChange } from "./state/state";
import type { BadDebtRecord, BatchWrite, BlockRef, Hex, LiquidationRecord, OracleRound, PositionRow, Store } from "./store/types";
import { AdaptiveRange, type AdaptiveRangeOptions } from "./sync/adaptive-range";
import { decodeLogs, getLogsAdaptive, watchedAddresses, type WatchedContracts } from "./sync/get-logs";
import { RecentBlocks } from "./sync/recent-blocks";
import { ChainMismatchError, DeepReorgError, InconsistentNodeError, MalformedLogStreamError, RpcUnreachableError } from "./sync/errors";
import { OracleTracker, type FeedRead, type OracleAlert } from "./oracle/tracker";
import { MalformedLogError } from "./state/events";
import type { HealthUpdate } from "./health/types";
import { Publication, type PublishedView } from "./snapshot";

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

/** One applied step, before its commit: what a step hook may turn into rows of the same transaction. */
export interface AppliedStep {
  block: BlockRef;
  kind: PublishedView["kind"];
  /** the first step since start(): in-memory hysteresis starts afresh here */
  first: boolean;
  health: HealthUpdate | undefined;
  oracleAlerts: OracleAlert[];
}

/** Rows a hook adds to the step's batch, and what it does once that batch is committed. */
export interface StepContribution {
  batch?: Partial<BatchWrite>;
  afterCommit?: () => void;
}

/** Called synchronously after a step is applied, before its commit (e.g. the alert outbox). */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook with nothing to add may return nothing at all
export type StepHook = (step: AppliedStep) => StepContribution | void;

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
  /** consecutive failures of a step on a log that does not decode before the indexer stops (default 8) */
  malformedLimit: number;
}

export const DEFAULT_INDEXER_CONFIG: IndexerConfig = { finalityDepth: 12, pollIntervalMs: 1000, stallTimeoutMs: 60_000, malformedLimit: 8 };

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
  health: HealthUpdate | undefined;
  view: PublishedView;
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
  /** contributes rows to each step's transaction (see StepHook) */
  onStep?: StepHook;
}

/**
 * Events, all after the step is committed and published: "block" (BlockProcessed, every publication), "batch"
 * ({from, to, events}, a caught-up range), "reorg" ({ancestor, depth}), "alert" (OracleAlert), "malformed"
 * (MalformedLogError, the step is retried), "caught-up", "fatal" (Error).
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
  /** the only view readers may use: see indexer/snapshot.ts */
  readonly snapshots = new Publication();
  private firstStep = true;
  private malformedStreak = 0;

  constructor(private readonly deps: IndexerDeps) {
    super();
    this.cfg = { ...DEFAULT_INDEXER_CONFIG, ...deps.config };
    this.range = new AdaptiveRange(this.cfg.range);
    this.oracle = deps.oracle ?? new OracleTracker(deps.client);
    this.status = {
      phase: "starting",
      head: null,
      cursor: BigInt(deps.deployment.startBlock) - 1n,
      finalizedBlock: -1n,
      lastBlockTimestamp: null,
      lastRpcOkAt: 0,
      lastHeadChangeAt: Date.now(),
      rpcError: null,
      syncError: null,
      consecutiveFailures: 0,
      fatalError: null,
      reorgs: 0,
      malformedLogs: 0,
      eventsApplied: 0,
    };
  }

  get watched(): WatchedContracts {
    const feeds = new Set<Address>(this.deps.deployment.assets.map((a) => a.feed.toLowerCase() as Address));
    for (const f of this.state.feeds.values()) feeds.add(f.aggregator);
    return {
      pool: this.deps.deployment.pool.toLowerCase() as Address,
      oracle: this.deps.deployment.oracle.toLowerCase() as Address,
      feeds: [...feeds].sort(),
    };
  }

  /** Ready: following the head, RPC answering, head advancing, no fatal error. */
  isReady(now = Date.now()): { ready: boolean; reason: string | null } {
    const s = this.status;
    if (s.fatalError) return { ready: false, reason: s.fatalError };
    if (s.phase !== "follow") return { ready: false, reason: `phase ${s.phase}` };
    if (s.rpcError && now - s.lastRpcOkAt > this.cfg.pollIntervalMs * 3) return { ready: false, reason: `RPC failing: ${s.rpcError}` };
    if (this.malformedStreak > 0 && s.syncError)
      return {
        ready: false,
        reason: `sync stopped on an undecodable log (attempt ${this.malformedStreak} of ${this.cfg.malformedLimit}): ${s.syncError}`,
      };
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
      this.health?.onStateChange({
        accounts: [...this.state.accounts.keys()],
        assets: [...this.state.assets.keys()],
        feeds: [...this.state.feeds.keys()],
      });
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

  /** Resolves once block `target` (or a later one) is published: fully applied, priced, evaluated and committed. */
  async waitForBlock(target: bigint, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // The published view, not the cursor: a restored checkpoint sets the cursor before its block is re-published.
    const at = () => this.snapshots.current?.block.number ?? -1n;
    while (at() < target) {
      if (this.status.fatalError) throw new Error(this.status.fatalError);
      if (Date.now() > deadline) throw new Error(`indexer did not publish block ${target} in ${timeoutMs} ms (at ${at()})`);
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
    // Checkpoints written before digests were stored carry "": nothing to compare.
    if (cp.digest && cp.digest !== this.state.digest()) {
      throw new StateInvariantError(
        `the store's checkpoint at block ${cp.blockNumber} has state digest ${cp.digest}, but its rows rebuild to ${this.state.digest()}: ` +
          `the stored state was changed outside marginwatch or is corrupt. Re-index from the deployment block ("marginwatch index --reset").`,
      );
    }
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
        if (!this.snapshots.current && this.status.cursor >= BigInt(this.deps.deployment.startBlock)) {
          // Resumed from a checkpoint: publish it (prices read and health evaluated at that block) before moving on.
          await this.republish();
        } else if (this.status.cursor < safe) {
          this.status.phase = this.status.phase === "follow" ? "follow" : "backfill";
          await this.rangeStep(this.status.cursor + 1n, safe, head);
        } else if (this.status.cursor < head) {
          if (this.status.phase !== "follow") this.enterFollow();
          await this.blockStep(this.status.cursor + 1n);
        } else {
          if (this.status.phase !== "follow") this.enterFollow();
          await sleep(this.cfg.pollIntervalMs, signal);
        }
        failures = 0;
        this.malformedStreak = 0;
        this.status.syncError = null;
        this.status.consecutiveFailures = 0;
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof DeepReorgError || e instanceof StateInvariantError || e instanceof ChainMismatchError) throw e;
        if (e instanceof MalformedLogError) {
          // A watched log that does not decode is an RPC fault: the cursor never passes it. Retried, then a loud stop.
          this.status.malformedLogs++;
          this.deps.logger.error({ err: e.message }, "malformed log from the RPC: the step is retried and the cursor held");
          this.emit("malformed", e);
          if (++this.malformedStreak >= this.cfg.malformedLimit) throw new MalformedLogStreamError(e, this.malformedStreak);
        }
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
        if (!shouldRetry(e) || this.abort.signal.aborted) throw e;
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

  /** Every feed the state names, plus feeds set by `events`, read at `block` (no state change). */
  private readFeeds(events: ChainEvent[], block: BlockRef): Promise<FeedRead> {
    const aggregators: Address[] = [];
    let sequencer: Address | null = null;
    for (const e of events) {
      if (e.eventName === "FeedSet") aggregators.push(e.args.aggregator.toLowerCase() as Address);
      if (e.eventName === "SequencerUptimeFeedSet") sequencer = e.args.feed.toLowerCase() as Address;
    }
    return this.rpc(() => this.oracle.read(this.state, block, { aggregators, sequencer }));
  }

  // ---------------------------------------------------------------- a caught-up range: final blocks, one publication

  private async rangeStep(from: bigint, to: bigint, head: bigint): Promise<void> {
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
    const res = await getLogsAdaptive(
      this.deps.client,
      this.watched,
      from,
      to,
      this.range,
      (e, n) => {
        this.status.rpcError = errorText(e).trim().slice(0, 200);
        if (n % 5 === 1) this.deps.logger.warn({ err: this.status.rpcError, attempt: n }, "eth_getLogs failing; retrying");
      },
      this.abort.signal,
    );
    this.status.lastRpcOkAt = Date.now();
    const events = decodeLogs(res.logs, this.watched);
    const end = await this.getBlockRef(res.to);
    const feeds = await this.readFeeds(events, end);
    await this.applyStep({ kind: "range", from: res.from, end, events, feeds, final: true });
    this.emit("batch", { from: res.from, to: res.to, events });
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
      this.bar = new SingleBar(
        { format: "backfill [{bar}] {percentage}% | block {value}/{total} | ETA {eta_formatted}", stream: process.stderr },
        Presets.shades_classic,
      );
      this.bar.start(total, done);
    }
    this.bar.setTotal(total);
    this.bar.update(done);
  }

  // ---------------------------------------------------------------- follow: one block at a time, reorg-aware

  private async blockStep(number: bigint): Promise<void> {
    const block = await this.getBlockRef(number);
    const parent = this.recent.last ?? (await this.getBlockRef(number - 1n));
    if (block.parentHash !== parent.hash) {
      if (this.recent.last) await this.handleReorg();
      return;
    }
    const address = watchedAddresses(this.watched);
    const logs = await this.rpc(() => this.deps.client.getLogs({ address, blockHash: block.hash }));
    // A log from another branch (a node answering mid-reorg) is not this block's: the step is retried.
    const foreign = logs.find((l) => l.blockHash !== block.hash);
    if (foreign) throw new InconsistentNodeError(number);
    const events = decodeLogs(logs, this.watched);
    const feeds = await this.readFeeds(events, block);
    if (!this.recent.last) this.recent.reset(parent);
    await this.applyStep({ kind: "block", from: number, end: block, events, feeds, final: false });
  }

  /** Publishes the restored checkpoint: its block's prices read and health evaluated, nothing else applied. */
  private async republish(): Promise<void> {
    const end = this.recent.last ?? (await this.getBlockRef(this.status.cursor));
    const feeds = await this.readFeeds([], end);
    await this.applyStep({ kind: "block", from: end.number + 1n, end, events: [], feeds, final: false, replay: true });
  }

  /**
   * The apply half of a step, under the write gate: logs → state, readings → prices, health at `end`, store
   * commit, publish. A failed commit puts state, readings and engine back to the published block.
   */
  private async applyStep(step: {
    kind: "range" | "block";
    from: bigint;
    end: BlockRef;
    events: ChainEvent[];
    feeds: FeedRead;
    final: boolean;
    replay?: boolean;
  }): Promise<void> {
    const { end } = step;
    const prevCursor = this.status.cursor;
    this.snapshots.beginWrite();
    let afterCommit: (() => void) | undefined;
    let applied: Applied;
    let poll: ReturnType<OracleTracker["apply"]>;
    let health: HealthUpdate | undefined;
    try {
      applied = this.applyEvents(step.events);
      poll = this.oracle.apply(this.state, step.feeds);
      this.syncPrices();
      this.health?.onStateChange(applied.change);
      health = this.health?.evaluate(end.timestamp, end.number);
      if (step.final) {
        this.state.finalize(end.number);
        this.oracle.finalize(end.number);
        this.recent.reset(end);
      } else {
        if (!step.replay) this.recent.push(end);
        const finalized = end.number - BigInt(this.cfg.finalityDepth);
        if (finalized > this.state.finalizedBlock) {
          this.state.finalize(finalized);
          this.oracle.finalize(finalized);
        }
        this.recent.prune(this.state.finalizedBlock);
      }
      applied.rounds.push(...poll.rounds);
      applied.healthRows = this.healthRows(applied.change.accounts, health, end);
      const contribution = this.deps.onStep?.({ block: end, kind: step.kind, first: this.firstStep, health, oracleAlerts: poll.alerts }) ?? undefined;
      afterCommit = contribution?.afterCommit;
      await this.commit(applied, end, undefined, contribution?.batch);
    } catch (e) {
      await this.recoverFromStore(prevCursor).finally(() => this.snapshots.abortWrite());
      throw e;
    }
    this.firstStep = false;
    this.status.cursor = end.number;
    this.status.finalizedBlock = this.state.finalizedBlock;
    this.status.lastBlockTimestamp = end.timestamp;
    afterCommit?.();
    const view = this.publish(step.kind, step.from, end);
    for (const a of poll.alerts) this.emitAlert(a);
    this.emit("block", {
      block: end,
      phase: step.kind === "range" ? "backfill" : "follow",
      events: applied.events,
      health,
      view,
    } satisfies BlockProcessed);
  }

  private publish(kind: PublishedView["kind"], from: bigint, block: BlockRef): PublishedView {
    const readings = new Map(this.oracle.readings().map((r) => [r.asset, Object.freeze({ ...r })]));
    const unusable = [...this.state.feeds.keys()].filter((a) => readings.get(a)?.status !== "fresh").sort();
    return this.snapshots.publish({
      block,
      finalizedBlock: this.state.finalizedBlock,
      kind,
      from,
      readings,
      sequencer: this.oracle.sequencerStatus,
      unusablePrices: unusable,
    });
  }

  /** Gives the health engine every asset's price and status as the tracker holds them (unchanged ones cost nothing). */
  private syncPrices(): void {
    const health = this.health;
    if (!health) return;
    for (const asset of this.state.assets.keys()) {
      const r = this.oracle.reading(asset);
      health.setPrice(asset, r ? { price: r.price ?? 0n, status: r.status } : { price: 0n, status: "invalid" });
    }
  }

  /**
   * After a failed apply (the commit did not happen): the store still holds the published block. State and
   * readings go back there — by the undo journals where they reach, else from the store's checkpoint — and the
   * engine rebuilds what changed.
   */
  private async recoverFromStore(cursor: bigint): Promise<void> {
    const touched = new Set<Address>(this.state.accounts.keys());
    const assets = new Set<Address>(this.state.assets.keys());
    const loaded = await this.deps.store.loadState();
    const restored = loaded.checkpoint
      ? ProtocolState.restore({ ...loaded, finalizedBlock: loaded.checkpoint.finalizedBlock, journal: loaded.checkpoint.journal })
      : new ProtocolState();
    this.state.replaceWith(restored);
    for (const a of this.state.accounts.keys()) touched.add(a);
    for (const a of this.state.assets.keys()) assets.add(a);
    this.oracle.rollbackTo(cursor);
    const recent = loaded.checkpoint?.recentBlocks ?? [];
    if (recent.length) {
      this.recent.reset(recent[0]!);
      for (const b of recent.slice(1)) this.recent.push(b);
    } else this.recent.clear();
    this.syncPrices();
    this.health?.onRollback({ accounts: [...touched], assets: [...assets], feeds: [...this.state.feeds.keys()] });
    const view = this.snapshots.current;
    if (view) this.health?.evaluate(view.block.timestamp, view.block.number);
    this.deps.logger.warn({ block: String(cursor) }, "a step failed before its commit; state restored to the published block");
  }

  /** Store rows for the accounts this block touched: position events, status changes and level crossings. */
  private healthRows(changed: Address[], u: HealthUpdate | undefined, block: BlockRef): BatchWrite["accountHealth"] {
    const health = this.health;
    if (!health?.account) return [];
    const touched = new Set<Address>(changed);
    for (const list of [u?.liquidatableAdded, u?.liquidatableRemoved, u?.unknownAdded, u?.unknownRemoved]) for (const a of list ?? []) touched.add(a);
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

  private emitAlert(a: OracleAlert): void {
    this.deps.logger.warn({ alert: { ...a, blockNumber: String(a.blockNumber) } }, `oracle alert: ${a.type}`);
    this.emit("alert", a);
  }

  /** Walks back the unfinalised chain to the common ancestor, undoes the orphaned blocks, commits and publishes. */
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
    const prevCursor = this.status.cursor;
    this.snapshots.beginWrite();
    let health: HealthUpdate | undefined;
    let afterCommit: (() => void) | undefined;
    try {
      const change = this.state.rollbackTo(ancestor.number);
      this.oracle.rollbackTo(ancestor.number);
      this.recent.truncate(ancestor.number);
      this.syncPrices();
      this.health?.onRollback(change);
      health = this.health?.evaluate(ancestor.timestamp, ancestor.number);
      const applied = emptyApplied();
      applied.change = change;
      for (const acct of change.accounts) for (const asset of this.state.assets.keys()) applied.dirty.add(`${acct}|${asset}`);
      for (const asset of change.assets) applied.dirtyAssets.add(asset);
      for (const f of change.feeds) applied.dirtyFeeds.add(f);
      applied.sequencerChanged = true;
      applied.healthRows = this.healthRows(change.accounts, health, ancestor);
      const contribution = this.deps.onStep?.({ block: ancestor, kind: "rollback", first: this.firstStep, health, oracleAlerts: [] }) ?? undefined;
      afterCommit = contribution?.afterCommit;
      await this.commit(applied, ancestor, ancestor.number, contribution?.batch);
    } catch (e) {
      await this.recoverFromStore(prevCursor).finally(() => this.snapshots.abortWrite());
      throw e;
    }
    this.firstStep = false;
    this.status.cursor = ancestor.number;
    this.status.lastBlockTimestamp = ancestor.timestamp;
    this.status.reorgs++;
    afterCommit?.();
    const view = this.publish("rollback", ancestor.number + 1n, ancestor);
    this.deps.logger.warn({ ancestor: String(ancestor.number), depth }, "chain reorganised; rolled back to the common ancestor");
    this.emit("reorg", { ancestor: ancestor.number, depth });
    this.emit("block", { block: ancestor, phase: "follow", events: [], health, view } satisfies BlockProcessed);
  }

  // ---------------------------------------------------------------- applying and committing

  private applyEvents(events: ChainEvent[]): Applied {
    const a = emptyApplied();
    a.events = events;
    const accounts = new Set<Address>();
    let lastTimestamp: bigint | null = null;
    for (const e of events) {
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
        case "Deposit":
        case "Withdraw":
        case "Borrow":
        case "Repay":
          a.dirty.add(`${e.args.account}|${e.args.asset}`);
          break;
        case "Liquidation":
          a.dirty.add(`${e.args.borrower}|${e.args.debtAsset}`);
          a.dirty.add(`${e.args.borrower}|${e.args.collateralAsset}`);
          a.liquidations.push({
            blockNumber: e.meta.blockNumber,
            logIndex: e.meta.logIndex,
            transactionHash: e.meta.transactionHash as Hex,
            timestamp: lastTimestamp,
            borrower: e.args.borrower,
            liquidator: e.args.liquidator,
            collateralAsset: e.args.collateralAsset,
            debtAsset: e.args.debtAsset,
            debtRepaid: e.args.debtRepaid,
            collateralSeized: e.args.collateralSeized,
          });
          break;
        case "BadDebtWrittenOff":
          a.dirty.add(`${e.args.account}|${e.args.asset}`);
          a.badDebt.push({
            blockNumber: e.meta.blockNumber,
            logIndex: e.meta.logIndex,
            transactionHash: e.meta.transactionHash as Hex,
            account: e.args.account,
            asset: e.args.asset,
            amount: e.args.amount,
            reserveDeficit: e.args.reserveDeficit,
          });
          break;
      }
    }
    a.change = { accounts: [...accounts], assets: [...a.dirtyAssets], feeds: [...a.dirtyFeeds] };
    return a;
  }

  private async commit(a: Applied, block: BlockRef, rollbackTo: bigint | undefined, extra?: Partial<BatchWrite>): Promise<void> {
    const positions: PositionRow[] = [];
    for (const key of a.dirty) {
      const [account, asset] = key.split("|") as [Address, Address];
      const p = this.state.position(account, asset) ?? { scaledCollateral: 0n, scaledDebt: 0n };
      positions.push({ account, asset, scaledCollateral: p.scaledCollateral, scaledDebt: p.scaledDebt });
    }
    const batch: BatchWrite = {
      checkpoint: {
        blockNumber: block.number,
        blockHash: block.hash,
        finalizedBlock: this.state.finalizedBlock,
        journal: this.state.dumpJournal(),
        recentBlocks: [...this.recent.all],
        digest: this.state.digest(),
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
      ...extra,
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
  sequencerChanged: boolean;
  healthRows?: BatchWrite["accountHealth"];
}

function emptyApplied(): Applied {
  return {
    events: [],
    change: { accounts: [], assets: [], feeds: [] },
    dirty: new Set(),
    dirtyAssets: new Set(),
    dirtyFeeds: new Set(),
    liquidations: [],
    badDebt: [],
    rounds: [],
    sequencerChanged: false,
  };
}
