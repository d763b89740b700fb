// MarginPool liquidation sizing (pure): picks the collateral/debt pair whose liquidation pays the keeper the most
// bonus value, each pair sized as MarginPool.liquidate does.
import { MAX_UINT256, mulDivDown, mulDivUp } from "../../common/math";
import type { AccountSnapshot, AvailableBalance, HeldAsset, LiquidationPlan } from "../types";
import { calculateMaxRepay, calculateSeize } from "./math";

/**
 * Interest accrues between our read and inclusion, so the pool's max repay grows a little. When the keeper holds
 * this much more than today's max repay (bps), it passes type(uint256).max and lets the pool take the exact max.
 */
export const REPAY_HEADROOM_BPS = 10n;

const all: AvailableBalance = (_asset, balance) => balance;

/** Plans every pair (collateral × debt the account holds); pairs that cannot be executed are left out. */
export function planPairs(s: AccountSnapshot, available: AvailableBalance = all): LiquidationPlan[] {
  const plans: LiquidationPlan[] = [];
  for (const debt of s.assets) {
    if (debt.debt === 0n) continue;
    const balance = available(debt.asset, s.keeperBalances.get(debt.asset) ?? 0n);
    if (balance <= 0n) continue;
    for (const coll of s.assets) {
      if (coll.collateral === 0n) continue;
      const plan = planPair(s.healthFactor, coll, debt, balance);
      if (plan) plans.push(plan);
    }
  }
  return plans;
}

/** The pair with the highest bonus value; ties keep the pool's asset order. Null when nothing is executable. */
export function planLiquidation(s: AccountSnapshot, available: AvailableBalance = all): LiquidationPlan | null {
  let best: LiquidationPlan | null = null;
  for (const p of planPairs(s, available)) if (!best || p.bonusValueBase > best.bonusValueBase) best = p;
  return best;
}

/** Mirrors MarginPool.liquidate's sizing step for one pair, using the bigint ports of its math. */
export function planPair(healthFactor: bigint, coll: HeldAsset, debt: HeldAsset, balance: bigint): LiquidationPlan | null {
  const debtBase = mulDivUp(debt.debt, debt.price, debt.unit);
  const collateralBase = mulDivDown(coll.collateral, coll.price, coll.unit);
  const maxRepay = calculateMaxRepay(healthFactor, debt.debt, debtBase, collateralBase);
  const wanted = maxRepay < balance ? maxRepay : balance;
  if (wanted === 0n) return null;
  const [repayAmount, seizeAmount] = calculateSeize(wanted, coll.collateral, debt.price, coll.price, debt.unit, coll.unit, coll.liquidationBonusBps);
  if (repayAmount === 0n || seizeAmount === 0n) return null;
  if (seizeAmount > coll.cash) return null; // the pool would revert InsufficientLiquidity
  const limitedBy = seizeAmount === coll.collateral ? "collateral" : balance < maxRepay ? "balance" : "close-factor";
  const roomy = balance * 10_000n >= maxRepay * (10_000n + REPAY_HEADROOM_BPS);
  return {
    collateralAsset: coll.asset,
    debtAsset: debt.asset,
    repayAmount,
    seizeAmount,
    bonusValueBase: mulDivDown(seizeAmount, coll.price, coll.unit) - mulDivUp(repayAmount, debt.price, debt.unit),
    maxRepay,
    limitedBy,
    repayArgument: roomy ? MAX_UINT256 : repayAmount,
    maxSpend: roomy ? (maxRepay * (10_000n + REPAY_HEADROOM_BPS)) / 10_000n : repayAmount,
  };
}
