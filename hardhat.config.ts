// Hardhat 2 config: compiles with the solc-js build shipped in the npm `solc` package (no network needed).
import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-viem";

const SOLC_VERSION: string = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion === SOLC_VERSION) {
    const compilerPath = path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js");
    return { compilerPath, isSolcJs: true, version: args.solcVersion, longVersion: require("solc").version() };
  }
  return runSuper();
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
  },
  paths: { sources: "./contracts", tests: "./test", cache: "./cache", artifacts: "./artifacts" },
  networks: {
    hardhat: { chainId: 31337, allowBlocksWithSameTimestamp: true },
    localhost: { url: process.env.RPC_URL ?? "http://127.0.0.1:8545" },
  },
  mocha: { timeout: 120_000 },
};

export default config;
