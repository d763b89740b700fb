// The at-risk view of every account at one block: a float HF per account with a rigorous error bound, summed from
// the PositionTable against per-asset factors (the engine's prices, indexes at `now`), plus the engine's exact
// liquidatable and unknown sets. Exact bigint math (equal to the contract's) runs only for the accounts a float
// could misplace against a filter bound or the warning level, and for the rows a page returns.
import type { AccountStatus, Address, HealthEngine } from "../health";
import { ExactContext } from "../health";
import type { PositionTable } from "./position-table";

/** Sort ranks: accounts with debt and a known HF first (by HF), then no debt (HF ∞), then unknown HF. */
export const RANK_KNOWN = 0;
export const RANK_NO_DEBT = 1;
export const RANK_UNKNOWN = 2;

const WAD_F = 1e18;
const RAY_F = 1e27;
const MAX_ASSETS = 16;
/** Relative slack of the float sums (bigint → float conversions, a few additions); the band below is far wider. */
const FLOAT_EPS = 1e-9;
/** Safety band on top: costs a handful of exact computations, makes a wrong float decision impossible. */
const BAND = 1e-6;

export interface AtRiskFilter {
  status?: AccountStatus;
  /** inclusive WAD bounds; rows with an unknown HF never match a bound */
  minHealthFactor?: bigint;
  maxHealthFactor?: bigint;
  /** listing index of an asset (AssetState.index): only holders of it (collateral or debt) */
  assetIndex?: number;
}

/** A position in the order: (rank, float HF key, address). Keyset cursors encode one. */
export interface SortKey {
  rank: number;
  hf: number;
  address: string;
}

export class AtRiskIndex {
  readonly size: number;
  private readonly addresses: readonly Address[];
  private readonly rank: Uint8Array;
  private readonly hf: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  /** bit i set: holds the asset listed at index i */
  private readonly held: Uint32Array;
  private readonly liq: Uint8Array;
  private readonly exactCache = new Map<number, bigint>();
  private readonly ctx: ExactContext;
  private readonly warnF: number;

  constructor(
    table: PositionTable,
    health: HealthEngine,
    readonly now: bigint,
    private readonly warningAt: bigint | null,
  ) {
    const state = health.state;
    table.sync(state);
    this.ctx = new ExactContext(state, (a) => health.price(a), now, health.math);
    // Per listing index: weighted collateral and debt value per scaled wei (USD 8-dec units), and the rounding
    // slack of one position (one wei of amount, one unit of value, each side), as the engine's float prefilter.
    const fc = new Float64Array(MAX_ASSETS);
    const fd = new Float64Array(MAX_ASSETS);
    const err = new Float64Array(MAX_ASSETS);
    for (const [address, a] of state.assets) {
      const idx = this.ctx.indexes(address);
      const p = health.price(address);
      const price = p && p.price > 0n ? Number(p.price) : 0;
      const unit = 10 ** a.decimals;
      fc[a.index] = idx ? ((price * (Number(idx.liquidityIndex) / RAY_F)) / unit) * (Number(a.liquidationThresholdBps) / 1e4) : 0;
      fd[a.index] = idx ? (price * (Number(idx.borrowIndex) / RAY_F)) / unit : 0;
      err[a.index] = price / unit + 2;
    }
    const n = table.size;
    this.size = n;
    this.addresses = table.addresses;
    this.rank = new Uint8Array(n);
    this.hf = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.hi = new Float64Array(n);
    this.held = new Uint32Array(n);
    this.liq = new Uint8Array(n);
    const unknown = new Uint8Array(n);
    for (const a of health.unknown()) {
      const id = table.id(a);
      if (id !== undefined) unknown[id] = 1;
    }
    for (const e of health.liquidatable()) {
      const id = table.id(e.account);
      if (id !== undefined) this.liq[id] = 1;
    }
    const { start, count, asset, sc, sd } = table;
    for (let id = 0; id < n; id++) {
      let w = 0;
      let d = 0;
      let e = 0;
      let mask = 0;
      let debt = false;
      const s = start[id]!;
      const end = s + count[id]!;
      for (let k = s; k < end; k++) {
        const i = asset[k]!;
        mask |= 1 << i;
        e += err[i]!;
        w += sc[k]! * fc[i]!;
        if (sd[k]! !== 0) {
          d += sd[k]! * fd[i]!;
          debt = true;
        }
      }
      this.held[id] = mask;
      if (!debt) {
        this.rank[id] = RANK_NO_DEBT;
        this.hf[id] = this.lo[id] = this.hi[id] = Infinity;
      } else if (unknown[id]) {
        this.rank[id] = RANK_UNKNOWN;
        this.hf[id] = NaN;
      } else {
        this.rank[id] = RANK_KNOWN;
        this.hf[id] = d > 0 ? w / d : Infinity;
        const wLo = w * (1 - FLOAT_EPS) - e;
        const dHi = d * (1 + FLOAT_EPS) + e;
        const dLo = d * (1 - FLOAT_EPS) - e;
        this.lo[id] = wLo <= 0 ? 0 : (wLo / dHi) * (1 - BAND);
        this.hi[id] = dLo <= 0 ? Infinity : ((w * (1 + FLOAT_EPS) + e) / dLo) * (1 + BAND);
      }
    }
    this.warnF = warningAt === null ? 0 : Number(warningAt) / WAD_F;
  }

  address(id: number): Address {
    return this.addresses[id]!;
  }

  key(id: number): SortKey {
    const rank = this.rank[id]!;
    return { rank, hf: rank === RANK_KNOWN ? this.hf[id]! : 0, address: this.addresses[id]! };
  }

  /** Exact HF (WAD) at the index's `now`, as MarginPool.healthFactor computes it; cached. */
  exactHf(id: number): bigint {
    let v = this.exactCache.get(id);
    if (v === undefined) {
      v = this.ctx.account(this.addresses[id]!).data.healthFactor;
      this.exactCache.set(id, v);
    }
    return v;
  }

  exactData(id: number) {
    return this.ctx.account(this.addresses[id]!).data;
  }

  /**
   * Status as the account card reports it: "liquidatable" is the engine's exact set (what the keeper acts on);
   * "warning" is decided by the float bounds, or by exact math when they straddle the level.
   */
  status(id: number): AccountStatus {
    const rank = this.rank[id]!;
    if (rank === RANK_UNKNOWN) return "unknown";
    if (rank === RANK_NO_DEBT) return "healthy";
    if (this.liq[id]) return "liquidatable";
    if (this.warningAt === null) return "healthy";
    if (this.hi[id]! < this.warnF) return "warning";
    if (this.lo[id]! >= this.warnF) return "healthy";
    return this.exactHf(id) < this.warningAt ? "warning" : "healthy";
  }

  matches(id: number, f: AtRiskFilter): boolean {
    if (f.assetIndex !== undefined && !(this.held[id]! & (1 << f.assetIndex))) return false;
    if (f.status !== undefined && this.status(id) !== f.status) return false;
    if (f.minHealthFactor !== undefined || f.maxHealthFactor !== undefined) {
      const rank = this.rank[id]!;
      if (rank === RANK_UNKNOWN) return false;
      if (rank === RANK_NO_DEBT) return f.maxHealthFactor === undefined;
      if (f.minHealthFactor !== undefined && !this.atLeast(id, f.minHealthFactor)) return false;
      if (f.maxHealthFactor !== undefined && this.atLeast(id, f.maxHealthFactor + 1n)) return false;
    }
    return true;
  }

  /** HF ≥ bound: the float bounds decide when both sit on one side, exact math when they straddle it. */
  private atLeast(id: number, bound: bigint): boolean {
    const b = Number(bound) / WAD_F;
    if (this.lo[id]! >= b * (1 + 1e-12)) return true;
    if (this.hi[id]! < b * (1 - 1e-12)) return false;
    return this.exactHf(id) >= bound;
  }

  /** Order of two accounts by (rank, hf, address), without allocating: selection calls this often. */
  compareIds(a: number, b: number): number {
    const ra = this.rank[a]!;
    const rb = this.rank[b]!;
    if (ra !== rb) return ra - rb;
    if (ra === RANK_KNOWN) {
      const ha = this.hf[a]!;
      const hb = this.hf[b]!;
      if (ha !== hb) return ha < hb ? -1 : 1;
    }
    const x = this.addresses[a]!;
    const y = this.addresses[b]!;
    return x < y ? -1 : x > y ? 1 : 0;
  }

  /** > 0 when account `id` sorts after the key `k`. */
  compareToKey(id: number, k: SortKey): number {
    const r = this.rank[id]!;
    if (r !== k.rank) return r - k.rank;
    if (r === RANK_KNOWN) {
      const h = this.hf[id]!;
      if (h !== k.hf) return h < k.hf ? -1 : 1;
    }
    const x = this.addresses[id]!;
    return x < k.address ? -1 : x > k.address ? 1 : 0;
  }
}
