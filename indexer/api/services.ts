// What the routes compute, always on the published view (indexer/snapshot.ts): `read` runs a synchronous function
// under the publication gate, so an answer never mixes two blocks. Per-block results (the at-risk order, aggregates,
// scenarios) are memoised on the view's sequence number, so a dashboard polling every 2 s costs one per block.
import type { AtRiskView, HealthEngineOptions, RiskAggregates, StressResult } from "../health";
import { NothingPublishedError } from "../snapshot";
import { warningLevel } from "./account-card";
import { type ApiContext, type At, atOf } from "./context";
import { NotReadyError } from "./errors";
import { evaluateScenarios, type ScenarioResult } from "./scenarios";

export class ApiServices {
  /** the engine's at-risk view of the published block (its own book: the API keeps no copy of positions) */
  readonly atRisk: (at: At) => AtRiskView;
  readonly aggregates: (at: At) => RiskAggregates;
  readonly scenarios: (at: At) => ScenarioResult[];

  /** HF below this is "warning" (the engine's highest margin level) */
  readonly warningAt: bigint | null;

  constructor(
    readonly ctx: ApiContext,
    healthOptions?: HealthEngineOptions,
  ) {
    this.warningAt = warningLevel(healthOptions);
    // A view reads the engine's per-block frame; one taken since at another timestamp supersedes it (`current`).
    this.atRisk = perView(
      (at) => ctx.health.atRiskView(at.timestamp, this.warningAt),
      (v) => v.current,
    );
    this.aggregates = perView((at) => ctx.health.aggregates(at.timestamp));
    this.scenarios = perView((at) => evaluateScenarios(ctx, at.timestamp));
  }

  /**
   * Runs `fn` on the published view. `fn` must be synchronous: whatever it reads from the engine or the state is
   * then exact at `at.blockNumber`. 503 before the first publication.
   */
  async read<T>(fn: (at: At) => T): Promise<T> {
    try {
      return await this.ctx.indexer.snapshots.read((view) => fn(atOf(view)));
    } catch (e) {
      if (e instanceof NothingPublishedError)
        throw new NotReadyError(`no block indexed yet (indexer ${this.ctx.indexer.status.phase}); retry shortly`);
      throw e;
    }
  }

  /** The published block's stamp, for answers read from the store. */
  block(): Promise<At> {
    return this.read((at) => at);
  }

  stress(at: At, shocks: Map<`0x${string}`, number>): StressResult {
    return this.ctx.health.stress(shocks, at.timestamp);
  }
}

/** Memoises `fn` for one published view (while `valid` holds of the memo). */
function perView<T>(fn: (at: At) => T, valid: (v: T) => boolean = () => true): (at: At) => T {
  let seq = -1;
  let v: T | undefined;
  return (at) => {
    if (seq !== at.view.seq || !valid(v as T)) {
      v = fn(at);
      seq = at.view.seq;
    }
    return v as T;
  };
}
