// `npm run bench`: runs the benchmark suites and prints one JSON line per figure on stdout, then a summary table on
// stderr. Figures are printed, never asserted.
//
//   --only health,backfill,naive,latency,throughput,aave   run a subset (default: all)
//   --aave-borrowers 1000       borrowers of the Aave V3 market (aave suite: backfill and naive vs marginwatch)
//   --aave-ticks 300            market simulation ticks before the Aave backfill
//   --large                     health engine at 1M accounts (instead of 10k and 100k)
//   --accounts 10000,100000     health engine sizes
//   --chain-accounts 1000,10000 on-chain borrowers for the naive-keeper and latency runs (the largest chain is
//                               also the backfill chain)
//   --events 100000             watched events the backfill chain must hold (topped up with supplier deposits)
//   --moves 50                  price moves timed per health size;  --rounds 5  latency rounds;  --blocks 2  naive blocks
//   --throughput-accounts 100   liquidatable accounts per throughput setup
//   --port 8650                 first hardhat node port (uses this and the next two)
//   --pg-url URL                PostgreSQL for the backfill (default $DATABASE_URL or postgres://postgres@127.0.0.1:5432/test)
import os from "node:os";
import fs from "node:fs";
import { measureBackfill, measureFloor, ensureEvents, pgliteBackend, postgresBackend } from "./backfill";
import { seedBorrowers, startBenchChain, type BenchChain } from "./chain";
import { startFollower, type Follower } from "./follower";
import { runHealthChild } from "./health";
import { detectionLatency } from "./latency";
import { naiveVsMarginwatch } from "./naive";
import { borrowerSpec } from "./population";
import { allFigures, emit, note, summaryTable } from "./report";
import { aaveBench } from "./aave";
import { keeperThroughput } from "./throughput";

const SUITES = ["health", "backfill", "naive", "latency", "throughput", "aave"] as const;
type Suite = (typeof SUITES)[number];

interface Options {
  only: Set<Suite>;
  healthSizes: number[];
  chainSizes: number[];
  events: number;
  moves: number;
  rounds: number;
  blocks: number;
  throughputAccounts: number;
  aaveBorrowers: number;
  aaveTicks: number;
  port: number;
  pgUrl: string;
}

/** The --help text: this file's // comment lines. */
function usage(): string {
  return fs
    .readFileSync(__filename, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("//"))
    .join("\n");
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    only: new Set(SUITES),
    healthSizes: [10_000, 100_000],
    chainSizes: [1_000, 10_000],
    events: 100_000,
    moves: 50,
    rounds: 5,
    blocks: 2,
    throughputAccounts: 100,
    aaveBorrowers: 1_000,
    aaveTicks: 300,
    port: 8650,
    pgUrl: process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test",
  };
  const list = (v: string) => v.split(",").map((x) => Number(x.replace(/_/g, "").replace(/k$/i, "000").replace(/m$/i, "000000")));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--only": {
        const names = value()
          .split(",")
          .map((s) => s.trim()) as Suite[];
        for (const n of names) if (!SUITES.includes(n)) throw new Error(`unknown suite "${n}" (known: ${SUITES.join(", ")})`);
        o.only = new Set(names);
        break;
      }
      case "--large":
        o.healthSizes = [1_000_000];
        break;
      case "--accounts":
        o.healthSizes = list(value());
        break;
      case "--chain-accounts":
        o.chainSizes = list(value());
        break;
      case "--events":
        o.events = list(value())[0]!;
        break;
      case "--moves":
        o.moves = Number(value());
        break;
      case "--rounds":
        o.rounds = Number(value());
        break;
      case "--blocks":
        o.blocks = Number(value());
        break;
      case "--throughput-accounts":
        o.throughputAccounts = Number(value());
        break;
      case "--aave-borrowers":
        o.aaveBorrowers = list(value())[0]!;
        break;
      case "--aave-ticks":
        o.aaveTicks = Number(value());
        break;
      case "--port":
        o.port = Number(value());
        break;
      case "--pg-url":
        o.pgUrl = value();
        break;
      case "--help":
      case "-h":
        process.stderr.write(`${usage()}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${a} (see --help)`);
    }
  }
  for (const n of [...o.healthSizes, ...o.chainSizes, o.events]) if (!Number.isInteger(n) || n <= 0) throw new Error(`invalid size ${n}`);
  return o;
}

type Machine = { nproc: number; cpu: string; mem_gb: number; node: string; loadavg_1m: number };

function machine(): Machine {
  const cpu = os.cpus()[0]?.model ?? "unknown";
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    mem_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadavg_1m: Math.round(os.loadavg()[0]! * 10) / 10,
  };
}

async function withChain(port: number, borrowers: number, run: (chain: BenchChain) => Promise<void>): Promise<void> {
  const t = performance.now();
  const chain = await startBenchChain(port);
  try {
    const s = await seedBorrowers(chain, borrowerSpec(borrowers));
    emit("chain.seed_borrowers_ms", s.ms, "ms", {
      borrowers,
      txs: s.txs,
      blocks: s.blocks,
      events: s.events,
      how: "bench batcher: 40 borrower clones per tx",
    });
    note(`chain :${port}: ${borrowers} borrowers seeded in ${Math.round(performance.now() - t)} ms`);
    await run(chain);
    emit("chain.node_peak_rss_mb", chain.peakRssMb, "MB", {
      borrowers,
      what: "hardhat node resident memory, peak of 1 s samples (node runs with --max-semi-space-size=1, see bench/chain.ts)",
    });
  } catch (e) {
    if (chain.node.child.exitCode !== null) note(`hardhat node on :${port} exited with ${chain.node.child.exitCode}`);
    throw e;
  } finally {
    await chain.stop();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const m0 = machine();
  note(`machine: ${JSON.stringify(m0)}; suites: ${[...o.only].join(", ")}`);

  if (o.only.has("health")) {
    for (const accounts of o.healthSizes) {
      note(`health engine: ${accounts} accounts`);
      await runHealthChild({ accounts, moves: o.moves, exactMoves: accounts >= 1_000_000 ? 3 : 5, assets: 6, seed: 42 });
    }
  }

  const chainSuites = (["backfill", "naive", "latency"] as const).filter((s) => o.only.has(s));
  if (chainSuites.length) {
    const sizes = [...new Set(o.chainSizes)].sort((a, b) => b - a);
    // The largest chain doubles as the backfill chain; backfill alone needs only that one.
    const wanted = o.only.has("naive") || o.only.has("latency") ? sizes : sizes.slice(0, 1);
    let port = o.port;
    for (const borrowers of wanted) {
      await withChain(port++, borrowers, async (chain) => {
        let kept: Follower | null = null;
        if (o.only.has("backfill") && borrowers === sizes[0]) {
          const g = await ensureEvents(chain, o.events);
          const p = { borrowers, events_on_chain: g.events, supplier_events_added: g.addedEvents };
          emit("backfill.generation_ms", g.addedMs, "ms", {
            ...p,
            what: "supplier deposits added to reach the target, 120 per tx (borrower seeding reported separately)",
          });
          // Side by side on one chain: the floor right before each store's run (the ratio uses that one, so load
          // from elsewhere on the machine hits both), PostgreSQL with and without the prefetch of the next range.
          // Aave V3: the lead adds its backfill (same measureFloor / measureBackfill on an Aave chain) once the
          // adapter lands; every figure carries `protocol`.
          const floorPg = await measureFloor(chain, { borrowers, before: "postgres" });
          try {
            await measureBackfill(chain, postgresBackend(o.pgUrl), { borrowers }, false, floorPg);
            await measureBackfill(chain, postgresBackend(o.pgUrl), { borrowers }, false, floorPg, false);
          } catch (e) {
            note(`backfill on PostgreSQL skipped: ${(e as Error).message.split("\n")[0]}`);
          }
          const floorLite = await measureFloor(chain, { borrowers, before: "pglite" }, false);
          emit("backfill.floor_before_pglite.events_per_s", floorLite, "events/s", {
            borrowers,
            what: "the floor again, right before the PGlite run",
          });
          // PGlite (the default store) last: its indexer stays up to follow the head for the runs below.
          kept = await measureBackfill(chain, pgliteBackend(), { borrowers }, o.only.has("naive") || o.only.has("latency"), floorLite);
        }
        if (o.only.has("naive") || o.only.has("latency")) {
          const t = performance.now();
          const follower = kept ?? (await startFollower(chain));
          note(`follower caught up on ${borrowers} borrowers in ${Math.round(performance.now() - t)} ms`);
          try {
            if (o.only.has("naive")) await naiveVsMarginwatch(chain, follower, o.blocks);
            if (o.only.has("latency")) await detectionLatency(chain, follower, o.rounds);
          } finally {
            await follower.stop();
          }
        }
      });
    }
  }

  if (o.only.has("throughput")) await keeperThroughput(o.port + 2, o.throughputAccounts);
  if (o.only.has("aave"))
    await aaveBench({ port: o.port + 3, borrowers: o.aaveBorrowers, ticks: o.aaveTicks, blocks: Math.max(o.blocks, 5), pgUrl: o.pgUrl });

  const m1 = machine();
  emit("bench.total_s", (performance.now() - started) / 1000, "s", { ...m0, loadavg_1m_end: m1.loadavg_1m, suites: [...o.only].join("+") });
  process.stderr.write(`\n${summaryTable(allFigures())}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    if (allFigures().length) process.stderr.write(`\n${summaryTable(allFigures())}\n`);
    process.exit(1);
  },
);
