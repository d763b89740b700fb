// MarginPool's own math, ported to bigint: index extrapolation (MarginPool._currentIndexes), account data
// (_accountDataWithLimit), liquidation sizing (calculateMaxRepay, calculateSeize) and PriceOracle's normalisation.
// Every function rounds exactly as its Solidity twin; results equal the chain's to the wei.
import {
  BPS,
  calculateCompoundedInterest,
  calculateLinearInterest,
  MAX_UINT256,
  mulDivDown,
  mulDivUp,
  rayMulDown,
  rayMulUp,
  WAD,
  bpsMulDown,
} from "../../common/math";
import type { AccountData, AccountHealthFigures, PositionInput } from "../types";

export const CLOSE_FACTOR_BPS = 5_000n;
export const CLOSE_FACTOR_HF_THRESHOLD = 95n * 10n ** 16n; // 0.95 WAD
export const DUST_THRESHOLD_BASE = 2_000n * 10n ** 8n;
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** Stored reserve indexes and rates, as last emitted by ReserveDataUpdated. */
export interface ReserveIndexes {
  liquidityIndex: bigint;
  borrowIndex: bigint;
  liquidityRate: bigint;
  borrowRate: bigint;
  lastUpdateTimestamp: bigint;
}

/** MarginPool._currentIndexes: indexes extrapolated to `now` (a block timestamp). */
export function currentIndexes(r: ReserveIndexes, now: bigint): { liquidityIndex: bigint; borrowIndex: bigint } {
  if (r.lastUpdateTimestamp === now) return { liquidityIndex: r.liquidityIndex, borrowIndex: r.borrowIndex };
  return {
    liquidityIndex: rayMulDown(calculateLinearInterest(r.liquidityRate, r.lastUpdateTimestamp, now), r.liquidityIndex),
    borrowIndex: rayMulUp(calculateCompoundedInterest(r.borrowRate, r.lastUpdateTimestamp, now), r.borrowIndex),
  };
}

export const collateralValue = (p: PositionInput): bigint => mulDivDown(rayMulDown(p.scaledCollateral, p.liquidityIndex), p.price, p.unit);
export const debtValue = (p: PositionInput): bigint => mulDivUp(rayMulUp(p.scaledDebt, p.borrowIndex), p.price, p.unit);

/** MarginPool._accountDataWithLimit. */
export function accountData(positions: readonly PositionInput[]): AccountData {
  let totalCollateralBase = 0n;
  let totalDebtBase = 0n;
  let weightedLtv = 0n;
  let weightedLt = 0n;
  for (const p of positions) {
    if (p.scaledCollateral !== 0n) {
      const value = collateralValue(p);
      totalCollateralBase += value;
      weightedLtv += value * p.ltvBps;
      weightedLt += value * p.liquidationThresholdBps;
    }
    if (p.scaledDebt !== 0n) totalDebtBase += debtValue(p);
  }
  const borrowLimitBase = weightedLtv / BPS;
  return {
    totalCollateralBase,
    totalDebtBase,
    availableBorrowsBase: borrowLimitBase > totalDebtBase ? borrowLimitBase - totalDebtBase : 0n,
    currentLiquidationThresholdBps: totalCollateralBase === 0n ? 0n : weightedLt / totalCollateralBase,
    ltvBps: totalCollateralBase === 0n ? 0n : weightedLtv / totalCollateralBase,
    healthFactor: healthFactorFrom(weightedLt, totalDebtBase),
    borrowLimitBase,
    weightedThresholdBase: weightedLt,
  };
}

/** accountData's HF and total debt alone (ProtocolMath.health): the same sums, skipping the LTV side. */
export function health(positions: readonly PositionInput[]): AccountHealthFigures {
  let totalDebtBase = 0n;
  let weightedLt = 0n;
  for (const p of positions) {
    if (p.scaledCollateral !== 0n) weightedLt += collateralValue(p) * p.liquidationThresholdBps;
    if (p.scaledDebt !== 0n) totalDebtBase += debtValue(p);
  }
  return { healthFactor: healthFactorFrom(weightedLt, totalDebtBase), totalDebtBase };
}

/** HF = Σ value·LT / (debt · BPS), WAD, rounded down; max uint256 with no debt. */
export function healthFactorFrom(weightedLt: bigint, totalDebtBase: bigint): bigint {
  return totalDebtBase === 0n ? MAX_UINT256 : mulDivDown(weightedLt, WAD, totalDebtBase * BPS);
}

/** MarginPool.calculateMaxRepay. */
export function calculateMaxRepay(hf: bigint, userDebt: bigint, debtBase: bigint, collateralBase: bigint): bigint {
  const full = hf < CLOSE_FACTOR_HF_THRESHOLD || debtBase < DUST_THRESHOLD_BASE || collateralBase < DUST_THRESHOLD_BASE;
  return full ? userDebt : bpsMulDown(userDebt, CLOSE_FACTOR_BPS);
}

/** MarginPool.calculateSeize: returns [actualRepay, seize]. */
export function calculateSeize(
  repayAmount: bigint,
  userCollateral: bigint,
  debtPrice: bigint,
  collateralPrice: bigint,
  debtUnit: bigint,
  collateralUnit: bigint,
  bonusBps: bigint,
): [bigint, bigint] {
  const seize = (repayAmount * debtPrice * collateralUnit * (BPS + bonusBps)) / (collateralPrice * debtUnit * BPS);
  if (seize <= userCollateral) return [repayAmount, seize];
  const needed = mulDivUp(userCollateral * collateralPrice * debtUnit, BPS, debtPrice * collateralUnit * (BPS + bonusBps));
  return [min(needed, repayAmount), userCollateral];
}
export * from "../../common/math";
