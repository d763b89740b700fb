// A viem public client whose transport counts every JSON-RPC call (by method) and every HTTP request it makes:
// the measure of "RPC calls per block" for marginwatch's indexer and for the naive keeper alike.
import { createPublicClient, http, type EIP1193RequestFn, type PublicClient, type Transport } from "viem";
import { hardhat } from "viem/chains";

export interface RpcCounter {
  /** JSON-RPC calls by method (a batched HTTP request counts each call inside it) */
  readonly calls: Map<string, number>;
  /** HTTP round trips */
  http: number;
  total(exclude?: readonly string[]): number;
  snapshot(): { calls: Map<string, number>; http: number };
  /** calls (by method) and HTTP requests since `since` */
  since(since: { calls: Map<string, number>; http: number }): { calls: Map<string, number>; http: number };
}

export function createCounter(): RpcCounter {
  const calls = new Map<string, number>();
  const c: RpcCounter = {
    calls,
    http: 0,
    total: (exclude = []) => [...calls].reduce((s, [m, n]) => (exclude.includes(m) ? s : s + n), 0),
    snapshot: () => ({ calls: new Map(calls), http: c.http }),
    since: (s) => {
      const out = new Map<string, number>();
      for (const [m, n] of calls) {
        const d = n - (s.calls.get(m) ?? 0);
        if (d) out.set(m, d);
      }
      return { calls: out, http: c.http - s.http };
    },
  };
  return c;
}

export const sumCalls = (m: Map<string, number>, exclude: readonly string[] = []): number =>
  [...m].reduce((s, [k, n]) => (exclude.includes(k) ? s : s + n), 0);

/** An http transport (JSON-RPC batching on, as the indexer's) that reports to `counter`. */
export function countingTransport(url: string, counter: RpcCounter, opts: { batchSize?: number; timeoutMs?: number } = {}): Transport {
  const base = http(url, {
    batch: { batchSize: opts.batchSize ?? 1000, wait: 0 },
    retryCount: 0,
    timeout: opts.timeoutMs ?? 30_000,
    onFetchRequest: () => {
      counter.http++;
    },
  });
  return ((params: Parameters<Transport>[0]) => {
    const t = base(params);
    const request: EIP1193RequestFn = async (args, options) => {
      counter.calls.set(args.method, (counter.calls.get(args.method) ?? 0) + 1);
      return t.request(args, options);
    };
    return { ...t, request };
  }) as Transport;
}

export function countingClient(url: string, counter: RpcCounter, opts: { batchSize?: number; timeoutMs?: number } = {}): PublicClient {
  return createPublicClient({ chain: hardhat, transport: countingTransport(url, counter, opts), pollingInterval: 50, cacheTime: 0 }) as PublicClient;
}
