// The default market listed by the deploy script: four assets with realistic risk parameters and heartbeats.
export interface RateModelSpec {
  /** annual rates and utilisation as fractions, e.g. "0.04" = 4% */
  baseRate: string;
  slope1: string;
  slope2: string;
  optimalUtilization: string;
}

export interface AssetSpec {
  symbol: string;
  name: string;
  decimals: number;
  /** initial USD price as a decimal string */
  priceUsd: string;
  feedDecimals: number;
  /** seconds a feed may go without an update before its price is stale */
  heartbeat: number;
  ltvBps: number;
  liquidationThresholdBps: number;
  liquidationBonusBps: number;
  reserveFactorBps: number;
  rateModel: RateModelSpec;
  /** "emitting": a test aggregator that emits AnswerUpdated; "silent": Chainlink's MockV3Aggregator (no events) */
  feedKind: "silent" | "emitting";
}

const VOLATILE: RateModelSpec = { baseRate: "0", slope1: "0.027", slope2: "0.8", optimalUtilization: "0.9" };
const BTC: RateModelSpec = { baseRate: "0", slope1: "0.04", slope2: "3", optimalUtilization: "0.45" };
const STABLE: RateModelSpec = { baseRate: "0", slope1: "0.06", slope2: "0.6", optimalUtilization: "0.92" };

export const DEFAULT_MARKET: readonly AssetSpec[] = [
  {
    symbol: "WETH",
    name: "Wrapped Ether",
    decimals: 18,
    priceUsd: "3000",
    feedDecimals: 8,
    heartbeat: 3600,
    ltvBps: 8000,
    liquidationThresholdBps: 8250,
    liquidationBonusBps: 500,
    reserveFactorBps: 1500,
    rateModel: VOLATILE,
    feedKind: "emitting",
  },
  {
    symbol: "WBTC",
    name: "Wrapped BTC",
    decimals: 8,
    priceUsd: "60000",
    feedDecimals: 8,
    heartbeat: 3600,
    ltvBps: 7300,
    liquidationThresholdBps: 7800,
    liquidationBonusBps: 650,
    reserveFactorBps: 2000,
    rateModel: BTC,
    feedKind: "silent",
  },
  {
    symbol: "USDC",
    name: "USD Coin",
    decimals: 6,
    priceUsd: "1",
    feedDecimals: 8,
    heartbeat: 86400,
    ltvBps: 7700,
    liquidationThresholdBps: 8000,
    liquidationBonusBps: 450,
    reserveFactorBps: 1000,
    rateModel: STABLE,
    feedKind: "silent",
  },
  {
    // An 18-decimal feed exercises the oracle's decimal normalisation.
    symbol: "DAI",
    name: "Dai Stablecoin",
    decimals: 18,
    priceUsd: "1",
    feedDecimals: 18,
    heartbeat: 86400,
    ltvBps: 7500,
    liquidationThresholdBps: 8000,
    liquidationBonusBps: 500,
    reserveFactorBps: 1000,
    rateModel: STABLE,
    feedKind: "emitting",
  },
];
