// The custom errors with which MarginPool / PriceOracle refuse to price an asset (stale, invalid, no feed, L2
// sequencer down or in its grace period): one list for the keeper, the auditor and tests.
export const PRICE_ERRORS: ReadonlySet<string> = new Set(["StalePrice", "InvalidPrice", "FeedNotSet", "SequencerDown", "GracePeriodNotOver"]);
