// The at-risk order of every account, rebuilt at most once per block from the health engine's in-memory data
// (the ProtocolState it evaluates, its prices, its exact liquidatable and unknown sets): a float HF per account in
// typed arrays with a rigorous error bound, exact bigint math (equal to the contract's) only for the accounts a
// float could misplace against a filter bound, and for the rows a page returns.
import type { AccountStatus, Address, HealthEngine } from "../health";
import { ExactContext } from "../health";

/** Sort ranks: accounts with debt and a known HF first (by HF), then no debt (HF ∞), then unknown HF. */
export const RANK_KNOWN = 0;
export const RANK_NO_DEBT = 1;
export const RANK_UNKNOWN = 2;

const WAD_F = 1e18;
const RAY_F = 1e27;
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

interface AssetFactors {
  bit: number;
  /** per scaled wei, USD 8-dec units: collateral value × LT / BPS, and debt value */
  fc: number;
  fd: number;
  /** rounding slack of one position (one wei of amount, one unit of value, on each side) */
  err: number;
}

export class AtRiskIndex {
  readonly size: number;
  /** account ids sorted by (rank, hf, address) */
  readonly order: Uint32Array;
  private readonly addresses: Address[] = [];
  private readonly rank: Uint8Array;
  private readonly hf: Float64Array;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  /** bit i set: holds the asset listed at index i (MAX_ASSETS is 16) */
  private readonly held: Uint32Array;
  private readonly liq: Uint8Array;
  private readonly exactCache = new Map<number, bigint>();
  private readonly ctx: ExactContext;
  private readonly warnF: number;

  constructor(readonly health: HealthEngine, readonly now: bigint, private readonly warningAt: bigint | null) {
    const state = health.state;
    this.ctx = new ExactContext(state, (a) => health.price(a), now);
    const factors = new Map<Address, AssetFactors>();
    for (const [address, a] of state.assets) {
      const idx = this.ctx.indexes(address);
      const p = health.price(address);
      const price = p && p.price > 0n ? Number(p.price) : 0;
      const unit = 10 ** a.decimals;
      const lIdx = idx ? Number(idx.liquidityIndex) / RAY_F : 0;
      const bIdx = idx ? Number(idx.borrowIndex) / RAY_F : 0;
      factors.set(address, {
        bit: 1 << a.index,
        fc: ((price * lIdx) / unit) * (Number(a.liquidationThresholdBps) / 1e4),
        fd: (price * bIdx) / unit,
        err: price / unit + 2,
      });
    }
    const liquidatable = new Set<string>(health.liquidatable().map((e) => e.account));
    const unknown = new Set<string>(health.unknown());
    const n = state.accounts.size;
    this.size = n;
    this.rank = new Uint8Array(n);
    this.hf = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.hi = new Float64Array(n);
    this.held = new Uint32Array(n);
    this.liq = new Uint8Array(n);
    let id = 0;
    for (const [account, positions] of state.accounts) {
      this.addresses.push(account);
      let w = 0;
      let d = 0;
      let err = 0;
      let mask = 0;
      let debt = false;
      for (const [asset, p] of positions) {
        if (p.scaledCollateral === 0n && p.scaledDebt === 0n) continue;
        const f = factors.get(asset);
        if (!f) continue;
        mask |= f.bit;
        err += f.err;
        if (p.scaledCollateral !== 0n) w += Number(p.scaledCollateral) * f.fc;
        if (p.scaledDebt !== 0n) {
          d += Number(p.scaledDebt) * f.fd;
          debt = true;
        }
      }
      this.held[id] = mask;
      if (!debt) {
        this.rank[id] = RANK_NO_DEBT;
        this.hf[id] = this.lo[id] = this.hi[id] = Infinity;
      } else if (unknown.has(account)) {
        this.rank[id] = RANK_UNKNOWN;
        this.hf[id] = NaN;
      } else {
        this.rank[id] = RANK_KNOWN;
        this.hf[id] = d > 0 ? w / d : Infinity;
        const wLo = w * (1 - FLOAT_EPS) - err;
        const dHi = d * (1 + FLOAT_EPS) + err;
        const dLo = d * (1 - FLOAT_EPS) - err;
        this.lo[id] = wLo <= 0 ? 0 : (wLo / dHi) * (1 - BAND);
        this.hi[id] = dLo <= 0 ? Infinity : ((w * (1 + FLOAT_EPS) + err) / dLo) * (1 + BAND);
        this.liq[id] = liquidatable.has(account) ? 1 : 0;
      }
      id++;
    }
    this.warnF = warningAt === null ? 0 : Number(warningAt) / WAD_F;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => this.compareIds(a, b));
    this.order = order;
  }

  address(id: number): Address {
    return this.addresses[id]!;
  }

  key(id: number): SortKey {
    const rank = this.rank[id]!;
    return { rank, hf: rank === RANK_KNOWN ? this.hf[id]! : 0, address: this.addresses[id]! };
  }

  /** First position in the order strictly after `k` (keyset paging). */
  positionAfter(k: SortKey): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.key(this.order[mid]!), k) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
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

  /** compareKeys without allocating: the sort calls this n·log n times. */
  private compareIds(a: number, b: number): number {
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
}

export function compareKeys(a: SortKey, b: SortKey): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.hf !== b.hf) return a.hf < b.hf ? -1 : 1;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}
