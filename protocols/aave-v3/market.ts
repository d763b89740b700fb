// The Aave V3 dev market: WETH / WBTC / USDC / DAI with Aave-like risk parameters (close to Aave V3 Ethereum's at
// launch), one interest-rate strategy per reserve, a Chainlink-style feed per asset with its own heartbeat, and a
// stablecoin eMode category. Percentages are Aave's basis points; the liquidation bonus is in Aave's form
// (10500 = the liquidator receives 105% of the debt's value).

/** DefaultReserveInterestRateStrategy's constructor parameters, as fractions (e.g. "0.04" = 4%); written as RAY. */
export interface RateStrategySpec {
  optimalUsageRatio: string;
  baseVariableBorrowRate: string;
  variableRateSlope1: string;
  variableRateSlope2: string;
  stableRateSlope1: string;
  stableRateSlope2: string;
  baseStableRateOffset: string;
  stableRateExcessOffset: string;
  optimalStableToTotalDebtRatio: string;
}

export interface AaveAssetSpec {
  symbol: string;
  name: string;
  decimals: number;
  /** initial USD price as a decimal string */
  priceUsd: string;
  /** AaveOracle returns a source's answer as is in a base currency of unit 1e8 (USD): every feed has 8 decimals */
  feedDecimals: 8;
  /** seconds the feed may go without an update before marginwatch calls its price stale (Aave itself never checks) */
  heartbeat: number;
  ltvBps: number;
  liquidationThresholdBps: number;
  /** Aave's form: 10000 + bonus, e.g. 10500 */
  liquidationBonusBps: number;
  reserveFactorBps: number;
  /** share of the liquidation bonus that goes to the treasury */
  liquidationProtocolFeeBps: number;
  /** eMode category id (0 = none) */
  eModeCategory: number;
  rateStrategy: RateStrategySpec;
}

export interface EModeCategorySpec {
  id: number;
  ltvBps: number;
  liquidationThresholdBps: number;
  /** Aave's form: 10000 + bonus */
  liquidationBonusBps: number;
  label: string;
}

export interface AaveMarketSpec {
  /** PoolAddressesProvider's market id */
  marketId: string;
  assets: readonly AaveAssetSpec[];
  eModeCategories: readonly EModeCategorySpec[];
  /** flash-loan premium in bps of the amount (the Pool starts at 0: no premium) and the treasury's share of it */
  flashLoanPremiumTotalBps?: number;
  flashLoanPremiumToProtocolBps?: number;
}

const WETH_STRATEGY: RateStrategySpec = {
  optimalUsageRatio: "0.8",
  baseVariableBorrowRate: "0",
  variableRateSlope1: "0.038",
  variableRateSlope2: "0.8",
  stableRateSlope1: "0.04",
  stableRateSlope2: "0.8",
  baseStableRateOffset: "0.02",
  stableRateExcessOffset: "0.05",
  optimalStableToTotalDebtRatio: "0.2",
};

// Aave's rateStrategyVolatileOne
const WBTC_STRATEGY: RateStrategySpec = {
  optimalUsageRatio: "0.45",
  baseVariableBorrowRate: "0",
  variableRateSlope1: "0.07",
  variableRateSlope2: "3",
  stableRateSlope1: "0.07",
  stableRateSlope2: "3",
  baseStableRateOffset: "0.02",
  stableRateExcessOffset: "0.05",
  optimalStableToTotalDebtRatio: "0.2",
};

// Aave's rateStrategyStableOne
const USDC_STRATEGY: RateStrategySpec = {
  optimalUsageRatio: "0.9",
  baseVariableBorrowRate: "0",
  variableRateSlope1: "0.04",
  variableRateSlope2: "0.6",
  stableRateSlope1: "0.005",
  stableRateSlope2: "0.6",
  baseStableRateOffset: "0.01",
  stableRateExcessOffset: "0.08",
  optimalStableToTotalDebtRatio: "0.2",
};

// Aave's rateStrategyStableTwo
const DAI_STRATEGY: RateStrategySpec = {
  optimalUsageRatio: "0.8",
  baseVariableBorrowRate: "0",
  variableRateSlope1: "0.04",
  variableRateSlope2: "0.75",
  stableRateSlope1: "0.02",
  stableRateSlope2: "0.75",
  baseStableRateOffset: "0.02",
  stableRateExcessOffset: "0.05",
  optimalStableToTotalDebtRatio: "0.2",
};

export const STABLECOIN_EMODE = 1;

export const AAVE_MARKET: AaveMarketSpec = {
  marketId: "marginwatch-dev",
  assets: [
    {
      symbol: "WETH",
      name: "Wrapped Ether",
      decimals: 18,
      priceUsd: "3000",
      feedDecimals: 8,
      heartbeat: 3600,
      ltvBps: 8000,
      liquidationThresholdBps: 8250,
      liquidationBonusBps: 10500,
      reserveFactorBps: 1500,
      liquidationProtocolFeeBps: 1000,
      eModeCategory: 0,
      rateStrategy: WETH_STRATEGY,
    },
    {
      symbol: "WBTC",
      name: "Wrapped BTC",
      decimals: 8,
      priceUsd: "60000",
      feedDecimals: 8,
      heartbeat: 3600,
      ltvBps: 7000,
      liquidationThresholdBps: 7500,
      liquidationBonusBps: 10650,
      reserveFactorBps: 2000,
      liquidationProtocolFeeBps: 1000,
      eModeCategory: 0,
      rateStrategy: WBTC_STRATEGY,
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
      liquidationBonusBps: 10450,
      reserveFactorBps: 1000,
      liquidationProtocolFeeBps: 1000,
      eModeCategory: STABLECOIN_EMODE,
      rateStrategy: USDC_STRATEGY,
    },
    {
      symbol: "DAI",
      name: "Dai Stablecoin",
      decimals: 18,
      priceUsd: "1",
      feedDecimals: 8,
      heartbeat: 86400,
      ltvBps: 7500,
      liquidationThresholdBps: 8000,
      liquidationBonusBps: 10500,
      reserveFactorBps: 1000,
      liquidationProtocolFeeBps: 1000,
      eModeCategory: STABLECOIN_EMODE,
      rateStrategy: DAI_STRATEGY,
    },
  ],
  eModeCategories: [{ id: STABLECOIN_EMODE, ltvBps: 9300, liquidationThresholdBps: 9500, liquidationBonusBps: 10100, label: "Stablecoins" }],
  // Aave V3 Ethereum's: 0.05%, of which 0.04% to the treasury (the rest raises the liquidity index)
  flashLoanPremiumTotalBps: 5,
  flashLoanPremiumToProtocolBps: 4,
};
