// Exact account data of a book account, read from the holder lists' exact balances (book.ts HolderList scB / sdB)
// instead of the account's positions in ProtocolState: the engine's exact confirmation on the hot path. Same inputs
// (ExactContext's per-asset indexes, prices and parameters), same protocol math, so the same result to the wei as
// ExactContext.account; it only skips the walk through the state's maps and the per-position allocations.
import type { AccountHealthFigures, PositionInput } from "../../protocols/types";
import type { CategoryConfig } from "../state/state";
import { N_DEBT, U8_STRIDE } from "./book";
import type { EngineData } from "./engine-data";
import type { AssetInputs, ExactContext } from "./exact";

/** A reusable position record: filled per confirmation, read by the protocol's health math, never kept. */
export interface ScratchPosition extends PositionInput {
  category: CategoryConfig | null;
}

/** A fresh scratch record (also the sweep worker's, exact-job.ts). */
export const scratchPosition = (): ScratchPosition => ({
  scaledCollateral: 0n,
  scaledDebt: 0n,
  liquidityIndex: 0n,
  borrowIndex: 0n,
  price: 0n,
  unit: 1n,
  ltvBps: 0n,
  liquidationThresholdBps: 0n,
  collateralEnabled: true,
  category: null,
});

export interface BookExactResult {
  data: AccountHealthFigures;
  hasDebt: boolean;
  /** Σ of the held positions' absolute rounding slack (base units): the exact anchor's width */
  slack: number;
}

export class BookExact {
  /** per slot k: the asset's inputs at the context's time (undefined: not looked up yet, null: not listed) */
  private readonly inputs: Array<AssetInputs | null | undefined> = [];
  private readonly pool: ScratchPosition[] = [];
  private readonly list: ScratchPosition[] = [];
  /** of the last `positions`: each position's asset slot, and their summed rounding slack */
  readonly slotOf: number[] = [];
  slack = 0;

  constructor(
    private readonly c: EngineData,
    private readonly ctx: ExactContext,
  ) {}

  /**
   * The account's data as the protocol computes it. Only for accounts whose holder entries are current (rebuilt
   * after their last position change) and whose every held price is fresh: what the engine's exact() sees.
   */
  account(id: number): BookExactResult {
    const list = this.positions(id);
    return { data: this.c.math.health(list), hasDebt: this.c.book.u8[id * U8_STRIDE + N_DEBT]! !== 0, slack: this.slack };
  }

  /**
   * The positions the protocol's math reads for the account (scratch records, valid until the next call), each
   * asset's slot in `slotOf` at the same index; their rounding slack in `slack`. exact-job.ts packs the same list
   * for the worker thread.
   */
  positions(id: number): readonly ScratchPosition[] {
    const { book, slots, state } = this.c;
    const base = id * book.stride;
    const list = this.list;
    list.length = 0;
    let slack = 0;
    for (let k = 0; k < slots.length; k++) {
      const h = book.slots[base + k]!;
      if (h < 0) continue;
      const c = this.inputsOf(k);
      if (c === null) continue;
      const s = slots[k]!;
      let p = this.pool[list.length];
      if (!p) {
        p = scratchPosition();
        this.pool.push(p);
      }
      p.scaledCollateral = s.holders.scB[h]!;
      p.scaledDebt = s.holders.sdB[h]!;
      p.liquidityIndex = c.liquidityIndex;
      p.borrowIndex = c.borrowIndex;
      p.price = c.price;
      p.unit = c.unit;
      p.ltvBps = c.ltvBps;
      p.liquidationThresholdBps = c.liquidationThresholdBps;
      // In the list ⟹ its collateral counts (else scB is 0n): the flag is on as far as the math is concerned.
      p.collateralEnabled = true;
      p.category = c.category === 0 ? null : state.categoryOf(book.addresses[id]!, s.address);
      slack += c.slack;
      this.slotOf[list.length] = k;
      list.push(p);
    }
    this.slack = slack;
    return list;
  }

  /** Asset slot k's inputs at the context's time (null: not listed), looked up once. */
  inputsOf(k: number): AssetInputs | null {
    let c = this.inputs[k];
    if (c === undefined) {
      c = this.ctx.inputs(this.c.slots[k]!.address);
      this.inputs[k] = c;
    }
    return c;
  }
}
