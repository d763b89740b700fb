// Producer: turns the health engine's liquidatable set into BullMQ jobs, one per opportunity, idempotently.
import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import type { Hex } from "viem";
import { LIQUIDATION_JOB, liquidationJobId, type Address, type LiquidationJobData } from "./job";
import { PRICE_UNAVAILABLE } from "./outcome";

/** One liquidatable (or price-unknown) account as the health engine sees it. */
export interface Opportunity {
  account: Address;
  /** WAD */
  healthFactor: bigint;
  /** block at which the account's current liquidatable episode began */
  since: bigint;
  /** bumps on every position event of the account */
  positionVersion: number;
  /** "unknown": the HF depends on a stale or invalid price; never sent to the keeper */
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
  /** status "unknown": counted, never enqueued */
  skippedUnknown: number;
  /** failed jobs re-queued because they failed only for want of a usable price, which is now back */
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
}

export class LiquidationProducer {
  readonly queue: Queue<LiquidationJobData>;
  private readonly jobOptions: JobsOptions;

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
  }

  /**
   * Adds one job per liquidatable opportunity. Safe to call on every block: the job id is derived from
   * (account, since, positionVersion), and BullMQ ignores an add whose id exists. The existence check before the
   * add only feeds the counters; with two producers racing, BullMQ still keeps one job and a counter may be off.
   */
  async enqueueOpportunities(opps: readonly Opportunity[], ctx: EnqueueContext): Promise<EnqueueResult> {
    const result: EnqueueResult = { enqueued: 0, duplicates: 0, skippedUnknown: 0, retried: 0 };
    for (const opp of opps) {
      if (opp.status !== "liquidatable") {
        result.skippedUnknown++;
        continue;
      }
      const jobId = liquidationJobId(opp.account, opp.since, opp.positionVersion);
      const state = await this.queue.getJobState(jobId);
      if (state !== "unknown") {
        if (state === "failed" && (await this.retryIfPriceFailure(jobId))) result.retried++;
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
   * A job that failed because a price was stale or invalid is retried when the account is reported liquidatable
   * again (which implies the price is usable): otherwise its id would block the opportunity for good.
   */
  private async retryIfPriceFailure(jobId: string): Promise<boolean> {
    const job = await this.queue.getJob(jobId);
    if (!job || !job.failedReason?.startsWith(PRICE_UNAVAILABLE)) return false;
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    return true;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
