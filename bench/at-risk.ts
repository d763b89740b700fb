// The API's at-risk list (GET /v1/accounts) at N accounts, on the health bench's synthetic population: the
// per-block read frame (float sums at now, HF keys; shared with the aggregates), then pages with the filters the
// dashboard and the API use, each on a fresh frame and view (as the first request after a block finds it: no exact
// HF cached yet).
import { queryAtRisk } from "../indexer/api/at-risk";
import type { AtRiskFilter } from "../indexer/health/at-risk";
import type { HealthEngine } from "../indexer/health/engine";
import type { Address } from "../indexer/health/types";
import { emit, median, percentile } from "./report";

const RUNS = 5;
const WAD = 10n ** 18n;

export function atRiskFigures(engine: HealthEngine, assets: Address[], now: bigint, p: Record<string, string | number>): void {
  // The engine memoises its read frame per state and timestamp; re-setting a price as it is (what a block's feed
  // reading does) makes the next view build a new one.
  const a0 = assets[0]!;
  const view = () => {
    engine.setPrice(a0, engine.price(a0)!);
    return engine.atRiskView(now);
  };
  view(); // warm-up
  const build: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    view();
    build.push(performance.now() - t);
  }
  emit("api.at_risk_view_ms", median(build), "ms", {
    ...p,
    what: "per-block read frame + at-risk view (float sums at now, HF bounds of every account; shared with /v1/risk)",
    runs: RUNS,
  });
  const aggTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    view();
    const t = performance.now();
    engine.aggregates(now);
    aggTimes.push(performance.now() - t);
  }
  emit("api.aggregates_ms", median(aggTimes), "ms", { ...p, what: "/v1/risk aggregates on a frame the view already built", runs: RUNS });
  const pages: Array<[string, AtRiskFilter, { limit: number; offset?: number }]> = [
    ["first", {}, { limit: 50 }],
    ["warning", { status: "warning" }, { limit: 50 }],
    ["max_hf_1_1", { maxHealthFactor: (11n * WAD) / 10n }, { limit: 50 }],
    ["hf_1_to_1_3_asset", { minHealthFactor: WAD, maxHealthFactor: (13n * WAD) / 10n, asset: assets[0]! }, { limit: 50 }],
    ["offset_10000", {}, { limit: 50, offset: 10_000 }],
  ];
  // The first page on a view whose page was already served (the dashboard's next poll within the block).
  {
    const ix = view();
    queryAtRisk(ix, {}, { limit: 50 });
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      queryAtRisk(ix, {}, { limit: 50 });
      times.push(performance.now() - t);
    }
    emit("api.at_risk_page_first_again_ms", median(times), "ms", { ...p, what: "first page again on the same view", runs: RUNS });
  }
  for (const [name, f, page] of pages) {
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < RUNS; i++) {
      const ix = view();
      const t = performance.now();
      total = queryAtRisk(ix, f, page).total;
      times.push(performance.now() - t);
    }
    emit(`api.at_risk_page_${name}_ms`, median(times), "ms", {
      ...p,
      what: "one page on a fresh view (exact HF of straddlers and rows)",
      total,
      runs: RUNS,
    });
  }
  // A keyset page: the cursor of the first page of the whole list.
  const first = queryAtRisk(view(), {}, { limit: 50 });
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const ix = view();
    const t = performance.now();
    queryAtRisk(ix, {}, { limit: 50, cursor: first.nextCursor! });
    times.push(performance.now() - t);
  }
  emit("api.at_risk_page_cursor_ms", median(times), "ms", { ...p, what: "second page by keyset cursor on a fresh view", runs: RUNS });
}

/**
 * The API under a block every second, the engine as its only source: for `seconds`, a block every 1 000 ms (`block()`:
 * a price move + evaluate, as the indexer's step does) and a request every `everyMs`, alternating the at-risk first
 * page (GET /v1/accounts: the per-block view memoised as ApiServices does, then one page) and the risk overview
 * (GET /v1/risk: the per-block aggregates, memoised the same way). The engine builds its read frame (float sums at
 * now) once per block for both, in whichever of `view_build_p50_ms` / `aggregates_p50_ms` comes first after it.
 * Latency runs from the request's arrival to its
 * answer: a request arriving during a block's evaluate waits for it, as on the indexer's one thread.
 */
export function apiUnderBlocks(
  engine: HealthEngine,
  block: () => bigint,
  now0: bigint,
  p: Record<string, string | number>,
  seconds = 10,
  everyMs = 50,
): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const sleepUntil = (t: number) => {
    const ms = t - performance.now();
    if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
  };
  let now = now0;
  let seq = 0;
  let viewSeq = -1;
  let view: ReturnType<HealthEngine["atRiskView"]> | null = null;
  let aggSeq = -1;
  const rebuild: number[] = [];
  const aggregates: number[] = [];
  const atRisk: number[] = [];
  const risk: number[] = [];
  const blocks: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let nextBlock = t0 + 1000;
  let nextRequest = t0;
  let i = 0;
  // One thread, as the app's: blocks (due every second) and requests (due every `everyMs`) are served in the order
  // they fell due; whatever is still due at the end of the run is counted, not timed.
  while (performance.now() < end) {
    if (nextBlock <= nextRequest) {
      sleepUntil(nextBlock);
      const s = performance.now();
      now = block();
      seq++;
      blocks.push(performance.now() - s);
      nextBlock += 1000;
      continue;
    }
    sleepUntil(nextRequest);
    const arrival = nextRequest;
    nextRequest += everyMs;
    if (i++ % 2 === 0) {
      if (viewSeq !== seq) {
        const s = performance.now();
        view = engine.atRiskView(now);
        rebuild.push(performance.now() - s);
        viewSeq = seq;
      }
      queryAtRisk(view!, {}, { limit: 50 });
      atRisk.push(performance.now() - arrival);
    } else {
      if (aggSeq !== seq) {
        const s = performance.now();
        engine.aggregates(now);
        aggregates.push(performance.now() - s);
        aggSeq = seq;
      }
      risk.push(performance.now() - arrival);
    }
  }
  const unserved = Math.max(0, Math.floor((performance.now() - nextRequest) / everyMs) + 1);
  const q = {
    ...p,
    seconds,
    request_every_ms: everyMs,
    blocks: blocks.length,
    block_evaluate_p50_ms: Math.round(median(blocks)),
    view_build_p50_ms: Math.round(median(rebuild)),
    aggregates_p50_ms: Math.round(median(aggregates)),
    read_frame: "built once per block by whichever of view / aggregates runs first after it",
    requests_due_unserved: unserved,
    target: "< 50 ms",
  };
  const p99 = (xs: number[]) => percentile(xs, 99);
  emit("api.under_blocks.at_risk_page_p50_ms", median(atRisk), "ms", {
    ...q,
    requests: atRisk.length,
    p99_ms: Math.round(p99(atRisk)),
    what: "GET /v1/accounts first page (engine's at-risk view, memoised per block), a block every second",
  });
  emit("api.under_blocks.risk_p50_ms", median(risk), "ms", {
    ...q,
    requests: risk.length,
    p99_ms: Math.round(p99(risk)),
    what: "GET /v1/risk aggregates (engine, memoised per block), a block every second",
  });
}
