// The artifacts scripts/gen-abis.ts turns into ./generated/{abis,bytecode}.ts (typed `as const` for viem): Aave V3.0.x
// from @aave/core-v3 1.19.3's precompiled artifacts (Pool, PoolConfigurator and FlashLoanLogic come with
// `<name>LinkReferences`: deploy.ts links their libraries), and the repo's compiled Chainlink MockV3Aggregator as the
// price sources (it answers latestAnswer(), which AaveOracle reads, and latestRoundData(), which the oracle tracker reads).
const AAVE = "node_modules/@aave/core-v3/artifacts";

export const ARTIFACTS: ReadonlyArray<{ name: string; artifact: string; root?: string }> = [
  { name: "poolAddressesProvider", root: AAVE, artifact: "contracts/protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider.json" },
  { name: "aclManager", root: AAVE, artifact: "contracts/protocol/configuration/ACLManager.sol/ACLManager.json" },
  { name: "pool", root: AAVE, artifact: "contracts/protocol/pool/Pool.sol/Pool.json" },
  { name: "poolConfigurator", root: AAVE, artifact: "contracts/protocol/pool/PoolConfigurator.sol/PoolConfigurator.json" },
  { name: "aaveProtocolDataProvider", root: AAVE, artifact: "contracts/misc/AaveProtocolDataProvider.sol/AaveProtocolDataProvider.json" },
  { name: "aaveOracle", root: AAVE, artifact: "contracts/misc/AaveOracle.sol/AaveOracle.json" },
  { name: "aToken", root: AAVE, artifact: "contracts/protocol/tokenization/AToken.sol/AToken.json" },
  { name: "stableDebtToken", root: AAVE, artifact: "contracts/protocol/tokenization/StableDebtToken.sol/StableDebtToken.json" },
  { name: "variableDebtToken", root: AAVE, artifact: "contracts/protocol/tokenization/VariableDebtToken.sol/VariableDebtToken.json" },
  {
    name: "defaultReserveInterestRateStrategy",
    root: AAVE,
    artifact: "contracts/protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy.json",
  },
  { name: "borrowLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/BorrowLogic.sol/BorrowLogic.json" },
  { name: "bridgeLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/BridgeLogic.sol/BridgeLogic.json" },
  { name: "eModeLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/EModeLogic.sol/EModeLogic.json" },
  { name: "flashLoanLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/FlashLoanLogic.sol/FlashLoanLogic.json" },
  { name: "liquidationLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/LiquidationLogic.sol/LiquidationLogic.json" },
  { name: "poolLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/PoolLogic.sol/PoolLogic.json" },
  { name: "supplyLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/SupplyLogic.sol/SupplyLogic.json" },
  { name: "configuratorLogic", root: AAVE, artifact: "contracts/protocol/libraries/logic/ConfiguratorLogic.sol/ConfiguratorLogic.json" },
  { name: "mintableErc20", root: AAVE, artifact: "contracts/mocks/tokens/MintableERC20.sol/MintableERC20.json" },
  { name: "mockV3Aggregator", artifact: "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol/MockV3Aggregator.json" },
  // the dev market's flash-loan receiver: mints the premium itself (a MintableERC20) and approves the repayment
  {
    name: "mockFlashLoanSimpleReceiver",
    root: AAVE,
    artifact: "contracts/mocks/flashloan/MockSimpleFlashLoanReceiver.sol/MockFlashLoanSimpleReceiver.json",
  },
];
