// Contract-test helpers: one deployment per file reset by snapshots, revert decoding, pinned timestamps, and
// reference formulas written independently of common/math.ts so the two can be checked against each other.
import hre from "hardhat";
import { expect } from "chai";
import { decodeErrorResult, parseEventLogs, type Hex, type TransactionReceipt } from "viem";
import {
  emittingAggregatorAbi,
  errorsAbi,
  interestRateModelAbi,
  marginPoolAbi,
  mockV3AggregatorAbi,
  testTokenAbi,
} from "../../protocols/marginpool/generated/abis";
import { interestRateModelBytecode, testTokenBytecode } from "../../protocols/marginpool/generated/bytecode";
import { deployContract } from "../../common/wallet";
import type { Hex20 } from "../../common/deployment";
import { deployFixture, mintAndApprove, revert, snapshot, tx, type Fixture, type Wallet } from "../fixtures/protocol";

export const WAD = 10n ** 18n;
export const RAY = 10n ** 27n;
export const BPS = 10_000n;
export const MAX_UINT = 2n ** 256n - 1n;
export const YEAR = 365n * 24n * 3600n;
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as const;

/**
 * Deploys once per describe block and rewinds the chain before every test: a deploy costs ~1 s, a revert ~1 ms.
 * Returns a getter because the fixture only exists once `before` has run.
 */
export function useFixture(opts: Parameters<typeof deployFixture>[0] = {}): () => Fixture {
  let f: Fixture | undefined;
  let snap = "";
  before(async () => {
    f = await deployFixture(opts);
    snap = await snapshot();
  });
  beforeEach(async () => {
    // evm_revert consumes the snapshot, so take a fresh one each time.
    await revert(snap);
    snap = await snapshot();
  });
  return () => {
    if (!f) throw new Error("fixture not deployed yet");
    return f;
  };
}

export const addr = (w: Wallet): Hex20 => w.account.address;
/** Call options that make `w` the sender of a simulated call (eth_call `from`). */
export const from = (w: Wallet): { account: Hex20 } => ({ account: w.account.address });

// ------------------------------------------------------------------ reverts

export interface DecodedRevert {
  errorName: string;
  args: readonly unknown[];
}

/**
 * Finds the revert data anywhere in an error's cause chain and decodes it with the Errors library ABI. Hardhat's
 * in-process provider hands viem an "unknown RPC error" whose innermost cause carries the raw data, and errors
 * bubbling up from the oracle are not in the pool's ABI, so viem's own decoding is not enough here.
 */
export function decodeRevert(e: unknown): DecodedRevert | null {
  const seen = new Set<unknown>();
  let cur: unknown = e;
  while (cur && typeof cur === "object" && !seen.has(cur)) {
    seen.add(cur);
    const c = cur as { data?: unknown; raw?: unknown; cause?: unknown };
    for (const candidate of [c.raw, c.data, (c.data as { data?: unknown } | undefined)?.data]) {
      if (typeof candidate === "string" && /^0x[0-9a-f]{8}/i.test(candidate)) {
        try {
          const d = decodeErrorResult({ abi: errorsAbi, data: candidate as Hex });
          return { errorName: d.errorName, args: (d.args ?? []) as readonly unknown[] };
        } catch {
          /* not one of ours: keep walking */
        }
      }
    }
    cur = c.cause;
  }
  return null;
}

/** Awaits `p` and asserts it reverted with the named custom error and, when given, exactly these arguments. */
export async function expectRevert(p: Promise<unknown>, errorName: string, args?: readonly unknown[]): Promise<DecodedRevert> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  if (error === undefined) expect.fail(`expected revert ${errorName}, but the call succeeded`);
  const d = decodeRevert(error);
  if (!d) expect.fail(`expected revert ${errorName}, got an undecodable error: ${(error as Error).message?.split("\n")[0]}`);
  expect(d.errorName).to.equal(errorName);
  if (args) expect(normaliseArgs(d.args)).to.deep.equal(normaliseArgs(args));
  return d;
}

/** Addresses compare case-insensitively (events are checksummed, wallets lower-case); everything else as is. */
export function norm<T>(x: T): T {
  if (typeof x === "string" && /^0x[0-9a-f]{40}$/i.test(x)) return x.toLowerCase() as T;
  if (Array.isArray(x)) return x.map(norm) as T;
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)])) as T;
  return x;
}
const normaliseArgs = (args: readonly unknown[]): unknown[] => norm([...args]);

/** Deep equality with addresses compared case-insensitively. */
export function expectEq(actual: unknown, expected: unknown, message?: string): void {
  expect(norm(actual), message).to.deep.equal(norm(expected));
}

// ------------------------------------------------------------------ transactions and events

export async function poolTx(f: Fixture, wallet: Wallet, functionName: string, args: unknown[]): Promise<TransactionReceipt> {
  return tx(f, wallet, f.deployment.pool, marginPoolAbi, functionName, args);
}

export function poolEvents(receipt: TransactionReceipt) {
  return parseEventLogs({ abi: marginPoolAbi, logs: receipt.logs });
}

/** The single event of that name in the receipt (fails when there are zero or several). */
export function oneEvent<N extends string>(receipt: TransactionReceipt, eventName: N) {
  const all = poolEvents(receipt).filter((e) => e.eventName === eventName);
  expect(all.length, `${eventName} events`).to.equal(1);
  return all[0]! as Extract<ReturnType<typeof poolEvents>[number], { eventName: N }>;
}

export async function mintTo(f: Fixture, wallet: Wallet, symbol: string, amount: bigint): Promise<void> {
  await mintAndApprove(f, wallet, symbol, amount);
}

/** Deposits raw units (mints them first). */
export async function depositRaw(f: Fixture, wallet: Wallet, symbol: string, amount: bigint): Promise<TransactionReceipt> {
  await mintAndApprove(f, wallet, symbol, amount);
  return poolTx(f, wallet, "deposit", [f.asset(symbol).address, amount, addr(wallet)]);
}

export async function borrowRaw(f: Fixture, wallet: Wallet, symbol: string, amount: bigint): Promise<TransactionReceipt> {
  return poolTx(f, wallet, "borrow", [f.asset(symbol).address, amount]);
}

export async function tokenBalance(f: Fixture, symbol: string, who: Hex20): Promise<bigint> {
  return f.publicClient.readContract({ address: f.asset(symbol).address as Hex20, abi: testTokenAbi, functionName: "balanceOf", args: [who] });
}

// ------------------------------------------------------------------ time

export async function latestTimestamp(f: Fixture): Promise<bigint> {
  return (await f.publicClient.getBlock()).timestamp;
}

export async function setNextTimestamp(ts: bigint): Promise<void> {
  await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(ts)]);
}

/**
 * The next block gets the latest block's timestamp (the config allows equal timestamps), so a transaction runs
 * at exactly the time the test just read the state at: no interest sneaks in between read and write.
 */
export async function freezeTime(f: Fixture): Promise<bigint> {
  const ts = await latestTimestamp(f);
  await setNextTimestamp(ts);
  return ts;
}

// ------------------------------------------------------------------ feeds

/** Writes a full round (answer, updatedAt) to the asset's feed; both aggregator kinds share this signature. */
export async function setRound(f: Fixture, symbol: string, answer: bigint, updatedAt: bigint, roundId = 1000n): Promise<void> {
  const a = f.asset(symbol);
  const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
  await tx(f, f.owner, a.feed, abi, "updateRoundData", [roundId, answer, updatedAt, updatedAt]);
}

/** The feed's latest round as the oracle reads it. */
export async function feedRound(f: Fixture, symbol: string): Promise<{ roundId: bigint; answer: bigint; updatedAt: bigint }> {
  const a = f.asset(symbol);
  const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
  const [roundId, answer, , updatedAt] = (await f.publicClient.readContract({
    address: a.feed as Hex20,
    abi,
    functionName: "latestRoundData",
  })) as readonly [bigint, bigint, bigint, bigint, bigint];
  return { roundId, answer, updatedAt };
}

/** Re-posts every feed's current answer so nothing is stale after a time jump. */
export async function refreshFeeds(f: Fixture): Promise<void> {
  for (const a of f.deployment.assets) {
    const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
    await tx(f, f.owner, a.feed, abi, "updateAnswer", [(await feedRound(f, a.symbol)).answer]);
  }
}

// ------------------------------------------------------------------ deployments beyond the fixture

export async function deployRateModel(f: Fixture, base: bigint, slope1: bigint, slope2: bigint, optimal: bigint): Promise<Hex20> {
  return deployContract({ publicClient: f.publicClient, walletClient: f.owner }, interestRateModelAbi, interestRateModelBytecode, [
    base,
    slope1,
    slope2,
    optimal,
  ]);
}

export async function deployToken(f: Fixture, symbol: string, decimals: number): Promise<Hex20> {
  return deployContract({ publicClient: f.publicClient, walletClient: f.owner }, testTokenAbi, testTokenBytecode, [symbol, symbol, decimals]);
}

/**
 * Gives the assets a rate model with every rate zero, so indexes stay at exactly 1 RAY: positions whose integer
 * math must land on an exact value (HF = 1, an exact LTV limit) are not disturbed by a second of interest.
 */
export async function zeroRates(f: Fixture, symbols: string[]): Promise<Hex20> {
  const model = await deployRateModel(f, 0n, 0n, 0n, RAY / 2n);
  for (const s of symbols) await poolTx(f, f.owner, "setRateModel", [f.asset(s).address, model]);
  return model;
}

// ------------------------------------------------------------------ reference math (independent of common/math.ts)

export const floorDiv = (n: bigint, d: bigint): bigint => n / d;
export const ceilDiv = (n: bigint, d: bigint): bigint => (n === 0n ? 0n : (n + d - 1n) / d);

/** 8-decimal USD price from a raw answer with `decimals` decimals (truncating, as the oracle). */
export const refNormalise = (answer: bigint, decimals: number): bigint =>
  decimals >= 8 ? answer / 10n ** BigInt(decimals - 8) : answer * 10n ** BigInt(8 - decimals);

/** Value of `amount` raw units in 8-decimal USD; `up` picks the rounding (debt up, collateral down). */
export const refValue = (amount: bigint, price: bigint, decimals: number, up: boolean): bigint =>
  up ? ceilDiv(amount * price, 10n ** BigInt(decimals)) : floorDiv(amount * price, 10n ** BigInt(decimals));

/** Kinked model: base + slope1·U/U* up to the kink, base + slope1 + slope2·(U−U*)/(1−U*) above; floor. */
export function refBorrowRate(u: bigint, base: bigint, slope1: bigint, slope2: bigint, optimal: bigint): bigint {
  if (u <= optimal) return base + floorDiv(slope1 * u, optimal);
  return base + slope1 + floorDiv(slope2 * (u - optimal), RAY - optimal);
}

/** Supply rate: borrow rate × utilisation × (1 − reserve factor), each product floored. */
export const refLiquidityRate = (borrowRate: bigint, u: bigint, reserveFactorBps: bigint): bigint =>
  floorDiv(floorDiv(borrowRate * u, RAY) * (BPS - reserveFactorBps), BPS);

/** Linear interest factor: 1 + r·t/year (RAY, floor). */
export const refLinearFactor = (rate: bigint, dt: bigint): bigint => RAY + floorDiv(rate * dt, YEAR);

/**
 * Compounded factor (1 + r/year)^t by the binomial expansion cut after the cubic term, with x = r/year:
 * 1 + t·x + C(t,2)·x² + C(t,3)·x³, each power of x floored in RAY as the contract does.
 */
export function refCompoundedFactor(rate: bigint, dt: bigint): bigint {
  if (dt === 0n) return RAY;
  const x2 = floorDiv(floorDiv(rate * rate, RAY), YEAR * YEAR);
  const x3 = floorDiv(floorDiv(x2 * rate, RAY), YEAR);
  const c2 = dt * (dt - 1n);
  const c3 = dt * (dt - 1n) * (dt > 2n ? dt - 2n : 0n);
  return RAY + floorDiv(rate * dt, YEAR) + floorDiv(c2 * x2, 2n) + floorDiv(c3 * x3, 6n);
}

/**
 * Collateral seized for `repay` of debt: repay·Pd/10^dd is its USD value, × (1 + bonus), ÷ Pc × 10^dc, floored
 * once at the end (the liquidator never receives a wei the formula does not grant).
 */
export function refSeize(repay: bigint, debtPrice: bigint, debtDecimals: number, collPrice: bigint, collDecimals: number, bonusBps: bigint): bigint {
  const num = repay * debtPrice * (BPS + bonusBps) * 10n ** BigInt(collDecimals);
  const den = 10n ** BigInt(debtDecimals) * BPS * collPrice;
  return floorDiv(num, den);
}

/** Debt a liquidator must repay to take all `collateral`: the inverse of refSeize, rounded up. */
export function refRepayForAll(
  collateral: bigint,
  debtPrice: bigint,
  debtDecimals: number,
  collPrice: bigint,
  collDecimals: number,
  bonusBps: bigint,
): bigint {
  const num = collateral * collPrice * BPS * 10n ** BigInt(debtDecimals);
  const den = 10n ** BigInt(collDecimals) * (BPS + bonusBps) * debtPrice;
  return ceilDiv(num, den);
}

/** The stored (not extrapolated) reserve state: the args of the asset's latest ReserveDataUpdated event. */
export async function lastReserveUpdate(f: Fixture, symbol: string) {
  const logs = await f.publicClient.getContractEvents({
    address: f.deployment.pool as Hex20,
    abi: marginPoolAbi,
    eventName: "ReserveDataUpdated",
    args: { asset: f.asset(symbol).address as Hex20 },
    fromBlock: BigInt(f.deployment.startBlock),
  });
  const last = logs[logs.length - 1];
  if (!last) throw new Error(`no ReserveDataUpdated for ${symbol}`);
  return last.args as { liquidityRate: bigint; borrowRate: bigint; liquidityIndex: bigint; borrowIndex: bigint; timestamp: bigint };
}
