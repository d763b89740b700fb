// The at-risk view of every account at one moment, read from the engine's own book: a float HF per account with a
// rigorous interval (float-bounds.ts) from the float sums at `now` (sums.ts, over the holder lists), plus the
// engine's exact liquidatable and unknown flags. Exact bigint math (equal to the protocol's) runs only for the
// accounts whose interval straddles a filter bound or the warning level, and for the rows a page returns. The API
// pages over it (indexer/api/at-risk.ts); it is built once per published block.
import { FLAGS, LIQ, N_DEBT, N_HELD, U8_STRIDE, UNKNOWN } from "./book";
import type { EngineData } from "./engine-data";
import { ExactContext, type ExactResult } from "./exact";
import { atLeastFloat, hfHigh, hfLow } from "./float-bounds";
import { currentSums } from "./sums";
import type { AccountStatus, Address } from "./types";

/** Sort ranks: accounts with debt and a known HF first (by HF), then no debt (HF ∞), then unknown HF. */
export const RANK_KNOWN = 0;
export const RANK_NO_DEBT = 1;
export const RANK_UNKNOWN = 2;

export interface AtRiskFilter {
  status?: AccountStatus;
  /** inclusive WAD bounds; rows with an unknown HF never match a bound */
  minHealthFactor?: bigint;
  maxHealthFactor?: bigint;
  /** only holders (collateral or debt) of this listed asset (its ProtocolState key) */
  asset?: Address;
}

/**
 * Safety band of the view's intervals. The engine's band (nearBandBps) also covers interest until the next
 * rebase; the view is taken at `now` with the indexes of `now`, so only float error needs slack, and a narrow
 * band keeps the exact confirmations of a filtered page to the accounts really near a bound. The protocol's own
 * model error (thresholds.modelError) comes on top.
 */
const VIEW_BAND = 1e-6;

/** A position in the order: (rank, float HF key, address). Keyset cursors encode one. */
export interface SortKey {
  rank: number;
  hf: number;
  address: string;
}

export class AtRiskView {
  /** accounts in the view; ids are positions in `ids` (the engine's book ids of the accounts listed) */
  readonly size: number;
  private readonly ids: Int32Array;
  private readonly addresses: readonly Address[];
  private readonly rank: Uint8Array;
  private readonly hf: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly liq: Uint8Array;
  private readonly exactCache = new Map<number, bigint>();
  private readonly ctx: ExactContext;
  /** the asset filter last resolved to a slot (one filter per query: no lookup per account) */
  private heldAsset: Address | null = null;
  private heldK = -1;

  constructor(
    private readonly data: EngineData,
    readonly now: bigint,
    private readonly warningAt: bigint | null,
  ) {
    const { book, state } = data;
    this.ctx = new ExactContext(state, (a) => data.prices.get(a), now, data.math);
    this.addresses = book.addresses;
    const s = currentSums(data, now);
    const { u8 } = book;
    // The accounts the state holds: the book also keeps ids of accounts a rollback removed (no position left).
    const ids = new Int32Array(book.size);
    let n = 0;
    for (let id = 0; id < book.size; id++) {
      if (u8[id * U8_STRIDE + N_HELD] !== 0 || state.accounts.has(book.addresses[id]!)) ids[n++] = id;
    }
    this.size = n;
    this.ids = ids.subarray(0, n);
    this.rank = new Uint8Array(n);
    this.hf = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.hi = new Float64Array(n);
    this.liq = new Uint8Array(n);
    const band = VIEW_BAND + data.thresholds.modelError;
    for (let i = 0; i < n; i++) {
      const id = this.ids[i]!;
      const flags = u8[id * U8_STRIDE + FLAGS]!;
      if (u8[id * U8_STRIDE + N_DEBT] === 0) {
        this.rank[i] = RANK_NO_DEBT;
        this.hf[i] = this.lo[i] = this.hi[i] = Infinity;
      } else if (flags & UNKNOWN) {
        this.rank[i] = RANK_UNKNOWN;
        this.hf[i] = NaN;
      } else {
        this.rank[i] = RANK_KNOWN;
        this.liq[i] = flags & LIQ ? 1 : 0;
        const w = s.w[id]!;
        const d = s.d[id]!;
        const err = u8[id * U8_STRIDE + N_HELD]! * s.errPerPosition;
        this.hf[i] = d > 0 ? w / d : Infinity;
        this.lo[i] = hfLow(w, d, err, 1, band);
        this.hi[i] = hfHigh(w, d, err, 1, band);
      }
    }
  }

  address(i: number): Address {
    return this.addresses[this.ids[i]!]!;
  }

  key(i: number): SortKey {
    const rank = this.rank[i]!;
    return { rank, hf: rank === RANK_KNOWN ? this.hf[i]! : 0, address: this.address(i) };
  }

  /** Exact HF (WAD) at the view's `now`, as the protocol's own healthFactor view computes it; cached. */
  exactHf(i: number): bigint {
    let v = this.exactCache.get(i);
    if (v === undefined) {
      v = this.ctx.account(this.address(i)).data.healthFactor;
      this.exactCache.set(i, v);
    }
    return v;
  }

  exactData(i: number): ExactResult["data"] {
    return this.ctx.account(this.address(i)).data;
  }

  /**
   * Status as the account card reports it: "liquidatable" is the engine's exact set (what the keeper acts on);
   * "warning" is decided by the float interval, or by exact math when it straddles the level.
   */
  status(i: number): AccountStatus {
    const rank = this.rank[i]!;
    if (rank === RANK_UNKNOWN) return "unknown";
    if (rank === RANK_NO_DEBT) return "healthy";
    if (this.liq[i]) return "liquidatable";
    if (this.warningAt === null) return "healthy";
    return this.atLeast(i, this.warningAt) ? "healthy" : "warning";
  }

  matches(i: number, f: AtRiskFilter): boolean {
    if (f.asset !== undefined && !this.holds(i, f.asset)) return false;
    if (f.status !== undefined && this.status(i) !== f.status) return false;
    if (f.minHealthFactor !== undefined || f.maxHealthFactor !== undefined) {
      const rank = this.rank[i]!;
      if (rank === RANK_UNKNOWN) return false;
      if (rank === RANK_NO_DEBT) return f.maxHealthFactor === undefined;
      if (f.minHealthFactor !== undefined && !this.atLeast(i, f.minHealthFactor)) return false;
      if (f.maxHealthFactor !== undefined && this.atLeast(i, f.maxHealthFactor + 1n)) return false;
    }
    return true;
  }

  /** Order of two accounts by (rank, hf, address), without allocating: selection calls this often. */
  compare(a: number, b: number): number {
    const ra = this.rank[a]!;
    const rb = this.rank[b]!;
    if (ra !== rb) return ra - rb;
    if (ra === RANK_KNOWN) {
      const ha = this.hf[a]!;
      const hb = this.hf[b]!;
      if (ha !== hb) return ha < hb ? -1 : 1;
    }
    const x = this.address(a);
    const y = this.address(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  /** > 0 when account `i` sorts after the key `k`. */
  compareToKey(i: number, k: SortKey): number {
    const r = this.rank[i]!;
    if (r !== k.rank) return r - k.rank;
    if (r === RANK_KNOWN) {
      const h = this.hf[i]!;
      if (h !== k.hf) return h < k.hf ? -1 : 1;
    }
    const x = this.address(i);
    return x < k.address ? -1 : x > k.address ? 1 : 0;
  }

  /** HF ≥ bound: the float interval decides when it sits on one side, exact math when it straddles it. */
  private atLeast(i: number, bound: bigint): boolean {
    return atLeastFloat(this.lo[i]!, this.hi[i]!, bound) ?? this.exactHf(i) >= bound;
  }

  private holds(i: number, asset: Address): boolean {
    if (asset !== this.heldAsset) {
      this.heldAsset = asset;
      this.heldK = this.data.slots.find((s) => s.address === asset)?.k ?? -1;
    }
    if (this.heldK < 0) return false;
    const { book } = this.data;
    return book.slots[this.ids[i]! * book.stride + this.heldK]! >= 0;
  }
}
