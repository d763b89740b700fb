// One listed asset as the hot path sees it: its holder list, its float price factors at the reference indexes, and
// the parameters copied from ProtocolState (refreshed every evaluate; there are at most MAX_ASSETS of them).
import type { AssetState } from "../state/state";
import { HolderList } from "./book";
import type { Address, PriceInfo } from "./types";

const RAY_F = 1e27;
/** a drift no anchor survives (e^700 overflows nothing, e^(−700) is 0) */
const UNBOUNDED_DRIFT = 700;

export class AssetSlot {
  readonly holders = new HolderList();
  listed = false;
  unitF = 1;
  ltF = 0;
  /** last price (even when stale: unknown accounts are skipped anyway), 0 when none */
  priceF = 0;
  /** price present, positive and fresh */
  fresh = false;
  /** reference indexes: float sums are taken at these; interest since then is bounded, not summed */
  refL = 0n;
  refB = 0n;
  refLF = 0;
  refBF = 0;
  hasRef = false;
  /** factors currently folded into every holder's float sums (USD 8-dec units per scaled wei) */
  fc = 0;
  fd = 0;
  /** price and LT those factors were computed with: a change of either (not of the references) voids anchors */
  appliedPriceF = 0;
  appliedLtF = 0;
  /**
   * Price drift: Σ |ln(new / old)| over every applied price change (never decreases), so that e^(psi now − psi
   * then) bounds the price's move since then either way. A price appearing or vanishing counts as unbounded.
   */
  psi = 0;

  constructor(
    readonly k: number,
    readonly address: Address,
  ) {}

  syncParams(a: AssetState | undefined): void {
    this.listed = a !== undefined;
    if (!a) return;
    this.unitF = 10 ** a.decimals;
    this.ltF = Number(a.liquidationThresholdBps);
  }

  /** Returns whether the freshness changed (holders' unknown status must then be recomputed). */
  syncPrice(info: PriceInfo | undefined): boolean {
    const fresh = info !== undefined && info.status === "fresh" && info.price > 0n;
    this.priceF = info && info.price > 0n ? Number(info.price) : 0;
    const changed = fresh !== this.fresh;
    this.fresh = fresh;
    return changed;
  }

  setRef(liquidityIndex: bigint, borrowIndex: bigint): void {
    this.refL = liquidityIndex;
    this.refB = borrowIndex;
    this.refLF = Number(liquidityIndex);
    this.refBF = Number(borrowIndex);
    this.hasRef = true;
  }

  /** Records that the price now folded into the factors is `priceF` (after `appliedPriceF`). */
  applyPrice(): void {
    const from = this.appliedPriceF;
    const to = this.priceF;
    if (from === to) return;
    this.psi += from > 0 && to > 0 ? Math.abs(Math.log(to / from)) * (1 + 1e-9) + 1e-15 : UNBOUNDED_DRIFT;
    this.appliedPriceF = to;
  }

  /** Σ-weighted collateral per scaled wei (value·LT/BPS) and debt per scaled wei, at the reference indexes. */
  targetFc(): number {
    if (!this.listed || !this.hasRef) return 0;
    return (((this.priceF * this.refLF) / RAY_F / this.unitF) * this.ltF) / 1e4;
  }

  targetFd(): number {
    if (!this.listed || !this.hasRef) return 0;
    return (this.priceF * this.refBF) / RAY_F / this.unitF;
  }

  /**
   * Largest absolute gap (USD 8-dec units) between the float value of one position and the contract's: the
   * amount rounds by one wei (worth price/unit) and the value by one unit, on each side.
   */
  absError(): number {
    return this.priceF / this.unitF + 2;
  }
}
