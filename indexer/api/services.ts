// Per-block computations shared by the routes and the dashboard, memoised on the indexer's epoch so a dashboard
// polling every 2 s costs one computation per block, not one per request.
import type { HealthEngineOptions, RiskAggregates, StressResult } from "../health";
import { warningLevel } from "./account-card";
import { AtRiskIndex } from "./at-risk-index";
import { PositionTable } from "./position-table";
import { type ApiContext, type At, Epoch, currentBlock } from "./context";
import { evaluateScenarios, type ScenarioResult } from "./scenarios";

export class ApiServices {
  readonly epoch: Epoch;
  /** float copy of the positions, kept current from indexer events, for the at-risk list */
  private readonly table: PositionTable;
  readonly atRisk: () => { at: At; index: AtRiskIndex };
  readonly aggregates: () => { at: At; risk: RiskAggregates };
  readonly scenarios: () => { at: At; results: ScenarioResult[] };

  /** HF below this is "warning" (the engine's highest margin level) */
  readonly warningAt: bigint | null;

  constructor(readonly ctx: ApiContext, healthOptions?: HealthEngineOptions) {
    this.warningAt = warningLevel(healthOptions);
    this.epoch = new Epoch(ctx.indexer);
    this.table = new PositionTable(ctx.indexer);
    this.atRisk = this.epoch.memo(() => {
      const at = currentBlock(ctx);
      return { at, index: new AtRiskIndex(this.table, ctx.health, at.timestamp, this.warningAt) };
    });
    this.aggregates = this.epoch.memo(() => {
      const at = currentBlock(ctx);
      return { at, risk: ctx.health.aggregates(at.timestamp) };
    });
    this.scenarios = this.epoch.memo(() => {
      const at = currentBlock(ctx);
      return { at, results: evaluateScenarios(ctx, at.timestamp) };
    });
  }

  block(): At {
    return currentBlock(this.ctx);
  }

  stress(shocks: Map<`0x${string}`, number>): { at: At; result: StressResult } {
    const at = currentBlock(this.ctx);
    return { at, result: this.ctx.health.stress(shocks, at.timestamp) };
  }

  close(): void {
    this.epoch.detach();
    this.table.detach();
  }
}
