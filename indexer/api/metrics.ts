// The API's Prometheus metrics, registered on the app's registry: request counts and latency by route pattern
// (never by raw URL or address: bounded label sets), and gauges read from the indexer and health engine at scrape time.
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { symbolOf, type ApiContext } from "./context";
import type { FeedReading } from "../oracle/tracker";
import type { RiskAggregates, SweepWorkerStatus } from "../health";
import type { IndexerStatus } from "../types";
import { KEEPER_OUTCOMES, type KeeperOutcome, type KeeperOutcomeKind } from "../../keeper/outcome-types";

export const METRIC_NAMES = {
  requests: "marginwatch_api_requests_total",
  duration: "marginwatch_api_request_duration_seconds",
  tracked: "marginwatch_accounts_tracked",
  liquidatable: "marginwatch_accounts_liquidatable",
  unknown: "marginwatch_accounts_unknown",
  headLag: "marginwatch_indexer_head_lag_blocks",
  lastBlock: "marginwatch_indexer_last_block",
  feedAge: "marginwatch_oracle_feed_age_seconds",
  feedHeartbeat: "marginwatch_oracle_feed_heartbeat_seconds",
  feedStale: "marginwatch_oracle_feed_stale",
  ready: "marginwatch_ready",
  phase: "marginwatch_indexer_phase",
  headBlock: "marginwatch_indexer_head_block",
  rpcFailing: "marginwatch_indexer_rpc_failing",
  rpcLastOk: "marginwatch_indexer_rpc_last_success_timestamp_seconds",
  syncFailures: "marginwatch_indexer_sync_consecutive_failures",
  reorgs: "marginwatch_indexer_reorgs_total",
  malformed: "marginwatch_indexer_malformed_logs_total",
  queueJobs: "marginwatch_keeper_queue_jobs",
  queueUp: "marginwatch_keeper_queue_up",
  outcomes: "marginwatch_keeper_outcomes_total",
  hfAccounts: "marginwatch_hf_bucket_accounts",
  hfDebt: "marginwatch_hf_bucket_debt_usd",
  within20: "marginwatch_collateral_liquidatable_within_20pct_usd",
  badDebt: "marginwatch_bad_debt_usd",
  sweepWorker: "marginwatch_health_sweep_worker",
} as const;

const PHASES: readonly IndexerStatus["phase"][] = ["starting", "backfill", "follow", "stopped", "failed"];
const SWEEP_STATES: readonly SweepWorkerStatus["state"][] = ["off", "starting", "on", "failed"];
/** BullMQ's job states (Queue.getJobCounts() with no argument): every one has a series, 0 when empty. */
const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "paused", "completed", "failed"] as const;
/** A keeper queue that does not answer within this is reported down (marginwatch_keeper_queue_up 0), not awaited. */
const QUEUE_TIMEOUT_MS = 1_000;

/** A registry holds one metric per name; a second buildApi on the same registry (tests, restarts) replaces ours. */
function fresh(registry: Registry, name: string): void {
  if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
}

export function registerApiMetrics(app: FastifyInstance, ctx: ApiContext): void {
  const registry = ctx.registry;
  const registers = [registry];
  for (const name of Object.values(METRIC_NAMES)) fresh(registry, name);

  const requests = new Counter({
    name: METRIC_NAMES.requests,
    help: "HTTP requests served by the API, by method, route pattern and status code",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const duration = new Histogram({
    name: METRIC_NAMES.duration,
    help: "HTTP request duration in seconds, by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  app.addHook("onResponse", async (req, reply) => {
    // Unmatched URLs share one label: a scanner must not mint a time series per path it tries.
    const route = req.routeOptions.url ?? "unmatched";
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  // Figures about chain data come from the published view (read under its gate), never from half-applied state.
  const { indexer, health } = ctx;
  const snap = indexer.snapshots;
  new Gauge({
    name: METRIC_NAMES.tracked,
    help: "Accounts that ever held a position",
    registers,
    async collect() {
      this.set((await snap.tryRead(() => indexer.state.accounts.size)) ?? 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.liquidatable,
    help: "Accounts with health factor below 1 (exact, as of the published block)",
    registers,
    async collect() {
      this.set((await snap.tryRead(() => health.liquidatable().length)) ?? 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.unknown,
    help: "Accounts with debt whose health factor depends on a stale or invalid price",
    registers,
    async collect() {
      this.set((await snap.tryRead(() => health.unknown().length)) ?? 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.headLag,
    help: "Blocks between the chain head and the published block",
    registers,
    collect() {
      const head = indexer.status.head;
      const at = snap.current?.block.number;
      this.set(head === null || at === undefined ? 0 : Math.max(0, Number(head - at)));
    },
  });
  new Gauge({
    name: METRIC_NAMES.lastBlock,
    help: "The published block: fully applied, priced, evaluated and committed",
    registers,
    collect() {
      this.set(Math.max(0, Number(snap.current?.block.number ?? 0n)));
    },
  });
  const perFeed = (name: string, help: string, value: (r: FeedReading) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["asset"] as const,
      registers,
      collect() {
        this.reset();
        for (const r of snap.current?.readings.values() ?? []) this.set({ asset: symbolOf(ctx, r.asset) ?? r.asset }, value(r));
      },
    });
  perFeed(METRIC_NAMES.feedAge, "Seconds since the feed's last update, at the published block", (r) => Number(r.age));
  perFeed(METRIC_NAMES.feedHeartbeat, "The feed's heartbeat in seconds (stale beyond it)", (r) => Number(r.heartbeat));
  perFeed(METRIC_NAMES.feedStale, "1 when the feed is stale or invalid, else 0", (r) => (r.status === "fresh" ? 0 : 1));

  // ---- readiness and the indexer's own health (what /readyz and /v1/status say, as numbers)
  const st = indexer.status;
  new Gauge({
    name: METRIC_NAMES.ready,
    help: "1 when /readyz answers 200 (indexer following the head, RPC answering, head advancing, a block published, no open audit mismatch), else 0",
    registers,
    collect() {
      this.set(isServingReady(ctx) ? 1 : 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.phase,
    help: "1 for the indexer's current phase (starting, backfill, follow, stopped, failed), 0 for the others",
    labelNames: ["phase"] as const,
    registers,
    collect() {
      for (const phase of PHASES) this.set({ phase }, st.phase === phase ? 1 : 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.sweepWorker,
    help: "1 for the health engine's sweep worker state (off: no sweep big enough, starting, on, failed: sweeps run on one thread), 0 for the others",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const state = health.sweepWorker().state;
      for (const s of SWEEP_STATES) this.set({ state: s }, state === s ? 1 : 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.headBlock,
    help: "The chain head as the indexer last saw it (0 before the first poll)",
    registers,
    collect() {
      this.set(st.head === null ? 0 : Number(st.head));
    },
  });
  new Gauge({
    name: METRIC_NAMES.rpcFailing,
    help: "1 while the indexer's latest RPC call failed (it retries with backoff), 0 once one succeeds",
    registers,
    collect() {
      this.set(st.rpcError === null ? 0 : 1);
    },
  });
  new Gauge({
    name: METRIC_NAMES.rpcLastOk,
    help: "Unix time of the indexer's last successful RPC call (0 before the first)",
    registers,
    collect() {
      this.set(st.lastRpcOkAt / 1000);
    },
  });
  new Gauge({
    name: METRIC_NAMES.syncFailures,
    help: "Sync steps failed in a row (RPC errors, undecodable logs); 0 after a successful step",
    registers,
    collect() {
      this.set(st.consecutiveFailures);
    },
  });
  new Counter({
    name: METRIC_NAMES.reorgs,
    help: "Chain reorganisations the indexer rolled back since the process started",
    registers,
    collect() {
      setCounter(this, st.reorgs);
    },
  });
  new Counter({
    name: METRIC_NAMES.malformed,
    help: "Watched logs the RPC returned that did not decode (the step is retried, the cursor held) since the process started",
    registers,
    collect() {
      setCounter(this, st.malformedLogs);
    },
  });

  // ---- keeper: the liquidation queue (when this process runs keepers) and outcomes from the store (every keeper)
  const queue = ctx.keeperQueue;
  if (queue) {
    // One read per scrape, shared by both metrics (a registry collects every metric concurrently).
    let pending: Promise<Record<string, number> | null> | null = null;
    const counts = (): Promise<Record<string, number> | null> =>
      (pending ??= withTimeout(queue.counts(), QUEUE_TIMEOUT_MS)
        .catch(() => null)
        .finally(() => {
          pending = null;
        }));
    new Gauge({
      name: METRIC_NAMES.queueJobs,
      help: "Liquidation jobs in the keeper's BullMQ queue, by state (completed and failed: those still retained)",
      labelNames: ["state"] as const,
      registers,
      async collect() {
        const c = await counts();
        this.reset(); // a queue that does not answer: the series go absent (no made-up numbers), queue_up says why
        if (c) for (const state of QUEUE_STATES) this.set({ state }, c[state] ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.queueUp,
      help: "1 when the keeper queue (Redis) answered this scrape within 1 s, else 0",
      registers,
      async collect() {
        this.set((await counts()) ? 1 : 0);
      },
    });
  }
  const tally = new OutcomeTally((page) => ctx.store.listKeeperOutcomes(page));
  new Counter({
    name: METRIC_NAMES.outcomes,
    help: "Finished liquidation job attempts recorded in the store by every keeper, by outcome (liquidated, skipped-unprofitable, already-healthy, lost-race, reverted, failed, dry-run, price-unavailable)",
    labelNames: ["outcome"] as const,
    registers,
    async collect() {
      // A store that does not answer keeps the last counts: a scrape never fails on it.
      await tally.update().catch(() => undefined);
      for (const [outcome, n] of tally.counts) setCounter(this, n, { outcome });
    },
  });

  // ---- risk: the HF distribution and headline figures, computed once per published view
  let risk: { seq: number; value: RiskAggregates } | null = null;
  const aggregates = async (): Promise<RiskAggregates | null> => {
    const r = await snap.tryRead((view) => {
      if (risk?.seq !== view.seq) risk = { seq: view.seq, value: health.aggregates(view.block.timestamp) };
      return risk.value;
    });
    return r;
  };
  const hfBelow = (max: number | null): string => (max === null ? "+Inf" : String(max));
  new Gauge({
    name: METRIC_NAMES.hfAccounts,
    help: "Accounts with debt per health-factor range, by the range's exclusive upper bound (hf_below 1: liquidatable; not cumulative)",
    labelNames: ["hf_below"] as const,
    registers,
    async collect() {
      this.reset();
      for (const b of (await aggregates())?.distribution ?? []) this.set({ hf_below: hfBelow(b.max) }, b.accounts);
    },
  });
  new Gauge({
    name: METRIC_NAMES.hfDebt,
    help: "Debt in USD per health-factor range, by the range's exclusive upper bound (hf_below 1: debt of liquidatable accounts; not cumulative)",
    labelNames: ["hf_below"] as const,
    registers,
    async collect() {
      this.reset();
      for (const b of (await aggregates())?.distribution ?? []) this.set({ hf_below: hfBelow(b.max) }, b.debtUSD);
    },
  });
  new Gauge({
    name: METRIC_NAMES.within20,
    help: "Collateral in USD that becomes liquidatable within a 20% fall of its asset's price (summed over assets, each alone)",
    registers,
    async collect() {
      this.set((await aggregates())?.liquidatableWithin20PctUSD ?? 0);
    },
  });
  new Gauge({
    name: METRIC_NAMES.badDebt,
    help: "Debt in USD of accounts whose debt exceeds their collateral value",
    registers,
    async collect() {
      this.set((await aggregates())?.badDebt.amountUSD ?? 0);
    },
  });
}

/** What /readyz answers, as a boolean: the indexer follows the head, a view is published, the auditor has no open mismatch. */
export function isServingReady(ctx: ApiContext): boolean {
  if (!ctx.indexer.isReady().ready) return false;
  if (!ctx.indexer.snapshots.current) return false;
  return ctx.auditor?.readiness().ready ?? true;
}

/** A value set at scrape time on a counter: `total` only grows within a process (a restart resets it, as counters do). */
function setCounter(c: Counter<string>, total: number, labels?: Record<string, string>): void {
  if (labels) {
    c.remove(labels);
    c.inc(labels, total);
  } else {
    c.reset();
    c.inc(total);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Keeper outcomes counted from the store's rows, so the count covers every keeper process writing to it (`keeper`
 * workers on other machines have no /metrics of their own). Each scrape reads the newest rows down to the newest
 * one already counted minus an overlap (rows committed late, clocks of other machines), skipping rows it has seen.
 */
export class OutcomeTally {
  readonly counts = new Map<KeeperOutcomeKind, number>(KEEPER_OUTCOMES.map((o) => [o, 0]));
  private newest = Number.NEGATIVE_INFINITY;
  /** rows inside the overlap window already counted, by key → createdAt ms */
  private seen = new Map<string, number>();

  constructor(
    private readonly list: (page: { limit: number; offset: number }) => Promise<KeeperOutcome[]>,
    private readonly overlapMs = 5 * 60_000,
    private readonly pageSize = 500,
  ) {}

  async update(): Promise<void> {
    const floor = this.newest - this.overlapMs;
    let newest = this.newest;
    for (let offset = 0; ; offset += this.pageSize) {
      const rows = await this.list({ limit: this.pageSize, offset });
      let done = rows.length < this.pageSize;
      for (const r of rows) {
        const at = r.createdAt.getTime();
        if (at < floor) {
          done = true;
          break;
        }
        const key = `${at}|${r.jobId}|${r.outcome}|${r.transactionHash ?? ""}|${r.reason ?? ""}`;
        if (this.seen.has(key)) continue;
        this.seen.set(key, at);
        this.counts.set(r.outcome, (this.counts.get(r.outcome) ?? 0) + 1);
        if (at > newest) newest = at;
      }
      if (done) break;
    }
    this.newest = newest;
    for (const [key, at] of this.seen) if (at < newest - this.overlapMs) this.seen.delete(key);
  }
}
