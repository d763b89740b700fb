// Number formatting for responses: bigints as exact decimal strings, human USD / prices / percentages via
// decimal.js (never a float round trip for chain values).
import Decimal from "decimal.js";

/** USD in the oracle's 8-decimal base units → "1234.56" (rounded down, as Aave shows balances). */
export function usdFromBase(base: bigint): string {
  return new Decimal(base.toString()).div(1e8).toFixed(2, Decimal.ROUND_DOWN);
}

/** A float USD figure (aggregates are float sums by design) → "1234.56". */
export function usdFromNumber(x: number): string {
  if (!Number.isFinite(x)) return "0.00";
  return new Decimal(x).toFixed(2, Decimal.ROUND_DOWN);
}

/** 8-decimal price → exact decimal string, trailing zeros trimmed ("3000", "0.99985"). */
export function priceFromBase(price: bigint | null): string | null {
  return price === null ? null : new Decimal(price.toString()).div(1e8).toFixed();
}

/** Raw token amount → exact decimal string in token units. */
export function amount(raw: bigint, decimals: number): string {
  return new Decimal(raw.toString()).div(new Decimal(10).pow(decimals)).toFixed();
}

/** A fraction (0.1234) → "0.1234" with fixed decimals. */
export function fraction(x: number, dp = 4): string {
  if (!Number.isFinite(x)) return "0";
  return new Decimal(x).toFixed(dp, Decimal.ROUND_HALF_EVEN);
}

/** JSON.stringify replacer: a bigint that slipped through becomes a decimal string instead of a 500. */
export function bigintReplacer(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
