// The at-risk view of every account at one moment, read from the engine's own book: a float HF per account with a
// rigorous interval (float-bounds.ts) from the float sums at `now` (sums.ts, over the holder lists), plus the
// engine's exact liquidatable and unknown flags. Exact bigint math (equal to the protocol's) runs only for the
// accounts whose interval straddles a filter bound or the warning level, and for the rows a page returns. The API
// pages over it (indexer/api/at-risk.ts); its numbers are the engine's per-block frame (risk-frame.ts).
import type { EngineData } from "./engine-data";
import { ExactContext, type ExactResult } from "./exact";
import { atLeastFloat } from "./float-bounds";
import { RANK_KNOWN, RANK_NO_DEBT, RANK_UNKNOWN, type RiskFrame } from "./risk-frame";
import type { AccountStatus, Address } from "./types";

export { RANK_KNOWN, RANK_NO_DEBT, RANK_UNKNOWN };

export interface AtRiskFilter {
  status?: AccountStatus;
  /** inclusive WAD bounds; rows with an unknown HF never match a bound */
  minHealthFactor?: bigint;
  maxHealthFactor?: bigint;
  /** only holders (collateral or debt) of this listed asset (its ProtocolState key) */
  asset?: Address;
}

/** A position in the order: (rank, float HF key, address). Keyset cursors encode one. */
export interface SortKey {
  rank: number;
  hf: number;
  address: string;
}

/** Thrown when a view is read after the engine's frame moved on (a newer block, price or timestamp). */
export class StaleViewError extends Error {
  constructor() {
    super("at-risk view read after the engine moved on: take a new engine.atRiskView(now)");
    this.name = "StaleViewError";
  }
}

/**
 * Reads the engine's per-block frame (risk-frame.ts: float sums, HF keys and intervals, built once per engine state
 * and timestamp, buffers reused): building a view on a current frame costs nothing. A view is valid while the
 * frame is at its stamp — until the engine changes (evaluate, price, state change) or a frame at another timestamp
 * is taken; after that every read throws `StaleViewError` rather than mixing two moments (`current` tells).
 */
export class AtRiskView {
  /** accounts in the view; ids are positions in the frame's `ids` (the engine's book ids of the accounts listed) */
  readonly size: number;
  private readonly ids: Int32Array;
  private readonly addresses: readonly Address[];
  private readonly rank: Uint8Array;
  private readonly hf: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly liq: Uint8Array;
  private readonly stamp: number;
  private readonly exactCache = new Map<number, bigint>();
  private readonly ctx: ExactContext;
  /** the asset filter last resolved to a slot (one filter per query: no lookup per account) */
  private heldAsset: Address | null = null;
  private heldK = -1;

  constructor(
    private readonly data: EngineData,
    private readonly frame: RiskFrame,
    readonly now: bigint,
    private readonly warningAt: bigint | null,
  ) {
    this.ctx = new ExactContext(data.state, (a) => data.prices.get(a), now, data.math);
    this.addresses = data.book.addresses;
    this.stamp = frame.stamp;
    this.size = frame.size;
    this.ids = frame.ids;
    this.rank = frame.rank;
    this.hf = frame.hf;
    this.lo = frame.lo;
    this.hi = frame.hi;
    this.liq = frame.liq;
  }

  /** Whether the frame is still the one this view was built on (reads throw otherwise). */
  get current(): boolean {
    return this.frame.stamp === this.stamp; // the frame re-stamps on every refresh, a new timestamp included
  }

  /** Throws `StaleViewError` when the frame moved on; one integer compare, cheap on every read. */
  check(): void {
    if (!this.current) throw new StaleViewError();
  }

  address(i: number): Address {
    return this.addresses[this.ids[i]!]!;
  }

  /**
   * The (rank, float HF) parts of every account's sort key, by view index, for scans that decide most accounts on
   * them alone (the HF is meaningful within RANK_KNOWN). Read-only; valid while the view is `current`.
   */
  keyArrays(): { rank: Uint8Array; hf: Float64Array } {
    this.check();
    return { rank: this.rank, hf: this.hf };
  }

  key(i: number): SortKey {
    this.check();
    const rank = this.rank[i]!;
    return { rank, hf: rank === RANK_KNOWN ? this.hf[i]! : 0, address: this.address(i) };
  }

  /** Exact HF (WAD) at the view's `now`, as the protocol's own healthFactor view computes it; cached. */
  exactHf(i: number): bigint {
    this.check();
    let v = this.exactCache.get(i);
    if (v === undefined) {
      v = this.ctx.account(this.address(i)).data.healthFactor;
      this.exactCache.set(i, v);
    }
    return v;
  }

  exactData(i: number): ExactResult["data"] {
    this.check();
    return this.ctx.account(this.address(i)).data;
  }

  /**
   * Status as the account card reports it: "liquidatable" is the engine's exact set (what the keeper acts on);
   * "warning" is decided by the float interval, or by exact math when it straddles the level.
   */
  status(i: number): AccountStatus {
    this.check();
    const rank = this.rank[i]!;
    if (rank === RANK_UNKNOWN) return "unknown";
    if (rank === RANK_NO_DEBT) return "healthy";
    if (this.liq[i]) return "liquidatable";
    if (this.warningAt === null) return "healthy";
    return this.atLeast(i, this.warningAt) ? "healthy" : "warning";
  }

  matches(i: number, f: AtRiskFilter): boolean {
    this.check();
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
    this.check();
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
    this.check();
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
