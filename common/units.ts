// Decimal-string ⇄ bigint conversions for configuration and display (never for math that must equal the chain's).
import Decimal from "decimal.js";

export const WAD = 10n ** 18n;
export const RAY = 10n ** 27n;
export const BPS = 10_000n;
export const PRICE_DECIMALS = 8;

/** "1.5" with 18 decimals → 1500000000000000000n; rejects more fractional digits than `decimals`. */
export function parseUnitsExact(value: string, decimals: number): bigint {
  const d = new Decimal(value);
  const scaled = d.mul(new Decimal(10).pow(decimals));
  if (!scaled.isInteger()) throw new Error(`${value} has more than ${decimals} decimals`);
  return BigInt(scaled.toFixed(0));
}

export function formatUnits(value: bigint, decimals: number): string {
  return new Decimal(value.toString()).div(new Decimal(10).pow(decimals)).toFixed();
}

export function toDecimal(value: bigint, decimals: number): Decimal {
  return new Decimal(value.toString()).div(new Decimal(10).pow(decimals));
}
