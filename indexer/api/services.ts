// What the routes compute, always on the published view (indexer/snapshot.ts): `read` runs a synchronous function
// under the publication gate, so an answer never mixes two blocks. Per-block results (the at-risk order, aggregates,
// scenarios) are memoised on the view's sequence number, so a dashboard polling every 2 s costs one per block.
import type { HealthEngineOptions, RiskAggregates, StressResult } from "../health";
import { NothingPublishedError } from "../snapshot";
import { warningLevel } from "./account-card";
import { AtRiskIndex } from "./at-risk-index";
import { PositionTable } from "./position-table";
import { type ApiContext, type At, atOf } from "./context";
import { NotReadyError } from "./errors";
import { evaluateScenarios, type ScenarioResult } from "./scenarios";

export class ApiServices {
  /** float copy of the positions, kept current from indexer events, for the at-risk list */
  private readonly table: PositionTable;
  readonly atRisk: (at: At) => AtRiskIndex;
  readonly aggregates: (at: At) => RiskAggregates;
  readonly scenarios: (at: At) => ScenarioResult[];

  /** HF below this is "warning" (the engine's highest margin level) */
  readonly warningAt: bigint | null;

  constructor(
    readonly ctx: ApiContext,
    healthOptions?: HealthEngineOptions,
  ) {
    this.warningAt = warningLevel(healthOptions);
    this.table = new PositionTable(ctx.indexer);
    this.atRisk = perView((at) => new AtRiskIndex(this.table, ctx.health, at.timestamp, this.warningAt));
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

  close(): void {
    this.table.detach();
  }
}

/** Memoises `fn` for one published view. */
function perView<T>(fn: (at: At) => T): (at: At) => T {
  let seq = -1;
  let v: T | undefined;
  return (at) => {
    if (seq !== at.view.seq) {
      v = fn(at);
      seq = at.view.seq;
    }
    return v as T;
  };
}
