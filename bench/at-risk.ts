// The API's at-risk list (GET /v1/accounts) at N accounts, on the health bench's synthetic population: the
// per-block view, then pages with the filters the dashboard and the API use, each on a fresh view (as the first
// request after a block finds it: no exact HF cached yet).
import { queryAtRisk } from "../indexer/api/at-risk";
import type { AtRiskFilter } from "../indexer/health/at-risk";
import type { HealthEngine } from "../indexer/health/engine";
import type { Address } from "../indexer/health/types";
import { emit, median } from "./report";

const RUNS = 5;
const WAD = 10n ** 18n;

export function atRiskFigures(engine: HealthEngine, assets: Address[], now: bigint, p: Record<string, string | number>): void {
  const view = () => engine.atRiskView(now);
  view(); // warm-up
  const build: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    view();
    build.push(performance.now() - t);
  }
  emit("api.at_risk_view_ms", median(build), "ms", { ...p, what: "per-block at-risk view (float HF bounds of every account)", runs: RUNS });
  const pages: Array<[string, AtRiskFilter, { limit: number; offset?: number }]> = [
    ["first", {}, { limit: 50 }],
    ["warning", { status: "warning" }, { limit: 50 }],
    ["max_hf_1_1", { maxHealthFactor: (11n * WAD) / 10n }, { limit: 50 }],
    ["hf_1_to_1_3_asset", { minHealthFactor: WAD, maxHealthFactor: (13n * WAD) / 10n, asset: assets[0]! }, { limit: 50 }],
    ["offset_10000", {}, { limit: 50, offset: 10_000 }],
  ];
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
