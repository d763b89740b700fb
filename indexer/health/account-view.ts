// The position card of one account: exact chain numbers (getAccountData fields, per-asset values, liquidation
// prices) plus human strings as a borrower expects them (Aave-style HF, USD with 2 decimals).
import Decimal from "decimal.js";
import { MAX_UINT256, WAD } from "../../common/math";
import type { ProtocolMath } from "../../protocols/types";
import { exactFromPositions, type ExactPosition } from "./exact";
import { liquidationPrice } from "./liquidation-price";
import { statusOf } from "./status";
import type { AccountHealth, Address, LiquidationPrice, PositionHealth } from "./types";

const usd = (base: bigint): string => new Decimal(base.toString()).div(1e8).toFixed(2, Decimal.ROUND_DOWN);

/** HF as Aave shows it: two decimals rounded down, "∞" without debt, "?" when unknown. */
export function formatHealthFactor(hf: bigint | null): string {
  if (hf === null) return "?";
  if (hf === MAX_UINT256) return "∞";
  return new Decimal(hf.toString()).div(WAD.toString()).toFixed(2, Decimal.ROUND_DOWN);
}

export interface AccountViewInput {
  account: Address;
  timestamp: bigint;
  positions: ExactPosition[];
  /** the protocol's account math */
  math: ProtocolMath;
  /** first HF of the lowest active level, for the "warning" status */
  warningAt: bigint | null;
  marginLevels: string[];
  positionVersion: number;
  category?: { id: number; label: string } | null;
}

export function buildAccountHealth(i: AccountViewInput): AccountHealth {
  const sorted = [...i.positions].sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0));
  const r = exactFromPositions(i.math, sorted);
  const d = r.data;
  const unknown = r.hasDebt && r.unknownAssets.length > 0;
  const healthFactor = unknown ? null : d.healthFactor;
  const status = statusOf(healthFactor, i.warningAt);

  const positions: PositionHealth[] = sorted.map((p) => {
    const collateralBase = p.scaledCollateral === 0n ? 0n : i.math.collateralValue(p);
    const debtBase = p.scaledDebt === 0n ? 0n : i.math.debtValue(p);
    return {
      asset: p.asset,
      collateral: i.math.collateralAmount(p.scaledCollateral, p.liquidityIndex),
      debt: i.math.debtAmount(p.scaledDebt, p.borrowIndex),
      usedAsCollateral: p.scaledCollateral !== 0n && i.math.collateralTerms(p).counts,
      collateralBase,
      debtBase,
      price: p.status === "missing" ? null : p.price,
      priceStatus: p.status,
      collateralUSD: usd(collateralBase),
      debtUSD: usd(debtBase),
    };
  });

  const liquidationPrices: LiquidationPrice[] = [];
  sorted.forEach((p, k) => {
    if (p.scaledCollateral === 0n) return;
    const price = p.status === "missing" ? null : liquidationPrice(i.math, sorted, k);
    liquidationPrices.push({
      asset: p.asset,
      currentPrice: p.price,
      price,
      priceUSD: price === null ? null : new Decimal(price.toString()).div(1e8).toFixed(8),
      dropPct:
        price === null || p.price === 0n
          ? null
          : new Decimal((p.price - price).toString()).div(p.price.toString()).mul(100).toFixed(2, Decimal.ROUND_DOWN),
    });
  });

  const debtPlusAvailable = d.totalDebtBase + d.availableBorrowsBase;
  const borrowPowerUsed = debtPlusAvailable === 0n ? new Decimal(0) : new Decimal(d.totalDebtBase.toString()).div(debtPlusAvailable.toString());

  return {
    account: i.account,
    timestamp: i.timestamp,
    status,
    healthFactor,
    totalCollateralBase: d.totalCollateralBase,
    totalDebtBase: d.totalDebtBase,
    availableBorrowsBase: d.availableBorrowsBase,
    currentLiquidationThresholdBps: d.currentLiquidationThresholdBps,
    ltvBps: d.ltvBps,
    borrowPowerUsed: borrowPowerUsed.toFixed(),
    positions,
    liquidationPrices,
    unknownAssets: r.unknownAssets,
    marginLevels: i.marginLevels,
    category: i.category ?? null,
    positionVersion: i.positionVersion,
    display: {
      healthFactor: formatHealthFactor(healthFactor),
      totalCollateralUSD: usd(d.totalCollateralBase),
      totalBorrowsUSD: usd(d.totalDebtBase),
      availableBorrowsUSD: usd(d.availableBorrowsBase),
      netWorthUSD: new Decimal((d.totalCollateralBase - d.totalDebtBase).toString()).div(1e8).toFixed(2, Decimal.ROUND_DOWN),
      currentLiquidationThreshold: new Decimal(d.currentLiquidationThresholdBps.toString()).div(1e4).toFixed(4),
      currentLoanToValue: new Decimal(d.ltvBps.toString()).div(1e4).toFixed(4),
      borrowPowerUsed: `${borrowPowerUsed.mul(100).toFixed(2, Decimal.ROUND_DOWN)}%`,
    },
  };
}
