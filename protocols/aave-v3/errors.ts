// Aave V3.0.x's revert vocabulary. V3.0 has no custom errors: it reverts with `require(cond, Errors.X)`, a numeric
// string reason (Errors.sol of @aave/core-v3 1.19.3), which the keeper reads as an Error(string) revert and matches
// by its reason. One list for the keeper and tests.
import type { Abi } from "viem";

/** The Errors.sol codes liquidationCall can revert with, and what they mean. */
export const AAVE_ERRORS = {
  RESERVE_INACTIVE: "27",
  RESERVE_PAUSED: "29",
  INVALID_BURN_AMOUNT: "25",
  HEALTH_FACTOR_NOT_BELOW_THRESHOLD: "45",
  COLLATERAL_CANNOT_BE_LIQUIDATED: "46",
  SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER: "47",
  PRICE_ORACLE_SENTINEL_CHECK_FAILED: "59",
} as const;

/**
 * Reasons meaning "the protocol refused to price an asset". AaveOracle itself never refuses (no staleness check; a
 * non-positive answer goes to the fallback oracle): only the L2 sentinel (sequencer down or in its grace period)
 * blocks a liquidation of an account whose HF is above 0.95.
 */
export const PRICE_ERRORS: ReadonlySet<string> = new Set([AAVE_ERRORS.PRICE_ORACLE_SENTINEL_CHECK_FAILED]);

/**
 * Reasons of liquidationCall meaning someone got there first: the HF is back at or above 1, the collateral was taken
 * (its collateral flag cleared once the balance reached 0), or the debt of that asset was repaid.
 */
export const LOST_RACE_ERRORS: ReadonlySet<string> = new Set([
  AAVE_ERRORS.HEALTH_FACTOR_NOT_BELOW_THRESHOLD,
  AAVE_ERRORS.COLLATERAL_CANNOT_BE_LIQUIDATED,
  AAVE_ERRORS.SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER,
]);

/** No custom errors in V3.0: Error(string) decodes without an ABI. */
export const errorsAbi: Abi = [];
