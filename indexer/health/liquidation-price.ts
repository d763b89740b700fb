// Exact liquidation price of one collateral asset, other prices held fixed: the largest 8-decimal price at which
// the contract's own rounding gives HF < 1 (one unit higher and the account is safe).
import { BPS, mulDivUp, rayMulDown, rayMulUp } from "../../common/math";
import type { ProtocolMath } from "../../protocols/types";
import type { ExactPosition } from "./exact";

/** Scanning window (price units) below which the boundary is found by a linear walk rather than bisection. */
const SCAN_LIMIT = 256n;

/**
 * Returns null when the account has no debt, when `k` is not collateral, when a fall of this price cannot make
 * the account liquidatable (its debt in the same asset shrinks as fast), or when even a price of 0 leaves HF ≥ 1.
 */
export function liquidationPrice(math: ProtocolMath, positions: readonly ExactPosition[], k: number): bigint | null {
  const t = positions[k];
  if (!t || t.scaledCollateral === 0n) return null;
  let wOthers = 0n;
  let dOthers = 0n;
  positions.forEach((p, i) => {
    if (i === k) return;
    if (p.scaledCollateral !== 0n) wOthers += math.collateralValue(p) * p.liquidationThresholdBps;
    if (p.scaledDebt !== 0n) dOthers += math.debtValue(p);
  });
  const amountC = rayMulDown(t.scaledCollateral, t.liquidityIndex);
  const amountD = t.scaledDebt === 0n ? 0n : rayMulUp(t.scaledDebt, t.borrowIndex);
  if (dOthers === 0n && amountD === 0n) return null;
  const lt = t.liquidationThresholdBps;
  // The contract's test, HF < 1 ⟺ Σ value·LT < debt·BPS, with this asset's value and debt at `price`.
  const liquidatableAt = (price: bigint): boolean => wOthers + ((amountC * price) / t.unit) * lt < (dOthers + mulDivUp(amountD, price, t.unit)) * BPS;
  const slope = amountC * lt - amountD * BPS; // ×unit: how fast Σ value·LT − debt·BPS grows with the price
  if (slope <= 0n || !liquidatableAt(0n)) return null;
  // Real root, then the rounding window: below root − δ it is surely liquidatable, above root + δ surely not.
  const root = ((dOthers * BPS - wOthers) * t.unit) / slope;
  const delta = ((lt + BPS) * t.unit) / slope + 1n;
  let lo = root > delta ? root - delta : 0n; // liquidatable
  let hi = root + delta + 1n; // not liquidatable
  if (!liquidatableAt(lo)) lo = 0n;
  if (hi - lo <= SCAN_LIMIT) {
    for (let p = hi - 1n; p >= lo; p--) if (liquidatableAt(p)) return p;
    return lo;
  }
  // Wide window (dust amounts): the step functions are monotone unless the same asset is also borrowed.
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (liquidatableAt(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
