// Aave V3.0 dev-market actions on the real Pool over viem: fund, supply, variable borrow, repay (also with aTokens),
// withdraw, aToken transfers, collateral flags, eMode, simple flash loans, feed prices. Each waits for its receipt and
// throws a TransactionRevertedError naming Aave's error (e.g. "35 (HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD)").
// Used by the market simulation, scripted markets and tests.
import { maxUint256, parseEventLogs, parseUnits, type TransactionReceipt } from "viem";
import type { Hex20 } from "../../common/deployment";
import { assetOf, type ChainContext, transact, type TransactOptions } from "../../common/transact";
import { deployContract, type Wallet } from "../../common/wallet";
import { aTokenAbi, mintableErc20Abi, mockFlashLoanSimpleReceiverAbi, mockV3AggregatorAbi, poolAbi } from "./generated/abis";
import { mockFlashLoanSimpleReceiverBytecode } from "./generated/bytecode";

export { assetOf, type ChainContext };
export { seededRandom as rng } from "../../common/random";

/** Raw token units (bigint) or a human decimal string in the asset's decimals ("1.5" WETH). */
export type Amount = bigint | string;

/** Aave's interest rate modes: only variable debt is used (stable borrowing is off on the dev market, as on real ones). */
export const VARIABLE_RATE = 2n;

/** Errors.sol of Aave V3.0.x (@aave/core-v3 1.19.3): the revert string (a number) → its constant's name. */
export const AAVE_ERRORS: Readonly<Record<string, string>> = {
  "1": "CALLER_NOT_POOL_ADMIN",
  "2": "CALLER_NOT_EMERGENCY_ADMIN",
  "3": "CALLER_NOT_POOL_OR_EMERGENCY_ADMIN",
  "4": "CALLER_NOT_RISK_OR_POOL_ADMIN",
  "5": "CALLER_NOT_ASSET_LISTING_OR_POOL_ADMIN",
  "6": "CALLER_NOT_BRIDGE",
  "7": "ADDRESSES_PROVIDER_NOT_REGISTERED",
  "8": "INVALID_ADDRESSES_PROVIDER_ID",
  "9": "NOT_CONTRACT",
  "10": "CALLER_NOT_POOL_CONFIGURATOR",
  "11": "CALLER_NOT_ATOKEN",
  "12": "INVALID_ADDRESSES_PROVIDER",
  "13": "INVALID_FLASHLOAN_EXECUTOR_RETURN",
  "14": "RESERVE_ALREADY_ADDED",
  "15": "NO_MORE_RESERVES_ALLOWED",
  "16": "EMODE_CATEGORY_RESERVED",
  "17": "INVALID_EMODE_CATEGORY_ASSIGNMENT",
  "18": "RESERVE_LIQUIDITY_NOT_ZERO",
  "19": "FLASHLOAN_PREMIUM_INVALID",
  "20": "INVALID_RESERVE_PARAMS",
  "21": "INVALID_EMODE_CATEGORY_PARAMS",
  "22": "BRIDGE_PROTOCOL_FEE_INVALID",
  "23": "CALLER_MUST_BE_POOL",
  "24": "INVALID_MINT_AMOUNT",
  "25": "INVALID_BURN_AMOUNT",
  "26": "INVALID_AMOUNT",
  "27": "RESERVE_INACTIVE",
  "28": "RESERVE_FROZEN",
  "29": "RESERVE_PAUSED",
  "30": "BORROWING_NOT_ENABLED",
  "31": "STABLE_BORROWING_NOT_ENABLED",
  "32": "NOT_ENOUGH_AVAILABLE_USER_BALANCE",
  "33": "INVALID_INTEREST_RATE_MODE_SELECTED",
  "34": "COLLATERAL_BALANCE_IS_ZERO",
  "35": "HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD",
  "36": "COLLATERAL_CANNOT_COVER_NEW_BORROW",
  "37": "COLLATERAL_SAME_AS_BORROWING_CURRENCY",
  "38": "AMOUNT_BIGGER_THAN_MAX_LOAN_SIZE_STABLE",
  "39": "NO_DEBT_OF_SELECTED_TYPE",
  "40": "NO_EXPLICIT_AMOUNT_TO_REPAY_ON_BEHALF",
  "41": "NO_OUTSTANDING_STABLE_DEBT",
  "42": "NO_OUTSTANDING_VARIABLE_DEBT",
  "43": "UNDERLYING_BALANCE_ZERO",
  "44": "INTEREST_RATE_REBALANCE_CONDITIONS_NOT_MET",
  "45": "HEALTH_FACTOR_NOT_BELOW_THRESHOLD",
  "46": "COLLATERAL_CANNOT_BE_LIQUIDATED",
  "47": "SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER",
  "49": "INCONSISTENT_FLASHLOAN_PARAMS",
  "50": "BORROW_CAP_EXCEEDED",
  "51": "SUPPLY_CAP_EXCEEDED",
  "52": "UNBACKED_MINT_CAP_EXCEEDED",
  "53": "DEBT_CEILING_EXCEEDED",
  "54": "UNDERLYING_CLAIMABLE_RIGHTS_NOT_ZERO",
  "55": "STABLE_DEBT_NOT_ZERO",
  "56": "VARIABLE_DEBT_SUPPLY_NOT_ZERO",
  "57": "LTV_VALIDATION_FAILED",
  "58": "INCONSISTENT_EMODE_CATEGORY",
  "59": "PRICE_ORACLE_SENTINEL_CHECK_FAILED",
  "60": "ASSET_NOT_BORROWABLE_IN_ISOLATION",
  "61": "RESERVE_ALREADY_INITIALIZED",
  "62": "USER_IN_ISOLATION_MODE_OR_LTV_ZERO",
  "63": "INVALID_LTV",
  "64": "INVALID_LIQ_THRESHOLD",
  "65": "INVALID_LIQ_BONUS",
  "66": "INVALID_DECIMALS",
  "67": "INVALID_RESERVE_FACTOR",
  "68": "INVALID_BORROW_CAP",
  "69": "INVALID_SUPPLY_CAP",
  "70": "INVALID_LIQUIDATION_PROTOCOL_FEE",
  "71": "INVALID_EMODE_CATEGORY",
  "72": "INVALID_UNBACKED_MINT_CAP",
  "73": "INVALID_DEBT_CEILING",
  "74": "INVALID_RESERVE_INDEX",
  "75": "ACL_ADMIN_CANNOT_BE_ZERO",
  "76": "INCONSISTENT_PARAMS_LENGTH",
  "77": "ZERO_ADDRESS_NOT_VALID",
  "78": "INVALID_EXPIRATION",
  "79": "INVALID_SIGNATURE",
  "80": "OPERATION_NOT_SUPPORTED",
  "81": "DEBT_CEILING_NOT_ZERO",
  "82": "ASSET_NOT_LISTED",
  "83": "INVALID_OPTIMAL_USAGE_RATIO",
  "84": "INVALID_OPTIMAL_STABLE_TO_TOTAL_DEBT_RATIO",
  "85": "UNDERLYING_CANNOT_BE_RESCUED",
  "86": "ADDRESSES_PROVIDER_ALREADY_ADDED",
  "87": "POOL_ADDRESSES_DO_NOT_MATCH",
  "88": "STABLE_BORROWING_ENABLED",
  "89": "SILOED_BORROWING_VIOLATION",
  "90": "RESERVE_DEBT_NOT_ZERO",
  "91": "FLASHLOAN_DISABLED",
};

/** "35" → "35 (HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD)"; any other reason as it is. */
export function describeAaveReason(reason: string): string {
  const name = AAVE_ERRORS[reason];
  return name ? `${reason} (${name})` : reason;
}

/**
 * A fixed gas limit per call (see TransactOptions.gas), two and a half to three times what the dev market's calls use (Pool
 * operations ≤ 300k, token and feed calls ≤ 105k), so that a block of Hardhat's 60M gas holds many of them.
 */
export function gasFor(functionName: string): bigint {
  return functionName === "approve" || functionName === "mint" || functionName === "updateAnswer" ? 300_000n : 800_000n;
}

/** Aave's transaction options for a call: its gas limit and Aave's error names. */
export function aaveTx(functionName: string): TransactOptions {
  return { gas: gasFor(functionName), describe: describeAaveReason };
}

/** A call to one of the market's contracts, receipt waited for, Aave's reason named on a revert. */
export function call(
  ctx: ChainContext,
  wallet: Wallet,
  address: Hex20,
  abi: readonly unknown[],
  functionName: string,
  args: readonly unknown[],
): Promise<TransactionReceipt> {
  return transact(ctx, wallet, address, abi, functionName, args, aaveTx(functionName));
}

function unitsOf(ctx: ChainContext, symbol: string, amount: Amount): bigint {
  return typeof amount === "bigint" ? amount : parseUnits(amount, assetOf(ctx.deployment, symbol).decimals);
}

const who = (wallet: Wallet) => wallet.account.address.toLowerCase() as Hex20;

async function balanceOf(ctx: ChainContext, token: Hex20, owner: Hex20): Promise<bigint> {
  return ctx.publicClient.readContract({ address: token, abi: aTokenAbi, functionName: "balanceOf", args: [owner] });
}

/**
 * Mints `amount` of the test token to the wallet (MintableERC20's `mint(amount)` mints to its caller) and approves
 * the Pool for everything once. Returns the amount minted.
 */
export async function fund(ctx: ChainContext, wallet: Wallet, symbol: string, amount: Amount): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const value = unitsOf(ctx, symbol, amount);
  if (value > 0n) await call(ctx, wallet, a.address, mintableErc20Abi, "mint", [value]);
  const allowance = await ctx.publicClient.readContract({
    address: a.address,
    abi: mintableErc20Abi,
    functionName: "allowance",
    args: [wallet.account.address, ctx.deployment.pool],
  });
  if (allowance < value || allowance === 0n) await call(ctx, wallet, a.address, mintableErc20Abi, "approve", [ctx.deployment.pool, maxUint256]);
  return value;
}

export interface SupplyOptions {
  /** who receives the aTokens (default: the wallet) */
  onBehalfOf?: Hex20;
  /** mint and approve the amount first (default true) */
  fund?: boolean;
}

/** Pool.supply; the first supply of an asset with LTV ≠ 0 turns its collateral flag on. Returns the amount. */
export async function supply(ctx: ChainContext, wallet: Wallet, symbol: string, amount: Amount, o: SupplyOptions = {}): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const value = unitsOf(ctx, symbol, amount);
  if (o.fund ?? true) await fund(ctx, wallet, symbol, value);
  await call(ctx, wallet, ctx.deployment.pool, poolAbi, "supply", [a.address, value, o.onBehalfOf ?? who(wallet), 0]);
  return value;
}

/** Pool.borrow at the variable rate (mode 2). Returns the amount. */
export async function borrow(ctx: ChainContext, wallet: Wallet, symbol: string, amount: Amount): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const value = unitsOf(ctx, symbol, amount);
  await call(ctx, wallet, ctx.deployment.pool, poolAbi, "borrow", [a.address, value, VARIABLE_RATE, 0, who(wallet)]);
  return value;
}

export interface RepayOptions {
  /** whose debt (default: the wallet's own; Aave refuses "all" on behalf of another) */
  onBehalfOf?: Hex20;
  /** mint what the wallet lacks first (default true) */
  fund?: boolean;
}

/**
 * Pool.repay of variable debt: an amount, or "all" (max uint: the whole debt at the block it is mined in). Mints
 * the wallet's shortfall first (for "all", the debt now plus 0.1% for the interest of the next blocks). Returns the
 * amount the Pool took (its Repay event).
 */
export async function repay(ctx: ChainContext, wallet: Wallet, symbol: string, amount: Amount | "all", o: RepayOptions = {}): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const onBehalfOf = o.onBehalfOf ?? who(wallet);
  const value = amount === "all" ? maxUint256 : unitsOf(ctx, symbol, amount);
  if (o.fund ?? true) {
    const need = amount === "all" ? await debtOf(ctx, symbol, onBehalfOf).then((d) => d + d / 1000n + 1n) : value;
    const have = await balanceOf(ctx, a.address, who(wallet));
    await fund(ctx, wallet, symbol, need > have ? need - have : 0n);
  }
  const receipt = await call(ctx, wallet, ctx.deployment.pool, poolAbi, "repay", [a.address, value, VARIABLE_RATE, onBehalfOf]);
  return repaidIn(receipt);
}

/** Pool.repayWithATokens: burns the wallet's aTokens of the asset against its variable debt ("all" = as much as it can). */
export async function repayWithATokens(ctx: ChainContext, wallet: Wallet, symbol: string, amount: Amount | "all"): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const value = amount === "all" ? maxUint256 : unitsOf(ctx, symbol, amount);
  const receipt = await call(ctx, wallet, ctx.deployment.pool, poolAbi, "repayWithATokens", [a.address, value, VARIABLE_RATE]);
  return repaidIn(receipt);
}

/** Pool.withdraw of an amount or "all" (max uint: the whole aToken balance). Returns the amount withdrawn. */
export async function withdraw(ctx: ChainContext, wallet: Wallet, symbol: string, amount: Amount | "all", to?: Hex20): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const value = amount === "all" ? maxUint256 : unitsOf(ctx, symbol, amount);
  const receipt = await call(ctx, wallet, ctx.deployment.pool, poolAbi, "withdraw", [a.address, value, to ?? who(wallet)]);
  const [event] = parseEventLogs({ abi: poolAbi, eventName: "Withdraw", logs: receipt.logs });
  return event!.args.amount;
}

/**
 * aToken.transfer: moves supplied balance (the Pool checks the sender's HF when the asset is its collateral). "all"
 * is the balance at the latest block (interest of the next block stays behind). Returns the amount sent.
 */
export async function transferAToken(ctx: ChainContext, wallet: Wallet, symbol: string, to: Hex20, amount: Amount | "all"): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const value = amount === "all" ? await balanceOf(ctx, a.aToken!, who(wallet)) : unitsOf(ctx, symbol, amount);
  await call(ctx, wallet, a.aToken!, aTokenAbi, "transfer", [to, value]);
  return value;
}

/** Pool.setUserUseReserveAsCollateral (turning it off is refused when HF would fall below 1). */
export async function setCollateral(ctx: ChainContext, wallet: Wallet, symbol: string, enabled: boolean): Promise<void> {
  await call(ctx, wallet, ctx.deployment.pool, poolAbi, "setUserUseReserveAsCollateral", [assetOf(ctx.deployment, symbol).address, enabled]);
}

/** Pool.setUserEMode (0 leaves eMode; a category requires every borrowed asset to be in it). */
export async function setUserEMode(ctx: ChainContext, wallet: Wallet, categoryId: number): Promise<void> {
  await call(ctx, wallet, ctx.deployment.pool, poolAbi, "setUserEMode", [categoryId]);
}

/** Deploys Aave's MockFlashLoanSimpleReceiver for the market (it mints the premium itself and approves the repayment). */
export async function deployFlashLoanReceiver(ctx: ChainContext): Promise<Hex20> {
  if (!ctx.deployment.addressesProvider) throw new Error("deployFlashLoanReceiver: the deployment names no addressesProvider");
  return deployContract(
    { publicClient: ctx.publicClient, walletClient: ctx.admin },
    mockFlashLoanSimpleReceiverAbi,
    mockFlashLoanSimpleReceiverBytecode,
    [ctx.deployment.addressesProvider],
  );
}

/** Pool.flashLoanSimple to a receiver from deployFlashLoanReceiver. Returns the premium paid (its FlashLoan event). */
export async function flashLoanSimple(ctx: ChainContext, wallet: Wallet, receiver: Hex20, symbol: string, amount: Amount): Promise<bigint> {
  const a = assetOf(ctx.deployment, symbol);
  const receipt = await call(ctx, wallet, ctx.deployment.pool, poolAbi, "flashLoanSimple", [
    receiver,
    a.address,
    unitsOf(ctx, symbol, amount),
    "0x",
    0,
  ]);
  const [event] = parseEventLogs({ abi: poolAbi, eventName: "FlashLoan", logs: receipt.logs });
  return event!.args.premium;
}

/** Sets the asset's feed: a human USD price ("2412.5") or the raw answer in the feed's decimals. */
export async function setPrice(ctx: ChainContext, symbol: string, usd: string | bigint): Promise<void> {
  const a = assetOf(ctx.deployment, symbol);
  const answer = typeof usd === "bigint" ? usd : parseUnits(usd, a.feedDecimals);
  await call(ctx, ctx.admin, a.feed, mockV3AggregatorAbi, "updateAnswer", [answer]);
}

/** The account's variable debt of the asset now (its debt token's balance). */
export function debtOf(ctx: ChainContext, symbol: string, account: Hex20): Promise<bigint> {
  return balanceOf(ctx, assetOf(ctx.deployment, symbol).variableDebtToken!, account);
}

/** The account's supplied balance of the asset now (its aToken balance). */
export function suppliedOf(ctx: ChainContext, symbol: string, account: Hex20): Promise<bigint> {
  return balanceOf(ctx, assetOf(ctx.deployment, symbol).aToken!, account);
}

function repaidIn(receipt: TransactionReceipt): bigint {
  const [event] = parseEventLogs({ abi: poolAbi, eventName: "Repay", logs: receipt.logs });
  return event!.args.amount;
}
