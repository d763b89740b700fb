// The liquidation job, step by step: re-check on chain, size, simulate, price gas, send, confirm, record.
import { DelayedError, UnrecoverableError, type Job } from "bullmq";
import { encodeFunctionData } from "viem";
import type { Logger } from "pino";
import { mulDivDown, mulDivUp, WAD } from "../common/math";
import type { AccountSnapshot, LiquidationAdapter, LiquidationVenue } from "../protocols/types";
import type { OutcomeRecorder } from "./outcome-types";
import type { BalanceLedger } from "./balance-ledger";
import type { KeeperPublicClient } from "./chain/clients";
import { describeError, revertIn, revertOf, shouldRetry, ShutdownRequestedError } from "./errors";
import { gasCostBase, quoteFees, readNativePrice, weiForBudget } from "./gas";
import {
  liquidationJobDataSchema,
  type Address,
  type LiquidationJobData,
  type LiquidationJobResult,
  type ParkedRecord,
  type SentRecord,
} from "./job";
import { recordOutcome, resultOf, type OutcomeFields } from "./outcome";
import type { MinedTx, SendJournal, TransactionSender } from "./tx/sender";

/** How far back (blocks) the keeper looks for someone else's Liquidation when an account is healthy again. */
export const RACE_LOOKBACK_BLOCKS = 10_000n;

export interface ProcessorOptions {
  publicClient: KeeperPublicClient;
  /** the market (protocols/<name>/liquidation) bound to the deployment */
  venue: LiquidationVenue;
  /** the protocol's revert vocabulary */
  errors: Pick<LiquidationAdapter, "errorsAbi" | "priceErrors" | "lostRaceErrors">;
  keeper: Address;
  sender: TransactionSender;
  /** where outcome rows are recorded (the indexer's store in `start` and `keeper`) */
  store: OutcomeRecorder;
  logger: Logger;
  ledger: BalanceLedger;
  /** Chainlink aggregator of the native token (gas) price */
  nativePriceFeed: Address;
  dryRun: boolean;
  /** USD, 8 decimals */
  minProfitBase: bigint;
  maxFeePerGasCap: bigint;
  gasLimitMultiplierBps: number;
  /** a job parked for want of a usable price ends ("price-unavailable") once parked this long */
  priceWaitMs: number;
  /** first re-check of a parked job, doubling up to priceRetryMaxMs */
  priceRetryMs: number;
  priceRetryMaxMs: number;
  /** aborted when the worker shuts down: a job not yet sent is put back; one waiting for a receipt is parked */
  shutdown: AbortSignal;
}

type Job_ = Job<LiquidationJobData, LiquidationJobResult>;

/** Thrown inside the pipeline to end the job with an outcome row (and optionally without retry). */
class Finished {
  constructor(
    readonly fields: OutcomeFields,
    readonly unrecoverable: boolean,
  ) {}
}

/** Thrown inside the pipeline when the protocol refuses to price an asset: the job is parked, not failed. */
class PriceUnavailable {
  constructor(readonly reason: string) {}
}

export class LiquidationProcessor {
  constructor(private readonly o: ProcessorOptions) {}

  /** BullMQ processor. Retries (transient errors) and re-runs (stalled jobs) end in the state a first run would. */
  process = async (job: Job_, token?: string): Promise<LiquidationJobResult> => {
    const data = liquidationJobDataSchema.parse(job.data);
    const log = this.o.logger.child({ jobId: job.id, account: data.account, attempt: job.attemptsMade + 1 });
    const journal = jobJournal(job);
    const record = (f: OutcomeFields) => recordOutcome(this.o.store, job.id!, data.account, f);
    try {
      if (data.sent) {
        const mined = await this.o.sender.resume(data.sent, journal, this.o.shutdown);
        if (mined) return await this.finishMined(mined, record, log);
        log.info("earlier send left nothing on chain; planning afresh");
      }
      return await this.attempt(job, data, journal, record, log);
    } catch (e) {
      if (e instanceof PriceUnavailable) return await this.park(job, token, e.reason, record, log);
      if (e instanceof Finished) {
        const result = await record(e.fields);
        log.info({ outcome: e.fields.outcome, reason: e.fields.reason }, "job finished");
        if (e.unrecoverable) throw new UnrecoverableError(e.fields.reason ?? e.fields.outcome);
        return result;
      }
      if (e instanceof ShutdownRequestedError) {
        // Park the job without using an attempt; its write-ahead record (if any) lets the next run resume.
        await job.moveToDelayed(Date.now() + 1_000, token);
        throw new DelayedError();
      }
      if (e instanceof UnrecoverableError || e instanceof DelayedError) throw e;
      const reason = describeError(e, this.o.errors.errorsAbi);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (shouldRetry(e, this.o.errors.errorsAbi) && !lastAttempt) {
        log.warn({ err: reason }, "transient error; will retry with backoff");
        throw e;
      }
      await record({ outcome: "failed", reason });
      log.error({ err: reason }, "job failed");
      throw new UnrecoverableError(reason);
    }
  };

  private async attempt(
    job: Job_,
    data: ReturnType<typeof liquidationJobDataSchema.parse>,
    journal: SendJournal,
    record: (f: OutcomeFields) => Promise<LiquidationJobResult>,
    log: Logger,
  ): Promise<LiquidationJobResult> {
    const o = this.o;
    if (o.shutdown.aborted) throw new ShutdownRequestedError("shutting down before planning");
    const pc = o.publicClient;
    const { venue, errors } = o;
    const account = data.account;
    const block = await pc.getBlockNumber();

    const hf = await priced(errors, () => venue.healthFactor(account, block));
    if (hf >= WAD) throw new Finished(await this.healthyOrLost(account, BigInt(data.blockNumber), block), false);

    const snapshot = await priced(errors, () => venue.snapshot(account, o.keeper, block));
    // Plan and reserve with no await in between: concurrent jobs in this process never share the same tokens.
    const plan = venue.plan(snapshot, o.ledger.available);
    if (!plan) {
      throw new Finished(
        { outcome: "failed", reason: "no executable pair: the keeper holds none of the account's debt assets, or the pool lacks collateral cash" },
        true,
      );
    }
    // The most the transaction may pull from the keeper (interest accrues until inclusion).
    const release = o.ledger.reserve(plan.debtAsset, plan.maxSpend);
    try {
      const call = venue.call(account, plan);
      const sim = await simulate(errors, () => pc.simulateContract({ ...call, account: o.keeper }));
      // A call that returns nothing: the plan's amounts at the snapshot block (the receipt's log gives the mined ones).
      const { repaid, seized } = venue.simulated(sim.result) ?? { repaid: plan.repayAmount, seized: plan.seizeAmount };
      const bonusValueBase = valueInBase(snapshot, plan.collateralAsset, seized, "down") - valueInBase(snapshot, plan.debtAsset, repaid, "up");
      const base = { collateralAsset: plan.collateralAsset, debtAsset: plan.debtAsset, repayAmount: repaid };

      const gasEstimate = await simulate(errors, () => pc.estimateContractGas({ ...call, account: o.keeper }));
      if (data.parked) await this.unpark(job, log);
      const [fees, nativePrice] = await Promise.all([quoteFees(pc, o.maxFeePerGasCap), readNativePrice(pc, o.nativePriceFeed)]);
      const gasCost = gasCostBase(gasEstimate, fees.maxFeePerGas, nativePrice);
      const expectedProfitBase = bonusValueBase - gasCost;
      log.debug(
        {
          ...strings(base),
          bonusValueBase: bonusValueBase.toString(),
          gasEstimate: gasEstimate.toString(),
          gasCostBase: gasCost.toString(),
          expectedProfitBase: expectedProfitBase.toString(),
        },
        "liquidation priced",
      );
      if (expectedProfitBase < o.minProfitBase) {
        throw new Finished(
          {
            outcome: "skipped-unprofitable",
            ...base,
            expectedProfitBase,
            reason: `expected profit ${expectedProfitBase} < minimum ${o.minProfitBase} (USD, 8 decimals)`,
          },
          false,
        );
      }
      if (o.dryRun) throw new Finished({ outcome: "dry-run", ...base, expectedProfitBase, reason: "dry run: simulated only" }, false);
      if (o.shutdown.aborted) throw new ShutdownRequestedError("shutting down before sending");

      const gas = (gasEstimate * BigInt(o.gasLimitMultiplierBps)) / 10_000n;
      // Replacements may raise the fee until gas costs eat into the minimum profit, never further.
      const budgetWei = weiForBudget(bonusValueBase - o.minProfitBase, nativePrice);
      const maxGasCostWei = gasEstimate === 0n ? 0n : (budgetWei * gas) / gasEstimate;
      const mined = await o.sender.send(
        {
          to: call.address,
          data: encodeFunctionData(call),
          gas,
          fees,
          maxGasCostWei,
          meta: {
            collateralAsset: plan.collateralAsset,
            debtAsset: plan.debtAsset,
            repayAmount: repaid.toString(),
            expectedProfitBase: expectedProfitBase.toString(),
          },
        },
        journal,
        o.shutdown,
      );
      return await this.finishMined(mined, record, log);
    } finally {
      release();
    }
  }

  /**
   * The protocol refused to price an asset before anything was sent. The first refusal of an episode writes the one
   * "price-unavailable" row of that episode; the job is then put back (delayed, no attempt used) with a doubling
   * pause, until the prices are usable or `priceWaitMs` has passed since the first refusal — then the job
   * completes with outcome "price-unavailable" (no second row). Never a failure: the feed, not the job, is at fault.
   */
  private async park(
    job: Job_,
    token: string | undefined,
    reason: string,
    record: (f: OutcomeFields) => Promise<LiquidationJobResult>,
    log: Logger,
  ): Promise<LiquidationJobResult> {
    const o = this.o;
    const now = Date.now();
    const previous = job.data.parked;
    const parked: ParkedRecord = previous ? { since: previous.since, count: previous.count + 1, reason } : { since: now, count: 0, reason };
    const deadline = parked.since + o.priceWaitMs;
    if (!previous) {
      await record({
        outcome: "price-unavailable",
        reason: `${reason}: nothing sent; waiting up to ${Math.round(o.priceWaitMs / 1000)} s for a usable price`,
      });
      log.warn({ reason, priceWaitMs: o.priceWaitMs }, "price unavailable: job parked until the feed is usable again");
    }
    if (now >= deadline) {
      // The episode ends here; a re-run (the producer, once the account is liquidatable again) starts a new one.
      await setJobData(job, withoutParked(job.data));
      const waitedS = Math.round((now - parked.since) / 1000);
      log.warn(
        { reason, waitedMs: now - parked.since, rechecks: parked.count },
        "price still unavailable after the maximum wait: job ends without sending",
      );
      return resultOf({
        outcome: "price-unavailable",
        reason: `no usable price for ${waitedS} s (${parked.count} re-checks), nothing sent: ${reason}`,
      });
    }
    const pause = Math.min(Math.max(o.priceRetryMs, o.priceRetryMs * 2 ** Math.min(parked.count, 30)), Math.max(o.priceRetryMs, o.priceRetryMaxMs));
    const at = Math.min(now + pause, deadline);
    await setJobData(job, { ...job.data, parked });
    // Debug: a stale feed parks every job that depends on it, each re-checked up to every priceRetryMaxMs.
    if (previous) log.debug({ reason, rechecks: parked.count, nextCheckInMs: at - now }, "price still unavailable: job stays parked");
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }

  /** Prices are usable again: the parking episode is over (a later refusal starts a new one, with its own row). */
  private async unpark(job: Job_, log: Logger): Promise<void> {
    const parked = job.data.parked;
    if (!parked) return;
    await setJobData(job, withoutParked(job.data));
    log.info({ parkedMs: Date.now() - parked.since, rechecks: parked.count }, "prices usable again: parked job proceeds");
  }

  private async finishMined(mined: MinedTx, record: (f: OutcomeFields) => Promise<LiquidationJobResult>, log: Logger): Promise<LiquidationJobResult> {
    const r = mined.record;
    const fields: OutcomeFields = {
      collateralAsset: r.collateralAsset,
      debtAsset: r.debtAsset,
      repayAmount: BigInt(r.repayAmount),
      expectedProfitBase: BigInt(r.expectedProfitBase),
      transactionHash: mined.hash,
      blockNumber: mined.receipt.blockNumber,
      gasUsed: mined.receipt.gasUsed,
      outcome: "liquidated",
    };
    if (mined.receipt.status !== "success") {
      const result = await record({ ...fields, outcome: "reverted", reason: `transaction ${mined.hash} reverted` });
      log.error({ hash: mined.hash }, "liquidation reverted on chain");
      throw new UnrecoverableError(result.reason ?? "reverted");
    }
    const emitted = this.o.venue.outcome(mined.receipt.logs);
    if (emitted) fields.repayAmount = emitted.debtRepaid;
    const result = await record({ ...fields, reason: mined.versions > 1 ? `mined after ${mined.versions - 1} fee bump(s)` : null });
    log.info({ hash: mined.hash, gasUsed: mined.receipt.gasUsed.toString(), block: mined.receipt.blockNumber.toString() }, "liquidated");
    return result;
  }

  /** HF ≥ 1: "lost-race" if someone else liquidated the account since the opportunity was seen, else "already-healthy". */
  private async healthyOrLost(account: Address, seenAt: bigint, block: bigint): Promise<OutcomeFields> {
    const fromBlock = seenAt + 1n > block - RACE_LOOKBACK_BLOCKS ? seenAt + 1n : block - RACE_LOOKBACK_BLOCKS;
    if (fromBlock > block) return { outcome: "already-healthy", reason: "health factor ≥ 1 on chain" };
    const events = await this.o.venue.liquidationsOf(account, fromBlock, block);
    const other = events.find((e) => e.liquidator.toLowerCase() !== this.o.keeper.toLowerCase());
    if (other) return { outcome: "lost-race", transactionHash: null, reason: `liquidated first by ${other.liquidator} in ${other.transactionHash}` };
    return { outcome: "already-healthy", reason: "health factor ≥ 1 on chain" };
  }
}

async function setJobData(job: Job_, data: LiquidationJobData): Promise<void> {
  job.data = data;
  await job.updateData(data);
}

function withoutParked(data: LiquidationJobData): LiquidationJobData {
  const { parked: _dropped, ...rest } = data;
  return rest;
}

/** The job itself is the write-ahead log of what was broadcast. */
function jobJournal(job: Job_): SendJournal {
  return {
    save: async (sent: SentRecord) => {
      job.data = { ...job.data, sent };
      await job.updateData(job.data);
    },
    clear: async () => {
      if (!job.data.sent) return;
      const { sent: _dropped, ...rest } = job.data;
      job.data = rest;
      await job.updateData(job.data);
    },
  };
}

/** Runs a read that prices assets; a stale or invalid price parks the job (PriceUnavailable), never fails it. */
async function priced<T>(errors: ProcessorOptions["errors"], read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    const revert = revertOf(e, errors.errorsAbi);
    if (revertIn(revert, errors.priceErrors)) throw new PriceUnavailable(describeError(e, errors.errorsAbi));
    throw e;
  }
}

/** Runs the simulation; maps "the account changed under us" to lost-race and price errors as in `priced`. */
async function simulate<T>(errors: ProcessorOptions["errors"], run: () => Promise<T>): Promise<T> {
  try {
    return await priced(errors, run);
  } catch (e) {
    if (e instanceof PriceUnavailable) throw e;
    const revert = revertOf(e, errors.errorsAbi);
    const text = describeError(e, errors.errorsAbi);
    if (revertIn(revert, errors.lostRaceErrors)) {
      throw new Finished({ outcome: "lost-race", reason: `simulation reverted ${text}: the account changed since it was planned` }, false);
    }
    if (revert) throw new Finished({ outcome: "failed", reason: `simulation reverted ${text}` }, true);
    throw e;
  }
}

function valueInBase(s: AccountSnapshot, asset: Address, amount: bigint, rounding: "up" | "down"): bigint {
  const a = s.assets.find((x) => x.asset.toLowerCase() === asset.toLowerCase())!;
  return rounding === "up" ? mulDivUp(amount, a.price, a.unit) : mulDivDown(amount, a.price, a.unit);
}

const strings = (o: Record<string, unknown>): Record<string, string> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
