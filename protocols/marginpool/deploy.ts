// Deploys the project's own protocol (PriceOracle, MarginPool, rate models, test tokens, feeds) with viem and returns
// the deployment record (its `protocol` is "marginpool").
import type { Deployment, Hex20 } from "../../common/deployment";
import { deployContract, send, type SendOptions } from "../../common/wallet";
import { parseUnitsExact } from "../../common/units";
import { emittingAggregatorAbi, interestRateModelAbi, marginPoolAbi, mockV3AggregatorAbi, priceOracleAbi, testTokenAbi } from "./generated/abis";
import {
  emittingAggregatorBytecode,
  interestRateModelBytecode,
  marginPoolBytecode,
  mockV3AggregatorBytecode,
  priceOracleBytecode,
  testTokenBytecode,
} from "./generated/bytecode";
import { DEFAULT_MARKET, type AssetSpec } from "./market";

export interface DeployOptions extends SendOptions {
  market?: readonly AssetSpec[];
  /** deploy a sequencer-uptime feed (answer 0 = up) and enable the check with this grace period */
  sequencerGracePeriod?: number;
}

export async function deployProtocol(o: DeployOptions): Promise<Deployment> {
  const market = o.market ?? DEFAULT_MARKET;
  const owner = o.walletClient.account.address.toLowerCase() as Hex20;
  const startBlock = Number(await o.publicClient.getBlockNumber()) + 1;
  const oracle = await deployContract(o, priceOracleAbi, priceOracleBytecode, [owner]);
  const pool = await deployContract(o, marginPoolAbi, marginPoolBytecode, [oracle, owner]);

  let sequencerUptimeFeed: Hex20 | null = null;
  if (o.sequencerGracePeriod !== undefined) {
    sequencerUptimeFeed = await deployContract(o, mockV3AggregatorAbi, mockV3AggregatorBytecode, [0, 0n]);
    await send(o, oracle, priceOracleAbi, "setSequencerUptimeFeed", [sequencerUptimeFeed, BigInt(o.sequencerGracePeriod)]);
  }

  const assets: Deployment["assets"] = [];
  for (const spec of market) {
    const token = await deployContract(o, testTokenAbi, testTokenBytecode, [spec.name, spec.symbol, spec.decimals]);
    const answer = parseUnitsExact(spec.priceUsd, spec.feedDecimals);
    const feed =
      spec.feedKind === "emitting"
        ? await deployContract(o, emittingAggregatorAbi, emittingAggregatorBytecode, [spec.feedDecimals, answer])
        : await deployContract(o, mockV3AggregatorAbi, mockV3AggregatorBytecode, [spec.feedDecimals, answer]);
    const rm = spec.rateModel;
    const rateModel = await deployContract(o, interestRateModelAbi, interestRateModelBytecode, [
      parseUnitsExact(rm.baseRate, 27),
      parseUnitsExact(rm.slope1, 27),
      parseUnitsExact(rm.slope2, 27),
      parseUnitsExact(rm.optimalUtilization, 27),
    ]);
    await send(o, oracle, priceOracleAbi, "setFeed", [token, feed, spec.heartbeat]);
    await send(o, pool, marginPoolAbi, "listAsset", [
      token,
      rateModel,
      spec.ltvBps,
      spec.liquidationThresholdBps,
      spec.liquidationBonusBps,
      spec.reserveFactorBps,
    ]);
    assets.push({
      symbol: spec.symbol,
      address: token,
      decimals: spec.decimals,
      feed,
      feedDecimals: spec.feedDecimals,
      feedKind: spec.feedKind,
      heartbeat: spec.heartbeat,
      rateModel,
    });
  }

  return {
    protocol: "marginpool",
    chainId: await o.publicClient.getChainId(),
    startBlock,
    deployer: owner,
    pool,
    oracle,
    sequencerUptimeFeed,
    deployedAt: new Date().toISOString(),
    assets,
  };
}
