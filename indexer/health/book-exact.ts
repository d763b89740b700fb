// Exact account data of a book account, read from the holder lists' exact balances (book.ts HolderList scB / sdB)
// instead of the account's positions in ProtocolState: the engine's exact confirmation on the hot path. Same inputs
// (ExactContext's per-asset indexes, prices and parameters), same protocol math, so the same result to the wei as
// ExactContext.account; it only skips the walk through the state's maps and the per-position allocations.
import type { AccountHealthFigures, PositionInput } from "../../protocols/types";
import { N_DEBT, U8_STRIDE } from "./book";
import type { EngineData } from "./engine-data";
import type { AssetInputs, ExactContext } from "./exact";

/** A reusable position record: filled per confirmation, read by the protocol's health math, never kept. */
interface ScratchPosition extends PositionInput {
  slack: number;
}

const scratch = (): ScratchPosition => ({
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
  slack: 0,
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

  constructor(
    private readonly c: EngineData,
    private readonly ctx: ExactContext,
  ) {}

  /**
   * The account's data as the protocol computes it. Only for accounts whose holder entries are current (rebuilt
   * after their last position change) and whose every held price is fresh: what the engine's exact() sees.
   */
  account(id: number): BookExactResult {
    const { book, slots, state } = this.c;
    const base = id * book.stride;
    const list = this.list;
    list.length = 0;
    let slack = 0;
    for (let k = 0; k < slots.length; k++) {
      const h = book.slots[base + k]!;
      if (h < 0) continue;
      const s = slots[k]!;
      let c = this.inputs[k];
      if (c === undefined) {
        c = this.ctx.inputs(s.address);
        this.inputs[k] = c;
      }
      if (c === null) continue;
      let p = this.pool[list.length];
      if (!p) {
        p = scratch();
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
      list.push(p);
    }
    return { data: this.c.math.health(list), hasDebt: book.u8[id * U8_STRIDE + N_DEBT]! !== 0, slack };
  }
}
