// Exact (bigint) account data at a timestamp, by the protocol's own math (protocols/<name>/math.ts) and equal to its
// account-data view to the wei: the only numbers the engine reports. The float prefilter only decides when this
// needs to run.
import type { AccountData, PositionInput, ProtocolMath } from "../../protocols/types";
import type { Position, ProtocolState } from "../state/state";
import type { Address, PriceInfo } from "./types";

export interface ExactPosition extends PositionInput {
  asset: Address;
  /** price status as the engine knows it; "missing" when no price was ever set */
  status: PriceInfo["status"] | "missing";
}

export interface ExactResult {
  data: AccountData;
  positions: ExactPosition[];
  hasDebt: boolean;
  /** held assets whose price is not fresh: the chain would revert, so the HF is unknown */
  unknownAssets: Address[];
}

/** One asset's inputs at the context's timestamp, looked up once per context (the hot path reads one entry). */
export interface AssetInputs {
  liquidityIndex: bigint;
  borrowIndex: bigint;
  unit: bigint;
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
  /** efficiency-mode category of the asset (0: none) */
  category: number;
  price: bigint;
  status: PriceInfo["status"] | "missing";
  /** absolute rounding slack of one position's value (one wei of the asset plus one unit of value, twice), float */
  slack: number;
}

/** Per-asset inputs at one timestamp (indexes extrapolated by the protocol's math), cached per asset. */
export class ExactContext {
  private readonly cache = new Map<Address, { liquidityIndex: bigint; borrowIndex: bigint; unit: bigint }>();
  private readonly inputsCache = new Map<Address, AssetInputs | null>();

  constructor(
    readonly state: ProtocolState,
    readonly priceOf: (asset: Address) => PriceInfo | undefined,
    readonly now: bigint,
    readonly math: ProtocolMath,
  ) {}

  indexes(asset: Address): { liquidityIndex: bigint; borrowIndex: bigint; unit: bigint } | undefined {
    let c = this.cache.get(asset);
    if (c) return c;
    const a = this.state.assets.get(asset);
    if (!a) return undefined;
    c = { ...this.math.indexesAt(a, this.now), unit: 10n ** BigInt(a.decimals) };
    this.cache.set(asset, c);
    return c;
  }

  /** Everything a position of `asset` needs, once per context (null: not listed). */
  inputs(asset: Address): AssetInputs | null {
    let c = this.inputsCache.get(asset);
    if (c !== undefined) return c;
    const a = this.state.assets.get(asset);
    const idx = this.indexes(asset);
    if (!a || !idx) c = null;
    else {
      const info = this.priceOf(asset);
      const price = info?.price ?? 0n;
      c = {
        liquidityIndex: idx.liquidityIndex,
        borrowIndex: idx.borrowIndex,
        unit: idx.unit,
        ltvBps: a.ltvBps,
        liquidationThresholdBps: a.liquidationThresholdBps,
        category: a.category,
        price,
        status: info ? info.status : "missing",
        slack: Number(price) / Number(idx.unit) + 2,
      };
    }
    this.inputsCache.set(asset, c);
    return c;
  }

  /**
   * The account's positions as the contract sees them: only assets it holds, in any order (the sums are integer
   * additions, so order does not change the result). `priceOverride` replaces some prices (stress, what-if).
   */
  positions(account: Address, held: Map<Address, Position> | undefined, priceOverride?: Map<Address, bigint>): ExactPosition[] {
    const out: ExactPosition[] = [];
    if (!held) return out;
    for (const [asset, p] of held) {
      if (p.scaledCollateral === 0n && p.scaledDebt === 0n) continue;
      const c = this.inputs(asset);
      if (!c) continue;
      const override = priceOverride?.get(asset);
      // One flat object per position: this runs for every exact confirmation on the hot path.
      out.push({
        asset,
        scaledCollateral: p.scaledCollateral,
        scaledDebt: p.scaledDebt,
        liquidityIndex: c.liquidityIndex,
        borrowIndex: c.borrowIndex,
        price: override ?? c.price,
        unit: c.unit,
        ltvBps: c.ltvBps,
        liquidationThresholdBps: c.liquidationThresholdBps,
        collateralEnabled: p.collateralFlag ?? this.math.collateralDefault,
        category: c.category === 0 ? null : this.state.categoryOf(account, asset),
        status: c.status,
      });
    }
    return out;
  }

  account(account: Address, priceOverride?: Map<Address, bigint>): ExactResult {
    const positions = this.positions(account, this.state.accounts.get(account), priceOverride);
    return exactFromPositions(this.math, positions);
  }
}

export function exactFromPositions(math: ProtocolMath, positions: ExactPosition[]): ExactResult {
  let hasDebt = false;
  const unknownAssets: Address[] = [];
  for (const p of positions) {
    if (p.scaledDebt !== 0n) hasDebt = true;
    // Only prices the account data reads: a balance that does not count as collateral does not need one.
    if (p.status !== "fresh" && readsPrice(math, p)) unknownAssets.push(p.asset);
  }
  unknownAssets.sort();
  return { data: math.accountData(positions), positions, hasDebt, unknownAssets };
}

/** Whether the account data depends on this position's price: it is borrowed, or its collateral counts. */
export function readsPrice(math: ProtocolMath, p: PositionInput): boolean {
  return p.scaledDebt !== 0n || (p.scaledCollateral !== 0n && math.collateralTerms(p).counts);
}

/** The chain's liquidation condition without the division: HF < 1 ⟺ Σ value·LT < debt·BPS. */
export function isLiquidatable(d: AccountData): boolean {
  return d.totalDebtBase !== 0n && d.weightedThresholdBase < d.totalDebtBase * 10_000n;
}
