// The Hardhat artifacts scripts/gen-abis.ts turns into ./generated/{abis,bytecode}.ts (typed `as const` for viem).
export const ARTIFACTS: ReadonlyArray<{ name: string; artifact: string }> = [
  { name: "marginPool", artifact: "contracts/MarginPool.sol/MarginPool.json" },
  { name: "priceOracle", artifact: "contracts/PriceOracle.sol/PriceOracle.json" },
  { name: "interestRateModel", artifact: "contracts/InterestRateModel.sol/InterestRateModel.json" },
  { name: "testToken", artifact: "contracts/mocks/TestToken.sol/TestToken.json" },
  { name: "emittingAggregator", artifact: "contracts/mocks/EmittingAggregator.sol/EmittingAggregator.json" },
  { name: "mockV3Aggregator", artifact: "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol/MockV3Aggregator.json" },
  { name: "errors", artifact: "contracts/libraries/Errors.sol/Errors.json" },
];
