// The account card (GET /v1/accounts/:address): the engine's exact AccountHealth turned into JSON with
// formatUserSummary's field names, per-asset symbols and amounts, liquidation prices and what-if shocks.
import { ExactContext, formatHealthFactor, shockPrice, statusOf } from "../health";
import type { AccountHealth, AccountStatus, Address, HealthEngine, HealthEngineOptions } from "../health";
import { thresholdsFrom } from "../health/thresholds";
import type { ApiContext } from "./context";
import { decimalsOf, symbolOf } from "./context";
import { amount, priceFromBase } from "./format";

/** What-if shocks applied to every collateral asset of the account at once (USERS.md: −5/−10/−20%). */
export const WHAT_IF_SHOCKS = [-0.05, -0.1, -0.2] as const;

export interface WhatIf {
  shock: number;
  healthFactor: string;
  healthFactorWad: string | null;
  status: AccountStatus;
}

/** The highest margin level: HF below it is the "warning" status, as in the engine's account card. */
export function warningLevel(opts: HealthEngineOptions = {}): bigint | null {
  const down = thresholdsFrom(opts).down;
  return down.length ? down.reduce((a, b) => (a > b ? a : b)) : null;
}

export function whatIf(health: HealthEngine, account: Address, now: bigint, warningAt: bigint | null): WhatIf[] {
  const held = health.state.accounts.get(account);
  const ctx = new ExactContext(health.state, (a) => health.price(a), now, health.math);
  const base = ctx.positions(account, held);
  return WHAT_IF_SHOCKS.map((shock) => {
    const override = new Map<Address, bigint>();
    for (const p of base) if (p.scaledCollateral !== 0n) override.set(p.asset, shockPrice(p.price, shock));
    const r = ctx.account(account, override);
    const unknown = r.hasDebt && r.unknownAssets.length > 0;
    const hf = unknown ? null : r.data.healthFactor;
    return { shock, healthFactor: formatHealthFactor(hf), healthFactorWad: hf === null ? null : hf.toString(), status: statusOf(hf, warningAt) };
  });
}

export function accountCard(ctx: ApiContext, c: AccountHealth, what: WhatIf[]) {
  return {
    account: c.account,
    status: c.status,
    healthFactor: c.display.healthFactor,
    healthFactorWad: c.healthFactor === null ? null : c.healthFactor.toString(),
    totalCollateralUSD: c.display.totalCollateralUSD,
    totalBorrowsUSD: c.display.totalBorrowsUSD,
    availableBorrowsUSD: c.display.availableBorrowsUSD,
    netWorthUSD: c.display.netWorthUSD,
    currentLiquidationThreshold: c.display.currentLiquidationThreshold,
    currentLoanToValue: c.display.currentLoanToValue,
    borrowPowerUsed: c.borrowPowerUsed,
    borrowPowerUsedDisplay: c.display.borrowPowerUsed,
    base: {
      totalCollateralBase: c.totalCollateralBase.toString(),
      totalDebtBase: c.totalDebtBase.toString(),
      availableBorrowsBase: c.availableBorrowsBase.toString(),
      currentLiquidationThresholdBps: c.currentLiquidationThresholdBps.toString(),
      ltvBps: c.ltvBps.toString(),
    },
    marginLevels: c.marginLevels,
    category: c.category,
    unknownAssets: c.unknownAssets,
    positions: c.positions.map((p) => {
      const dec = decimalsOf(ctx, p.asset);
      return {
        asset: p.asset,
        symbol: symbolOf(ctx, p.asset),
        decimals: dec,
        collateral: p.collateral.toString(),
        collateralAmount: amount(p.collateral, dec),
        debt: p.debt.toString(),
        debtAmount: amount(p.debt, dec),
        collateralUSD: p.collateralUSD,
        debtUSD: p.debtUSD,
        collateralBase: p.collateralBase.toString(),
        debtBase: p.debtBase.toString(),
        price: p.price === null ? null : p.price.toString(),
        priceUSD: priceFromBase(p.price),
        priceStatus: p.priceStatus,
        usedAsCollateral: p.usedAsCollateral,
      };
    }),
    liquidationPrices: c.liquidationPrices.map((l) => ({
      asset: l.asset,
      symbol: symbolOf(ctx, l.asset),
      currentPrice: l.currentPrice.toString(),
      currentPriceUSD: priceFromBase(l.currentPrice),
      liquidationPrice: l.price === null ? null : l.price.toString(),
      liquidationPriceUSD: l.priceUSD,
      dropPct: l.dropPct,
    })),
    whatIf: what,
  };
}
