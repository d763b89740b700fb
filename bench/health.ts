// Health engine at scale, on a synthetic population (no chain): build time, memory per account, price update →
// updated liquidatable set (p50/p99), full recompute, and the same work done by exact bigint math alone.
// Each size runs in its own child process (`node --expose-gc`), so heap deltas after GC belong to that size only.
import { marginpool } from "../protocols/marginpool";
import { spawn } from "node:child_process";
import path from "node:path";
import { HealthEngine } from "../indexer/health/engine";
import { ExactContext, isLiquidatable } from "../indexer/health/exact";
import { buildSyntheticPopulation, feedPrices, seededRandom } from "../indexer/health/synthetic";
import type { Address, PriceInfo } from "../indexer/health/types";
import { apiUnderBlocks, atRiskFigures } from "./at-risk";
import { emit, median, note, percentile, relay } from "./report";

export interface HealthBenchOptions {
  accounts: number;
  /** random price moves timed through the engine (default 50) */
  moves: number;
  /** price moves timed through the exact-only path (default 5; each walks every holder in bigint) */
  exactMoves: number;
  assets: number;
  seed: number;
}

/** Runs one size in a child `node --expose-gc` and relays its figure lines. */
export function runHealthChild(o: HealthBenchOptions): Promise<void> {
  // ~1.2 KB of heap per account for the synthetic ProtocolState (Maps of bigints) plus the engine: give big runs room.
  const heapMb = Math.max(2048, Math.ceil((o.accounts * 6_000) / 1e6));
  const args = [
    "--expose-gc",
    `--max-old-space-size=${heapMb}`,
    "-r",
    "ts-node/register/transpile-only",
    path.join(__dirname, "health.ts"),
    "--child",
    JSON.stringify(o),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: path.resolve(__dirname, ".."), stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line && !relay(line)) process.stderr.write(`${line}\n`);
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`health bench child (${o.accounts} accounts) exited with ${code ?? signal}`)),
    );
  });
}

type Gc = () => void;

function heapUsed(gc: Gc): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** The child: builds the population, then measures. Prints figure lines only. */
async function measure(o: HealthBenchOptions): Promise<void> {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  const p = { accounts: o.accounts, assets: o.assets, positions: "3-5", seed: o.seed };
  const n = o.accounts;

  const h0 = heapUsed(gc);
  let t = performance.now();
  const pop = buildSyntheticPopulation({ accounts: n, assets: o.assets, seed: o.seed });
  const populationMs = performance.now() - t;
  const h1 = heapUsed(gc);
  note(`health ${n}: population built in ${Math.round(populationMs)} ms`);

  t = performance.now();
  const engine = new HealthEngine(pop.state, marginpool.math);
  feedPrices(pop, engine);
  let now = pop.now;
  let block = 1n;
  const first = engine.evaluate(now, block);
  const buildMs = performance.now() - t;
  const h2 = heapUsed(gc);
  const stateBytes = (h1 - h0) / n;
  const engineBytes = (h2 - h1) / n;
  emit("health.population_build_ms", populationMs, "ms", { ...p, what: "synthetic ProtocolState (not the engine)" });
  emit("health.engine_build_ms", buildMs, "ms", {
    ...p,
    what: "new HealthEngine + prices + first evaluate (every account classified)",
    exact: first.recomputed,
  });
  emit("health.engine_bytes_per_account", engineBytes, "B", { ...p, what: "heap+arrayBuffers delta after GC, engine only", target: "< 1024" });
  emit("health.engine_typed_bytes_per_account", engine.memoryBytes() / n, "B", { ...p, what: "typed arrays of the engine (book + holder lists)" });
  emit("health.state_bytes_per_account", stateBytes, "B", { ...p, what: "ProtocolState (positions as Maps of bigints), shared with the indexer" });

  const rand = seededRandom(o.seed + 7);
  const assets = pop.assets;
  const holders = new Map<Address, Address[]>();
  for (const [account, positions] of pop.state.accounts) {
    for (const a of positions.keys()) (holders.get(a) ?? holders.set(a, []).get(a)!).push(account);
  }
  const move = (): { asset: Address; factor: number } => {
    const asset = assets[Math.floor(rand() * assets.length)]!;
    // ±0.1–5%, drawn symmetric so prices wander without drifting away
    const factor = 1 + (rand() < 0.5 ? -1 : 1) * (0.001 + rand() * 0.049);
    return { asset, factor };
  };
  const setPrice = (asset: Address, factor: number) => {
    const cur = engine.price(asset)!.price;
    const next = BigInt(Math.max(1, Math.round(Number(cur) * factor)));
    engine.setPrice(asset, { price: next, status: "fresh" });
    pop.prices.set(asset, next);
  };

  // The floor of a price update, in the same run: a bare typed-array pass over the moved asset's holders with the
  // engine's own memory layout (holder ids, scaled collateral and debt; one 64-byte record of float sums per
  // account), pushing the factor delta and comparing against one threshold — no classification, no exact math.
  const floorIds = new Map<Address, { ids: Int32Array; sw: Float64Array; sd: Float64Array }>();
  {
    const idOf = new Map<Address, number>();
    for (const a of pop.state.accounts.keys()) idOf.set(a, idOf.size);
    for (const asset of assets) {
      const list = holders.get(asset) ?? [];
      const ids = new Int32Array(list.length);
      const sw = new Float64Array(list.length);
      const sd = new Float64Array(list.length);
      list.forEach((account, h) => {
        const pos = pop.state.accounts.get(account)!.get(asset)!;
        ids[h] = idOf.get(account)!;
        sw[h] = Number(pos.scaledCollateral);
        sd[h] = Number(pos.scaledDebt);
      });
      floorIds.set(asset, { ids, sw, sd });
    }
  }
  const records = new Float64Array(n * 8).fill(1);
  let floorSink = 0;
  const floorPass = (asset: Address, factor: number): number => {
    const { ids, sw, sd } = floorIds.get(asset)!;
    const dfc = (factor - 1) * 1e-12;
    const dfd = (factor - 1) * 1e-12;
    const start = performance.now();
    let below = 0;
    for (let h = 0; h < ids.length; h++) {
      const at = ids[h]! * 8;
      const w = records[at]! + sw[h]! * dfc;
      const d = records[at + 1]! + sd[h]! * dfd;
      records[at] = w;
      records[at + 1] = d;
      if (w < d * 1.2) below++;
    }
    floorSink += below;
    return performance.now() - start;
  };

  // The sweep worker, started by the first evaluate of a book this big, is waited for before the warm-up: the figures
  // are the steady state's, and name the worker's state (off below its 50 000-holder threshold).
  for (const deadline = Date.now() + 30_000; engine.sweepWorker().state === "starting" && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 20));
  // Warm-up (JIT), untimed.
  for (let i = 0; i < 5; i++) {
    const m = move();
    setPrice(m.asset, m.factor);
    now += 12n;
    engine.evaluate(now, ++block);
    floorPass(m.asset, m.factor);
  }
  const pw = { ...p, sweep_worker: engine.sweepWorker().state };
  const times: number[] = [];
  const floors: number[] = [];
  const genuine: number[] = [];
  const liqTimes: number[] = [];
  const exact: number[] = [];
  const holdersMoved: number[] = [];
  const changed: number[] = [];
  const sizes: number[] = [];
  const crossingsAll: number[] = [];
  const crossingsProven: number[] = [];
  for (let i = 0; i < o.moves; i++) {
    const m = move();
    now += 12n;
    const start = performance.now();
    setPrice(m.asset, m.factor);
    let liqAt = 0;
    const u = engine.evaluate(now, ++block, () => {
      liqAt = performance.now();
    });
    times.push(performance.now() - start);
    liqTimes.push(liqAt - start);
    sizes.push(Math.abs(m.factor - 1));
    exact.push(u.recomputed);
    holdersMoved.push(holders.get(m.asset)?.length ?? 0);
    changed.push(u.liquidatableAdded.length + u.liquidatableRemoved.length);
    // Confirmations whose exact HF the update reports (an account entering the set, a level crossed that the bounds
    // could not prove): the rest only failed the bounds. A transition the bounds prove whole needs no confirmation:
    // its crossings carry HF null and a removal none.
    const moved = new Set([...u.liquidatableAdded, ...u.crossings.filter((c) => c.healthFactor !== null).map((c) => c.account)]);
    genuine.push(u.recomputed ? moved.size / u.recomputed : 1);
    crossingsAll.push(u.crossings.length);
    crossingsProven.push(u.crossings.filter((c) => c.healthFactor === null).length);
    floors.push(floorPass(m.asset, m.factor));
  }
  void floorSink;
  const at1M = n >= 1_000_000;
  const moveParams = { ...pw, moves: o.moves, move: "one asset ±0.1–5%, +12 s" };
  emit("health.price_update_p50_ms", median(times), "ms", moveParams);
  emit("health.price_update_p99_ms", percentile(times, 99), "ms", { ...moveParams, what: "nearest rank: with 50 moves, the slowest" });
  const small = times.filter((_, i) => sizes[i]! <= 0.01);
  const large = times.filter((_, i) => sizes[i]! > 0.01);
  const largeFloor = floors.filter((_, i) => sizes[i]! > 0.01);
  emit("health.price_update_small_p50_ms", median(small), "ms", { ...pw, moves: small.length, move: "the moves of ≤1% in the sample above" });
  emit("health.price_update_large_p50_ms", median(large), "ms", {
    ...pw,
    moves: large.length,
    move: "the moves of 1–5% in the sample above",
    target: at1M ? "< 40 ms (issue 13)" : "(target is at 1M)",
  });
  emit("health.price_update_large_p99_ms", percentile(large, 99), "ms", {
    ...pw,
    moves: large.length,
    move: "the moves of 1–5%",
    target: at1M ? "< 80 ms (issue 13)" : "(target is at 1M)",
  });
  const largeLiq = liqTimes.filter((_, i) => sizes[i]! > 0.01);
  emit("health.price_update_liquidatable_p50_ms", median(largeLiq), "ms", {
    ...pw,
    moves: largeLiq.length,
    move: "the moves of 1–5%",
    what: "setPrice → liquidatable set final (evaluate's onLiquidatable; margin-level confirmations still to come)",
  });
  emit("health.price_update_liquidatable_p99_ms", percentile(largeLiq, 99), "ms", { ...pw, moves: largeLiq.length, move: "the moves of 1–5%" });
  emit("health.price_update_floor_p50_ms", median(largeFloor), "ms", {
    ...pw,
    moves: largeFloor.length,
    holders_p50: median(holdersMoved),
    what: "bare typed-array pass over the moved asset's holders (push delta, compare), timed right after each engine update",
  });
  emit("health.price_update_floor_ratio", median(large) / median(largeFloor), "x", {
    ...pw,
    what: "engine 1–5% p50 ÷ floor p50, same run",
  });
  emit("health.price_update_exact_genuine_share", median(genuine), "ratio", {
    ...pw,
    what: "share of exact confirmations whose HF the update reports (entered the liquidatable set or crossed a margin level), p50",
  });
  emit("health.price_update_exact_checks_p50", median(exact), "accounts", {
    ...pw,
    what: "bigint confirmations per update (the rest decided by the float prefilter)",
    holders_p50: median(holdersMoved),
  });
  emit("health.price_update_set_changes_p50", median(changed), "accounts", { ...pw, what: "liquidatable added+removed per update" });
  emit("health.price_update_crossings_p50", median(crossingsAll), "crossings", { ...pw, what: "margin-level crossings per update" });
  emit("health.price_update_crossings_proven_p50", median(crossingsProven), "crossings", {
    ...pw,
    what: "of those, proven by the bounds (no exact math; HF null, filled by healthFactors where shown)",
  });

  // Full recompute: a time jump past the interest drift budget forces a rebase — every account re-classified.
  const rebase: number[] = [];
  for (let i = 0; i < 3; i++) {
    now += 86_400n;
    const start = performance.now();
    const u = engine.evaluate(now, ++block);
    rebase.push(performance.now() - start);
    if (!u.rebased) note(`health ${n}: +1 day did not rebase`);
  }
  emit("health.full_recompute_ms", median(rebase), "ms", {
    ...p,
    what: "rebase: every account re-summed and classified (+1 day of interest)",
    runs: 3,
  });

  // The same with exact bigint math only: HF of every holder of the moved asset (incremental, no prefilter), and
  // of every account (a full exact scan), with common/math accountData as the contract computes it.
  const priceOf = (a: Address): PriceInfo | undefined => {
    const v = pop.prices.get(a);
    return v === undefined ? undefined : { price: v, status: "fresh" };
  };
  const exactMoveTimes: number[] = [];
  for (let i = 0; i < o.exactMoves; i++) {
    const m = move();
    now += 12n;
    const start = performance.now();
    setPrice(m.asset, m.factor);
    const ctx = new ExactContext(pop.state, priceOf, now, marginpool.math);
    let liq = 0;
    for (const account of holders.get(m.asset) ?? []) if (isLiquidatable(ctx.account(account).data)) liq++;
    exactMoveTimes.push(performance.now() - start);
    void liq;
  }
  emit("health.exact_price_update_p50_ms", median(exactMoveTimes), "ms", {
    ...p,
    moves: o.exactMoves,
    what: "exact bigint HF of every holder of the moved asset, no prefilter",
  });
  emit("health.exact_us_per_account", (median(exactMoveTimes) * 1000) / median(holdersMoved), "µs", {
    ...p,
    what: "cost of one exact confirmation (exact_price_update_p50_ms ÷ holders)",
  });

  // The API under a block every second (engine only): at-risk page and /v1/risk latency.
  apiUnderBlocks(
    engine,
    () => {
      const m = move();
      now += 12n;
      setPrice(m.asset, m.factor);
      engine.evaluate(now, ++block);
      return now;
    },
    now,
    p,
  );

  // Engine and brute force at the same moment: the engine's set must equal the exact scan's.
  engine.evaluate(now, ++block);
  atRiskFigures(engine, pop.assets, now, p);
  const start = performance.now();
  const ctx = new ExactContext(pop.state, priceOf, now, marginpool.math);
  const brute = new Set<Address>();
  for (const account of pop.state.accounts.keys()) if (isLiquidatable(ctx.account(account).data)) brute.add(account);
  const fullExactMs = performance.now() - start;
  const mine = new Set(engine.liquidatable().map((e) => e.account));
  let mismatches = 0;
  for (const a of brute) if (!mine.has(a)) mismatches++;
  for (const a of mine) if (!brute.has(a)) mismatches++;
  emit("health.exact_full_scan_ms", fullExactMs, "ms", { ...p, what: "exact bigint HF of every account (brute force)" });
  emit("health.liquidatable_accounts", brute.size, "accounts", { ...p, what: "at the end of the run (exact scan)" });
  emit("health.liquidatable_mismatches", mismatches, "accounts", { ...p, what: "engine set vs exact scan; must be 0" });
  emit("health.speedup_vs_exact_full", fullExactMs / median(times), "x", { ...p, what: "exact full scan ÷ engine price update p50" });
}

if (require.main === module && process.argv[2] === "--child") {
  Promise.resolve()
    .then(() => measure(JSON.parse(process.argv[3]!) as HealthBenchOptions))
    .then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
        process.exit(1);
      },
    );
}
