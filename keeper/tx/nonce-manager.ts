// One signer = one nonce stream: sends are serialised in-process (mutex) and across processes (Redis lock).
import type { Redis } from "ioredis";
import type { Hex } from "viem";
import type { Logger } from "pino";
import type { KeeperPublicClient } from "../chain/clients";
import { describeError, isNonceConflict } from "../errors";
import type { Address } from "../job";
import { Mutex } from "./mutex";
import { RedisLock } from "./redis-lock";

export interface NonceManagerOptions {
  publicClient: KeeperPublicClient;
  address: Address;
  redis: Redis;
  /** Redis key prefix; give it the queue's hash tag, e.g. "{marginwatch}" */
  keyPrefix: string;
  /** signer lock TTL; default 30000 ms */
  lockTtlMs?: number;
  /** how long the next nonce is remembered in Redis; default 60000 ms */
  cacheTtlMs?: number;
  /** fresh nonces tried after nonce errors before giving up; default 3 */
  maxNonceRetries?: number;
  /** nonce errors are logged here (warn) before the retry */
  logger?: Logger;
}

/** What a send callback reports: whether the node may hold a transaction at this nonce now. */
export interface SendOutcome<T> {
  value: T;
  /** true when the transaction was (or may have been) broadcast: the nonce is spent */
  consumed: boolean;
}

/** Every Redis key the keeper keeps for one signer starts with this (lock, remembered nonces). */
export const signerKeyBase = (prefix: string, address: Address): string => `${prefix}:keeper:signer:${address.toLowerCase()}`;

/**
 * Deletes every Redis key the keeper keeps for `address` under `prefix` — the signer lock and the remembered nonce
 * of every chain — and returns their names. For a chain that starts from genesis again (an embedded Hardhat chain
 * after a restart); never while another process is sending with this key on this prefix (its lock would go too).
 * The queue's own keys are not touched.
 */
export async function clearSignerState(redis: Redis, prefix: string, address: Address): Promise<string[]> {
  const pattern = `${globEscape(signerKeyBase(prefix, address))}:*`;
  const deleted: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    cursor = next;
    if (keys.length) {
      await redis.del(...keys);
      deleted.push(...keys);
    }
  } while (cursor !== "0");
  return deleted;
}

/** Redis glob metacharacters (`*?[]\`) taken literally; a prefix such as "{marginwatch}" has none, but may. */
const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * Hands out nonces one at a time. The next nonce is max(chain pending count, the last nonce we used + 1) — the
 * second term, kept in Redis with a TTL, covers RPC nodes whose pending view lags behind a send that just
 * happened (another process on the same key, or a load-balanced endpoint). It is keyed by chain id, signer and the
 * chain's block-0 hash, so another chain — or the same dev chain started afresh — never inherits it. A nonce error
 * (too low, too high, already used, a first send "underpriced" against a pool entry we forgot) drops the
 * remembered nonce, re-reads the chain and sends again, a bounded number of times. Several processes may share a
 * key: the Redis lock (TTL'd, so a crashed holder frees it) makes their sends take turns; it is held only for
 * sign + broadcast, never while waiting for a receipt.
 */
export class NonceManager {
  private readonly mutex = new Mutex();
  private readonly lock: RedisLock;
  private readonly base: string;
  private readonly cacheTtlMs: number;
  private readonly maxNonceRetries: number;
  /** `<base>:nonce:<chainId>:<block 0 hash>`, read from the chain once */
  private nextKeyPromise: Promise<string> | null = null;

  constructor(private readonly opts: NonceManagerOptions) {
    this.base = signerKeyBase(opts.keyPrefix, opts.address);
    this.lock = new RedisLock(opts.redis, `${this.base}:lock`, { ttlMs: opts.lockTtlMs ?? 30_000 });
    this.cacheTtlMs = opts.cacheTtlMs ?? 60_000;
    this.maxNonceRetries = opts.maxNonceRetries ?? 3;
  }

  get address(): Address {
    return this.opts.address;
  }

  /** Redis key of the remembered next nonce on the connected chain. */
  nextNonceKey(): Promise<string> {
    this.nextKeyPromise ??= this.readChainKey().catch((e: unknown) => {
      this.nextKeyPromise = null; // a failed read (RPC down) is tried again next time
      throw e;
    });
    return this.nextKeyPromise;
  }

  private async readChainKey(): Promise<string> {
    const [chainId, genesis] = await Promise.all([
      this.opts.publicClient.getChainId(),
      this.opts.publicClient.getBlock({ blockNumber: 0n, includeTransactions: false }),
    ]);
    return `${this.base}:nonce:${chainId}:${genesis.hash as Hex}`;
  }

  /** Runs `send` with the next nonce while holding the signer; re-reads the nonce and retries on nonce errors. */
  async withNonce<T>(send: (nonce: number) => Promise<SendOutcome<T>>): Promise<T> {
    const key = await this.nextNonceKey();
    return this.mutex.run(() =>
      this.lock.withLock(async () => {
        for (let attempt = 0; ; attempt++) {
          const nonce = await this.next();
          try {
            const r = await send(nonce);
            if (r.consumed) await this.opts.redis.set(key, String(nonce + 1), "PX", this.cacheTtlMs);
            return r.value;
          } catch (e) {
            if (!isNonceConflict(e) || attempt >= this.maxNonceRetries) throw e;
            this.opts.logger?.warn(
              { nonce, attempt: attempt + 1, err: describeError(e) },
              "nonce refused by the node; forgetting the remembered nonce and re-reading the chain",
            );
            await this.opts.redis.del(key);
          }
        }
      }),
    );
  }

  /** The nonce the next send would use (reads only). */
  async next(): Promise<number> {
    const key = await this.nextNonceKey();
    const [pending, cached] = await Promise.all([
      this.opts.publicClient.getTransactionCount({ address: this.opts.address, blockTag: "pending" }),
      this.opts.redis.get(key),
    ]);
    const remembered = cached === null ? 0 : Number(cached);
    return Math.max(pending, Number.isSafeInteger(remembered) ? remembered : 0);
  }

  /** Forget the remembered nonce of this chain (after a nonce error seen outside withNonce). */
  async reset(): Promise<void> {
    await this.opts.redis.del(await this.nextNonceKey());
  }

  /** Deletes every key of this signer under the prefix (lock, remembered nonces of every chain): see clearSignerState. */
  clearAll(): Promise<string[]> {
    return clearSignerState(this.opts.redis, this.opts.keyPrefix, this.opts.address);
  }
}
