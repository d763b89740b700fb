// Protocol actions over viem (any transport): faucet, deposit, borrow, repay, withdraw, set a feed's price.
// Used by the market simulation, benchmarks and tests.
import { parseUnits, type PublicClient } from "viem";
import type { Deployment, Hex20 } from "../../common/deployment";
import type { Wallet } from "../../common/wallet";
import { emittingAggregatorAbi, marginPoolAbi, mockV3AggregatorAbi, testTokenAbi } from "./generated/abis";

export interface ChainContext {
  publicClient: PublicClient;
  deployment: Deployment;
  /** the deployer: owns the feeds' updateAnswer in test markets */
  admin: Wallet;
}

const MAX = 2n ** 256n - 1n;

export function assetOf(d: Deployment, symbol: string): Deployment["assets"][number] {
  const a = d.assets.find((x) => x.symbol === symbol || x.address === symbol.toLowerCase());
  if (!a) throw new Error(`unknown asset ${symbol} (known: ${d.assets.map((x) => x.symbol).join(", ")})`);
  return a;
}

export async function write(
  ctx: ChainContext,
  wallet: Wallet,
  address: Hex20,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
  wait = true,
): Promise<`0x${string}`> {
  // A fixed gas limit: an estimate taken in the same second as a reserve's last update skips the interest accrual
  // that the mined transaction (a second later) performs, and would run out of gas.
  const hash = await wallet.writeContract({
    address,
    abi: abi as never,
    functionName: functionName as never,
    args: args as never,
    account: wallet.account,
    chain: wallet.chain,
    gas: 1_500_000n,
  });
  if (wait) {
    const r = await ctx.publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
  }
  return hash;
}

/** Mints test tokens and approves the pool once (max allowance). */
export async function fund(ctx: ChainContext, wallet: Wallet, symbol: string, amount: bigint): Promise<void> {
  const a = assetOf(ctx.deployment, symbol);
  await write(ctx, wallet, a.address, testTokenAbi, "mint", [wallet.account.address, amount]);
  const allowance = await ctx.publicClient.readContract({
    address: a.address,
    abi: testTokenAbi,
    functionName: "allowance",
    args: [wallet.account.address, ctx.deployment.pool],
  });
  if (allowance < amount) await write(ctx, wallet, a.address, testTokenAbi, "approve", [ctx.deployment.pool, MAX]);
}

export async function deposit(ctx: ChainContext, wallet: Wallet, symbol: string, human: string): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const amount = parseUnits(human, a.decimals);
  await fund(ctx, wallet, symbol, amount);
  await write(ctx, wallet, ctx.deployment.pool, marginPoolAbi, "deposit", [a.address, amount, wallet.account.address]);
  return amount;
}

export async function borrow(ctx: ChainContext, wallet: Wallet, symbol: string, human: string): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const amount = parseUnits(human, a.decimals);
  await write(ctx, wallet, ctx.deployment.pool, marginPoolAbi, "borrow", [a.address, amount]);
  return amount;
}

export async function repay(ctx: ChainContext, wallet: Wallet, symbol: string, human: string | "all"): Promise<void> {
  const a = assetOf(ctx.deployment, symbol);
  const amount = human === "all" ? MAX : parseUnits(human, a.decimals);
  await fund(ctx, wallet, symbol, human === "all" ? parseUnits("1000000", a.decimals) : amount);
  await write(ctx, wallet, ctx.deployment.pool, marginPoolAbi, "repay", [a.address, amount, wallet.account.address]);
}

export async function withdraw(ctx: ChainContext, wallet: Wallet, symbol: string, human: string | "all"): Promise<void> {
  const a = assetOf(ctx.deployment, symbol);
  const amount = human === "all" ? MAX : parseUnits(human, a.decimals);
  await write(ctx, wallet, ctx.deployment.pool, marginPoolAbi, "withdraw", [a.address, amount, wallet.account.address]);
}

/** Sets a feed's answer (human USD price) through whichever aggregator kind the asset uses. */
export async function setPrice(ctx: ChainContext, symbol: string, usd: string): Promise<void> {
  const a = assetOf(ctx.deployment, symbol);
  const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
  await write(ctx, ctx.admin, a.feed, abi, "updateAnswer", [parseUnits(usd, a.feedDecimals)]);
}

/** Seeded PRNG (mulberry32) so simulations and tests are reproducible from a seed. */
export { seededRandom as rng } from "../../common/random";
