// The project's own protocol (contracts/: MarginPool, PriceOracle, InterestRateModel) behind the adapter interface.
import path from "node:path";
import type { Deployment } from "../../common/deployment";
import type { ProtocolAdapter, Watched } from "../types";
import type { ProtocolState } from "../../indexer/state/state";
import { decodeLog, discoverFeeds } from "./decode";
import { deployProtocol } from "./deploy";
import { liquidation } from "./liquidation";
import { accountData, collateralValue, currentIndexes, debtValue, health, rayMulDown, rayMulUp } from "./math";
import { MarketSimulation } from "./simulation";
import { readOraclePrices, readPoolViews } from "./views";

const lower = (a: string) => a.toLowerCase() as `0x${string}`;

/** The pool and its oracle from the deployment; every aggregator the deployment or a FeedSet named. */
function watch(d: Deployment, state: ProtocolState): Watched[] {
  const feeds = new Set<`0x${string}`>(d.assets.map((a) => lower(a.feed)));
  for (const f of state.feeds.values()) feeds.add(f.aggregator);
  return [
    { address: lower(d.pool), family: "pool" },
    { address: lower(d.oracle), family: "oracle" },
    ...[...feeds].sort().map((address) => ({ address, family: "feed" })),
  ];
}

export const marginpool: ProtocolAdapter = {
  name: "marginpool",
  label: "MarginPool",
  watch,
  discover: discoverFeeds,
  decode: decodeLog,
  // Every deposit is collateral at the reserve's own LT: no flag, no categories.
  math: {
    indexesAt: currentIndexes,
    accountData,
    health,
    healthModule: path.join(__dirname, "math"),
    collateralValue,
    debtValue,
    collateralAmount: rayMulDown,
    debtAmount: rayMulUp,
    collateralTerms: (p) => ({ counts: true, liquidationThresholdBps: p.liquidationThresholdBps }),
    collateralDefault: true,
    // Σ value·LT / debt, each value rounded once: the float model is exact but for that rounding.
    hfModelError: () => 0,
  },
  views: {
    read: (client, d, accounts, at) => readPoolViews(client, d.pool, accounts, at),
    prices: (client, d, assets, at) => readOraclePrices(client, d.oracle, assets, at),
  },
  liquidation,
  dev: {
    deploy: (o) => deployProtocol(o),
    simulation: (o) => new MarketSimulation(o),
  },
};
