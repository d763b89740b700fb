// Compact numeric storage of the hot path: per-account typed arrays (float sums, flags, levels) and per-asset holder
// lists, so a price update walks one asset's holders with no object allocation and no bigint.
import type { Address } from "./types";

/** Account flag bits (AccountBook.flags). */
export const LIQ = 1; // in the liquidatable set (exact)
export const UNKNOWN = 2; // has debt and holds an asset whose price is not fresh
export const WATCH = 4; // close enough to a threshold that interest alone could cross it before the next rebase
export const DIRTY = 8; // positions changed: rebuild holder entries and float sums from state

/** Holders of one asset: account id, scaled collateral and scaled debt as float64 (raw token wei, not decimals). */
export class HolderList {
  ids = new Int32Array(16);
  sc = new Float64Array(16);
  sd = new Float64Array(16);
  n = 0;

  push(id: number, sc: number, sd: number): number {
    if (this.n === this.ids.length) this.grow();
    const slot = this.n++;
    this.ids[slot] = id;
    this.sc[slot] = sc;
    this.sd[slot] = sd;
    return slot;
  }

  /** Swap-removes `slot`; returns the id moved into it (to fix its back-pointer), or -1. */
  removeAt(slot: number): number {
    const last = --this.n;
    if (slot === last) return -1;
    const moved = this.ids[last]!;
    this.ids[slot] = moved;
    this.sc[slot] = this.sc[last]!;
    this.sd[slot] = this.sd[last]!;
    return moved;
  }

  bytes(): number {
    return this.ids.byteLength + this.sc.byteLength + this.sd.byteLength;
  }

  private grow(): void {
    const cap = this.ids.length * 2;
    const ids = new Int32Array(cap);
    ids.set(this.ids);
    const sc = new Float64Array(cap);
    sc.set(this.sc);
    const sd = new Float64Array(cap);
    sd.set(this.sd);
    this.ids = ids;
    this.sc = sc;
    this.sd = sd;
  }
}

/**
 * Per-account arrays indexed by a dense id. `w`/`d` are the float HF numerator (Σ value·LT, USD 8-dec units) and
 * denominator at the engine's reference indexes; `slots[id·stride + k]` is the account's slot in asset k's holder
 * list (-1 when it does not hold k). Re-read the array fields after `ensure()`: growth replaces them.
 */
export class AccountBook {
  readonly addresses: Address[] = [];
  readonly idOf = new Map<Address, number>();
  w = new Float64Array(0);
  d = new Float64Array(0);
  flags = new Uint8Array(0);
  levels = new Uint8Array(0);
  nHeld = new Uint8Array(0);
  nDebt = new Uint8Array(0);
  version = new Uint32Array(0);
  /** pass number of the last evaluate that classified the account (dedupe within one evaluate) */
  stamp = new Uint32Array(0);
  /**
   * Exact anchor: the HF (float of the exact WAD value) at the last exact computation, the rounding slack relative
   * to the debt then, and Φ (Σ ln of all indexes) then. NaN when positions or held prices changed since.
   */
  anchorHf = new Float64Array(0);
  anchorRel = new Float64Array(0);
  anchorPhi = new Float64Array(0);
  slots = new Int32Array(0);
  stride = 8;

  get size(): number {
    return this.addresses.length;
  }

  id(address: Address): number {
    let id = this.idOf.get(address);
    if (id !== undefined) return id;
    id = this.addresses.length;
    this.ensure(id + 1);
    this.addresses.push(address);
    this.idOf.set(address, id);
    return id;
  }

  /** Makes room for `assets` asset columns in the slot table. */
  ensureAssets(assets: number): void {
    if (assets <= this.stride) return;
    let stride = this.stride;
    while (stride < assets) stride *= 2;
    const cap = this.w.length;
    const slots = new Int32Array(cap * stride).fill(-1);
    for (let id = 0; id < cap; id++) {
      for (let k = 0; k < this.stride; k++) slots[id * stride + k] = this.slots[id * this.stride + k]!;
    }
    this.slots = slots;
    this.stride = stride;
  }

  bytes(): number {
    return this.w.byteLength + this.d.byteLength + this.flags.byteLength + this.levels.byteLength + this.nHeld.byteLength +
      this.nDebt.byteLength + this.version.byteLength + this.stamp.byteLength + this.slots.byteLength +
      this.anchorHf.byteLength + this.anchorRel.byteLength + this.anchorPhi.byteLength;
  }

  private ensure(n: number): void {
    const cap = this.w.length;
    if (n <= cap) return;
    const next = Math.max(1024, cap * 2, n);
    this.w = grow(this.w, new Float64Array(next));
    this.d = grow(this.d, new Float64Array(next));
    this.flags = grow(this.flags, new Uint8Array(next));
    this.levels = grow(this.levels, new Uint8Array(next));
    this.nHeld = grow(this.nHeld, new Uint8Array(next));
    this.nDebt = grow(this.nDebt, new Uint8Array(next));
    this.version = grow(this.version, new Uint32Array(next));
    this.stamp = grow(this.stamp, new Uint32Array(next));
    this.anchorHf = grow(this.anchorHf, new Float64Array(next).fill(NaN));
    this.anchorRel = grow(this.anchorRel, new Float64Array(next));
    this.anchorPhi = grow(this.anchorPhi, new Float64Array(next));
    const slots = new Int32Array(next * this.stride).fill(-1);
    slots.set(this.slots);
    this.slots = slots;
  }
}

function grow<T extends Float64Array | Uint8Array | Uint32Array | Int32Array>(old: T, next: T): T {
  next.set(old as never);
  return next;
}
