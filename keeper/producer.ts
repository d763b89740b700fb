// Producer: turns the health engine's liquidatable set into BullMQ jobs, one per opportunity, idempotently.
import { Queue, type ConnectionOptions, type Job, type JobsOptions } from "bullmq";
import { Counter, type Registry } from "prom-client";
import type { Hex } from "viem";
import { WAD } from "../common/math";
import { LIQUIDATION_JOB, liquidationJobId, type Address, type LiquidationJobData, type LiquidationJobResult } from "./job";
import { PRICE_UNAVAILABLE } from "./outcome";

/** Counter of opportunities the producer would not enqueue, by reason (today only "price-unavailable"). */
export const REFUSED_METRIC = "marginwatch_keeper_refused_total";
export type RefusalReason = typeof PRICE_UNAVAILABLE;

/** One liquidatable (or price-unknown) account as the health engine sees it. */
export interface Opportunity {
  account: Address;
  /** WAD */
  healthFactor: bigint;
  /** block at which the account's current liquidatable episode began */
  since: bigint;
  /** bumps on every position event of the account */
  positionVersion: number;
  /**
   * "unknown": the HF depends on a stale or invalid price; never sent to the keeper unless `liquidateOnStalePrice`
   * (then `healthFactor` is the HF on the last known prices, 0n when not computed)
   */
  status: "liquidatable" | "unknown";
}

export interface EnqueueContext {
  blockNumber: bigint;
  blockHash: Hex;
}

export interface EnqueueResult {
  /** new jobs added */
  enqueued: number;
  /** opportunities whose job already exists (any state): nothing added */
  duplicates: number;
  /**
   * status "unknown": counted (here and in marginwatch_keeper_refused_total{reason="price-unavailable"}), never
   * enqueued — unless `liquidateOnStalePrice` lets one with a known HF below 1 through (counted in enqueued /
   * duplicates instead)
   */
  skippedUnknown: number;
  /**
   * existing jobs that were waiting for, or gave up on, a usable price, re-run now that the account is reported
   * liquidatable (which implies the price is usable): parked jobs woken at once, "price-unavailable" jobs run again
   */
  retried: number;
}

export interface ProducerOptions {
  connection: ConnectionOptions;
  /** default "liquidations" */
  queueName?: string;
  /** must carry a Redis Cluster hash tag; default "{marginwatch}" */
  prefix?: string;
  /** attempts per job for transient errors; default 5 */
  attempts?: number;
  /** first retry delay (exponential, jittered); default 1000 ms */
  backoffMs?: number;
  /** completed jobs kept this long so the same id stays a no-op; default 86400 s */
  keepCompletedSeconds?: number;
  /** failed jobs kept this long; default 604800 s */
  keepFailedSeconds?: number;
  /**
   * enqueue "unknown" opportunities whose HF on the last known prices is below 1, for protocols whose oracle
   * accepts stale prices (the job re-checks on chain); default false: refused
   */
  liquidateOnStalePrice?: boolean;
  /**
   * prom-client registry for marginwatch_keeper_refused_total; without one the counter still counts but is not
   * exported (there is no global registry). A registry that already holds the counter (a second producer, a
   * restart in the same process) keeps counting on it.
   */
  registry?: Registry;
}

export class LiquidationProducer {
  readonly queue: Queue<LiquidationJobData>;
  /** marginwatch_keeper_refused_total{reason} */
  readonly refused: Counter<"reason">;
  private readonly jobOptions: JobsOptions;
  /** whether "unknown" opportunities with an HF below 1 on the last known prices are enqueued */
  readonly liquidateOnStalePrice: boolean;

  constructor(opts: ProducerOptions) {
    this.queue = new Queue<LiquidationJobData>(opts.queueName ?? "liquidations", {
      connection: opts.connection,
      prefix: opts.prefix ?? "{marginwatch}",
    });
    this.jobOptions = {
      attempts: opts.attempts ?? 5,
      backoff: { type: "exponential", delay: opts.backoffMs ?? 1_000, jitter: 0.5 },
      // Keep finished jobs by age, not count: while the id exists, re-adding it every block is a no-op.
      removeOnComplete: { age: opts.keepCompletedSeconds ?? 86_400 },
      removeOnFail: { age: opts.keepFailedSeconds ?? 604_800 },
    };
    this.refused = refusedCounter(opts.registry);
    this.liquidateOnStalePrice = opts.liquidateOnStalePrice ?? false;
  }

  /**
   * Adds one job per liquidatable opportunity. Safe to call on every block: the job id is derived from
   * (account, since, positionVersion), and BullMQ ignores an add whose id exists. The existence check before the
   * add only feeds the counters; with two producers racing, BullMQ still keeps one job and a counter may be off.
   */
  async enqueueOpportunities(opps: readonly Opportunity[], ctx: EnqueueContext): Promise<EnqueueResult> {
    const result: EnqueueResult = { enqueued: 0, duplicates: 0, skippedUnknown: 0, retried: 0 };
    for (const opp of opps) {
      const stale = opp.status !== "liquidatable";
      if (stale && !(this.liquidateOnStalePrice && opp.healthFactor > 0n && opp.healthFactor < WAD)) {
        result.skippedUnknown++;
        this.refused.inc({ reason: PRICE_UNAVAILABLE });
        continue;
      }
      // A stale-price episode has no start block the engine knows: one job per account and position version
      // (since 0 marks it), not one per block.
      const jobId = liquidationJobId(opp.account, stale ? 0n : opp.since, opp.positionVersion);
      const state = await this.queue.getJobState(jobId);
      if (state !== "unknown") {
        if (await this.rerunIfWaitingForPrice(jobId, state)) result.retried++;
        else result.duplicates++;
        continue;
      }
      const data: LiquidationJobData = {
        account: opp.account,
        healthFactor: opp.healthFactor.toString(),
        blockNumber: ctx.blockNumber.toString(),
        blockHash: ctx.blockHash,
        since: opp.since.toString(),
        positionVersion: opp.positionVersion,
      };
      await this.queue.add(LIQUIDATION_JOB, data, { ...this.jobOptions, jobId });
      result.enqueued++;
    }
    return result;
  }

  /**
   * The account is reported liquidatable, so its prices are usable again. A job of this opportunity that is parked
   * for want of a price is woken now instead of at its next re-check; one that gave up (completed
   * "price-unavailable", or failed "price-unavailable: …" by a keeper before parking existed) is run again —
   * otherwise its id would block the opportunity until it expires. Anything else is a plain duplicate.
   */
  private async rerunIfWaitingForPrice(jobId: string, state: string): Promise<boolean> {
    if (state !== "delayed" && state !== "completed" && state !== "failed") return false;
    const job = (await this.queue.getJob(jobId)) as Job<LiquidationJobData, LiquidationJobResult> | undefined;
    if (!job) return false;
    try {
      if (state === "delayed") {
        if (!job.data.parked) return false; // put back by a shutdown, not parked
        await job.promote();
      } else if (state === "completed") {
        if ((job.returnvalue as LiquidationJobResult | null)?.outcome !== PRICE_UNAVAILABLE) return false;
        await job.retry("completed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      } else {
        if (!job.failedReason?.startsWith(PRICE_UNAVAILABLE)) return false;
        await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      }
      return true;
    } catch {
      // The job moved on meanwhile (its delay ran out, another producer re-ran it): nothing to do.
      return false;
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

function refusedCounter(registry: Registry | undefined): Counter<"reason"> {
  const existing = registry?.getSingleMetric(REFUSED_METRIC);
  if (existing) return existing as Counter<"reason">;
  const counter = new Counter({
    name: REFUSED_METRIC,
    help: "Liquidation opportunities the keeper producer refused to enqueue, by reason (price-unavailable: the health factor depends on a stale or invalid price); one per opportunity per enqueue call (block)",
    labelNames: ["reason"] as const,
    registers: registry ? [registry] : [],
  });
  // The series exists (at 0) from the start, so rate() and alerts see the first refusal.
  counter.inc({ reason: PRICE_UNAVAILABLE }, 0);
  return counter;
}
