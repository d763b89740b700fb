// Protocol risk overview (USERS.md): HF distribution, totals and bad debt per asset, concentration, liquidation
// curves. Display figures from float sums at `now`; the "< 1" bucket is the engine's exact liquidatable set.
// Reflects positions as of the last evaluate. Reads the engine's per-block frame (risk-frame.ts: the float sums at
// `now` and one byte of flags per account), so it walks compact arrays instead of the book's 64-byte records.
import type { EngineData } from "./engine-data";
import { KIND_LIQ, KIND_NO_DEBT, KIND_UNKNOWN, type RiskFrame } from "./risk-frame";
import type { CurrentSums } from "./sums";
import type { AssetRisk, CurveStep, HfBucket, LiquidationCurve, RiskAggregates } from "./types";

const BUCKETS: ReadonlyArray<[string, number | null, number | null]> = [
  ["< 1", null, 1],
  ["1–1.05", 1, 1.05],
  ["1.05–1.1", 1.05, 1.1],
  ["1.1–1.25", 1.1, 1.25],
  ["1.25–1.5", 1.25, 1.5],
  ["1.5–2", 1.5, 2],
  ["> 2", 2, null],
];
const CURVE_STEP = 0.05;
const CURVE_STEPS = 10; // down to −50%
const HEADLINE_STEPS = 4; // −20%
const USD = 1e8;

/** The aggregates of `frame` (brought to `now` by the caller). */
export function computeAggregates(data: EngineData, frame: RiskFrame, now: bigint): RiskAggregates {
  const { book } = data;
  const s = frame.sums;
  const { kind } = frame;
  const edges = Float64Array.from(BUCKETS.slice(1).map(([, min]) => min!));
  const bucketAccounts = new Float64Array(BUCKETS.length);
  const bucketDebt = new Float64Array(BUCKETS.length);
  const debts = frame.debts; // scratch (concentration reorders it)
  let withDebt = 0;
  let liquidatable = 0;
  let unknown = 0;
  let totalCollateral = 0;
  let totalDebt = 0;
  let badAccounts = 0;
  let badAmount = 0;
  for (let id = 0; id < book.size; id++) {
    const collateral = s.c[id]!;
    totalCollateral += collateral;
    const kd = kind[id]!;
    if (kd === KIND_NO_DEBT) continue;
    const debt = s.d[id]!;
    debts[withDebt++] = debt;
    totalDebt += debt;
    if (debt > collateral) {
      badAccounts++;
      badAmount += debt - collateral;
    }
    if (kd === KIND_UNKNOWN) {
      unknown++;
      continue;
    }
    let b = 0;
    if (kd === KIND_LIQ) liquidatable++;
    else {
      // Not liquidatable by exact math: a float HF a hair under 1 still belongs to the first healthy bucket.
      const hf = s.w[id]! / debt;
      b = 1;
      while (b < edges.length && hf >= edges[b]!) b++;
    }
    bucketAccounts[b]!++;
    bucketDebt[b]! += debt;
  }
  const distribution: HfBucket[] = BUCKETS.map(([label, min, max], i) => ({
    label,
    min,
    max,
    accounts: bucketAccounts[i]!,
    debtUSD: bucketDebt[i]! / USD,
  }));
  const byAsset = assetTotals(data, now);
  const curves = data.slots.filter((x) => x.listed).map((slot) => curve(data, s, kind, slot.k, slot.address));
  return {
    timestamp: now,
    accounts: { total: book.size, withDebt, liquidatable, unknown },
    totalCollateralUSD: totalCollateral / USD,
    totalDebtUSD: totalDebt / USD,
    distribution,
    byAsset,
    badDebt: { accounts: badAccounts, amountUSD: badAmount / USD, protocolDeficitUSD: byAsset.reduce((a, x) => a + x.deficitUSD, 0) },
    concentration: concentration(debts.subarray(0, withDebt), totalDebt),
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
    const idx = data.math.indexesAt(a, now);
    const collateral = data.math.collateralAmount(a.totalScaledCollateral, idx.liquidityIndex);
    const debt = data.math.debtAmount(a.totalScaledDebt, idx.borrowIndex);
    const value = (x: bigint) => (Number(x) / slot.unitF) * (slot.priceF / USD);
    out.push({
      asset: slot.address,
      collateral,
      debt,
      collateralUSD: value(collateral),
      debtUSD: value(debt),
      deficit: a.deficit,
      deficitUSD: value(a.deficit),
    });
  }
  return out.sort((x, y) => (x.asset < y.asset ? -1 : 1));
}

function concentration(debts: Float64Array, total: number): { top10Share: number; top1PctShare: number } {
  if (total <= 0 || debts.length === 0) return { top10Share: 0, top1PctShare: 0 };
  const onePct = Math.max(1, Math.ceil(debts.length / 100));
  const k1 = Math.min(debts.length, Math.max(onePct, 10));
  selectLargest(debts, k1); // O(n): the k1 largest move to the end
  const tail = debts.subarray(debts.length - k1);
  const sumLargest = (k: number) => {
    selectLargest(tail, Math.min(k, tail.length));
    let sum = 0;
    for (let i = tail.length - Math.min(k, tail.length); i < tail.length; i++) sum += tail[i]!;
    return sum;
  };
  const top1Pct = sumLargest(onePct);
  return { top10Share: sumLargest(10) / total, top1PctShare: top1Pct / total };
}

/** Quickselect: rearranges `a` so that its last `k` entries are its `k` largest (in no particular order). */
function selectLargest(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  const target = a.length - k; // a[target..] must be the largest
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return;
  }
}

/**
 * For each holder of `k` as collateral: the fall of k's price (others fixed) at which its HF reaches 1, solved on
 * the float sums (debt in the same asset falls with the price too), binned in 5% steps down to −50%.
 */
function curve(data: EngineData, s: CurrentSums, kind: Uint8Array, k: number, asset: LiquidationCurve["asset"]): LiquidationCurve {
  const stepAccounts = new Float64Array(CURVE_STEPS);
  const stepUsd = new Float64Array(CURVE_STEPS);
  let currentUSD = 0;
  const { ids, sc, sw, sd, n } = data.slots[k]!.holders;
  const cc = s.cc[k]!;
  const fc = s.fc[k]!;
  const fd = s.fd[k]!;
  for (let h = 0; h < n; h++) {
    const id = ids[h]!;
    const kd = kind[id]!;
    if (sc[h] === 0 || kd === KIND_NO_DEBT || kd === KIND_UNKNOWN) continue;
    const value = (sc[h]! * cc) / USD;
    if (kd === KIND_LIQ) {
      currentUSD += value;
      continue;
    }
    const wk = sw[h]! * fc;
    const dk = sd[h]! * fd;
    const denom = wk - dk;
    if (denom <= 0) continue;
    const ratio = (s.d[id]! - dk - (s.w[id]! - wk)) / denom; // new price / current price at HF = 1
    if (ratio <= 0) continue;
    const step = Math.max(0, Math.ceil((1 - ratio) / CURVE_STEP - 1e-9) - 1);
    if (step >= CURVE_STEPS) continue;
    stepAccounts[step]!++;
    stepUsd[step]! += value;
  }
  let accounts = 0;
  let usd = 0;
  const steps: CurveStep[] = [];
  for (let i = 0; i < CURVE_STEPS; i++) {
    accounts += stepAccounts[i]!;
    usd += stepUsd[i]!;
    steps.push({
      dropPct: Math.round((i + 1) * CURVE_STEP * 100),
      accounts: stepAccounts[i]!,
      collateralUSD: stepUsd[i]!,
      cumulativeAccounts: accounts,
      cumulativeCollateralUSD: usd,
    });
  }
  return { asset, currentUSD, steps, within20PctUSD: steps[HEADLINE_STEPS - 1]!.cumulativeCollateralUSD };
}
