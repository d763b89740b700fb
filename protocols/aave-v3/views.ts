// Aave V3's own answers at one block: Pool.getUserAccountData per account (one eth_call each, all in the same tick:
// one HTTP batch; the health factor is that call's) and AaveOracle.getAssetsPrices. AaveOracle never refuses a
// stale answer (it has no heartbeat check): a revert of either view means a source could not be read or answered
// ≤ 0 with no fallback oracle (a call to address 0 reverts without data) — the protocol could not price — and is
// classified "price-revert"; a failure with no revert signal is the node's or the transport's ("rpc-error").
import { decodeFunctionResult, encodeFunctionData, type Hex, numberToHex } from "viem";
import { errorText } from "../../common/retry";
import { answerOf } from "../answers";
import type { Address, BlockSelector, PoolAnswer, PoolViews, RpcRequester } from "../types";
import { aaveOracleAbi, poolAbi } from "./generated/abis";

const blockOf = (at: BlockSelector): Hex | { blockHash: Hex } => ("blockHash" in at ? { blockHash: at.blockHash } : numberToHex(at.blockNumber));

export async function readAccountViews(client: RpcRequester, pool: Address, accounts: readonly Address[], at: BlockSelector): Promise<PoolViews[]> {
  const block = blockOf(at);
  const settled = await Promise.allSettled(
    accounts.map((account) =>
      client.request({
        method: "eth_call",
        params: [{ to: pool, data: encodeFunctionData({ abi: poolAbi, functionName: "getUserAccountData", args: [account] }) }, block],
      }),
    ),
  );
  return accounts.map((account, i) => {
    const data = answer(settled[i]!, (raw) => {
      const [totalCollateralBase, totalDebtBase, availableBorrowsBase, currentLiquidationThresholdBps, ltvBps, healthFactor] = decodeFunctionResult({
        abi: poolAbi,
        functionName: "getUserAccountData",
        data: raw,
      });
      return { totalCollateralBase, totalDebtBase, availableBorrowsBase, currentLiquidationThresholdBps, ltvBps, healthFactor };
    });
    const healthFactor: PoolAnswer<bigint> = data.kind === "value" ? { kind: "value", value: data.value.healthFactor } : data;
    return { account, healthFactor, accountData: data };
  });
}

/**
 * AaveOracle.getAssetsPrices(assets) in one call. It reverts when any one asset cannot be priced: then each asset is
 * asked alone (getAssetPrice, one batch) so the refusal is attributed to the asset that caused it.
 */
export async function readOraclePrices(
  client: RpcRequester,
  oracle: Address,
  assets: readonly Address[],
  at: BlockSelector,
): Promise<PoolAnswer<bigint>[]> {
  if (assets.length === 0) return [];
  const block = blockOf(at);
  const call = (data: Hex) => client.request({ method: "eth_call", params: [{ to: oracle, data }, block] });
  const [all] = await Promise.allSettled([call(encodeFunctionData({ abi: aaveOracleAbi, functionName: "getAssetsPrices", args: [assets] }))]);
  const prices = answer(all!, (raw) => decodeFunctionResult({ abi: aaveOracleAbi, functionName: "getAssetsPrices", data: raw }));
  if (prices.kind === "value") {
    if (prices.value.length !== assets.length) return assets.map(() => ({ kind: "revert", error: "getAssetsPrices: wrong number of prices" }));
    return prices.value.map((value) => ({ kind: "value", value }));
  }
  if (prices.kind !== "price-revert") return assets.map(() => prices);
  const one = await Promise.allSettled(
    assets.map((asset) => call(encodeFunctionData({ abi: aaveOracleAbi, functionName: "getAssetPrice", args: [asset] }))),
  );
  return one.map((r) => answer(r, (raw) => decodeFunctionResult({ abi: aaveOracleAbi, functionName: "getAssetPrice", data: raw })));
}

const answer = <T>(r: PromiseSettledResult<unknown>, decode: (raw: Hex) => T): PoolAnswer<T> => answerOf(r, decode, classifyFailure);

/** A revert (revert data, or a node's "execution reverted") is the oracle failing to price; anything else is the RPC's. */
export function classifyFailure(error: unknown): PoolAnswer<never> {
  const reverted = revertOf(error);
  if (reverted === null) return { kind: "rpc-error", error: shortText(error) };
  return { kind: "price-revert", error: reverted };
}

function revertOf(error: unknown): string | null {
  const isHex = (v: unknown): v is Hex => typeof v === "string" && /^0x([0-9a-fA-F]{2})*$/.test(v);
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const d = (e as { data?: unknown }).data;
    const data = isHex(d) ? d : d && typeof d === "object" && isHex((d as { data?: unknown }).data) ? (d as { data: Hex }).data : null;
    if (data !== null)
      return data === "0x"
        ? "reverted without data (no usable price: source failed or answered ≤ 0, no fallback oracle)"
        : `revert ${data.slice(0, 10)}`;
    const m = (e as { message?: unknown }).message;
    if (typeof m === "string" && /execution reverted|reverted without a reason|transaction reverted/i.test(m))
      return "reverted without data (no usable price: source failed or answered ≤ 0, no fallback oracle)";
  }
  return null;
}

function shortText(error: unknown): string {
  const e = error as { shortMessage?: string; details?: string; message?: string };
  const s = [e?.shortMessage, e?.details].filter(Boolean).join(": ") || errorText(error);
  return s.replace(/\s+/g, " ").trim().slice(0, 300);
}
