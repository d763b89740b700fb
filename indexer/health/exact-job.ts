// Exact confirmations shared with the engine's worker thread (sweep-thread.ts). The engine's thread collects the
// accounts one phase of an evaluate must confirm exactly, packing each one's positions as book-exact.ts reads them
// (asset slot, efficiency-mode category, scaled balances as 64-bit limbs) into shared memory; both threads then
// claim chunks of the batch from one counter (sweep.ts claimChunks). The worker runs the protocol's own `health`
// (ProtocolMath.healthModule) on the packed positions and the per-asset inputs of the engine's ExactContext, and
// writes only the batch's result columns; the engine's thread computes its chunks from the book directly and then
// records the worker's figures. Same inputs, same function: the same HF to the wei on either thread.
import { MAX_UINT256 } from "../../common/math";
import type { AccountHealthFigures, PositionInput } from "../../protocols/types";
import type { CategoryConfig } from "../state/state";
import { type ScratchPosition, scratchPosition } from "./book-exact";
import type { AssetInputs } from "./exact";
import { claimChunks } from "./sweep";

/** Entry flags (ExactBatch.flags), each written by the thread that owns the entry. */
/** the worker computed it: `hf` (unless HF_MAX) and `debt` hold its figures */
export const DONE = 1;
/** no debt value: the HF is max uint256 */
export const HF_MAX = 2;
/** left to the engine's thread: a balance beyond 128 bits (set when packed), or an HF beyond 64 bits (by the worker) */
export const REDO = 4;
/** claimed by the engine's thread */
export const MINE = 8;

/** entries per claim: a few hundred microseconds of bigint math */
export const EXACT_CHUNK = 32;

const TWO64 = 1n << 64n;
const TWO128 = 1n << 128n;

/** What the worker needs for one batch: the packed positions, the per-asset inputs, the result columns. */
export interface ExactJob {
  kind: "exact";
  seq: number;
  ctrl: Int32Array;
  n: number;
  healthModule: string;
  /** per asset slot: ExactContext inputs at the evaluate's time (null: not listed or not needed) */
  inputs: Array<AssetInputs | null>;
  categories: Map<number, CategoryConfig>;
  /** entry i's positions are [off[i], off[i + 1]) */
  off: Int32Array;
  /** per position: asset slot, category id (0: none) */
  pos: Int32Array;
  /** per position: scaled collateral lo, hi; scaled debt lo, hi */
  bal: BigUint64Array;
  hf: BigUint64Array;
  debt: Float64Array;
  flags: Uint8Array;
}

const sharedI32 = (n: number) => new Int32Array(new SharedArrayBuffer(4 * n));

/** One phase's exact confirmations, packed as they are found (the engine's thread). */
export class ExactBatch {
  /** the accounts, in the order found */
  ids = sharedI32(256);
  /** their summed rounding slack (book-exact.ts), for the anchors */
  slack = new Float64Array(256);
  off = sharedI32(257);
  pos = sharedI32(1024);
  bal = new BigUint64Array(new SharedArrayBuffer(8 * 2048));
  hf = new BigUint64Array(new SharedArrayBuffer(8 * 256));
  debt = new Float64Array(new SharedArrayBuffer(8 * 256));
  flags = new Uint8Array(new SharedArrayBuffer(256));
  n = 0;
  private positions = 0;

  /** Appends account `id` with its positions (`slotOf[j]` the asset slot of `list[j]`) and their slack. */
  add(id: number, list: readonly ScratchPosition[], slotOf: readonly number[], slack: number): void {
    if (this.n + 1 >= this.ids.length) this.growEntries();
    while (this.positions + list.length > this.pos.length / 2) this.growPositions();
    const i = this.n++;
    this.ids[i] = id;
    this.slack[i] = slack;
    this.flags[i] = 0;
    let j = this.positions;
    for (let q = 0; q < list.length; q++, j++) {
      const p = list[q]!;
      this.pos[2 * j] = slotOf[q]!;
      this.pos[2 * j + 1] = p.category?.category ?? 0;
      if (!this.pack(4 * j, p.scaledCollateral) || !this.pack(4 * j + 2, p.scaledDebt)) this.flags[i] = REDO;
    }
    this.positions = j;
    this.off[i + 1] = j;
  }

  clear(): void {
    this.n = 0;
    this.positions = 0;
  }

  /** The job for the worker (views on this batch's shared columns). */
  job(seq: number, ctrl: Int32Array, healthModule: string, inputs: Array<AssetInputs | null>, categories: Map<number, CategoryConfig>): ExactJob {
    const { off, pos, bal, hf, debt, flags, n } = this;
    return { kind: "exact", seq, ctrl, n, healthModule, inputs, categories, off, pos, bal, hf, debt, flags };
  }

  /** A balance as two 64-bit limbs at bal[at], bal[at + 1]; false when it needs more than 128 bits. */
  private pack(at: number, x: bigint): boolean {
    if (x < TWO64) {
      this.bal[at] = x;
      this.bal[at + 1] = 0n;
      return x >= 0n;
    }
    this.bal[at] = x; // stored modulo 2^64
    this.bal[at + 1] = x >> 64n;
    return x < TWO128;
  }

  private growEntries(): void {
    const cap = this.ids.length * 2;
    const ids = sharedI32(cap);
    ids.set(this.ids);
    const off = sharedI32(cap + 1);
    off.set(this.off);
    const slack = new Float64Array(cap);
    slack.set(this.slack);
    const flags = new Uint8Array(new SharedArrayBuffer(cap));
    flags.set(this.flags);
    this.ids = ids;
    this.off = off;
    this.slack = slack;
    this.flags = flags;
    this.hf = new BigUint64Array(new SharedArrayBuffer(8 * cap));
    this.debt = new Float64Array(new SharedArrayBuffer(8 * cap));
  }

  private growPositions(): void {
    const cap = this.pos.length * 2;
    const pos = sharedI32(cap);
    pos.set(this.pos);
    const bal = new BigUint64Array(new SharedArrayBuffer(8 * cap * 2));
    bal.set(this.bal);
    this.pos = pos;
    this.bal = bal;
  }
}

type Health = (positions: readonly PositionInput[]) => AccountHealthFigures;
const loaded = new Map<string, Health>();

/** The protocol's `health` from its module (ProtocolMath.healthModule), loaded once per thread. */
export function loadHealth(module: string): Health {
  let f = loaded.get(module);
  if (!f) {
    const m = require(module) as { health?: unknown };
    if (typeof m.health !== "function") throw new Error(`${module} exports no health function`);
    f = m.health as Health;
    loaded.set(module, f);
  }
  return f;
}

const limbs = (lo: bigint, hi: bigint): bigint => (hi === 0n ? lo : (hi << 64n) | lo);

/**
 * The worker's side: claims EXACT_CHUNK entries at a time and computes each not left to the engine's thread (REDO),
 * writing hf / debt, then its flags. Returns false when stopped early (ctrl[ABORT]).
 */
export function runExactJob(job: ExactJob): boolean {
  const health = loadHealth(job.healthModule);
  const { off, pos, bal, hf, debt, flags, inputs, categories } = job;
  const list: ScratchPosition[] = [];
  const pool: ScratchPosition[] = [];
  return claimChunks(job.ctrl, job.n, EXACT_CHUNK, (from, to) => {
    for (let i = from; i < to; i++) {
      if (flags[i]! & REDO) continue;
      list.length = 0;
      for (let j = off[i]!; j < off[i + 1]!; j++) {
        const c = inputs[pos[2 * j]!]!;
        const cat = pos[2 * j + 1]!;
        let p = pool[list.length];
        if (!p) {
          p = scratchPosition();
          pool.push(p);
        }
        p.scaledCollateral = limbs(bal[4 * j]!, bal[4 * j + 1]!);
        p.scaledDebt = limbs(bal[4 * j + 2]!, bal[4 * j + 3]!);
        p.liquidityIndex = c.liquidityIndex;
        p.borrowIndex = c.borrowIndex;
        p.price = c.price;
        p.unit = c.unit;
        p.ltvBps = c.ltvBps;
        p.liquidationThresholdBps = c.liquidationThresholdBps;
        p.collateralEnabled = true; // packed from book-exact.ts: every listed collateral counts
        p.category = cat === 0 ? null : (categories.get(cat) ?? null);
        list.push(p);
      }
      const r = health(list);
      debt[i] = Number(r.totalDebtBase);
      if (r.healthFactor === MAX_UINT256) flags[i] = DONE | HF_MAX;
      else if (r.healthFactor < TWO64) {
        hf[i] = r.healthFactor;
        flags[i] = DONE;
      } else flags[i] = REDO;
    }
  });
}
