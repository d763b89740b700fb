// marginwatch's indexer + health engine following a bench chain over a counting transport, wired as `npm start`
// wires them (in-memory PGlite store), with per-block arrival times for latency figures.
import pino from "pino";
import type { PublicClient } from "viem";
import { Indexer, type BlockProcessed } from "../indexer/indexer";
import { HealthEngine } from "../indexer/health/engine";
import type { HealthUpdate } from "../indexer/health/types";
import { openStore, MEMORY } from "../indexer/store";
import type { Store } from "../indexer/store/types";
import { protocolOf } from "../protocols";
import type { IndexedChain } from "./chain";
import { countingClient, createCounter, type RpcCounter } from "./counting";

export const silent = pino({ level: process.env.BENCH_LOG_LEVEL ?? "silent" });

export interface SeenBlock {
  at: number;
  ev: BlockProcessed & { health: HealthUpdate | undefined };
  /** RPC calls made by the follower from the previous block's event up to this one */
  calls: Map<string, number>;
  http: number;
}

export interface Follower {
  indexer: Indexer;
  health: HealthEngine;
  store: Store;
  client: PublicClient;
  counter: RpcCounter;
  pollIntervalMs: number;
  /** resolves with the block once the indexer has processed it (follow mode) */
  waitBlock(n: bigint, timeoutMs?: number): Promise<SeenBlock>;
  stop(): Promise<void>;
}

/**
 * Builds the indexer on `store` (closed by stop(), then `cleanup`), starts it and resolves once it has reached the
 * head seen at start; `onStarted` runs just before start, e.g. to begin a clock.
 */
export async function startFollower(
  chain: IndexedChain,
  opts: {
    pollIntervalMs?: number;
    finalityDepth?: number;
    store?: Store;
    cleanup?: () => Promise<void>;
    onStarted?: () => void;
    /** IndexerConfig.prefetch (default true) */
    prefetch?: boolean;
  } = {},
): Promise<Follower> {
  const counter = createCounter();
  const client = countingClient(chain.node.url, counter);
  const store = opts.store ?? (await openStore({ dataDir: MEMORY }));
  // PGlite's synchronous WASM start-up can outlast the node's keep-alive: let closed sockets be noticed first.
  await new Promise((r) => setTimeout(r, 30));
  let health!: HealthEngine;
  const pollIntervalMs = opts.pollIntervalMs ?? 25;
  const indexer = new Indexer({
    client,
    store,
    deployment: chain.d,
    logger: silent,
    createHealth: (state) => (health = new HealthEngine(state, protocolOf(chain.d).math)),
    config: { finalityDepth: opts.finalityDepth ?? 12, pollIntervalMs, stallTimeoutMs: 600_000, progress: false, prefetch: opts.prefetch ?? true },
  });
  const seen = new Map<bigint, SeenBlock>();
  let mark = counter.snapshot();
  indexer.on("block", (ev: SeenBlock["ev"]) => {
    const d = counter.since(mark);
    mark = counter.snapshot();
    seen.set(ev.block.number, { at: performance.now(), ev, calls: d.calls, http: d.http });
    if (seen.size > 2_000) seen.delete(seen.keys().next().value!);
  });
  const head = await client.getBlockNumber();
  opts.onStarted?.();
  await indexer.start();
  await indexer.waitForBlock(head, 900_000);
  return {
    indexer,
    get health() {
      return health;
    },
    store,
    client,
    counter,
    pollIntervalMs,
    async waitBlock(n, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = seen.get(n);
        if (s) return s;
        if (indexer.status.fatalError) throw new Error(indexer.status.fatalError);
        if (Date.now() > deadline) throw new Error(`follower did not process block ${n} in ${timeoutMs} ms (cursor ${indexer.status.cursor})`);
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    async stop() {
      await indexer.stop();
      await store.close();
      await opts.cleanup?.();
    },
  };
}
