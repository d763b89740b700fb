// Alert dispatcher: turns health crossings and oracle faults into alerts, de-duplicates them across restarts
// (state per account/level kept in Redis), and delivers each to the log, the BullMQ `alerts` queue and webhooks.
import { Queue, Worker } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { Alert, AlertBody, AlertSeverity, PositionCard } from "./types";
import { deliver, redactQuery } from "./webhook";
import type { OracleAlert } from "../oracle/tracker";
import type { Crossing } from "../health/types";
import { formatHealthFactor } from "../health";

export interface AlertDispatcherOptions {
  connection: RedisOptions;
  logger: Logger;
  /** Redis key prefix with a Cluster hash tag; default "{marginwatch}" */
  prefix?: string;
  /** queue external consumers read; default "alerts" */
  queueName?: string;
  webhookUrls?: string[];
  webhookSecret?: string;
  /** a level triggered again within this long after it resolved is not re-sent; default 5 minutes */
  cooldownMs?: number;
  /** webhook attempts (exponential backoff); default 8 */
  webhookAttempts?: number;
  /** resolves an asset address to its symbol for messages */
  symbolOf?: (asset: string) => string | null;
}

interface WebhookJob {
  url: string;
  alert: Alert;
}

export class AlertDispatcher {
  readonly queue: Queue<Alert>;
  private readonly hooks: Queue<WebhookJob> | null;
  private hookWorker: Worker<WebhookJob> | null = null;
  private readonly stateKey: string;
  readonly sent: Alert[] = [];
  private readonly cooldownMs: number;
  private readonly redis: Redis;

  constructor(private readonly o: AlertDispatcherOptions) {
    this.redis = new Redis({ ...o.connection, maxRetriesPerRequest: null, lazyConnect: true });
    // Without a listener ioredis prints every reconnect failure as an unhandled error; BullMQ reports outages.
    this.redis.on("error", (e: Error) => o.logger.debug({ err: e.message }, "alert state Redis connection error"));
    const prefix = o.prefix ?? "{marginwatch}";
    this.queue = new Queue<Alert>(o.queueName ?? "alerts", { connection: o.connection as never, prefix });
    this.hooks = o.webhookUrls?.length ? new Queue<WebhookJob>(`${o.queueName ?? "alerts"}-webhooks`, { connection: o.connection as never, prefix }) : null;
    this.stateKey = `${prefix}:${o.queueName ?? "alerts"}:state`;
    this.cooldownMs = o.cooldownMs ?? 5 * 60_000;
  }

  /** Starts the webhook delivery worker (none without webhook URLs). */
  start(): void {
    if (!this.hooks || this.hookWorker) return;
    const secret = this.o.webhookSecret;
    if (!secret) throw new Error("ALERT_WEBHOOK_SECRET is required to sign webhooks");
    this.hookWorker = new Worker<WebhookJob>(
      this.hooks.name,
      async (job) => { await deliver(job.data.url, secret, job.data.alert); },
      { connection: this.o.connection as never, prefix: this.o.prefix ?? "{marginwatch}", concurrency: 4 },
    );
    this.hookWorker.on("failed", (job, err) => {
      this.o.logger.warn({ alert: job?.data.alert.id, url: job ? redactQuery(job.data.url) : null, attempt: job?.attemptsMade, err: err.message }, "webhook delivery failed");
    });
  }

  async close(): Promise<void> {
    await this.hookWorker?.close();
    await this.hooks?.close();
    await this.queue.close();
    this.redis.disconnect();
  }

  /** Forgets every account's alert state (a fresh embedded chain: nothing from a previous run applies). */
  async clearState(): Promise<void> {
    await this.redis.del(this.stateKey);
  }

  /** Margin-call crossings from HealthEngine.evaluate; `card` gives the position card of an account. */
  async onCrossings(crossings: readonly Crossing[], blockNumber: bigint, card: (account: string) => PositionCard | null): Promise<Alert[]> {
    const out: Alert[] = [];
    for (const c of crossings) {
      const state = c.direction === "down" ? "triggered" : "resolved";
      const severity: AlertSeverity = c.direction === "up" ? "info" : c.level === "liquidatable" ? "critical" : c.level === "critical" ? "critical" : "warning";
      const hf = formatHealthFactor(c.healthFactor);
      const a = await this.raise(`mc|${c.account}|${c.level}`, state, {
        id: `mc-${c.account}-${c.level}-${state}-${blockNumber}`,
        severity,
        blockNumber: String(blockNumber),
        at: new Date().toISOString(),
        message: state === "triggered" ? `account ${c.account} HF ${hf} fell below the ${c.level} level` : `account ${c.account} HF ${hf} is back above the ${c.level} level`,
        body: { kind: "margin-call", account: c.account, level: c.level, state, healthFactor: c.healthFactor.toString(), card: card(c.account) },
      });
      if (a) out.push(a);
    }
    return out;
  }

  /** Heartbeat misses, invalid answers, recoveries and sequencer changes from the oracle tracker. */
  async onOracleAlerts(alerts: readonly OracleAlert[]): Promise<Alert[]> {
    const out: Alert[] = [];
    for (const o of alerts) {
      const asset = "asset" in o ? o.asset : null;
      const symbol = asset ? this.o.symbolOf?.(asset) ?? null : null;
      const name = symbol ?? asset ?? "sequencer";
      const detail =
        o.type === "heartbeat-missed" ? `${name} feed missed its heartbeat: no update for ${o.age}s (heartbeat ${o.heartbeat}s)`
        : o.type === "feed-invalid" ? `${name} feed is invalid: ${o.reason}`
        : o.type === "feed-recovered" ? `${name} feed is fresh again`
        : `L2 sequencer is ${o.type.replace("sequencer-", "")}`;
      const state = o.type === "feed-recovered" || o.type === "sequencer-up" ? "resolved" : "triggered";
      const body: AlertBody = { kind: "oracle", type: o.type, asset, symbol, detail };
      const a = await this.raise(`oracle|${asset ?? "sequencer"}|${o.type === "feed-recovered" ? "fault" : o.type.startsWith("sequencer") ? "sequencer" : "fault"}`, state, {
        id: `oracle-${asset ?? "sequencer"}-${o.type}-${o.blockNumber}`,
        severity: state === "resolved" ? "info" : "critical",
        blockNumber: String(o.blockNumber),
        at: new Date().toISOString(),
        message: detail,
        body,
      }, o.type === "feed-recovered" || o.type.startsWith("sequencer") ? undefined : o.type);
      if (a) out.push(a);
    }
    return out;
  }

  /**
   * Sends `alert` unless the stored state of `key` already says `state` (a duplicate after a restart or replay),
   * or a re-trigger falls within the cooldown after a resolve.
   */
  private async raise(key: string, state: "triggered" | "resolved", alert: Alert, variant?: string): Promise<Alert | null> {
    const client = this.redis;
    const stored = await client.hget(this.stateKey, key);
    const [prevState, prevVariant, prevAt] = (stored ?? "").split("|");
    const now = Date.now();
    if (prevState === state && (prevVariant ?? "") === (variant ?? "")) return null;
    if (!stored && state === "resolved") return null; // nothing was ever raised
    if (state === "resolved" && stored?.endsWith("|muted")) {
      // The trigger was muted by the cooldown: its resolve is not news either.
      await client.hset(this.stateKey, key, `${state}|${variant ?? ""}|${now}`);
      return null;
    }
    if (state === "triggered" && prevState === "resolved" && now - Number(prevAt) < this.cooldownMs && alert.severity !== "critical") {
      await client.hset(this.stateKey, key, `${state}|${variant ?? ""}|${now}|muted`);
      return null;
    }
    await client.hset(this.stateKey, key, `${state}|${variant ?? ""}|${now}`);
    this.o.logger[state === "resolved" ? "info" : "warn"]({ alert: alert.id, severity: alert.severity, body: alert.body }, alert.message);
    await this.queue.add(alert.body.kind, alert, { jobId: alert.id, removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 7 * 86_400 } });
    for (const url of this.o.webhookUrls ?? []) {
      await this.hooks!.add("deliver", { url, alert }, {
        jobId: `${alert.id}-${hashUrl(url)}`,
        attempts: this.o.webhookAttempts ?? 8,
        backoff: { type: "exponential", delay: 1_000, jitter: 0.5 },
        removeOnComplete: { age: 86_400 },
        removeOnFail: { age: 7 * 86_400 },
      });
    }
    this.sent.push(alert);
    if (this.sent.length > 200) this.sent.splice(0, this.sent.length - 200);
    return alert;
  }
}

function hashUrl(url: string): string {
  let h = 2166136261;
  for (let i = 0; i < url.length; i++) h = Math.imul(h ^ url.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}
