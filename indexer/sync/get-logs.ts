// eth_getLogs over a block range for the watched contracts, decoded and ordered, with adaptive range sizing.
import type { Log, PublicClient } from "viem";
import { decodeLog, type Address, type ChainEvent } from "../state/events";
import { backoffDelay, isRangeTooLargeError, isTimeoutError, shouldRetry, sleep } from "../../common/retry";
import type { AdaptiveRange } from "./adaptive-range";

export interface WatchedContracts {
  pool: Address;
  oracle: Address;
  /** aggregators whose AnswerUpdated events are followed */
  feeds: Address[];
}

/** Every contract whose logs are fetched, in one list for eth_getLogs. */
export const watchedAddresses = (w: WatchedContracts): Address[] => [w.pool, w.oracle, ...w.feeds];

/**
 * Decodes and orders the logs of watched contracts. A watched log that does not decode throws MalformedLogError:
 * it is an RPC fault to retry, never a log to skip.
 */
export function decodeLogs(logs: Log[], watched: WatchedContracts): ChainEvent[] {
  const pool = watched.pool.toLowerCase();
  const oracle = watched.oracle.toLowerCase();
  const feeds = new Set(watched.feeds.map((f) => f.toLowerCase()));
  const events: ChainEvent[] = [];
  for (const log of logs) {
    const addr = log.address.toLowerCase();
    const kind = addr === pool ? "pool" : addr === oracle ? "oracle" : feeds.has(addr) ? "feed" : null;
    if (!kind) continue;
    const e = decodeLog(log, kind);
    if (e) events.push(e);
  }
  events.sort((a, b) =>
    a.meta.blockNumber === b.meta.blockNumber ? a.meta.logIndex - b.meta.logIndex : a.meta.blockNumber < b.meta.blockNumber ? -1 : 1,
  );
  return events;
}

export interface RangeResult {
  logs: Log[];
  from: bigint;
  to: bigint;
}

/**
 * Fetches the logs of [from, min(to, from + range.size − 1)]. A range error halves the range and tries again;
 * transient errors are retried with backoff (`onRetry` sees each); success grows the range for the next call.
 */
export async function getLogsAdaptive(
  client: PublicClient,
  watched: WatchedContracts,
  from: bigint,
  to: bigint,
  range: AdaptiveRange,
  onRetry?: (error: unknown, attempt: number) => void,
  signal?: AbortSignal,
): Promise<RangeResult> {
  const address = watchedAddresses(watched);
  for (let attempt = 0; ; ) {
    const end = to < from + BigInt(range.size) - 1n ? to : from + BigInt(range.size) - 1n;
    try {
      const logs = await client.getLogs({ address, fromBlock: from, toBlock: end });
      range.grow();
      return { logs, from, to: end };
    } catch (e) {
      if (signal?.aborted) throw e;
      // A timeout on a big range is treated like a range error: ask for less.
      const tooBig = isRangeTooLargeError(e) || isTimeoutError(e);
      if (tooBig && range.shrink()) continue;
      if (!tooBig && !shouldRetry(e)) throw e;
      attempt++;
      onRetry?.(e, attempt);
      await sleep(backoffDelay(attempt, 200, 5_000), signal);
    }
  }
}
