// The indexer, as wiring: the sync engine (indexer/sync: historical ranges, then realtime blocks and reorgs) yields
// steps; each step's prices are read at its last block; the apply step (indexer/apply.ts) takes it into state,
// oracle readings and the health engine; the store commits it in one transaction; then it is published. Data flows
// one way: chain → sync → protocol adapter → state → health engine → published snapshot → (store, listeners).
import { EventEmitter } from "node:events";
import { errorText, shouldRetry, sleep, backoffDelay, retry } from "../common/retry";
import { adapterFor, protocolOf } from "../protocols";
import type { ProtocolAdapter, Watched } from "../protocols/types";
import { type Applied, applyStep, batchOf, type HealthSink, healthRowsOf, syncPrices } from "./apply";
import { BackfillProgress } from "./sync/progress";
import { type BlockProcessed, DEFAULT_INDEXER_CONFIG, type IndexerConfig, type IndexerDeps, type IndexerStatus } from "./types";
import type { Change } from "./state/changes";
import type { Address } from "./state/events";
import { ProtocolState, StateInvariantError } from "./state/state";
import type { BlockRef } from "./store/types";
import { AdaptiveRange } from "./sync/adaptive-range";
import { nextRange } from "./sync/historical";
import { nextBlock, type SyncContext } from "./sync/realtime";
import { RecentBlocks } from "./sync/recent-blocks";
import type { SyncStep } from "./sync/types";
import { ChainMismatchError, DeepReorgError, MalformedLogStreamError, RpcUnreachableError } from "./sync/errors";
import { OracleTracker, type FeedRead, type OracleAlert } from "./oracle/tracker";
import { MalformedLogError } from "./state/events";
import { Publication, type PublishedView } from "./snapshot";

export type { HealthSink };

export {
  type AppliedStep,
  type BlockProcessed,
  DEFAULT_INDEXER_CONFIG,
  type IndexerConfig,
  type IndexerDeps,
  type IndexerStatus,
  type StepContribution,
  type StepHook,
} from "./types";

/**
 * Events, all after the step is committed and published: "block" (BlockProcessed, every publication), "batch"
 * ({from, to, changes}, a caught-up range), "reorg" ({ancestor, depth}), "alert" (OracleAlert), "malformed"
 * (MalformedLogError, the step is retried), "caught-up", "fatal" (Error).
 */
export class Indexer extends EventEmitter {
  readonly cfg: IndexerConfig;
  state = new ProtocolState();
  readonly oracle: OracleTracker;
  readonly protocol: ProtocolAdapter;
  private readonly recent = new RecentBlocks();
  private readonly range: AdaptiveRange;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly bar: BackfillProgress;
  readonly status: IndexerStatus;
  health: HealthSink | undefined;
  /** the only view readers may use: see indexer/snapshot.ts */
  readonly snapshots = new Publication();
  private firstStep = true;
  private malformedStreak = 0;
  /** the next backfill range, being fetched while the current one is applied (see IndexerConfig.prefetch) */
  private prefetched: { from: bigint; watchKey: string; step: Promise<SyncStep | null> } | null = null;

  constructor(private readonly deps: IndexerDeps) {
    super();
    this.cfg = { ...DEFAULT_INDEXER_CONFIG, ...deps.config };
    this.range = new AdaptiveRange(this.cfg.range);
    this.bar = new BackfillProgress(BigInt(deps.deployment.startBlock), this.cfg.progress ?? (process.stderr.isTTY && !process.env.CI));
    this.oracle = deps.oracle ?? new OracleTracker(deps.client);
    this.protocol = adapterFor(deps.deployment, deps.protocol ?? protocolOf(deps.deployment));
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
      stageMs: { fetch: 0, prices: 0, apply: 0, rows: 0, commit: 0 },
      prefetch: { used: 0, dropped: 0 },
    };
  }

  /** Contracts whose logs are fetched: the deployment's roots and every address discovered in logs so far. */
  get watched(): Watched[] {
    return this.protocol.watch(this.deps.deployment, this.state);
  }

  private get sync(): SyncContext {
    return {
      client: this.deps.client,
      adapter: this.protocol,
      getBlock: (n) => this.getBlockRef(n),
      rpc: (fn) => this.rpc(fn),
      finalityDepth: this.cfg.finalityDepth,
    };
  }

  private get position() {
    return { recent: this.recent, finalizedBlock: this.state.finalizedBlock, cursor: this.status.cursor };
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
    this.bar.stop();
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
        // While a prefetched backfill range is in flight the head is not polled: the range ends below the head seen
        // last, so the poll could not change what comes next, and on a batching transport it would share an HTTP
        // request with that range's eth_getLogs, whose response-size limit would then fail the poll and the step.
        const head =
          this.prefetched && this.status.head !== null ? this.status.head : await this.rpc(() => this.deps.client.getBlockNumber({ cacheTime: 0 }));
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
          this.bar.update(this.status.cursor + 1n, head);
          const from = this.status.cursor + 1n;
          const step = await this.timed("fetch", () => this.takeRange(from, safe, signal));
          this.prefetch(step, safe, signal);
          await this.step(step);
        } else if (this.status.cursor < head) {
          if (this.status.phase !== "follow") this.enterFollow();
          await this.step(await this.timed("fetch", () => nextBlock(this.sync, this.position, this.status.cursor + 1n, this.watched)));
        } else {
          if (this.status.phase !== "follow") this.enterFollow();
          await sleep(this.cfg.pollIntervalMs, signal);
        }
        failures = 0;
        this.malformedStreak = 0;
        this.status.syncError = null;
        this.status.consecutiveFailures = 0;
      } catch (e) {
        this.prefetched = null;
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

  /** The backfill range starting at `from`: the prefetched one when it fits, else fetched now. */
  private async takeRange(from: bigint, safe: bigint, signal: AbortSignal): Promise<SyncStep> {
    const watched = this.watched;
    const p = this.prefetched;
    this.prefetched = null;
    if (p) {
      const step = p.from === from && p.watchKey === watchKey(watched) ? await p.step : null;
      if (step) {
        this.status.prefetch.used++;
        return step;
      }
      this.status.prefetch.dropped++;
    }
    return nextRange(this.sync, this.position, from, safe, watched, this.range, this.onRangeRetry, signal);
  }

  /**
   * Starts fetching the range after `step` (a backfill range) while `step` is applied and committed. It is checked
   * against `step`'s last block as its anchor; any failure or reorg there yields null and the range is fetched
   * again in line (where a reorg is handled against the real held chain).
   */
  private prefetch(step: SyncStep, safe: bigint, signal: AbortSignal): void {
    if (this.cfg.prefetch === false) return;
    const ev = step[0];
    if (ev?.type !== "block" || ev.kind !== "range" || ev.block.number >= safe) return;
    const tip = ev.block;
    const from = tip.number + 1n;
    // The watch set as it is now: if applying `step` changes it (a listing or FeedSet named a new contract), the
    // prefetch is dropped by takeRange and the range fetched again with the new set.
    const watched = this.watched;
    const at = { recent: new RecentBlocks([tip]), finalizedBlock: tip.number, cursor: tip.number };
    // A malformed log is the range's own fault, not the prefetch's: it surfaces when the range is taken (logged,
    // counted and retried like an inline fetch). Anything else yields null and the range is fetched again in line.
    const promise = nextRange(this.sync, at, from, safe, watched, this.range, this.onRangeRetry, signal).then(
      (s) => (s[0]?.type === "block" ? s : null),
      (e: unknown) => {
        if (e instanceof MalformedLogError) throw e;
        return null;
      },
    );
    promise.catch(() => undefined); // not taken (dropped): no unhandled rejection
    this.prefetched = { from, watchKey: watchKey(watched), step: promise };
  }

  private enterFollow(): void {
    this.bar.stop();
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

  private async timed<T>(stage: keyof IndexerStatus["stageMs"], fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.status.stageMs[stage] += performance.now() - t0;
    }
  }

  /** Every feed the state names, plus feeds set by `changes`, read at `block` (no state change). */
  private readFeeds(changes: readonly Change[], block: BlockRef): Promise<FeedRead> {
    const aggregators: Address[] = [];
    let sequencer: Address | null = null;
    for (const c of changes) {
      if (c.kind === "feed-set") aggregators.push(c.aggregator.toLowerCase() as Address);
      if (c.kind === "sequencer-set") sequencer = c.feed.toLowerCase() as Address;
    }
    return this.rpc(() => this.oracle.read(this.state, block, { aggregators, sequencer }));
  }

  private readonly onRangeRetry = (e: unknown, n: number): void => {
    this.status.rpcError = errorText(e).trim().slice(0, 200);
    if (n % 5 === 1) this.deps.logger.warn({ err: this.status.rpcError, attempt: n }, "eth_getLogs failing; retrying");
  };

  /** Runs one step the sync engine yielded: prices read at its last block, then applied, committed and published. */
  private async step(step: SyncStep): Promise<void> {
    if (step.length === 0) return;
    const block = step.find((e) => e.type === "block");
    if (block) this.status.lastRpcOkAt = Date.now();
    const feeds = block ? await this.timed("prices", () => this.readFeeds(block.changes, block.block)) : null;
    await this.applyAndPublish(step, feeds);
  }

  /** Publishes the restored checkpoint: its block's prices read and health evaluated, nothing else applied. */
  private async republish(): Promise<void> {
    const end = this.recent.last ?? (await this.getBlockRef(this.status.cursor));
    const feeds = await this.readFeeds([], end);
    await this.applyAndPublish([{ type: "block", kind: "block", from: end.number + 1n, block: end, changes: [] }], feeds, true);
  }

  /**
   * Under the write gate: the apply step (indexer/apply.ts), the step hook's rows, one store commit, then publish.
   * A failed commit puts state, readings and engine back to the published block.
   */
  private async applyAndPublish(step: SyncStep, feeds: FeedRead | null, replay = false): Promise<void> {
    // The prefetch's next request may still sit in the transport's queue (a batching transport sends from a timer):
    // let it go out before this thread is busy applying and committing, so the node works on the range meanwhile.
    if (this.prefetched) await turn();
    const prevCursor = this.status.cursor;
    this.snapshots.beginWrite();
    let afterCommit: (() => void) | undefined;
    let a: Applied;
    try {
      const t0 = performance.now();
      a = applyStep({ state: this.state, oracle: this.oracle, recent: this.recent, health: this.health }, step, feeds, replay);
      this.status.stageMs.apply += performance.now() - t0;
      this.status.eventsApplied += a.changes.length;
      const t1 = performance.now();
      const healthRows = healthRowsOf(this.health, a, a.tip);
      const contribution =
        this.deps.onStep?.({ block: a.tip, kind: a.kind, first: this.firstStep, health: a.health, oracleAlerts: a.oracleAlerts }) ?? undefined;
      afterCommit = contribution?.afterCommit;
      const batch = batchOf(a, this.state, this.recent, healthRows, contribution?.batch);
      this.status.stageMs.rows += performance.now() - t1;
      await this.timed("commit", () => this.deps.store.commitBatch(batch));
    } catch (e) {
      await this.recoverFromStore(prevCursor).finally(() => this.snapshots.abortWrite());
      throw e;
    }
    this.firstStep = false;
    this.status.cursor = a.tip.number;
    this.status.finalizedBlock = this.state.finalizedBlock;
    this.status.lastBlockTimestamp = a.tip.timestamp;
    if (a.reorg) this.status.reorgs++;
    afterCommit?.();
    const view = this.publish(a.kind, a.from, a.tip);
    for (const alert of a.oracleAlerts) this.emitAlert(alert);
    if (a.reorg) {
      this.deps.logger.warn(
        { ancestor: String(a.reorg.ancestor.number), depth: a.reorg.depth },
        "chain reorganised; rolled back to the common ancestor",
      );
      this.emit("reorg", { ancestor: a.reorg.ancestor.number, depth: a.reorg.depth });
    }
    if (a.kind === "range") this.emit("batch", { from: a.from, to: a.tip.number, changes: a.changes });
    this.emit("block", {
      block: a.tip,
      phase: a.kind === "range" ? "backfill" : "follow",
      changes: a.changes,
      health: a.health,
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
    syncPrices(this);
    this.health?.onRollback({ accounts: [...touched], assets: [...assets], feeds: [...this.state.feeds.keys()] });
    const view = this.snapshots.current;
    if (view) this.health?.evaluate(view.block.timestamp, view.block.number);
    this.deps.logger.warn({ block: String(cursor) }, "a step failed before its commit; state restored to the published block");
  }

  private emitAlert(a: OracleAlert): void {
    this.deps.logger.warn({ alert: { ...a, blockNumber: String(a.blockNumber) } }, `oracle alert: ${a.type}`);
    this.emit("alert", a);
  }
}

/** One turn of the event loop: the timers due now (a transport's batch flush among them) run first. */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** The watch set's addresses as one comparable string. */
function watchKey(watched: readonly Watched[]): string {
  return watched
    .map((w) => `${w.address.toLowerCase()}:${w.family}`)
    .sort()
    .join(",");
}
