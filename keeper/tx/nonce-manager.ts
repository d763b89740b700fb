// One signer = one nonce stream: sends are serialised in-process (mutex) and across processes (Redis lock).
import type { Redis } from "ioredis";
import type { KeeperPublicClient } from "../chain/clients";
import { isNonceError } from "../errors";
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
}

/** What a send callback reports: whether the node may hold a transaction at this nonce now. */
export interface SendOutcome<T> {
  value: T;
  /** true when the transaction was (or may have been) broadcast: the nonce is spent */
  consumed: boolean;
}

/**
 * Hands out nonces one at a time. The next nonce is max(chain pending count, the last nonce we used + 1) — the
 * second term, kept in Redis with a TTL, covers RPC nodes whose pending view lags behind a send that just
 * happened (another process on the same key, or a load-balanced endpoint). A nonce error drops the cache and
 * re-reads the chain. Several processes may share a key: the Redis lock (TTL'd, so a crashed holder frees it)
 * makes their sends take turns; it is held only for sign + broadcast, never while waiting for a receipt.
 */
export class NonceManager {
  private readonly mutex = new Mutex();
  private readonly lock: RedisLock;
  private readonly nextKey: string;
  private readonly cacheTtlMs: number;
  private readonly maxNonceRetries: number;

  constructor(private readonly opts: NonceManagerOptions) {
    const base = `${opts.keyPrefix}:keeper:signer:${opts.address.toLowerCase()}`;
    this.lock = new RedisLock(opts.redis, `${base}:lock`, { ttlMs: opts.lockTtlMs ?? 30_000 });
    this.nextKey = `${base}:next-nonce`;
    this.cacheTtlMs = opts.cacheTtlMs ?? 60_000;
    this.maxNonceRetries = opts.maxNonceRetries ?? 3;
  }

  get address(): Address {
    return this.opts.address;
  }

  /** Runs `send` with the next nonce while holding the signer; re-reads the nonce and retries on nonce errors. */
  async withNonce<T>(send: (nonce: number) => Promise<SendOutcome<T>>): Promise<T> {
    return this.mutex.run(() =>
      this.lock.withLock(async () => {
        for (let attempt = 0; ; attempt++) {
          const nonce = await this.next();
          try {
            const r = await send(nonce);
            if (r.consumed) await this.opts.redis.set(this.nextKey, String(nonce + 1), "PX", this.cacheTtlMs);
            return r.value;
          } catch (e) {
            if (!isNonceError(e) || attempt >= this.maxNonceRetries) throw e;
            await this.opts.redis.del(this.nextKey);
          }
        }
      }),
    );
  }

  /** The nonce the next send would use (reads only). */
  async next(): Promise<number> {
    const [pending, cached] = await Promise.all([
      this.opts.publicClient.getTransactionCount({ address: this.opts.address, blockTag: "pending" }),
      this.opts.redis.get(this.nextKey),
    ]);
    const remembered = cached === null ? 0 : Number(cached);
    return Math.max(pending, remembered);
  }

  /** Forget the remembered nonce (after a nonce error seen outside withNonce). */
  async reset(): Promise<void> {
    await this.opts.redis.del(this.nextKey);
  }
}
