// A contract call from a local wallet for dev markets, simulations and tests: a fixed gas limit, the receipt waited
// for, and a revert reported with the contract's own reason string (whatever the mining mode).
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex, type PublicClient, type TransactionReceipt } from "viem";
import type { Deployment, Hex20 } from "./deployment";
import { MarginwatchError } from "./errors";
import type { Wallet } from "./wallet";

/** What a dev market's actions need: the chain, the market, and the deployer (it mints and owns the test feeds). */
export interface ChainContext {
  publicClient: PublicClient;
  deployment: Deployment;
  /** the deployer: owns the feeds' updateAnswer in test markets */
  admin: Wallet;
}

/** The deployment's asset by symbol (or by address). */
export function assetOf(d: Deployment, symbol: string): Deployment["assets"][number] {
  const a = d.assets.find((x) => x.symbol === symbol || x.address === symbol.toLowerCase());
  if (!a) throw new Error(`unknown asset ${symbol} (known: ${d.assets.map((x) => x.symbol).join(", ")})`);
  return a;
}

/** A contract call reverted: `reason` is the contract's revert string (null when the node gave none). */
export class TransactionRevertedError extends MarginwatchError {
  constructor(
    readonly functionName: string,
    readonly reason: string | null,
    readonly hash: Hex | null,
    /** the reason as a reader should see it (e.g. a protocol's error code with its name) */
    described: string | null,
    cause?: unknown,
  ) {
    super(`${functionName} reverted${described ? `: ${described}` : reason ? `: ${reason}` : ""}`, {
      ...(hash ? { details: `tx ${hash}` } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
  }
}

export interface TransactOptions {
  /**
   * gas limit (default 1,500,000). Fixed, not estimated: an estimate taken in the same second as a reserve's last
   * update skips the interest accrual the mined transaction (a second later) performs, and would run out of gas.
   */
  gas?: bigint;
  /** turns a revert string into what a reader should see, e.g. "35" → "35 (HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD)" */
  describe?: (reason: string) => string;
}

/** The revert string viem found in a failed call's error chain, if any. */
export function revertReason(error: unknown): string | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted?.reason) return reverted.reason;
  if (reverted?.data?.errorName) return reverted.data.errorName;
  return null;
}

/** Sends without waiting: the hash, or a TransactionRevertedError when the node refuses it as reverting (automine). */
export async function submit(
  wallet: Wallet,
  address: Hex20,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
  o: TransactOptions = {},
): Promise<Hex> {
  try {
    return await wallet.writeContract({
      address,
      abi: abi as never,
      functionName: functionName as never,
      args: args as never,
      account: wallet.account,
      chain: wallet.chain,
      gas: o.gas ?? 1_500_000n,
    });
  } catch (e) {
    const reason = revertReason(e);
    if (reason === null && !(e instanceof BaseError && e.walk((x) => x instanceof ContractFunctionRevertedError))) throw e;
    throw new TransactionRevertedError(functionName, reason, null, reason && o.describe ? o.describe(reason) : null, e);
  }
}

/**
 * Waits for a sent call's receipt; a reverted one throws with its reason, found by replaying the call on the state
 * before its block (the transactions before it in the same block are not replayed: the reason is a best effort).
 */
export async function confirm(publicClient: PublicClient, hash: Hex, functionName: string, o: TransactOptions = {}): Promise<TransactionReceipt> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status === "success") return receipt;
  let reason: string | null = null;
  try {
    const tx = await publicClient.getTransaction({ hash });
    await publicClient.call({ account: tx.from, to: tx.to, data: tx.input, gas: tx.gas, blockNumber: receipt.blockNumber - 1n });
  } catch (e) {
    reason = replayReason(e);
  }
  throw new TransactionRevertedError(functionName, reason, hash, reason && o.describe ? o.describe(reason) : null);
}

/** Sends a contract call and waits for its receipt; throws TransactionRevertedError (with the reason) on a revert. */
export async function transact(
  ctx: Pick<ChainContext, "publicClient">,
  wallet: Wallet,
  address: Hex20,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
  o: TransactOptions = {},
): Promise<TransactionReceipt> {
  const hash = await submit(wallet, address, abi, functionName, args, o);
  return confirm(ctx.publicClient, hash, functionName, o);
}

/** eth_call's revert: the raw revert data somewhere in viem's error chain; Error(string) decoded to its string. */
function replayReason(error: unknown): string | null {
  if (!(error instanceof BaseError)) return null;
  const reverted = revertReason(error);
  if (reverted) return reverted;
  // Nodes put the revert data in the JSON-RPC error's `data`, as a string or (Hardhat) as `{ message, data }`.
  const rawOf = (e: unknown): Hex | null => {
    const d = (e as { data?: unknown }).data;
    const raw = typeof d === "object" && d !== null ? (d as { data?: unknown }).data : d;
    return typeof raw === "string" && raw.startsWith("0x") && raw.length > 2 ? (raw as Hex) : null;
  };
  const data = rawOf(error.walk((e) => rawOf(e) !== null));
  if (!data) return null;
  try {
    const decoded = decodeErrorResult({ data });
    return decoded.errorName === "Error" ? String(decoded.args?.[0]) : decoded.errorName;
  } catch {
    return null;
  }
}
