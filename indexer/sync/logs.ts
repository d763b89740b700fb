// eth_getLogs for the watch set, decoded by the protocol adapter into ordered changes, with adaptive range sizing
// and address discovery: an address a log names (Aave's aTokens in ReserveInitialized, a feed in FeedSet) has its
// logs of the same range fetched too, until no new address appears — as Ponder's factories do.
import type { Log, PublicClient } from "viem";
import type { ProtocolAdapter, Watched } from "../../protocols/types";
import { backoffDelay, isRangeTooLargeError, isTimeoutError, shouldRetry, sleep } from "../../common/retry";
import { type Change, compareChanges } from "../state/changes";
import type { Address } from "../state/events";
import type { AdaptiveRange } from "./adaptive-range";

/**
 * Decodes and orders the logs of watched contracts (logs of other addresses are ignored). A watched log that does
 * not decode throws MalformedLogError: an RPC fault to retry, never a log to skip.
 */
export function decodeLogs(adapter: ProtocolAdapter, logs: readonly Log[], watched: readonly Watched[]): Change[] {
  const family = new Map(watched.map((w) => [w.address.toLowerCase(), w.family]));
  const tagged: Array<{ log: Log; changes: Change[] }> = [];
  for (const log of logs) {
    const f = family.get(log.address.toLowerCase());
    if (f !== undefined) tagged.push({ log, changes: adapter.decode(log, f) });
  }
  // Stable sort by (block, logIndex): changes decoded from one log keep their order.
  return tagged.flatMap((t) => t.changes).sort(compareChanges);
}

export interface RangeLogs {
  changes: Change[];
  /** every log fetched, discovered addresses' included */
  logs: Log[];
  from: bigint;
  to: bigint;
  /** addresses discovered in this range (already fetched) */
  discovered: Watched[];
}

/**
 * The changes of [from, min(to, from + range.size − 1)] for `watched` and everything discovered in it. A range
 * error halves the range and tries again; transient errors are retried with backoff (`onRetry` sees each);
 * success grows the range for the next call.
 */
export async function fetchRange(
  client: PublicClient,
  adapter: ProtocolAdapter,
  watched: readonly Watched[],
  from: bigint,
  to: bigint,
  range: AdaptiveRange,
  onRetry?: (error: unknown, attempt: number) => void,
  signal?: AbortSignal,
): Promise<RangeLogs> {
  let end: bigint;
  let logs: Log[];
  for (let attempt = 0; ; ) {
    end = to < from + BigInt(range.size) - 1n ? to : from + BigInt(range.size) - 1n;
    try {
      logs = await client.getLogs({ address: watched.map((w) => w.address), fromBlock: from, toBlock: end });
      range.grow();
      break;
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
  const found = await decodeDiscovering(
    adapter,
    watched,
    logs,
    (addresses) => retrying(() => client.getLogs({ address: addresses, fromBlock: from, toBlock: end }), onRetry, signal),
    (hash) => retrying(async () => (await client.getBlock({ blockHash: hash })).timestamp, onRetry, signal),
  );
  return { changes: found.changes, logs, from, to: end, discovered: found.discovered };
}

/**
 * The changes of one block (by hash, so a reorg cannot swap them) for `watched` and what they discover. `timestamp`:
 * the block's, when the caller has its header (else fetched, only if a log needs it).
 */
export async function fetchBlock(
  client: PublicClient,
  adapter: ProtocolAdapter,
  watched: readonly Watched[],
  blockHash: `0x${string}`,
  timestamp?: bigint,
): Promise<{ changes: Change[]; logs: Log[]; discovered: Watched[] }> {
  const logs = await client.getLogs({ address: watched.map((w) => w.address), blockHash });
  const found = await decodeDiscovering(
    adapter,
    watched,
    logs,
    (addresses) => client.getLogs({ address: addresses, blockHash }),
    async (hash) => (hash === blockHash && timestamp !== undefined ? timestamp : (await client.getBlock({ blockHash: hash })).timestamp),
  );
  return { ...found, logs };
}

/**
 * Decodes `logs` (each once); the addresses their changes discover have their logs fetched and decoded too (`logs`
 * grows), until no new address appears. Returns every change in chain order.
 */
async function decodeDiscovering(
  adapter: ProtocolAdapter,
  watched: readonly Watched[],
  logs: Log[],
  fetch: (addresses: Address[]) => Promise<Log[]>,
  blockTimestamp: (blockHash: `0x${string}`) => Promise<bigint>,
): Promise<{ changes: Change[]; discovered: Watched[] }> {
  const known = new Set(watched.map((w) => w.address.toLowerCase()));
  const discovered: Watched[] = [];
  let families: readonly Watched[] = watched;
  await stampTimestamps(adapter, logs, blockTimestamp);
  let fresh = decodeLogs(adapter, logs, families);
  const changes = [...fresh];
  for (;;) {
    const next = adapter.discover(fresh).filter((w) => !known.has(w.address.toLowerCase()));
    const unique = [...new Map(next.map((w) => [w.address.toLowerCase(), w])).values()];
    if (unique.length === 0) break;
    for (const w of unique) known.add(w.address.toLowerCase());
    discovered.push(...unique);
    families = unique;
    const batch = await fetch(unique.map((w) => w.address));
    await stampTimestamps(adapter, batch, blockTimestamp);
    logs.push(...batch);
    fresh = decodeLogs(adapter, batch, families);
    changes.push(...fresh);
  }
  return { changes: discovered.length ? changes.sort(compareChanges) : changes, discovered };
}

/**
 * Gives every log of an event the adapter decodes with its block's time (adapter.timestampedEvents) that timestamp,
 * when the node did not send one (some nodes add `blockTimestamp` to eth_getLogs results; Hardhat does not): one
 * header per block that has such a log, fetched in parallel; other logs and blocks cost nothing.
 */
async function stampTimestamps(
  adapter: ProtocolAdapter,
  logs: readonly Log[],
  blockTimestamp: (blockHash: `0x${string}`) => Promise<bigint>,
): Promise<void> {
  const topics = adapter.timestampedEvents;
  if (!topics?.size) return;
  const need = logs.filter((l) => l.blockTimestamp == null && l.blockHash != null && l.topics[0] !== undefined && topics.has(l.topics[0]));
  if (need.length === 0) return;
  const hashes = [...new Set(need.map((l) => l.blockHash!))];
  const times = new Map(await Promise.all(hashes.map(async (h) => [h, await blockTimestamp(h)] as const)));
  for (const l of need) (l as { blockTimestamp?: bigint }).blockTimestamp = times.get(l.blockHash!);
}

async function retrying<T>(fn: () => Promise<T>, onRetry?: (error: unknown, attempt: number) => void, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; ) {
    try {
      return await fn();
    } catch (e) {
      if (signal?.aborted || !shouldRetry(e)) throw e;
      attempt++;
      onRetry?.(e, attempt);
      await sleep(backoffDelay(attempt, 200, 5_000), signal);
    }
  }
}
