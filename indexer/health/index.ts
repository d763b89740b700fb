// The health engine's public surface: the engine, its types, and the helpers the API and benchmarks use.
export { HealthEngine } from "./engine";
export { buildAccountHealth, formatHealthFactor } from "./account-view";
export { type AtRiskFilter, AtRiskView, RANK_KNOWN, RANK_NO_DEBT, RANK_UNKNOWN, type SortKey } from "./at-risk";
export { ExactContext, exactFromPositions, isLiquidatable } from "./exact";
export { liquidationPrice } from "./liquidation-price";
export { shockPrice } from "./stress";
export { statusOf } from "./status";
export { buildSyntheticPopulation, feedPrices, seededRandom } from "./synthetic";
export type * from "./types";
