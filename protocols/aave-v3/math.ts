// Aave V3.0.x's own math (POOL_REVISION 1, @aave/core-v3 1.19.x), ported to bigint: WadRayMath / PercentageMath
// (every operation rounds half up), MathUtils' linear and compounded interest, ReserveLogic's normalized income and
// debt, and GenericLogic.calculateUserAccountData / calculateAvailableBorrows. Results equal the chain's to the wei
// for V3.0.x; later versions (3.1+: directional rounding, 3.2+: no stable debt, 3.3+: deficits) differ.
import { BPS, MAX_UINT256, RAY, SECONDS_PER_YEAR, WAD, calculateLinearInterest } from "../../common/math";
import type { AccountData, AccountHealthFigures, CollateralTerms, PositionInput } from "../types";

const HALF_RAY = RAY / 2n;
const HALF_BPS = BPS / 2n;

/** WadRayMath.rayMul: (a·b + RAY/2) / RAY */
export const rayMul = (a: bigint, b: bigint): bigint => (a * b + HALF_RAY) / RAY;
/** WadRayMath.rayDiv: (a·RAY + b/2) / b */
export const rayDiv = (a: bigint, b: bigint): bigint => (a * RAY + b / 2n) / b;
/** WadRayMath.wadDiv: (a·WAD + b/2) / b */
export const wadDiv = (a: bigint, b: bigint): bigint => (a * WAD + b / 2n) / b;
/** PercentageMath.percentMul: (v·p + 5000) / 10000 */
export const percentMul = (v: bigint, p: bigint): bigint => (v * p + HALF_BPS) / BPS;
/** PercentageMath.percentDiv: (v·10000 + p/2) / p */
export const percentDiv = (v: bigint, p: bigint): bigint => (v * BPS + p / 2n) / p;

/**
 * MathUtils.calculateCompoundedInterest: the 3-term binomial expansion of (1 + rate/year)^Δt. Its rate² and rate³
 * terms use the half-up rayMul, which is why common/math.ts's version (floor rayMul, MarginPool's) is not reused.
 */
export function calculateCompoundedInterest(rate: bigint, lastUpdate: bigint, now: bigint): bigint {
  const exp = now - lastUpdate;
  if (exp === 0n) return RAY;
  const expMinusOne = exp - 1n;
  const expMinusTwo = exp > 2n ? exp - 2n : 0n;
  const basePowerTwo = rayMul(rate, rate) / (SECONDS_PER_YEAR * SECONDS_PER_YEAR);
  const basePowerThree = rayMul(basePowerTwo, rate) / SECONDS_PER_YEAR;
  const secondTerm = (exp * expMinusOne * basePowerTwo) / 2n;
  const thirdTerm = (exp * expMinusOne * expMinusTwo * basePowerThree) / 6n;
  return RAY + (rate * exp) / SECONDS_PER_YEAR + secondTerm + thirdTerm;
}

/** A reserve as ReserveDataUpdated last left it (the neutral AssetState's fields). */
export interface ReserveIndexes {
  liquidityIndex: bigint;
  borrowIndex: bigint;
  liquidityRate: bigint;
  borrowRate: bigint;
  lastUpdateTimestamp: bigint;
}

/**
 * ReserveLogic.getNormalizedIncome / getNormalizedDebt at `now`: the stored indexes when the reserve was updated in
 * this block, else linear income and compounded variable debt on top of them.
 */
export function indexesAt(r: ReserveIndexes, now: bigint): { liquidityIndex: bigint; borrowIndex: bigint } {
  if (r.lastUpdateTimestamp === now) return { liquidityIndex: r.liquidityIndex, borrowIndex: r.borrowIndex };
  return {
    liquidityIndex: rayMul(calculateLinearInterest(r.liquidityRate, r.lastUpdateTimestamp, now), r.liquidityIndex),
    borrowIndex: rayMul(calculateCompoundedInterest(r.borrowRate, r.lastUpdateTimestamp, now), r.borrowIndex),
  };
}

/** AToken.balanceOf: rayMul(scaled, normalized income). */
export const collateralAmount = (scaled: bigint, liquidityIndex: bigint): bigint => rayMul(scaled, liquidityIndex);
/** VariableDebtToken.balanceOf: 0 without a scaled balance, else rayMul(scaled, normalized debt). */
export const debtAmount = (scaled: bigint, borrowIndex: bigint): bigint => (scaled === 0n ? 0n : rayMul(scaled, borrowIndex));

/** GenericLogic._getUserBalanceInBaseCurrency: rayMul(scaled, income) · price / unit, floored. */
export const collateralValue = (p: PositionInput): bigint => (rayMul(p.scaledCollateral, p.liquidityIndex) * p.price) / p.unit;

/** GenericLogic._getUserDebtInBaseCurrency (variable debt; stable debt is not supported): floored. */
export const debtValue = (p: PositionInput): bigint => (p.scaledDebt === 0n ? 0n : (rayMul(p.scaledDebt, p.borrowIndex) * p.price) / p.unit);

/**
 * A balance counts as collateral iff the account's collateral bit is set and the reserve's own LT is not 0; it is
 * weighted with the eMode category's LT when the asset is in the account's category.
 */
export function collateralTerms(p: Pick<PositionInput, "liquidationThresholdBps" | "collateralEnabled" | "category">): CollateralTerms {
  return {
    counts: p.collateralEnabled && p.liquidationThresholdBps !== 0n,
    liquidationThresholdBps: p.category ? p.category.liquidationThresholdBps : p.liquidationThresholdBps,
  };
}

/**
 * GenericLogic.calculateUserAccountData + calculateAvailableBorrows over the account's held positions (the order of
 * the sums does not matter: integer additions). avgLtv skips collateral whose reserve LTV is 0 (it still counts in
 * the total and the LT average); HF = wadDiv(percentMul(totalCollateral, avgLt), totalDebt), max uint without debt.
 */
export function accountData(positions: readonly PositionInput[]): AccountData {
  let totalCollateralBase = 0n;
  let totalDebtBase = 0n;
  let weightedLtv = 0n;
  let weightedLt = 0n;
  for (const p of positions) {
    const terms = collateralTerms(p);
    if (terms.counts && p.scaledCollateral !== 0n) {
      const value = collateralValue(p);
      totalCollateralBase += value;
      if (p.ltvBps !== 0n) weightedLtv += value * (p.category ? p.category.ltvBps : p.ltvBps);
      weightedLt += value * terms.liquidationThresholdBps;
    }
    if (p.scaledDebt !== 0n) totalDebtBase += debtValue(p);
  }
  const ltvBps = totalCollateralBase === 0n ? 0n : weightedLtv / totalCollateralBase;
  const currentLiquidationThresholdBps = totalCollateralBase === 0n ? 0n : weightedLt / totalCollateralBase;
  const thresholdBase = percentMul(totalCollateralBase, currentLiquidationThresholdBps);
  const healthFactor = totalDebtBase === 0n ? MAX_UINT256 : wadDiv(thresholdBase, totalDebtBase);
  const borrowLimitBase = percentMul(totalCollateralBase, ltvBps);
  return {
    totalCollateralBase,
    totalDebtBase,
    availableBorrowsBase: borrowLimitBase > totalDebtBase ? borrowLimitBase - totalDebtBase : 0n,
    currentLiquidationThresholdBps,
    ltvBps,
    healthFactor,
    borrowLimitBase,
    weightedThresholdBase: weightedThresholdFor(thresholdBase, totalDebtBase, healthFactor),
  };
}

/** accountData's HF and total debt alone (ProtocolMath.health): the same sums and roundings, no LTV side. */
export function health(positions: readonly PositionInput[]): AccountHealthFigures {
  let totalCollateralBase = 0n;
  let totalDebtBase = 0n;
  let weightedLt = 0n;
  for (const p of positions) {
    if (p.scaledCollateral !== 0n && p.collateralEnabled && p.liquidationThresholdBps !== 0n) {
      const value = collateralValue(p);
      totalCollateralBase += value;
      weightedLt += value * (p.category ? p.category.liquidationThresholdBps : p.liquidationThresholdBps);
    }
    if (p.scaledDebt !== 0n) totalDebtBase += debtValue(p);
  }
  if (totalDebtBase === 0n) return { healthFactor: MAX_UINT256, totalDebtBase };
  const avgLt = totalCollateralBase === 0n ? 0n : weightedLt / totalCollateralBase;
  return { healthFactor: wadDiv(percentMul(totalCollateralBase, avgLt), totalDebtBase), totalDebtBase };
}

/**
 * The float model's error bound (ProtocolMath.hfModelError): the HF numerator is percentMul(collateral, avgLt) with
 * avgLt = Σ value·LT / collateral floored to whole bps, so it sits below Σ value·LT / BPS by less than one bps of
 * the collateral, i.e. by less than 1 / avgLt of itself, and avgLt ≥ the lowest LT of any counted collateral. The
 * half-up percentMul and wadDiv are within the per-position rounding slack the engine already allows.
 */
export function hfModelError(lowestLtBps: bigint): number {
  return lowestLtBps > 0n ? 1 / Number(lowestLtBps) : 0;
}

/**
 * The HF numerator in the engine's form (value·LT, bps-weighted), chosen so that the engine's liquidatable test
 * (indexer/health/exact.ts isLiquidatable: weighted < debt·BPS) is exactly Aave's HF < 1. Aave's HF is
 * wadDiv(N, debt) with N = percentMul(collateral, avgLt): N·BPS is the natural numerator, and `N < debt` ⟺ HF < 1
 * except where wadDiv's half-up rounding of a debt ≥ 2·WAD base units tips it; there the value is nudged across
 * the boundary by one, so the test always follows the HF the chain reports.
 */
function weightedThresholdFor(thresholdBase: bigint, totalDebtBase: bigint, healthFactor: bigint): bigint {
  const weighted = thresholdBase * BPS;
  const debtBps = totalDebtBase * BPS;
  if (totalDebtBase === 0n) return weighted;
  const under = healthFactor < WAD;
  if (under && weighted >= debtBps) return debtBps - 1n;
  if (!under && weighted < debtBps) return debtBps;
  return weighted;
}
