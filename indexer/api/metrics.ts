// The API's Prometheus metrics, registered on the app's registry: request counts and latency by route pattern
// (never by raw URL or address: bounded label sets), and gauges read from the indexer and health engine at scrape time.
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { symbolOf, type ApiContext } from "./context";
import type { FeedReading } from "../oracle/tracker";

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
} as const;

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
}
