// Public types of the health engine: prices in, health updates, account cards, aggregates and stress results out.
import type { Address } from "../state/events";

export type { Address };

/** A price as the protocol's oracle returns it (8-decimal USD), with the oracle tracker's verdict. */
export type PriceStatus = "fresh" | "stale" | "invalid";
export interface PriceInfo {
  price: bigint;
  status: PriceStatus;
}

/** A margin-call level: crossed down when HF < healthFactor, resolved when HF ≥ healthFactor·(1 + hysteresis). */
export interface MarginLevel {
  name: string;
  /** decimal string or number, e.g. "1.2" */
  healthFactor: string | number;
}

export interface HealthEngineOptions {
  /** default: warning 1.2, critical 1.05 */
  levels?: MarginLevel[];
  /** a level resolves only once HF ≥ level·(1 + hysteresis); default 200 (2%) */
  hysteresisBps?: number;
  /**
   * relative safety band (bps) around every threshold inside which the float prefilter defers to exact math, on top
   * of the protocol's own model error (ProtocolMath.hfModelError); default 0.1
   */
  nearBandBps?: number;
  /**
   * Interest growth (Σ of the log-growth of every asset's indexes) tolerated before the float sums are rebased on
   * the current indexes and the watch set is rebuilt; accounts that interest could move across a threshold within
   * this budget are re-checked every evaluate. Default 10 (0.1%).
   */
  driftBudgetBps?: number;
  /**
   * A price sweep over at least this many holders of one asset is shared with a worker thread, on a machine with
   * more than one core (started by the first evaluate of a book that big, used once ready; the same decisions
   * either way). Default 50 000; Infinity: never.
   */
  sweepWorkerMinHolders?: number;
}

/**
 * HealthEngine.sweepWorker(): the sweep worker's state, the price sweeps and batches of exact confirmations it took
 * part in, whether it was given up on.
 */
export interface SweepWorkerStatus {
  /** off: no sweep big enough yet, or closed; failed: it exited or missed a job, and sweeps run on one thread */
  state: "off" | "starting" | "on" | "failed";
  shared: number;
  /** batches of exact confirmations (exact-job.ts) it computed part of */
  exactShared: number;
  /** a job it did not answer in time (its range was redone on the engine's thread) */
  gaveUp: boolean;
}

export type AccountStatus = "healthy" | "warning" | "liquidatable" | "unknown";

export interface Crossing {
  account: Address;
  level: string;
  direction: "down" | "up";
  /**
   * exact HF (WAD) when exact math decided the crossing; null when the float bounds proved it (the HF was on the
   * far side of the level for every value they allow), in which case the figure is the account's exact card at
   * the update's block: `HealthEngine.healthFactors`
   */
  healthFactor: bigint | null;
}

export interface HealthUpdate {
  blockNumber: bigint;
  timestamp: bigint;
  /** sorted by address */
  liquidatableAdded: Address[];
  liquidatableRemoved: Address[];
  unknownAdded: Address[];
  unknownRemoved: Address[];
  /** sorted by account, then level order */
  crossings: Crossing[];
  /** exact bigint computations done by this evaluate */
  recomputed: number;
  /** accounts the float prefilter looked at */
  classified: number;
  /** whether the float sums were rebased on the current indexes (interest drift budget used up) */
  rebased: boolean;
}

export interface LiquidatableEntry {
  account: Address;
  /** exact HF at the last exact computation (block `computedAt`) */
  healthFactor: bigint;
  /** block at which this liquidatable episode began */
  since: bigint;
  computedAt: bigint;
  positionVersion: number;
}

export interface PositionHealth {
  asset: Address;
  /** underlying amounts, rounded as the protocol's own position view */
  collateral: bigint;
  debt: bigint;
  /** USD, 8 decimals, rounded as the contract does */
  collateralBase: bigint;
  debtBase: bigint;
  /** the balance counts as collateral (the account's flag, a non-zero LT: as the protocol's math decides) */
  usedAsCollateral: boolean;
  price: bigint | null;
  priceStatus: PriceStatus | "missing";
  collateralUSD: string;
  debtUSD: string;
}

export interface LiquidationPrice {
  asset: Address;
  currentPrice: bigint;
  /** largest 8-decimal price of this asset (others fixed) at which HF < 1; null if unreachable */
  price: bigint | null;
  priceUSD: string | null;
  /** % fall from the current price that reaches it, 2 decimals ("0.00" or negative when already liquidatable) */
  dropPct: string | null;
}

export interface AccountHealth {
  account: Address;
  timestamp: bigint;
  status: AccountStatus;
  /** WAD; MAX_UINT256 with no debt; null when it depends on a stale / invalid / missing price */
  healthFactor: bigint | null;
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  availableBorrowsBase: bigint;
  currentLiquidationThresholdBps: bigint;
  ltvBps: bigint;
  /** debt ÷ (debt + available borrow), decimal string ("0" with no debt) */
  borrowPowerUsed: string;
  positions: PositionHealth[];
  liquidationPrices: LiquidationPrice[];
  /** held assets whose price is not fresh */
  unknownAssets: Address[];
  /** margin levels currently active for the account (engine state, with hysteresis) */
  marginLevels: string[];
  /** the efficiency-mode category the account chose (Aave eMode), null when none */
  category: { id: number; label: string } | null;
  positionVersion: number;
  /** human strings, named as @aave/math-utils formatUserSummary */
  display: {
    healthFactor: string;
    totalCollateralUSD: string;
    totalBorrowsUSD: string;
    availableBorrowsUSD: string;
    netWorthUSD: string;
    currentLiquidationThreshold: string;
    currentLoanToValue: string;
    borrowPowerUsed: string;
  };
}

export interface HfBucket {
  label: string;
  /** inclusive lower bound, exclusive upper bound (null = unbounded) */
  min: number | null;
  max: number | null;
  accounts: number;
  debtUSD: number;
}

export interface AssetRisk {
  asset: Address;
  collateral: bigint;
  debt: bigint;
  collateralUSD: number;
  debtUSD: number;
  /** bad debt written off by the protocol, in asset units */
  deficit: bigint;
  deficitUSD: number;
}

export interface CurveStep {
  /** e.g. 5 for a 0–5% fall */
  dropPct: number;
  accounts: number;
  /** USD value (current price) of this asset's collateral held by accounts becoming liquidatable in this step */
  collateralUSD: number;
  cumulativeAccounts: number;
  cumulativeCollateralUSD: number;
}

export interface LiquidationCurve {
  asset: Address;
  /** collateral of accounts already liquidatable */
  currentUSD: number;
  steps: CurveStep[];
  within20PctUSD: number;
}

export interface RiskAggregates {
  timestamp: bigint;
  accounts: { total: number; withDebt: number; liquidatable: number; unknown: number };
  totalCollateralUSD: number;
  totalDebtUSD: number;
  distribution: HfBucket[];
  byAsset: AssetRisk[];
  badDebt: { accounts: number; amountUSD: number; protocolDeficitUSD: number };
  concentration: { top10Share: number; top1PctShare: number };
  liquidationCurves: LiquidationCurve[];
  /** Σ over assets of collateral liquidatable within a −20% fall of that asset alone */
  liquidatableWithin20PctUSD: number;
}

export interface StressResult {
  timestamp: bigint;
  shocks: Array<{ asset: Address; shock: number; price: bigint; shockedPrice: bigint }>;
  accountsLiquidatable: number;
  /** liquidatable under the shock but not now */
  newlyLiquidatable: number;
  /** accounts skipped because a price they depend on is not fresh */
  unknown: number;
  /** USD 8 decimals, exact per account (chain rounding) */
  debtLiquidatableBase: bigint;
  projectedBadDebtBase: bigint;
  debtLiquidatableUSD: number;
  projectedBadDebtUSD: number;
  /** exact bigint computations used */
  recomputed: number;
}
