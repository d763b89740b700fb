// The BullMQ worker that runs liquidation jobs, with stalled-job recovery and a shutdown that leaves no job active.
import { Worker, type ConnectionOptions } from "bullmq";
import type { Logger } from "pino";
import type { LiquidationJobData, LiquidationJobResult } from "./job";
import type { LiquidationProcessor } from "./processor";

export interface KeeperWorkerOptions {
  connection: ConnectionOptions;
  processor: LiquidationProcessor;
  /** aborted by close(): jobs not yet sent are put back, jobs waiting for a receipt are parked */
  shutdown: AbortController;
  logger: Logger;
  /** default "liquidations" */
  queueName?: string;
  /** default "{marginwatch}" */
  prefix?: string;
  /** jobs in parallel in this process; default 2 */
  concurrency?: number;
  /** job lock; a dead worker's job is recovered after it expires; default 30000 ms */
  lockDurationMs?: number;
  /** stalled-job check period; default 30000 ms */
  stalledIntervalMs?: number;
  /** stalls tolerated before a job fails; default 2 */
  maxStalledCount?: number;
}

export class KeeperWorker {
  readonly worker: Worker<LiquidationJobData, LiquidationJobResult>;
  private running: Promise<void> | null = null;

  constructor(private readonly o: KeeperWorkerOptions) {
    this.worker = new Worker<LiquidationJobData, LiquidationJobResult>(o.queueName ?? "liquidations", o.processor.process, {
      connection: o.connection,
      prefix: o.prefix ?? "{marginwatch}",
      concurrency: o.concurrency ?? 2,
      lockDuration: o.lockDurationMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? 30_000,
      maxStalledCount: o.maxStalledCount ?? 2,
      autorun: false,
    });
    this.worker.on("failed", (job, err) => o.logger.warn({ jobId: job?.id, err: err.message, attemptsMade: job?.attemptsMade }, "job failed"));
    this.worker.on("stalled", (jobId) => o.logger.warn({ jobId }, "job stalled (its worker died); it will be run again"));
    this.worker.on("error", (err) => o.logger.error({ err: err.message }, "worker error"));
  }

  /** Starts pulling jobs. */
  start(): void {
    if (this.running) return;
    this.running = this.worker.run().catch((err: Error) => this.o.logger.error({ err: err.message }, "worker stopped with an error"));
  }

  /** Stops taking jobs, lets active ones reach a safe point (sent + recorded, or not started), then returns. */
  async close(): Promise<void> {
    this.o.shutdown.abort();
    await this.worker.close();
    await this.running;
  }
}
