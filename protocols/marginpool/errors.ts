// MarginPool's and PriceOracle's custom errors: the ABI to decode revert data, the names that refuse to price an
// asset (stale, invalid, no feed, L2 sequencer down or in its grace period) and those that mean nothing is left to
// liquidate. One list for the keeper, the auditor and tests.
export const PRICE_ERRORS: ReadonlySet<string> = new Set(["StalePrice", "InvalidPrice", "FeedNotSet", "SequencerDown", "GracePeriodNotOver"]);

/** Reverts of liquidate() meaning another liquidator (or a repay) got there first. */
export const LOST_RACE_ERRORS: ReadonlySet<string> = new Set(["HealthFactorNotBelowOne", "NoDebt", "NoCollateral"]);

export { errorsAbi } from "./generated/abis";
