// The protocol's own answer for a set of accounts at one block: MarginPool.healthFactor and getAccountData, read in
// one batched round trip (2 eth_calls per account), each answer classified as a value, a price refusal (the pool
// cannot price a held asset at that block), another revert, or an RPC failure.
import { decodeErrorResult, decodeFunctionResult, encodeFunctionData, numberToHex, type Hex } from "viem";
import { PRICE_ERRORS } from "./errors";
import { errorsAbi, marginPoolAbi, priceOracleAbi } from "./generated/abis";
import { errorText } from "../../common/retry";
import { answerOf } from "../answers";
import type { Address, BlockSelector, PoolAnswer, PoolViews, RpcRequester } from "../types";

/** Reads both views for every account at `at`: all 2·n calls are issued in the same tick (one HTTP batch). */
export async function readPoolViews(client: RpcRequester, pool: Address, accounts: readonly Address[], at: BlockSelector): Promise<PoolViews[]> {
  const block: Hex | { blockHash: Hex } = "blockHash" in at ? { blockHash: at.blockHash } : numberToHex(at.blockNumber);
  const call = (data: Hex) => client.request({ method: "eth_call", params: [{ to: pool, data }, block] });
  const pending = accounts.map((account) => {
    const hf = call(encodeFunctionData({ abi: marginPoolAbi, functionName: "healthFactor", args: [account] }));
    const data = call(encodeFunctionData({ abi: marginPoolAbi, functionName: "getAccountData", args: [account] }));
    return Promise.allSettled([hf, data]);
  });
  const settled = await Promise.all(pending);
  return accounts.map((account, i) => {
    const [hf, data] = settled[i]!;
    return {
      account,
      healthFactor: answer(hf, (raw) => decodeFunctionResult({ abi: marginPoolAbi, functionName: "healthFactor", data: raw })),
      accountData: answer(data, (raw) => {
        const d = decodeFunctionResult({ abi: marginPoolAbi, functionName: "getAccountData", data: raw });
        return {
          totalCollateralBase: d.totalCollateralBase,
          totalDebtBase: d.totalDebtBase,
          availableBorrowsBase: d.availableBorrowsBase,
          currentLiquidationThresholdBps: d.currentLiquidationThresholdBps,
          ltvBps: d.ltvBps,
          healthFactor: d.healthFactor,
        };
      }),
    };
  });
}

/** PriceOracle.getAssetPrice of every asset at `at`, all calls in the same tick (one HTTP batch). */
export async function readOraclePrices(
  client: RpcRequester,
  oracle: Address,
  assets: readonly Address[],
  at: BlockSelector,
): Promise<PoolAnswer<bigint>[]> {
  const block: Hex | { blockHash: Hex } = "blockHash" in at ? { blockHash: at.blockHash } : numberToHex(at.blockNumber);
  const settled = await Promise.allSettled(
    assets.map((asset) =>
      client.request({
        method: "eth_call",
        params: [{ to: oracle, data: encodeFunctionData({ abi: priceOracleAbi, functionName: "getAssetPrice", args: [asset] }) }, block],
      }),
    ),
  );
  return settled.map((r) => answer(r, (raw) => decodeFunctionResult({ abi: priceOracleAbi, functionName: "getAssetPrice", data: raw })));
}

const answer = <T>(r: PromiseSettledResult<unknown>, decode: (raw: Hex) => T): PoolAnswer<T> => answerOf(r, decode, classifyFailure);

/**
 * A failed eth_call: a revert carries the error's ABI-encoded data (geth: `error.data`; Hardhat: `error.data.data`),
 * decoded against the protocol's Errors library. No revert data → the node or the transport failed.
 */
export function classifyFailure(error: unknown): PoolAnswer<never> {
  const data = revertData(error);
  if (data === null) return { kind: "rpc-error", error: shortText(error) };
  try {
    const d = decodeErrorResult({ abi: errorsAbi, data });
    const text = `${d.errorName}(${(d.args ?? []).map(String).join(", ")})`;
    return PRICE_ERRORS.has(d.errorName) ? { kind: "price-revert", error: text } : { kind: "revert", error: text };
  } catch {
    return { kind: "revert", error: `revert ${data.slice(0, 10)}` };
  }
}

function revertData(error: unknown): Hex | null {
  const isHex = (v: unknown): v is Hex => typeof v === "string" && /^0x([0-9a-fA-F]{2})*$/.test(v) && v.length >= 10;
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const d = (e as { data?: unknown }).data;
    if (isHex(d)) return d;
    if (d && typeof d === "object" && isHex((d as { data?: unknown }).data)) return (d as { data: Hex }).data;
  }
  return null;
}

function shortText(error: unknown): string {
  const e = error as { shortMessage?: string; details?: string; message?: string };
  const s = [e?.shortMessage, e?.details].filter(Boolean).join(": ") || errorText(error);
  return s.replace(/\s+/g, " ").trim().slice(0, 300);
}
