// Sends one liquidation transaction and sees it mined: nonce from the NonceManager, a write-ahead record in the job,
// same-nonce replacements with capped fee bumps, and whichever version gets mined wins.
import { keccak256, TransactionReceiptNotFoundError, TransactionNotFoundError, type Hex, type LocalAccount, type TransactionReceipt } from "viem";
import type { Logger } from "pino";
import type { KeeperPublicClient } from "../chain/clients";
import { isAlreadyKnown, isNonceConflict, isNonceError, isUnderpriced, NonceConsumedError, shouldRetry, ShutdownRequestedError } from "../errors";
import type { FeeQuote } from "../gas";
import type { Address, SentRecord } from "../job";
import { nextReplacementFees } from "./fees";
import type { NonceManager } from "./nonce-manager";

/** Where the sender persists what it broadcast, before broadcasting (the job's data, in the keeper). */
export interface SendJournal {
  save(record: SentRecord): Promise<void>;
  clear(): Promise<void>;
}

export interface SendRequest {
  to: Address;
  data: Hex;
  gas: bigint;
  fees: FeeQuote;
  /** replacements never push gas × maxFeePerGas above this (wei) */
  maxGasCostWei: bigint;
  /** what the transaction does, kept in the record for the outcome row after a restart */
  meta: Pick<SentRecord, "collateralAsset" | "debtAsset" | "repayAmount" | "expectedProfitBase">;
}

export interface MinedTx {
  hash: Hex;
  receipt: TransactionReceipt;
  nonce: number;
  /** versions broadcast at this nonce (1 = never replaced) */
  versions: number;
  record: SentRecord;
}

export interface TransactionSenderOptions {
  publicClient: KeeperPublicClient;
  account: LocalAccount;
  chainId: number;
  nonceManager: NonceManager;
  logger: Logger;
  /** replace a version not mined after this long; default 30000 ms */
  replaceAfterMs?: number;
  /** bump per replacement, bps; default 1250 (+12.5%) */
  feeBumpBps?: number;
  /** cap on maxFeePerGas, wei */
  maxFeePerGasCap: bigint;
  /** receipt poll interval; default 500 ms */
  pollIntervalMs?: number;
}

export class TransactionSender {
  private readonly replaceAfterMs: number;
  private readonly feeBumpBps: bigint;
  private readonly pollIntervalMs: number;
  /** signed bytes of versions this process broadcast, for re-broadcast if the node forgets one */
  private readonly signed = new Map<Hex, Hex>();

  constructor(private readonly opts: TransactionSenderOptions) {
    this.replaceAfterMs = opts.replaceAfterMs ?? 30_000;
    this.feeBumpBps = BigInt(opts.feeBumpBps ?? 1_250);
    this.pollIntervalMs = opts.pollIntervalMs ?? 500;
  }

  /** Signs, records, broadcasts and waits. Only the sign + broadcast step holds the signer. */
  async send(req: SendRequest, journal: SendJournal, signal?: AbortSignal): Promise<MinedTx> {
    const record = await this.opts.nonceManager.withNonce(async (nonce) => {
      const { hash, serialized } = await this.sign(req, nonce, req.fees);
      const rec: SentRecord = {
        nonce,
        to: req.to,
        data: req.data,
        gas: req.gas.toString(),
        txs: [
          {
            hash,
            maxFeePerGas: req.fees.maxFeePerGas.toString(),
            maxPriorityFeePerGas: req.fees.maxPriorityFeePerGas.toString(),
            sentAt: Date.now(),
          },
        ],
        maxGasCostWei: req.maxGasCostWei.toString(),
        ...req.meta,
      };
      // Write-ahead: once this is saved, no retry of this job will send a second transaction blindly.
      await journal.save(rec);
      try {
        await this.opts.publicClient.sendRawTransaction({ serializedTransaction: serialized });
      } catch (e) {
        // Wrong nonce for this chain: nothing of ours is in the pool; the nonce manager re-reads it and calls again.
        if (isNonceConflict(e)) {
          await journal.clear();
          throw e;
        }
        if (isAlreadyKnown(e) || shouldRetry(e)) {
          // Accepted, or maybe accepted (timeout): treat the nonce as spent; the wait loop re-broadcasts if needed.
          this.opts.logger.warn({ hash, nonce, err: describe(e) }, "broadcast ambiguous; will confirm or re-broadcast");
          return { value: rec, consumed: true };
        }
        await journal.clear();
        throw e;
      }
      this.opts.logger.info({ hash, nonce, maxFeePerGas: rec.txs[0]!.maxFeePerGas }, "liquidation sent");
      return { value: rec, consumed: true };
    });
    return this.waitMined(record, journal, signal);
  }

  /**
   * After a restart or a retry: returns the mined version if one is mined, keeps waiting if one is still in the
   * node's pool, and returns null when none of the recorded versions exists (never broadcast, dropped, or the
   * nonce went to another transaction) — then nothing of ours can land and the caller may plan afresh.
   */
  async resume(record: SentRecord, journal: SendJournal, signal?: AbortSignal): Promise<MinedTx | null> {
    const mined = await this.findMined(record);
    if (mined) return mined;
    for (const tx of record.txs) {
      if (await this.isKnown(tx.hash)) {
        this.opts.logger.info({ hash: tx.hash, nonce: record.nonce }, "resuming wait for a transaction sent earlier");
        return this.waitMined(record, journal, signal);
      }
    }
    await journal.clear();
    return null;
  }

  private async waitMined(initial: SentRecord, journal: SendJournal, signal?: AbortSignal): Promise<MinedTx> {
    let record = initial;
    let lastSentAt = record.txs[record.txs.length - 1]!.sentAt;
    let capped = false;
    for (;;) {
      const mined = await this.findMined(record);
      if (mined) return mined;
      const used = await this.opts.publicClient.getTransactionCount({ address: this.opts.nonceManager.address, blockTag: "latest" });
      if (used > record.nonce) {
        // A block may have landed between the two reads: look once more before calling the nonce lost.
        const late = await this.findMined(record);
        if (late) return late;
        await journal.clear();
        await this.opts.nonceManager.reset();
        throw new NonceConsumedError(`nonce ${record.nonce} was used by a transaction this job did not send`);
      }
      if (signal?.aborted) throw new ShutdownRequestedError("shutting down while waiting for a receipt");
      if (Date.now() - lastSentAt >= this.replaceAfterMs) {
        lastSentAt = Date.now();
        const last = record.txs[record.txs.length - 1]!;
        const fees = nextReplacementFees(
          { maxFeePerGas: BigInt(last.maxFeePerGas), maxPriorityFeePerGas: BigInt(last.maxPriorityFeePerGas) },
          {
            bumpBps: this.feeBumpBps,
            maxFeePerGasCap: this.opts.maxFeePerGasCap,
            gas: BigInt(record.gas),
            maxGasCostWei: BigInt(record.maxGasCostWei),
          },
        );
        if (fees) record = await this.replace(record, fees, journal);
        else {
          if (!capped)
            this.opts.logger.warn({ hash: last.hash, nonce: record.nonce }, "fee bump capped (max fee or profit); waiting for the current version");
          capped = true;
          await this.rebroadcastIfForgotten(last.hash);
        }
      }
      await sleep(this.pollIntervalMs, signal);
    }
  }

  private async replace(record: SentRecord, fees: FeeQuote, journal: SendJournal): Promise<SentRecord> {
    const { hash, serialized } = await this.sign({ to: record.to, data: record.data, gas: BigInt(record.gas) }, record.nonce, fees);
    const next: SentRecord = {
      ...record,
      txs: [
        ...record.txs,
        { hash, maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(), sentAt: Date.now() },
      ],
    };
    await journal.save(next);
    try {
      await this.opts.publicClient.sendRawTransaction({ serializedTransaction: serialized });
      this.opts.logger.info(
        { hash, nonce: record.nonce, maxFeePerGas: fees.maxFeePerGas.toString(), version: next.txs.length },
        "liquidation replaced with higher fees",
      );
    } catch (e) {
      // Mined meanwhile (nonce error) or not accepted: the loop finds whichever version lands.
      if (!(isNonceError(e) || isUnderpriced(e) || isAlreadyKnown(e) || shouldRetry(e))) throw e;
      this.opts.logger.warn({ hash, nonce: record.nonce, err: describe(e) }, "replacement not accepted");
    }
    return next;
  }

  private async sign(tx: { to: Address; data: Hex; gas: bigint }, nonce: number, fees: FeeQuote): Promise<{ hash: Hex; serialized: Hex }> {
    const serialized = await this.opts.account.signTransaction({
      type: "eip1559",
      chainId: this.opts.chainId,
      to: tx.to,
      data: tx.data,
      gas: tx.gas,
      nonce,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = keccak256(serialized);
    this.signed.set(hash, serialized);
    return { hash, serialized };
  }

  private async findMined(record: SentRecord): Promise<MinedTx | null> {
    for (let i = record.txs.length - 1; i >= 0; i--) {
      const hash = record.txs[i]!.hash;
      const receipt = await this.receiptOf(hash);
      if (receipt) {
        for (const tx of record.txs) this.signed.delete(tx.hash);
        return { hash, receipt, nonce: record.nonce, versions: record.txs.length, record };
      }
    }
    return null;
  }

  private async receiptOf(hash: Hex): Promise<TransactionReceipt | null> {
    try {
      return await this.opts.publicClient.getTransactionReceipt({ hash });
    } catch (e) {
      if (e instanceof TransactionReceiptNotFoundError) return null;
      throw e;
    }
  }

  private async isKnown(hash: Hex): Promise<boolean> {
    try {
      await this.opts.publicClient.getTransaction({ hash });
      return true;
    } catch (e) {
      if (e instanceof TransactionNotFoundError) return false;
      throw e;
    }
  }

  /** A version the node no longer knows (dropped, or an ambiguous first broadcast) is sent again, bytes unchanged. */
  private async rebroadcastIfForgotten(hash: Hex): Promise<void> {
    const serialized = this.signed.get(hash);
    if (!serialized || (await this.isKnown(hash))) return;
    try {
      await this.opts.publicClient.sendRawTransaction({ serializedTransaction: serialized });
    } catch (e) {
      this.opts.logger.warn({ hash, err: describe(e) }, "re-broadcast not accepted");
    }
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? ((e as { shortMessage?: string }).shortMessage ?? e.message) : String(e);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
