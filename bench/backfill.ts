// Backfill: the real Indexer (adaptive eth_getLogs, ProtocolState, health engine, one store transaction per batch)
// from the deployment block to the head of a local hardhat node over HTTP, on PGlite and on PostgreSQL.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { adapterFor } from "../protocols";
import { ProtocolState } from "../indexer/state/state";
import { AdaptiveRange } from "../indexer/sync/adaptive-range";
import { fetchRange } from "../indexer/sync/logs";
import { openStore } from "../indexer/store";
import type { Store } from "../indexer/store/types";
import { seedSupplierDeposits, withSocketRetry, type BenchChain, type IndexedChain } from "./chain";
import { settle } from "./keepers";
import { countingClient, createCounter, sumCalls } from "./counting";
import { startFollower, type Follower } from "./follower";
import { emit, note } from "./report";

/** Watched events on the chain now: pool + oracle + feeds, counted with eth_getLogs in small ranges. */
export async function countEvents(chain: BenchChain): Promise<number> {
  const pc = chain.node.publicClient;
  const head = await pc.getBlockNumber();
  const address = [chain.d.pool, chain.d.oracle, ...chain.d.assets.map((a) => a.feed)];
  let n = 0;
  for (let b = BigInt(chain.d.startBlock); b <= head; b += 4n) {
    n += (await pc.getLogs({ address, fromBlock: b, toBlock: b + 3n > head ? head : b + 3n })).length;
  }
  return n;
}

/** Tops the chain up with supplier deposits (2 events each) until it holds at least `target` watched events. */
export async function ensureEvents(chain: BenchChain, target: number): Promise<{ events: number; addedMs: number; addedEvents: number }> {
  let events = await countEvents(chain);
  let addedMs = 0;
  let addedEvents = 0;
  if (events < target) {
    const deposits = Math.ceil((target - events) / 2);
    note(`backfill: adding ${deposits} supplier deposits (${events} events on chain, target ${target})`);
    const r = await seedSupplierDeposits(chain, `fill${events}`, deposits);
    addedMs = r.ms;
    addedEvents = r.events;
    events = await countEvents(chain);
  }
  return { events, addedMs, addedEvents };
}

/**
 * The floor of a backfill: bare eth_getLogs over the same watch set and range, from the same node, decoded by the
 * protocol adapter (the sync engine's own `fetchRange`, adaptive ranges included) — no state, engine or store.
 */
export async function measureFloor(
  chain: IndexedChain,
  params: Record<string, string | number>,
  emitFigure = true,
  /** figure names start with this: "backfill" for the own pool, "backfill.aave-v3" for Aave */
  prefix = "backfill",
): Promise<number> {
  const counter = createCounter();
  const client = countingClient(chain.node.url, counter);
  const protocol = adapterFor(chain.d);
  const watched = protocol.watch(chain.d, new ProtocolState());
  const head = await client.getBlockNumber();
  const range = new AdaptiveRange();
  let changes = 0;
  let logs = 0;
  const t0 = performance.now();
  for (let from = BigInt(chain.d.startBlock); from <= head; ) {
    const r = await fetchRange(client, protocol, watched, from, head, range);
    changes += r.changes.length;
    logs += r.logs.length;
    from = r.to + 1n;
  }
  const ms = performance.now() - t0;
  const perS = (changes / ms) * 1000;
  if (emitFigure)
    emit(`${prefix}.floor.events_per_s`, perS, "events/s", {
      ...params,
      logs,
      changes,
      ms: Math.round(ms),
      getLogs: counter.calls.get("eth_getLogs") ?? 0,
      what: "bare eth_getLogs + decode of the same range from the same node (the backfill's floor)",
    });
  note(`backfill floor: ${logs} logs (${changes} changes) fetched and decoded in ${Math.round(ms)} ms`);
  return perS;
}

export interface BackfillBackend {
  name: "pglite" | "postgres";
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

export function pgliteBackend(): BackfillBackend {
  return {
    name: "pglite",
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "marginwatch-bench-pglite-"));
      const store = await openStore({ dataDir: dir });
      return { store, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  };
}

export function postgresBackend(url: string): BackfillBackend {
  return {
    name: "postgres",
    async open() {
      const schema = `bench_${process.pid}_${Date.now().toString(36)}`;
      const store = await openStore({ databaseUrl: url, schema });
      return {
        store,
        cleanup: async () => {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          } finally {
            await c.end();
          }
        },
      };
    },
  };
}

/**
 * Indexes the whole chain once into a fresh store and emits events/s. With `keep`, the indexer stays up in follow
 * mode and is returned (the naive-keeper and latency runs follow the head with it); otherwise it is stopped.
 * `prefetch: false` runs the same backfill without fetching the next range during apply + commit (figures named
 * `backfill.<store>_serial.*`), for the side-by-side comparison.
 */
export async function measureBackfill(
  chain: IndexedChain,
  backend: BackfillBackend,
  params: Record<string, string | number>,
  keep = false,
  floorPerS?: number,
  prefetch = true,
  prefix = "backfill",
): Promise<Follower | null> {
  const { store, cleanup } = await backend.open();
  await settle();
  // Every event must sit in a final block so the whole run is backfill (follow mode handles one block at a time).
  // evm_mine one by one: hardhat_mine's lazily reserved blocks report parentHash 0x00…0, which looks like a reorg.
  const finalityDepth = 12;
  await withSocketRetry(() => chain.node.rpc("evm_mine"));
  for (let i = 1; i < finalityDepth; i++) await chain.node.rpc("evm_mine");
  const head = await chain.node.publicClient.getBlockNumber();
  let t0 = 0;
  let follower: Follower;
  try {
    follower = await startFollower(chain, { store, cleanup, finalityDepth, prefetch, onStarted: () => (t0 = performance.now()) });
  } catch (e) {
    await store.close().catch(() => undefined);
    await cleanup();
    throw e;
  }
  const ms = performance.now() - t0;
  const events = follower.indexer.status.eventsApplied;
  const calls = follower.counter.calls;
  const name = prefetch ? backend.name : `${backend.name}_serial`;
  const p = {
    ...params,
    protocol: chain.d.protocol,
    backend: backend.name,
    prefetch: String(prefetch),
    events,
    blocks: Number(head) - chain.d.startBlock + 1,
  };
  emit(`${prefix}.${name}.events_per_s`, (events / ms) * 1000, "events/s", {
    ...p,
    target: ">= 0.6 × floor",
    what: `deployment block → head: eth_getLogs, decode, state, health engine, one store transaction per range${prefetch ? ", next range fetched during apply + commit" : ", ranges one after another"}`,
  });
  emit(`${prefix}.${name}.ms`, ms, "ms", p);
  const st = follower.indexer.status.stageMs;
  emit(`${prefix}.${name}.stage_ms`, st.fetch + st.prices + st.apply + st.rows + st.commit, "ms", {
    ...p,
    fetch_getlogs_decode: Math.round(st.fetch),
    prices: Math.round(st.prices),
    apply_state_health: Math.round(st.apply),
    rows_batch: Math.round(st.rows),
    store: Math.round(st.commit),
    outside_stages: Math.round(ms - (st.fetch + st.prices + st.apply + st.rows + st.commit)),
    prefetch_used: follower.indexer.status.prefetch.used,
    prefetch_dropped: follower.indexer.status.prefetch.dropped,
    what: prefetch ? "fetch = time waited for a range's logs (the rest overlapped apply + commit)" : "each stage in turn",
  });
  // Events here are the changes applied (a Liquidation log is three), the floor's unit too.
  if (floorPerS)
    emit(`${prefix}.${name}.floor_ratio`, ((events / ms) * 1000) / floorPerS, "ratio", {
      ...p,
      floor_events_per_s: Math.round(floorPerS),
      target: ">= 0.6 (issue 13)",
      what: "events/s ÷ the floor measured just before this run, same node",
    });
  emit(`${prefix}.${name}.rpc_calls`, sumCalls(calls), "calls", { ...p, getLogs: calls.get("eth_getLogs") ?? 0, http: follower.counter.http });
  note(`backfill ${name}: ${events} events in ${Math.round(ms)} ms`);
  if (keep) return follower;
  await follower.stop();
  return null;
}
