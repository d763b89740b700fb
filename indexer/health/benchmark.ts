// Measures the engine on a synthetic population: initial load, one price update → updated liquidatable set, a
// block of interest only, a rebase, aggregates, stress, and memory per account. Returns figures; prints nothing.
// Run it directly for large N: `npx ts-node --transpile-only indexer/health/benchmark.ts 1000000`.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { DEFAULT_PROTOCOL, protocolNamed } from "../../protocols";
import type { ProtocolMath } from "../../protocols/types";
import { HealthEngine } from "./engine";
import { buildSyntheticPopulation, feedPrices, type SyntheticPopulation } from "./synthetic";
import type { Address } from "./types";

export interface Timing {
  medianMs: number;
  maxMs: number;
  /** exact bigint computations per evaluate (median) */
  exact: number;
  /** accounts the float prefilter looked at (median) */
  classified: number;
}

export interface BenchmarkFigures {
  accounts: number;
  assets: number;
  holdersOfShockedAsset: number;
  buildMs: number;
  initialEvaluateMs: number;
  priceUpdateSmall: Timing; // ±0.5%
  priceUpdateLarge: Timing; // ±3%
  interestBlock: Timing; // +12 s, no price, no event
  rebase: Timing; // +1 day
  aggregatesMs: number;
  stressMs: number;
  watched: number;
  liquidatable: number;
  engineTypedBytesPerAccount: number;
  /** heap + array buffers held by the engine (typed arrays, id map, liquidatable map), per account */
  engineBytesPerAccount: number | null;
  /** ProtocolState's own heap per account (not the engine's) */
  stateBytesPerAccount: number | null;
}

/** `gc()` when it can be had (flags set at run time), so memory deltas mean something. */
function collector(): (() => void) | null {
  try {
    setFlagsFromString("--expose_gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return null;
  }
}

function used(gc: (() => void) | null): number {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function timing(samples: Array<{ ms: number; exact: number; classified: number }>): Timing {
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    medianMs: med(samples.map((s) => s.ms)),
    maxMs: Math.max(...samples.map((s) => s.ms)),
    exact: med(samples.map((s) => s.exact)),
    classified: med(samples.map((s) => s.classified)),
  };
}

export function runHealthBenchmark(
  accounts: number,
  math: ProtocolMath,
  opts: { assets?: number; seed?: number; repeats?: number } = {},
): { figures: BenchmarkFigures; engine: HealthEngine; pop: SyntheticPopulation; now: bigint } {
  const gc = collector();
  const repeats = opts.repeats ?? 9;
  const before = used(gc);
  let t = performance.now();
  const pop = buildSyntheticPopulation({ accounts, assets: opts.assets ?? 6, seed: opts.seed ?? 42 });
  const buildMs = performance.now() - t;
  const afterState = used(gc);

  const engine = new HealthEngine(pop.state, math);
  feedPrices(pop, engine);
  let now = pop.now;
  let block = 1n;
  t = performance.now();
  engine.evaluate(now, block);
  const initialEvaluateMs = performance.now() - t;
  const afterEngine = used(gc);

  // The most held asset: the worst case for one price update.
  const holders = new Map<Address, number>();
  for (const positions of pop.state.accounts.values()) for (const a of positions.keys()) holders.set(a, (holders.get(a) ?? 0) + 1);
  const [asset, holdersOfShockedAsset] = [...holders.entries()].sort((a, b) => b[1] - a[1])[0]!;

  const run = (step: (i: number) => void, n: number) => {
    const out: Array<{ ms: number; exact: number; classified: number }> = [];
    for (let i = 0; i < n; i++) {
      step(i);
      const start = performance.now();
      const u = engine.evaluate(now, ++block);
      out.push({ ms: performance.now() - start, exact: u.recomputed, classified: u.classified });
    }
    return out;
  };
  const move = (factor: number) => {
    const p = engine.price(asset)!;
    engine.setPrice(asset, { price: BigInt(Math.round(Number(p.price) * factor)), status: "fresh" });
    now += 12n;
  };
  run((i) => move(i % 2 ? 1.005 : 0.995), 4); // warm the JIT up
  const priceUpdateSmall = timing(run((i) => move(i % 2 ? 1.005 : 0.995), repeats));
  const priceUpdateLarge = timing(run((i) => move(i % 2 ? 1.03 : 0.97), repeats));
  const interestBlock = timing(
    run(() => {
      now += 12n;
    }, repeats),
  );
  const rebase = timing(
    run(
      () => {
        now += 86_400n;
      },
      Math.max(3, Math.floor(repeats / 3)),
    ),
  );

  t = performance.now();
  engine.aggregates(now);
  const aggregatesMs = performance.now() - t;
  t = performance.now();
  engine.stress(new Map([[asset, -0.3]]), now);
  const stressMs = performance.now() - t;

  const measured = gc !== null;
  return {
    engine,
    pop,
    now,
    figures: {
      accounts,
      assets: pop.assets.length,
      holdersOfShockedAsset,
      buildMs,
      initialEvaluateMs,
      priceUpdateSmall,
      priceUpdateLarge,
      interestBlock,
      rebase,
      aggregatesMs,
      stressMs,
      watched: engine.watched(),
      liquidatable: engine.liquidatable().length,
      engineTypedBytesPerAccount: engine.memoryBytes() / accounts,
      engineBytesPerAccount: measured ? (afterEngine - afterState) / accounts : null,
      stateBytesPerAccount: measured ? (afterState - before) / accounts : null,
    },
  };
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 100_000);
  const { figures } = runHealthBenchmark(n, protocolNamed(DEFAULT_PROTOCOL).math);
  console.log(JSON.stringify(figures, (_k, v) => (typeof v === "number" ? Math.round(v * 100) / 100 : v), 2));
}
