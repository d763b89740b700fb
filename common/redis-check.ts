// Checks Redis before anything starts, so a missing Redis is one clear sentence, not a stack trace.
import { Redis, type RedisOptions } from "ioredis";
import { MarginwatchError } from "./errors";

export class RedisUnavailableError extends MarginwatchError {
  constructor(url: string, reason: string) {
    const short = `Redis is not reachable at ${redactUrl(url)} (${reason}).`;
    super(short, {
      message:
        `${short}\n` +
        `  marginwatch needs Redis for its liquidation and alert queues. Start one locally with:\n` +
        `    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n` +
        `  or point REDIS_URL at yours (e.g. REDIS_URL=redis://127.0.0.1:6379).`,
    });
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "<invalid url>";
  }
}

export async function checkRedis(url: string, options: RedisOptions, timeoutMs = 3_000): Promise<void> {
  const client = new Redis({
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== "PONG") throw new Error(`unexpected PING answer ${pong}`);
  } catch (e) {
    throw new RedisUnavailableError(url, (e as Error).message || String(e));
  } finally {
    client.disconnect();
  }
}
