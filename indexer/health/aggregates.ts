// Protocol risk overview (USERS.md): HF distribution, totals and bad debt per asset, concentration, liquidation
// curves. Display figures from float sums at `now`; the "< 1" bucket is the engine's exact liquidatable set.
// Reflects positions as of the last evaluate.
import { currentIndexes, rayMulDown, rayMulUp } from "../../common/math";
import { LIQ, UNKNOWN } from "./book";
import type { EngineData } from "./engine";
import { currentSums } from "./sums";
import type { AssetRisk, CurveStep, HfBucket, LiquidationCurve, RiskAggregates } from "./types";

const BUCKETS: ReadonlyArray<[string, number | null, number | null]> = [
  ["< 1", null, 1], ["1–1.05", 1, 1.05], ["1.05–1.1", 1.05, 1.1], ["1.1–1.25", 1.1, 1.25],
  ["1.25–1.5", 1.25, 1.5], ["1.5–2", 1.5, 2], ["> 2", 2, null],
];
const CURVE_STEP = 0.05;
const CURVE_STEPS = 10; // down to −50%
const HEADLINE_STEPS = 4; // −20%
const USD = 1e8;

export function computeAggregates(data: EngineData, now: bigint): RiskAggregates {
  const { book } = data;
  const s = currentSums(data, now);
  const distribution: HfBucket[] = BUCKETS.map(([label, min, max]) => ({ label, min, max, accounts: 0, debtUSD: 0 }));
  let withDebt = 0;
  let liquidatable = 0;
  let unknown = 0;
  let totalCollateral = 0;
  let totalDebt = 0;
  let badAccounts = 0;
  let badAmount = 0;
  const debts: number[] = [];
  for (let id = 0; id < book.size; id++) {
    totalCollateral += s.c[id]!;
    if (book.nDebt[id] === 0) continue;
    const debt = s.d[id]!;
    withDebt++;
    totalDebt += debt;
    debts.push(debt);
    if (debt > s.c[id]!) {
      badAccounts++;
      badAmount += debt - s.c[id]!;
    }
    const flags = book.flags[id]!;
    if (flags & UNKNOWN) {
      unknown++;
      continue;
    }
    let b: number;
    if (flags & LIQ) {
      liquidatable++;
      b = 0;
    } else {
      // Not liquidatable by exact math: a float HF a hair under 1 still belongs to the first healthy bucket.
      const hf = s.w[id]! / debt;
      b = 1;
      while (b < BUCKETS.length - 1 && hf >= BUCKETS[b]![2]!) b++;
    }
    distribution[b]!.accounts++;
    distribution[b]!.debtUSD += debt / USD;
  }

  const byAsset = assetTotals(data, now);
  const curves = data.slots.filter((x) => x.listed).map((slot) => curve(data, s, slot.k, slot.address));
  return {
    timestamp: now,
    accounts: { total: book.size, withDebt, liquidatable, unknown },
    totalCollateralUSD: totalCollateral / USD,
    totalDebtUSD: totalDebt / USD,
    distribution,
    byAsset,
    badDebt: { accounts: badAccounts, amountUSD: badAmount / USD, protocolDeficitUSD: byAsset.reduce((a, x) => a + x.deficitUSD, 0) },
    concentration: concentration(debts, totalDebt),
    liquidationCurves: curves,
    liquidatableWithin20PctUSD: curves.reduce((a, x) => a + x.within20PctUSD, 0),
  };
}

/** Exact per-asset totals from the pool's scaled totals (one rounding on the total, as getReserveData would). */
function assetTotals(data: EngineData, now: bigint): AssetRisk[] {
  const out: AssetRisk[] = [];
  for (const slot of data.slots) {
    const a = data.state.assets.get(slot.address);
    if (!a) continue;
    const idx = currentIndexes(a, now);
    const collateral = rayMulDown(a.totalScaledCollateral, idx.liquidityIndex);
    const debt = rayMulUp(a.totalScaledDebt, idx.borrowIndex);
    const value = (x: bigint) => (Number(x) / slot.unitF) * (slot.priceF / USD);
    out.push({
      asset: slot.address, collateral, debt, collateralUSD: value(collateral), debtUSD: value(debt),
      deficit: a.deficit, deficitUSD: value(a.deficit),
    });
  }
  return out.sort((x, y) => (x.asset < y.asset ? -1 : 1));
}

function concentration(debts: number[], total: number): { top10Share: number; top1PctShare: number } {
  if (total <= 0 || debts.length === 0) return { top10Share: 0, top1PctShare: 0 };
  const sorted = Float64Array.from(debts).sort();
  const topSum = (k: number) => {
    let sum = 0;
    for (let i = sorted.length - 1; i >= Math.max(0, sorted.length - k); i--) sum += sorted[i]!;
    return sum;
  };
  return { top10Share: topSum(10) / total, top1PctShare: topSum(Math.max(1, Math.ceil(debts.length / 100))) / total };
}

/**
 * For each holder of `k` as collateral: the fall of k's price (others fixed) at which its HF reaches 1, solved on
 * the float sums (debt in the same asset falls with the price too), binned in 5% steps down to −50%.
 */
function curve(data: EngineData, s: ReturnType<typeof currentSums>, k: number, asset: LiquidationCurve["asset"]): LiquidationCurve {
  const { book } = data;
  const steps: CurveStep[] = Array.from({ length: CURVE_STEPS }, (_x, i) => ({
    dropPct: Math.round((i + 1) * CURVE_STEP * 100), accounts: 0, collateralUSD: 0, cumulativeAccounts: 0, cumulativeCollateralUSD: 0,
  }));
  let currentUSD = 0;
  const { ids, sc, sd, n } = data.slots[k]!.holders;
  for (let h = 0; h < n; h++) {
    const id = ids[h]!;
    if (sc[h] === 0 || book.nDebt[id] === 0 || book.flags[id]! & UNKNOWN) continue;
    const value = (sc[h]! * s.cc[k]!) / USD;
    if (book.flags[id]! & LIQ) {
      currentUSD += value;
      continue;
    }
    const wk = sc[h]! * s.fc[k]!;
    const dk = sd[h]! * s.fd[k]!;
    const denom = wk - dk;
    if (denom <= 0) continue;
    const ratio = (s.d[id]! - dk - (s.w[id]! - wk)) / denom; // new price / current price at HF = 1
    if (ratio <= 0) continue;
    const drop = 1 - ratio;
    const step = Math.max(0, Math.ceil(drop / CURVE_STEP - 1e-9) - 1);
    if (step >= CURVE_STEPS) continue;
    steps[step]!.accounts++;
    steps[step]!.collateralUSD += value;
  }
  let accounts = 0;
  let usd = 0;
  for (const st of steps) {
    accounts += st.accounts;
    usd += st.collateralUSD;
    st.cumulativeAccounts = accounts;
    st.cumulativeCollateralUSD = usd;
  }
  return { asset, currentUSD, steps, within20PctUSD: steps[HEADLINE_STEPS - 1]!.cumulativeCollateralUSD };
}
