// JSON and CSV shapes of the risk overview (GET /v1/risk): the engine's float aggregates as decimal strings,
// with symbols and token amounts added.
import type { Address, RiskAggregates } from "../health";
import type { ApiContext, BlockStamp } from "./context";
import { decimalsOf, symbolOf } from "./context";
import { toCsv } from "./csv";
import { amount, fraction, usdFromNumber } from "./format";

/** One HF bucket: accounts and their debt. */
export function bucketJson(b: { label: string; min: number | null; max: number | null; accounts: number; debtUSD: number }) {
  return { label: b.label, min: b.min, max: b.max, accounts: b.accounts, debtUSD: usdFromNumber(b.debtUSD) };
}

/** One asset's totals, with its symbol and token amounts (shared by /v1/risk and /v1/risk/history). */
export function assetRiskJson(
  ctx: ApiContext,
  a: { asset: Address; collateral: bigint; collateralUSD: number; debt: bigint; debtUSD: number; deficit: bigint; deficitUSD: number },
) {
  const dec = decimalsOf(ctx, a.asset);
  return {
    asset: a.asset,
    symbol: symbolOf(ctx, a.asset),
    collateral: a.collateral.toString(),
    collateralAmount: amount(a.collateral, dec),
    collateralUSD: usdFromNumber(a.collateralUSD),
    debt: a.debt.toString(),
    debtAmount: amount(a.debt, dec),
    debtUSD: usdFromNumber(a.debtUSD),
    deficit: a.deficit.toString(),
    deficitUSD: usdFromNumber(a.deficitUSD),
  };
}

export function badDebtJson(b: { accounts: number; amountUSD: number; protocolDeficitUSD: number }) {
  return { accountsUnderWater: b.accounts, underWaterUSD: usdFromNumber(b.amountUSD), protocolDeficitUSD: usdFromNumber(b.protocolDeficitUSD) };
}

export function riskJson(ctx: ApiContext, r: RiskAggregates) {
  return {
    accounts: r.accounts,
    totalCollateralUSD: usdFromNumber(r.totalCollateralUSD),
    totalDebtUSD: usdFromNumber(r.totalDebtUSD),
    distribution: r.distribution.map(bucketJson),
    byAsset: r.byAsset.map((a) => assetRiskJson(ctx, a)),
    badDebt: badDebtJson(r.badDebt),
    concentration: { top10Share: fraction(r.concentration.top10Share), top1PctShare: fraction(r.concentration.top1PctShare) },
    liquidationCurves: r.liquidationCurves.map((c) => ({
      asset: c.asset,
      symbol: symbolOf(ctx, c.asset),
      currentUSD: usdFromNumber(c.currentUSD),
      within20PctUSD: usdFromNumber(c.within20PctUSD),
      steps: c.steps.map((s) => ({
        dropPct: s.dropPct,
        accounts: s.accounts,
        collateralUSD: usdFromNumber(s.collateralUSD),
        cumulativeAccounts: s.cumulativeAccounts,
        cumulativeCollateralUSD: usdFromNumber(s.cumulativeCollateralUSD),
      })),
    })),
    liquidatableWithin20PctUSD: usdFromNumber(r.liquidatableWithin20PctUSD),
  };
}

export const RISK_CSV_HEADER = [
  "section",
  "asset",
  "symbol",
  "bucket_or_drop_pct",
  "accounts",
  "usd",
  "cumulative_accounts",
  "cumulative_usd",
  "block_number",
  "block_timestamp",
] as const;

/** HF buckets (accounts, debt) then each asset's liquidation curve (collateral liquidatable per 5% step). */
export function riskCsv(ctx: ApiContext, r: RiskAggregates, stamp: BlockStamp): string {
  const rows: (string | number)[][] = [];
  for (const b of r.distribution) {
    rows.push(["hf_distribution", "", "", b.label, b.accounts, usdFromNumber(b.debtUSD), "", "", stamp.blockNumber, stamp.blockTimestamp]);
  }
  for (const c of r.liquidationCurves) {
    const symbol = symbolOf(ctx, c.asset) ?? "";
    // Step 0: collateral of accounts liquidatable already (not part of the cumulative columns, as in the JSON).
    rows.push(["liquidation_curve", c.asset, symbol, 0, "", usdFromNumber(c.currentUSD), "", "", stamp.blockNumber, stamp.blockTimestamp]);
    for (const s of c.steps) {
      rows.push([
        "liquidation_curve",
        c.asset,
        symbol,
        s.dropPct,
        s.accounts,
        usdFromNumber(s.collateralUSD),
        s.cumulativeAccounts,
        usdFromNumber(s.cumulativeCollateralUSD),
        stamp.blockNumber,
        stamp.blockTimestamp,
      ]);
    }
  }
  return toCsv(RISK_CSV_HEADER, rows);
}
