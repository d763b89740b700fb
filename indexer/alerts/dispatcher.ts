// Alert dispatcher: delivers the store's alert outbox (written by the indexer in each block's transaction) to the
// log, the BullMQ `alerts` queue and signed webhooks, then marks it delivered. Deterministic job ids make a
// re-delivery after a crash a no-op in Redis; an outbox row is marked only once Redis holds it, so a Redis outage
// delays alerts and loses none.
import { Queue, Worker } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { Store } from "../store/types";
import type { Alert } from "./types";
import { AlertLog } from "./alert-log";
import { deliver, redactQuery } from "./webhook";

/** The part of the store the dispatcher reads and writes. */
export type AlertOutbox = Pick<Store, "pendingAlerts" | "markAlertsDelivered">;

export interface AlertDispatcherOptions {
  store: AlertOutbox;
  connection: RedisOptions;
  logger: Logger;
  /** Redis key prefix with a Cluster hash tag; default "{marginwatch}" */
  prefix?: string;
  /** queue external consumers read; default "alerts" (webhook jobs go to "<queueName>-webhooks") */
  queueName?: string;
  webhookUrls?: string[];
  /** HMAC key of webhook signatures; required with webhookUrls */
  webhookSecret?: string;
  /** webhook attempts (exponential backoff); default 8 */
  webhookAttempts?: number;
  /** a block with at most this many margin calls logs each; more are one summary line (default 3; see alert-log.ts) */
  logIndividualUpTo?: number;
  /** run the webhook delivery worker in this process; default true (false: another process runs it) */
  webhookWorker?: boolean;
  /** outbox poll interval when nothing calls kick(); default 500 ms */
  pollIntervalMs?: number;
  /** longest wait between attempts while Redis or the store fails; default 5 000 ms */
  maxBackoffMs?: number;
  /** how long one attempt waits for a Redis connection that has never been up; default 2 000 ms */
  connectTimeoutMs?: number;
  /** outbox rows handed to Redis per round trip; default 100 */
  batchSize?: number;
}

interface WebhookJob {
  url: string;
  alert: Alert;
}

const KEEP_ALERT_S = 7 * 86_400;
/** Webhook jobs stay this long after success: a re-delivery of the alert within it is ignored by BullMQ. */
const KEEP_WEBHOOK_S = 86_400;
const RECENT = 200;

/** ioredis reconnect delay: quick at first, then every 2 s (BullMQ's default grows to 20 s). */
const reconnectDelay = (times: number): number => Math.min(100 * 2 ** Math.min(times, 5), 2_000);

export class AlertDispatcher {
  readonly queue: Queue<Alert>;
  readonly webhooks: Queue<WebhookJob> | null;
  /** alerts this process delivered, oldest first (the last 200) */
  readonly sent: Alert[] = [];
  private hookWorker: Worker<WebhookJob> | null = null;
  /** the producers' connection, owned here so close() can always end it (BullMQ's QUIT waits for Redis) */
  private readonly redis: Redis;
  private loop: Promise<void> | null = null;
  private closing = false;
  private kicked = false;
  private wake: (() => void) | null = null;
  private backingOff = false;
  /** ids logged by this process and not yet delivered: a retried batch is not logged again */
  private readonly logged = new Set<string>();
  private readonly log: AlertLog;
  private readonly prefix: string;
  private readonly pollMs: number;
  private readonly maxBackoffMs: number;
  private readonly connectTimeoutMs: number;
  private readonly batchSize: number;

  /** Reconnect delay (the connection's own retryStrategy, else reconnectDelay); once closing, none: the client ends. */
  // biome-ignore lint/suspicious/noConfusingVoidType: the return type of ioredis' retryStrategy, which this delegates to
  private readonly retry = (times: number): number | null | void =>
    this.closing ? null : (this.o.connection.retryStrategy ?? reconnectDelay)(times);

  constructor(private readonly o: AlertDispatcherOptions) {
    this.prefix = o.prefix ?? "{marginwatch}";
    this.pollMs = o.pollIntervalMs ?? 500;
    this.maxBackoffMs = o.maxBackoffMs ?? 5_000;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 2_000;
    this.batchSize = o.batchSize ?? 100;
    this.log = new AlertLog(o.logger, o.logIndividualUpTo);
    const name = o.queueName ?? "alerts";
    // Producers fail fast while Redis is down (no offline queue, in-flight commands given up after one reconnect):
    // the loop owns retrying, and rows stay in the outbox meanwhile.
    this.redis = new Redis({ ...o.connection, retryStrategy: this.retry, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    // Connection errors surface through the delivery loop's one warning; without listeners ioredis prints each.
    this.redis.on("error", (e: Error) => o.logger.debug({ err: e.message }, "alert queue Redis error"));
    this.queue = new Queue<Alert>(name, { connection: this.redis as never, prefix: this.prefix });
    this.webhooks = o.webhookUrls?.length
      ? new Queue<WebhookJob>(`${name}-webhooks`, { connection: this.redis as never, prefix: this.prefix })
      : null;
    for (const q of [this.queue, this.webhooks]) q?.on("error", (e: Error) => o.logger.debug({ err: e.message, queue: q.name }, "alert queue error"));
  }

  /** Starts the webhook worker (with webhook URLs) and the outbox delivery loop. */
  start(): void {
    if (this.loop) return;
    if (this.webhooks && (this.o.webhookWorker ?? true)) {
      const secret = this.o.webhookSecret;
      if (!secret) throw new Error("ALERT_WEBHOOK_SECRET is required to sign webhooks");
      this.hookWorker = new Worker<WebhookJob>(
        this.webhooks.name,
        async (job) => {
          await deliver(job.data.url, secret, job.data.alert);
        },
        { connection: { ...this.o.connection, retryStrategy: this.retry } as never, prefix: this.prefix, concurrency: 4, runRetryDelay: 1_000 },
      );
      this.hookWorker.on("failed", (job, err) => {
        this.o.logger.warn(
          { alert: job?.data.alert.id, url: job ? redactQuery(job.data.url) : null, attempt: job?.attemptsMade, err: err.message },
          "webhook delivery failed",
        );
      });
      this.hookWorker.on("error", (e: Error) => this.o.logger.debug({ err: e.message }, "webhook worker Redis error"));
    }
    this.loop = this.run();
  }

  /** Delivers pending alerts now (the indexer calls it after each commit); ignored while backing off after a failure. */
  kick(): void {
    this.kicked = true;
    if (!this.backingOff) this.wake?.();
  }

  /** Stops the loop after its current attempt; undelivered alerts stay in the outbox for the next start. */
  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    await this.loop;
    this.log.flush();
    if (this.hookWorker) await shut(this.hookWorker, this.redis.status === "ready");
    // The queues share this.redis (BullMQ leaves a caller's client open): closing them is local, then it ends.
    await this.webhooks?.close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      this.kicked = false;
      let more = false;
      try {
        more = await this.deliverBatch();
        if (!more) this.log.flush();
        if (failures > 0) this.o.logger.info({ attempts: failures + 1 }, "alert delivery resumed");
        failures = 0;
      } catch (e) {
        failures++;
        this.log.flush();
        const log = { err: (e as Error).message, attempt: failures };
        if (failures === 1) this.o.logger.warn(log, "alert delivery failed; alerts stay in the outbox and are retried");
        else this.o.logger.debug(log, "alert delivery failed again");
      }
      if (this.closing) break;
      if (failures === 0 && (more || this.kicked)) continue;
      this.backingOff = failures > 0;
      await this.pause(failures === 0 ? this.pollMs : Math.min(this.pollMs * 2 ** (failures - 1), this.maxBackoffMs));
      this.backingOff = false;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** One batch: log, queue, webhook jobs, mark delivered. Returns whether more may be pending. */
  private async deliverBatch(): Promise<boolean> {
    const alerts = await this.o.store.pendingAlerts(this.batchSize);
    if (alerts.length === 0) return false;
    const fresh = alerts.filter((a) => !this.logged.has(a.id));
    for (const a of fresh) this.logged.add(a.id);
    // Logged as picked up (even while Redis is down); margin calls are summarised per block once the outbox is drained.
    this.log.add(fresh);
    await this.connected();
    // Same job ids on every attempt and after a crash: BullMQ keeps the first, so nothing is queued twice.
    await this.queue.addBulk(
      alerts.map((alert) => ({
        name: alert.body.kind,
        data: alert,
        opts: { jobId: alert.id, removeOnComplete: { age: KEEP_ALERT_S }, removeOnFail: { age: KEEP_ALERT_S } },
      })),
    );
    if (this.webhooks) {
      const urls = this.o.webhookUrls ?? [];
      await this.webhooks.addBulk(
        alerts.flatMap((alert) =>
          urls.map((url) => ({
            name: "deliver",
            data: { url, alert },
            opts: {
              jobId: `${alert.id}-${hashUrl(url)}`,
              attempts: this.o.webhookAttempts ?? 8,
              backoff: { type: "exponential", delay: 1_000, jitter: 0.5 },
              removeOnComplete: { age: KEEP_WEBHOOK_S },
              removeOnFail: { age: KEEP_ALERT_S },
            },
          })),
        ),
      );
    }
    await this.o.store.markAlertsDelivered(alerts.map((a) => a.id));
    for (const a of alerts) this.logged.delete(a.id);
    this.sent.push(...alerts);
    if (this.sent.length > RECENT) this.sent.splice(0, this.sent.length - RECENT);
    return alerts.length === this.batchSize;
  }

  /** Until a connection has been up once, BullMQ waits for it without limit: bound that wait per attempt. */
  private async connected(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis not reachable within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    });
    try {
      await Promise.race([Promise.all([this.queue.waitUntilReady(), this.webhooks?.waitUntilReady()]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Grace for the webhook worker's close: a POST in flight finishes and is recorded. */
const CLOSE_GRACE_MS = 5_000;

/**
 * Closes the webhook worker. With Redis down a graceful close never ends (BullMQ disconnects the reconnecting
 * blocking client and waits for an "end" that does not come), and a job in flight could not be recorded anyway: it is
 * forced, and such a job is delivered again by the next worker (webhooks are at-least-once; receivers de-duplicate
 * by alert id). With Redis up, a graceful close, bounded.
 */
async function shut(w: Worker, redisUp: boolean): Promise<void> {
  if (!redisUp) return w.close(true).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([w.close().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
  clearTimeout(timer);
}

function hashUrl(url: string): string {
  let h = 2166136261;
  for (let i = 0; i < url.length; i++) h = Math.imul(h ^ url.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}
