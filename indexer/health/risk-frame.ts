// The per-block frame of the engine's read paths (at-risk view, risk aggregates): every account's float sums at
// `now` (sums.ts) and the per-account figures both read, computed once per engine state and timestamp into buffers
// reused from block to block. GET /v1/accounts, GET /v1/risk, metrics and risk snapshots of one block then share
// one pass, and a million-account engine hands the GC no per-block buffers (its full collections of a multi-GB heap
// cost more than the pass itself).
import { FLAGS, LIQ, N_DEBT, N_HELD, U8_STRIDE, UNKNOWN } from "./book";
import type { EngineData } from "./engine-data";
import { hfHigh, hfLow } from "./float-bounds";
import { type CurrentSums, currentSums } from "./sums";
import type { RiskAggregates } from "./types";

/** Sort ranks: accounts with debt and a known HF first (by HF), then no debt (HF ∞), then unknown HF. */
export const RANK_KNOWN = 0;
export const RANK_NO_DEBT = 1;
export const RANK_UNKNOWN = 2;

/** What the aggregates need of an account's flags, one byte per book id (the book's records are 64 bytes apart). */
export const KIND_NO_DEBT = 0;
export const KIND_UNKNOWN = 1;
export const KIND_LIQ = 2;
export const KIND_OPEN = 3;

/**
 * Safety band of the view's intervals. The view is taken at `now` with the indexes of `now` (no growth bound), so
 * only float error needs slack on top of the protocol's own model error (thresholds.modelError); a narrow band
 * keeps the exact confirmations of a filtered page to the accounts really near a bound.
 */
const VIEW_BAND = 1e-6;

/** Buffer capacity for `n` accounts: a quarter of headroom, so a growing book does not reallocate every block. */
const capacityFor = (n: number): number => Math.max(1024, Math.ceil(n * 1.25));

export class RiskFrame {
  /** increments at every refresh: a reader holding an older stamp reads buffers that have moved on */
  stamp = 0;
  now = -1n;
  private gen = -1;
  sums!: CurrentSums;
  /** per book id: KIND_* */
  kind = new Uint8Array(0);
  /** the view: accounts the state holds (book ids), and per view index their rank, float HF, interval, LIQ flag */
  size = 0;
  ids = new Int32Array(0);
  rank = new Uint8Array(0);
  hf = new Float64Array(0);
  lo = new Float64Array(0);
  hi = new Float64Array(0);
  liq = new Uint8Array(0);
  /** scratch of the aggregates: the debts of accounts with debt (concentration reorders them) */
  debts = new Float64Array(0);
  /** the aggregates of this frame, once computed */
  aggregates: RiskAggregates | null = null;
  /** scratch of stress runs (shocked sums; not part of the frame's figures), sized with the frame */
  private stressBuffers = { w: new Float64Array(0), d: new Float64Array(0), c: new Float64Array(0) };
  private w = new Float64Array(0);
  private d = new Float64Array(0);
  private c = new Float64Array(0);

  constructor(private readonly data: EngineData) {}

  /** Brings the frame to engine generation `gen` at `now` (no work when it is there already). */
  at(gen: number, now: bigint): this {
    if (gen === this.gen && now === this.now) return this;
    this.refresh(now);
    this.gen = gen;
    this.now = now;
    this.stamp++;
    return this;
  }

  private refresh(now: bigint): void {
    const { book, state } = this.data;
    const n = book.size;
    this.ensure(n);
    const s = currentSums(this.data, now, undefined, { w: this.w, d: this.d, c: this.c });
    this.sums = s;
    this.aggregates = null;
    const { u8, addresses } = book;
    const { kind, ids, rank, hf, lo, hi, liq } = this;
    const band = VIEW_BAND + this.data.thresholds.modelError;
    let size = 0;
    for (let id = 0; id < n; id++) {
      const m = id * U8_STRIDE;
      const flags = u8[m + FLAGS]!;
      const nHeld = u8[m + N_HELD]!;
      const noDebt = u8[m + N_DEBT] === 0;
      kind[id] = noDebt ? KIND_NO_DEBT : flags & UNKNOWN ? KIND_UNKNOWN : flags & LIQ ? KIND_LIQ : KIND_OPEN;
      // The accounts the state holds: the book also keeps ids of accounts a rollback removed (no position left).
      if (nHeld === 0 && !state.accounts.has(addresses[id]!)) continue;
      const i = size++;
      ids[i] = id;
      liq[i] = 0;
      if (noDebt) {
        rank[i] = RANK_NO_DEBT;
        hf[i] = lo[i] = hi[i] = Infinity;
      } else if (flags & UNKNOWN) {
        rank[i] = RANK_UNKNOWN;
        hf[i] = lo[i] = hi[i] = NaN;
      } else {
        rank[i] = RANK_KNOWN;
        liq[i] = flags & LIQ ? 1 : 0;
        const w = s.w[id]!;
        const d = s.d[id]!;
        const err = nHeld * s.errPerPosition;
        hf[i] = d > 0 ? w / d : Infinity;
        lo[i] = hfLow(w, d, err, 1, band);
        hi[i] = hfHigh(w, d, err, 1, band);
      }
    }
    this.size = size;
  }

  /** Buffers for one stress run's sums (valid until the next run; the frame's own sums are untouched). */
  stressScratch(): { w: Float64Array; d: Float64Array; c: Float64Array } {
    const n = this.data.book.size;
    if (this.stressBuffers.w.length < n) {
      const cap = capacityFor(n);
      this.stressBuffers = { w: new Float64Array(cap), d: new Float64Array(cap), c: new Float64Array(cap) };
    }
    return this.stressBuffers;
  }

  bytes(): number {
    return this.kind.length * (8 * 7 + 4 + 3) + this.stressBuffers.w.length * 24;
  }

  private ensure(n: number): void {
    if (n <= this.kind.length) return;
    const cap = capacityFor(n);
    this.w = new Float64Array(cap);
    this.d = new Float64Array(cap);
    this.c = new Float64Array(cap);
    this.kind = new Uint8Array(cap);
    this.debts = new Float64Array(cap);
    this.ids = new Int32Array(cap);
    this.rank = new Uint8Array(cap);
    this.hf = new Float64Array(cap);
    this.lo = new Float64Array(cap);
    this.hi = new Float64Array(cap);
    this.liq = new Uint8Array(cap);
  }
}
