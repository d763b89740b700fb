// Bigint port of the contract's fixed-point math (WadRayMath, InterestMath, MarginPool account data and
// liquidation sizing). Every function rounds exactly as its Solidity twin; results equal the chain's to the wei.
export const WAD = 10n ** 18n;
export const RAY = 10n ** 27n;
export const BPS = 10_000n;
export const MAX_UINT256 = 2n ** 256n - 1n;
export const SECONDS_PER_YEAR = 365n * 24n * 3600n;
export const CLOSE_FACTOR_BPS = 5_000n;
export const CLOSE_FACTOR_HF_THRESHOLD = 95n * 10n ** 16n; // 0.95 WAD
export const DUST_THRESHOLD_BASE = 2_000n * 10n ** 8n;

export const mulDivDown = (x: bigint, y: bigint, d: bigint): bigint => (x * y) / d;
export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  const p = x * y;
  return p === 0n ? 0n : (p - 1n) / d + 1n;
}
export const rayMulDown = (a: bigint, b: bigint): bigint => (a * b) / RAY;
export const rayMulUp = (a: bigint, b: bigint): bigint => mulDivUp(a, b, RAY);
export const rayDivDown = (a: bigint, b: bigint): bigint => (a * RAY) / b;
export const rayDivUp = (a: bigint, b: bigint): bigint => mulDivUp(a, RAY, b);
export const bpsMulDown = (a: bigint, bps: bigint): bigint => (a * bps) / BPS;
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

export function calculateLinearInterest(rateRay: bigint, lastUpdate: bigint, now: bigint): bigint {
  return RAY + (rateRay * (now - lastUpdate)) / SECONDS_PER_YEAR;
}

export function calculateCompoundedInterest(rateRay: bigint, lastUpdate: bigint, now: bigint): bigint {
  const exp = now - lastUpdate;
  if (exp === 0n) return RAY;
  const expMinusOne = exp - 1n;
  const expMinusTwo = exp > 2n ? exp - 2n : 0n;
  const basePowerTwo = rayMulDown(rateRay, rateRay) / (SECONDS_PER_YEAR * SECONDS_PER_YEAR);
  const basePowerThree = rayMulDown(basePowerTwo, rateRay) / SECONDS_PER_YEAR;
  const secondTerm = (exp * expMinusOne * basePowerTwo) / 2n;
  const thirdTerm = (exp * expMinusOne * expMinusTwo * basePowerThree) / 6n;
  return RAY + (rateRay * exp) / SECONDS_PER_YEAR + secondTerm + thirdTerm;
}

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

/** One asset an account holds, with everything the account-data formula needs. */
export interface PositionInput {
  scaledCollateral: bigint;
  scaledDebt: bigint;
  liquidityIndex: bigint; // current (extrapolated)
  borrowIndex: bigint; // current (extrapolated)
  price: bigint; // 8-decimal USD, as PriceOracle.getAssetPrice
  unit: bigint; // 10^decimals
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
}

export interface AccountData {
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  availableBorrowsBase: bigint;
  currentLiquidationThresholdBps: bigint;
  ltvBps: bigint;
  healthFactor: bigint;
  borrowLimitBase: bigint;
  /** Σ collateral value · LT (bps-weighted), the HF numerator before scaling */
  weightedThresholdBase: bigint;
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

/** PriceOracle normalisation of a raw Chainlink answer to 8 decimals. */
export function normalisePrice(answer: bigint, feedDecimals: number): bigint {
  if (feedDecimals > 8) return answer / 10n ** BigInt(feedDecimals - 8);
  return answer * 10n ** BigInt(8 - feedDecimals);
}
