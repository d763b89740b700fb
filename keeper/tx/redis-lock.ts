// A Redis lock with a TTL and an owner token, so processes sharing one signer key take turns sending.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { SignerLockTimeoutError } from "../errors";

// Delete only if we still own it: a lock that expired and was taken by another process must stay theirs.
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export interface RedisLockOptions {
  /** lock expiry, so a crashed holder frees it; default 30000 ms */
  ttlMs?: number;
  /** give up waiting after this long (SignerLockTimeoutError, retryable); default 2 × ttlMs */
  acquireTimeoutMs?: number;
  /** poll interval while the lock is taken; default 20 ms */
  retryDelayMs?: number;
}

export class RedisLock {
  private readonly ttlMs: number;
  private readonly acquireTimeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    opts: RedisLockOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.acquireTimeoutMs = opts.acquireTimeoutMs ?? 2 * this.ttlMs;
    this.retryDelayMs = opts.retryDelayMs ?? 20;
  }

  /** Waits for the lock and returns the owner token. */
  async acquire(): Promise<string> {
    const token = randomUUID();
    const deadline = Date.now() + this.acquireTimeoutMs;
    for (;;) {
      if ((await this.redis.set(this.key, token, "PX", this.ttlMs, "NX")) === "OK") return token;
      if (Date.now() >= deadline) throw new SignerLockTimeoutError(`lock ${this.key} still held after ${this.acquireTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, this.retryDelayMs));
    }
  }

  async release(token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, token);
  }

  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const token = await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release(token);
    }
  }
}
