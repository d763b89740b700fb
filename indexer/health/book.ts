// Compact numeric storage of the hot path: per-account typed arrays (float sums, flags, levels) and per-asset holder
// lists, so a price update walks one asset's holders with no object allocation and no bigint.
import { addressPrefix } from "./address-order";
import type { Address } from "./types";

/** Account flag bits (the FLAGS byte of an account record). */
export const LIQ = 1; // in the liquidatable set (exact)
export const UNKNOWN = 2; // has debt and holds an asset whose price is not fresh
export const WATCH = 4; // close enough to a threshold that interest alone could cross it before the next rebase
export const DIRTY = 8; // positions changed: rebuild holder entries and float sums from state

// What the engine's sweep worker reads and writes (sweep-thread.ts) lives in shared memory: the records, and the
// holder lists' ids and weighted balances.
const sharedI32 = (n: number) => new Int32Array(new SharedArrayBuffer(4 * n));
const sharedF64 = (n: number) => new Float64Array(new SharedArrayBuffer(8 * n));

/**
 * Holders of one asset: account id, scaled collateral that counts as collateral, the same weighted by the holder's
 * LT relative to the asset's (1 unless an efficiency-mode category applies; the asset's own LT is in its factor),
 * and scaled debt, as float64 (raw token wei, not decimals). `scB` / `sdB` hold the same balances exactly (the
 * counted scaled collateral, 0n when it does not count; the scaled debt), next to the floats, so an exact
 * confirmation reads them by slot instead of walking the account's positions in ProtocolState.
 */
export class HolderList {
  ids: Int32Array = sharedI32(16);
  sc = new Float64Array(16);
  sw: Float64Array = sharedF64(16);
  sd: Float64Array = sharedF64(16);
  readonly scB: bigint[] = [];
  readonly sdB: bigint[] = [];
  n = 0;

  push(id: number, sc: number, sw: number, sd: number, scB: bigint, sdB: bigint): number {
    if (this.n === this.ids.length) this.grow();
    const slot = this.n++;
    this.ids[slot] = id;
    this.set(slot, sc, sw, sd, scB, sdB);
    return slot;
  }

  set(slot: number, sc: number, sw: number, sd: number, scB: bigint, sdB: bigint): void {
    this.sc[slot] = sc;
    this.sw[slot] = sw;
    this.sd[slot] = sd;
    this.scB[slot] = scB;
    this.sdB[slot] = sdB;
  }

  /** Swap-removes `slot`; returns the id moved into it (to fix its back-pointer), or -1. */
  removeAt(slot: number): number {
    const last = --this.n;
    if (slot === last) {
      this.scB.length = last;
      this.sdB.length = last;
      return -1;
    }
    const moved = this.ids[last]!;
    this.ids[slot] = moved;
    this.sc[slot] = this.sc[last]!;
    this.sw[slot] = this.sw[last]!;
    this.sd[slot] = this.sd[last]!;
    this.scB[slot] = this.scB[last]!;
    this.sdB[slot] = this.sdB[last]!;
    this.scB.length = last;
    this.sdB.length = last;
    return moved;
  }

  /** typed arrays, plus 8 bytes per exact balance reference (the bigints themselves are shared with ProtocolState) */
  bytes(): number {
    return this.ids.byteLength + this.sc.byteLength + this.sw.byteLength + this.sd.byteLength + 16 * this.n;
  }

  private grow(): void {
    const cap = this.ids.length * 2;
    const ids = sharedI32(cap);
    ids.set(this.ids);
    const sc = new Float64Array(cap);
    sc.set(this.sc);
    const sw = sharedF64(cap);
    sw.set(this.sw);
    const sd = sharedF64(cap);
    sd.set(this.sd);
    this.ids = ids;
    this.sc = sc;
    this.sw = sw;
    this.sd = sd;
  }
}

/**
 * Per-account records indexed by a dense id, one 64-byte cache line each (array of structs: a price update touches
 * one line per holder instead of one per field). Three views of one buffer:
 *   f64[id·8 + W | D]: the float HF numerator (Σ value·LT, USD 8-dec units) and denominator at the reference indexes;
 *   u32[id·16 + STAMP | VERSION | PREFIX], u8[id·64 + FLAGS | LEVELS | N_HELD | N_DEBT];
 *   f64[id·8 + ANCHOR_*]: the exact anchor (HF as float, rounding slack / debt, Φ and Σ held price drift then;
 *   HF NaN = no anchor).
 * What a price sweep reads and writes (W, D, stamp, flags, counts) is the first 28 bytes; the anchors, read only
 * when the float sums cannot decide, come after.
 * `slots[id·stride + k]` is the account's slot in asset k's holder list (-1 when it does not hold k).
 * Re-read the views after `id()` (growth replaces them).
 */
export const F64_STRIDE = 8;
export const W = 0;
export const D = 1;
export const U32_STRIDE = 16;
/** pass number of the last evaluate that classified the account (dedupe within one evaluate) */
export const STAMP = 4;
export const VERSION = 5;
/** addressPrefix of the account's address (address-order.ts), so that sorting accounts reads no string */
export const PREFIX = 7;
export const U8_STRIDE = 64;
export const FLAGS = 24;
/** bit i: margin level i active */
export const LEVELS = 25;
export const N_HELD = 26;
export const N_DEBT = 27;
export const ANCHOR_HF = 4;
export const ANCHOR_REL = 5;
export const ANCHOR_PHI = 6;
/** Σ of the held assets' price drift (AssetSlot.psi) when the anchor was taken */
export const ANCHOR_PSI = 7;

export class AccountBook {
  readonly addresses: Address[] = [];
  readonly idOf = new Map<Address, number>();
  f64: Float64Array = new Float64Array(0);
  u32: Uint32Array = new Uint32Array(0);
  u8: Uint8Array = new Uint8Array(0);
  slots = new Int32Array(0);
  stride = 8;
  private capacity = 0;

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
    this.u32[id * U32_STRIDE + PREFIX] = addressPrefix(address);
    return id;
  }

  // Readable accessors for the cold paths; the hot loops index the views directly.
  w(id: number): number {
    return this.f64[id * F64_STRIDE + W]!;
  }
  d(id: number): number {
    return this.f64[id * F64_STRIDE + D]!;
  }
  flags(id: number): number {
    return this.u8[id * U8_STRIDE + FLAGS]!;
  }
  levels(id: number): number {
    return this.u8[id * U8_STRIDE + LEVELS]!;
  }
  nHeld(id: number): number {
    return this.u8[id * U8_STRIDE + N_HELD]!;
  }
  nDebt(id: number): number {
    return this.u8[id * U8_STRIDE + N_DEBT]!;
  }
  version(id: number): number {
    return this.u32[id * U32_STRIDE + VERSION]!;
  }
  setFlag(id: number, bit: number, on: boolean): void {
    const at = id * U8_STRIDE + FLAGS;
    this.u8[at] = on ? this.u8[at]! | bit : this.u8[at]! & ~bit;
  }

  /** Makes room for `assets` asset columns in the slot table. */
  ensureAssets(assets: number): void {
    if (assets <= this.stride) return;
    let stride = this.stride;
    while (stride < assets) stride *= 2;
    const slots = new Int32Array(this.capacity * stride).fill(-1);
    for (let id = 0; id < this.capacity; id++) {
      for (let k = 0; k < this.stride; k++) slots[id * stride + k] = this.slots[id * this.stride + k]!;
    }
    this.slots = slots;
    this.stride = stride;
  }

  bytes(): number {
    return this.f64.byteLength + this.slots.byteLength;
  }

  private ensure(n: number): void {
    if (n <= this.capacity) return;
    const next = Math.max(1024, this.capacity * 2, n);
    const buffer = new SharedArrayBuffer(next * U8_STRIDE);
    new Uint8Array(buffer).set(this.u8);
    this.f64 = new Float64Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    for (let id = this.capacity; id < next; id++) this.f64[id * F64_STRIDE + ANCHOR_HF] = NaN;
    const slots = new Int32Array(next * this.stride).fill(-1);
    slots.set(this.slots);
    this.slots = slots;
    this.capacity = next;
  }
}
