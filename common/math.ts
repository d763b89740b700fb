// Bigint fixed-point math shared by the protocols' ports (WAD / RAY, mulDiv with either rounding, interest): every
// function rounds exactly as its Solidity twin. Each protocol's own account math lives in protocols/<name>/math.ts.
export const WAD = 10n ** 18n;
export const RAY = 10n ** 27n;
export const BPS = 10_000n;
export const MAX_UINT256 = 2n ** 256n - 1n;
export const SECONDS_PER_YEAR = 365n * 24n * 3600n;

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

/** A Chainlink answer of `feedDecimals` scaled to 8 decimals, truncating (as the protocols' oracles do). */
export function normalisePrice(answer: bigint, feedDecimals: number): bigint {
  if (feedDecimals > 8) return answer / 10n ** BigInt(feedDecimals - 8);
  return answer * 10n ** BigInt(8 - feedDecimals);
}
