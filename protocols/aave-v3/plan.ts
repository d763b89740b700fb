// Aave V3.0.x liquidation sizing (pure): a bigint port of LiquidationLogic.executeLiquidationCall's sizing
// (@aave/core-v3 1.19.3) — validateLiquidationCall's eligibility, _calculateDebt's close factor, _getConfigurationData's
// eMode bonus and price sources, _calculateAvailableCollateralToLiquidate with its half-up percentMul / percentDiv and
// the protocol fee cut from the bonus, the treasury transfer's 1-wei cap — for every collateral × debt pair the
// account holds; the pair paying the keeper the most bonus value wins. Exact for V3.0.x only (3.1+ changed the close
// factor rules and rounding).
import { MAX_UINT256, mulDivDown, mulDivUp, RAY, WAD } from "../../common/math";
import type { AvailableBalance, LiquidationPlan } from "../types";
import type { AaveAccountSnapshot, AaveHeldAsset } from "./snapshot";
import { ZERO_ADDRESS } from "./snapshot";

const BPS = 10_000n;
/** LiquidationLogic.DEFAULT_LIQUIDATION_CLOSE_FACTOR: 50% of the debt while HF > CLOSE_FACTOR_HF_THRESHOLD */
export const DEFAULT_CLOSE_FACTOR_BPS = 5_000n;
/** LiquidationLogic.MAX_LIQUIDATION_CLOSE_FACTOR: 100% at or below the threshold */
export const MAX_CLOSE_FACTOR_BPS = 10_000n;
/** LiquidationLogic.CLOSE_FACTOR_HF_THRESHOLD, WAD */
export const CLOSE_FACTOR_HF_THRESHOLD = (95n * WAD) / 100n;
/**
 * Interest accrues between our read and inclusion, so the close-factor cap grows a little. When the keeper holds
 * this much more than today's cap (bps), it passes type(uint256).max and lets the pool take the exact cap.
 */
export const REPAY_HEADROOM_BPS = 10n;

// PercentageMath and WadRayMath of V3.0.x: half up.
export const percentMul = (value: bigint, percentage: bigint): bigint => (value * percentage + BPS / 2n) / BPS;
export const percentDiv = (value: bigint, percentage: bigint): bigint => (value * BPS + percentage / 2n) / percentage;
export const rayMul = (a: bigint, b: bigint): bigint => (a * b + RAY / 2n) / RAY;
export const rayDiv = (a: bigint, b: bigint): bigint => (a * RAY + b / 2n) / b;

export interface PlanOptions {
  /** liquidationCall's receiveAToken: the keeper takes aTokens (no cash needed) instead of the underlying */
  receiveAToken: boolean;
}

export interface AaveLiquidationPlan extends LiquidationPlan {
  /** liquidationCall's debtToCover for an exact (not max uint) call: min(close-factor cap, keeper balance) */
  debtToCover: bigint;
  /** collateral leaving the account: seizeAmount + protocolFee */
  collateralTaken: bigint;
  /** collateral (underlying units) sent to the treasury as aTokens */
  protocolFee: bigint;
  closeFactorBps: bigint;
  /** Aave's form of the bonus applied (the reserve's, or the account's eMode category's) */
  bonusFactorBps: bigint;
  receiveAToken: boolean;
}

const all: AvailableBalance = (_asset, balance) => balance;

/** Every executable pair (debt × collateral the account holds), as executeLiquidationCall would size it. */
export function planPairs(
  s: AaveAccountSnapshot,
  available: AvailableBalance = all,
  o: PlanOptions = { receiveAToken: false },
): AaveLiquidationPlan[] {
  if (s.healthFactor >= WAD) return []; // validateLiquidationCall: '45' HEALTH_FACTOR_NOT_BELOW_THRESHOLD
  const plans: AaveLiquidationPlan[] = [];
  for (const debt of s.assets) {
    if (debt.debt === 0n || !usable(debt)) continue; // '47' SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER, '27' / '29'
    const balance = available(debt.asset, s.keeperBalances.get(debt.asset) ?? 0n);
    if (balance <= 0n) continue;
    for (const coll of s.assets) {
      // '46' COLLATERAL_CANNOT_BE_LIQUIDATED: the account's collateral bit and the reserve's own LT (not eMode's)
      if (coll.collateral === 0n || !coll.collateralEnabled || coll.liquidationThresholdBps === 0n || !usable(coll)) continue;
      const plan = planPair(s, coll, debt, balance, o);
      if (plan) plans.push(plan);
    }
  }
  return plans;
}

/** The pair with the highest bonus value; ties keep the pool's reserve order. Null when nothing is executable. */
export function planLiquidation(
  s: AaveAccountSnapshot,
  available: AvailableBalance = all,
  o: PlanOptions = { receiveAToken: false },
): AaveLiquidationPlan | null {
  let best: AaveLiquidationPlan | null = null;
  for (const p of planPairs(s, available, o)) if (!best || p.bonusValueBase > best.bonusValueBase) best = p;
  return best;
}

const usable = (a: AaveHeldAsset): boolean => a.active && !a.paused;

/** executeLiquidationCall's sizing for one pair, the keeper holding `balance` of the debt asset. */
export function planPair(
  s: AaveAccountSnapshot,
  coll: AaveHeldAsset,
  debt: AaveHeldAsset,
  balance: bigint,
  o: PlanOptions,
): AaveLiquidationPlan | null {
  // _calculateDebt
  const closeFactorBps = s.healthFactor > CLOSE_FACTOR_HF_THRESHOLD ? DEFAULT_CLOSE_FACTOR_BPS : MAX_CLOSE_FACTOR_BPS;
  const maxRepay = percentMul(debt.debt, closeFactorBps);
  const debtToCover = maxRepay < balance ? maxRepay : balance;
  if (debtToCover === 0n) return null;

  // _getConfigurationData: the category's bonus for a collateral in the account's category; its price source (when
  // set) for such a collateral, and for every debt of an account in eMode.
  const cat = s.category;
  const inCategory = cat !== null && coll.eModeCategory === cat.id;
  const bonusFactorBps = inCategory ? cat.bonusFactorBps : coll.bonusFactorBps;
  const source = cat !== null && cat.priceSource !== ZERO_ADDRESS ? cat.sourcePrice : null;
  const collateralPrice = inCategory && source !== null ? source : coll.price;
  const debtPrice = source ?? debt.price;
  if (collateralPrice === 0n || debtPrice === 0n) return null;

  // _calculateAvailableCollateralToLiquidate
  const baseCollateral = (debtPrice * debtToCover * coll.unit) / (collateralPrice * debt.unit);
  const maxCollateral = percentMul(baseCollateral, bonusFactorBps);
  let collateralAmount: bigint;
  let repayAmount: bigint;
  if (maxCollateral > coll.collateral) {
    collateralAmount = coll.collateral;
    repayAmount = percentDiv((collateralPrice * collateralAmount * debt.unit) / (debtPrice * coll.unit), bonusFactorBps);
  } else {
    collateralAmount = maxCollateral;
    repayAmount = debtToCover;
  }
  let protocolFee = 0n;
  if (coll.liquidationProtocolFeeBps !== 0n) {
    const bonusCollateral = collateralAmount - percentDiv(collateralAmount, bonusFactorBps);
    protocolFee = percentMul(bonusCollateral, coll.liquidationProtocolFeeBps);
  }
  const seizeAmount = collateralAmount - protocolFee;

  // Reverts avoided: a zero burn ('25' INVALID_BURN_AMOUNT), a pull beyond the keeper's balance, the aToken's cash
  // short of the underlying sent (only when receiving the underlying; the fee always moves as aTokens).
  if (repayAmount === 0n || seizeAmount === 0n) return null;
  if (rayDiv(repayAmount, debt.borrowIndex) === 0n || rayDiv(seizeAmount, coll.liquidityIndex) === 0n) return null;
  if (repayAmount > balance) return null;
  if (!o.receiveAToken && seizeAmount > coll.cash) return null;

  // The treasury transfer: capped at what is left of the account's scaled balance (V3.0's 1-wei guard).
  if (protocolFee !== 0n) {
    const left = coll.scaledCollateral - rayDiv(seizeAmount, coll.liquidityIndex);
    if (rayDiv(protocolFee, coll.liquidityIndex) > left) protocolFee = left > 0n ? rayMul(left, coll.liquidityIndex) : 0n;
  }

  const limitedBy = collateralAmount === coll.collateral ? "collateral" : balance < maxRepay ? "balance" : "close-factor";
  const roomy = balance * BPS >= maxRepay * (BPS + REPAY_HEADROOM_BPS);
  return {
    collateralAsset: coll.asset,
    debtAsset: debt.asset,
    repayAmount,
    seizeAmount,
    bonusValueBase: mulDivDown(seizeAmount, coll.price, coll.unit) - mulDivUp(repayAmount, debt.price, debt.unit),
    maxRepay,
    limitedBy,
    repayArgument: roomy ? MAX_UINT256 : debtToCover,
    maxSpend: roomy ? (maxRepay * (BPS + REPAY_HEADROOM_BPS)) / BPS : debtToCover > repayAmount ? debtToCover : repayAmount,
    debtToCover,
    collateralTaken: seizeAmount + protocolFee,
    protocolFee,
    closeFactorBps,
    bonusFactorBps,
    receiveAToken: o.receiveAToken,
  };
}
