// Exact liquidation price of one collateral asset, other prices held fixed: the largest 8-decimal price at which
// the protocol's own account math (its rounding, its LT averaging, its categories) gives HF < 1; one unit higher
// and the account is safe. Decided by the protocol's math alone, so it is exact for every adapter.
import { BPS } from "../../common/math";
import type { ProtocolMath } from "../../protocols/types";
import { type ExactPosition, isLiquidatable } from "./exact";

/** Scanning window (price units) below which the boundary is found by a linear walk rather than bisection. */
const SCAN_LIMIT = 64n;

/**
 * Returns null when the account has no debt, when `k` is not counted collateral, when a fall of this price cannot
 * make the account liquidatable (its debt in the same asset shrinks as fast), or when even a price of 0 leaves
 * HF ≥ 1.
 */
export function liquidationPrice(math: ProtocolMath, positions: readonly ExactPosition[], k: number): bigint | null {
  const t = positions[k];
  if (!t || t.scaledCollateral === 0n || !math.collateralTerms(t).counts) return null;
  if (!positions.some((p) => p.scaledDebt !== 0n)) return null;
  const at = positions.slice();
  /** Σ value·LT − debt·BPS with this asset at `price`: negative ⟺ HF < 1 (the protocol's own test) */
  const margin = (price: bigint): bigint => {
    at[k] = { ...t, price };
    const d = math.accountData(at);
    return d.weightedThresholdBase - d.totalDebtBase * BPS;
  };
  const liquidatableAt = (price: bigint): boolean => {
    at[k] = { ...t, price };
    return isLiquidatable(math.accountData(at));
  };
  if (!liquidatableAt(0n)) return null;
  // The margin is affine in the price up to rounding: its slope from two exact points gives the root, and the
  // rounding of every position (a value unit and an LT step each) bounds how far the exact boundary can sit from it.
  const probe = t.price > 0n ? t.price : 10n ** 8n;
  const m0 = margin(0n);
  const m1 = margin(probe);
  if (m1 <= m0) return null; // the price falling does not lower the margin
  const root = (-m0 * probe) / (m1 - m0);
  const slack = 4n * (BPS + 1n) * BigInt(positions.length + 1);
  const delta = (slack * probe) / (m1 - m0) + 2n;
  let lo = root > delta ? root - delta : 0n; // liquidatable
  let hi = root + delta + 1n; // not liquidatable
  if (!liquidatableAt(lo)) lo = 0n;
  while (liquidatableAt(hi)) hi = hi * 2n + 1n; // rounding can only widen the window so far; never loops forever
  if (hi - lo <= SCAN_LIMIT) {
    for (let p = hi - 1n; p > lo; p--) if (liquidatableAt(p)) return p;
    return lo;
  }
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (liquidatableAt(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
