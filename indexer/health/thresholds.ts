// Margin levels turned into exact WAD thresholds (down / up with hysteresis) and their float twins, plus the
// float test that proves an account's recorded state cannot have changed (its bounds: float-bounds.ts).
import Decimal from "decimal.js";
import { WAD } from "../../common/math";
import type { HealthEngineOptions, MarginLevel } from "./types";

export const DEFAULT_LEVELS: MarginLevel[] = [
  { name: "warning", healthFactor: "1.2" },
  { name: "critical", healthFactor: "1.05" },
];
export const DEFAULT_HYSTERESIS_BPS = 200;
/**
 * Safety margin on top of the float error analysis (FLOAT_EPS, per-position rounding, index growth) and the
 * protocol's own model error (ProtocolMath.hfModelError): accounts within it of a threshold go to exact math.
 */
export const DEFAULT_NEAR_BAND_BPS = 0.1;
export const DEFAULT_DRIFT_BUDGET_BPS = 10;
export const MAX_LEVELS = 8;

export interface Thresholds {
  names: string[];
  /** crossed down when HF < down[i] */
  down: bigint[];
  /** resolved when HF ≥ up[i] */
  up: bigint[];
  downF: Float64Array;
  upF: Float64Array;
  /** HF at or above which no level is active and nothing can be crossed (max of up) */
  top: number;
  /**
   * relative band of the float bounds: `nearBand` (the option) + `modelError` (the protocol's, set by the engine
   * from the listed LTs before every evaluate, aggregates, stress or view)
   */
  band: number;
  nearBand: number;
  modelError: number;
  budget: number;
  /** ln(1 + budget): the Φ advance that triggers a rebase */
  lnBudget: number;
  /**
   * When HF ∈ [lo, hi] proves the recorded state (liquidatable flag, active levels) is what exact math would say:
   * every threshold cleared or not reached on the same side as recorded (1 for the flag; a level's `down` while
   * inactive, its `up` while active). As two numbers per recorded state (index `stateIndex(liq, levels)`): the
   * state holds ⟺ lo ≥ holdLo[i] and hi < holdHi[i] (−∞ / +∞ when that side has no threshold to respect).
   */
  holdLo: Float64Array;
  holdHi: Float64Array;
}

/** Index into `holdLo` / `holdHi` of a recorded state: liquidatable flag and active levels. */
export const stateIndex = (liq: boolean, levels: number): number => (liq ? 1 << MAX_LEVELS : 0) | levels;

export function thresholdsFrom(opts: HealthEngineOptions = {}): Thresholds {
  const levels = opts.levels ?? DEFAULT_LEVELS;
  if (levels.length > MAX_LEVELS) throw new RangeError(`at most ${MAX_LEVELS} margin levels, got ${levels.length}`);
  const hyst = BigInt(opts.hysteresisBps ?? DEFAULT_HYSTERESIS_BPS);
  const bandBps = opts.nearBandBps ?? DEFAULT_NEAR_BAND_BPS;
  const budgetBps = opts.driftBudgetBps ?? DEFAULT_DRIFT_BUDGET_BPS;
  if (hyst < 0n || bandBps <= 0 || budgetBps <= 0) throw new RangeError("hysteresisBps ≥ 0, nearBandBps > 0, driftBudgetBps > 0");
  const down = levels.map((l) => {
    const v = BigInt(new Decimal(l.healthFactor).mul(WAD.toString()).toFixed(0, Decimal.ROUND_DOWN));
    if (v <= WAD) throw new RangeError(`margin level ${l.name} must be above 1 (liquidation), got ${l.healthFactor}`);
    return v;
  });
  const up = down.map((d) => (d * (10_000n + hyst)) / 10_000n);
  const toF = (xs: bigint[]) => Float64Array.from(xs, (x) => Number(x) / 1e18);
  const upF = toF(up);
  const downF = toF(down);
  const holdLo = new Float64Array(2 << MAX_LEVELS);
  const holdHi = new Float64Array(2 << MAX_LEVELS);
  for (const liq of [false, true]) {
    for (let levels = 0; levels < 1 << MAX_LEVELS; levels++) {
      let lo = liq ? -Infinity : 1;
      let hi = liq ? 1 : Infinity;
      for (let i = 0; i < down.length; i++) {
        if ((levels >> i) & 1) hi = Math.min(hi, upF[i]!);
        else lo = Math.max(lo, downF[i]!);
      }
      holdLo[stateIndex(liq, levels)] = lo;
      holdHi[stateIndex(liq, levels)] = hi;
    }
  }
  return {
    names: levels.map((l) => l.name),
    down,
    up,
    downF,
    upF,
    top: Math.max(1, ...upF),
    band: bandBps / 10_000,
    nearBand: bandBps / 10_000,
    modelError: 0,
    budget: budgetBps / 10_000,
    lnBudget: Math.log1p(budgetBps / 10_000),
    holdLo,
    holdHi,
  };
}
