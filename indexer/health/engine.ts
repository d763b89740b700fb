// The health engine: keeps every account's liquidatable / margin-level / unknown status current, incrementally.
// Float sums in typed arrays and exact anchors say which accounts cannot have changed, and which transitions they
// prove outright (reported without an HF); everything else is decided by exact bigint math equal to the contract's,
// and every HF reported is an exact one.
//
// What can move an HF, and how each is handled:
// - a position event: the account is rebuilt from state and re-checked;
// - a price (or LT) change: the factor delta is pushed into the float sums of that asset's holders only, and they
//   are re-checked;
// - interest: Φ = Σ ln(every index) bounds the growth of every index since any earlier moment. An account's exact
//   anchor (HF, Φ then) bounds its HF now; float sums are taken at per-asset reference indexes and bounded by the
//   measured growth since. Accounts that interest could move across a threshold before Φ advances by the drift
//   budget form the WATCH set, re-checked every evaluate; when Φ passes the budget the references are rebased and
//   the watch set rebuilt in one pass. If an index ever goes backwards (reorg), anchors are dropped and everything
//   is rebased.
import { MAX_UINT256, WAD } from "../../common/math";
import type { ProtocolMath } from "../../protocols/types";
import type { Position, ProtocolState, StateChange } from "../state/state";
import { buildAccountHealth } from "./account-view";
import { addressOrder, sortedUnique } from "./address-order";
import { AtRiskView } from "./at-risk";
import { RiskFrame } from "./risk-frame";
import { AssetSlot } from "./asset-slot";
import {
  ANCHOR_HF,
  ANCHOR_PHI,
  ANCHOR_PSI,
  ANCHOR_REL,
  AccountBook,
  D,
  DIRTY,
  F64_STRIDE,
  FLAGS,
  LEVELS,
  LIQ,
  N_DEBT,
  N_HELD,
  PREFIX,
  STAMP,
  U32_STRIDE,
  U8_STRIDE,
  UNKNOWN,
  VERSION,
  W,
  WATCH,
} from "./book";
import type { EngineData } from "./engine-data";
import { BookExact } from "./book-exact";
import { ExactContext } from "./exact";
import { computeAggregates } from "./aggregates";
import { runStress } from "./stress";
import { anchorHigh, anchorLow, hfHigh, hfLow } from "./float-bounds";
import { DONE, EXACT_CHUNK, ExactBatch, HF_MAX, MINE } from "./exact-job";
import { CHUNK, type SweepArrays, type SweepParams, type SweepTally, claimChunks, sweepClaimed, sweepRange } from "./sweep";
import { Sweeper } from "./sweep-thread";
import { stateIndex, thresholdsFrom } from "./thresholds";
import type {
  AccountHealth,
  Address,
  Crossing,
  HealthEngineOptions,
  HealthUpdate,
  LiquidatableEntry,
  PriceInfo,
  RiskAggregates,
  StressResult,
  SweepWorkerStatus,
} from "./types";

/** Delta pushes into the float sums after which they are re-summed from the holder lists (bounds rounding drift). */
const RESUM_AFTER_PUSHES = 256;
/** A factor moving by more than this ratio (either way, or from / to 0) is re-summed rather than pushed. */
const MAX_DELTA_RATIO = 4;
const RAY_F = 1e27;
/** default HealthEngineOptions.sweepWorkerMinHolders */
const SWEEP_WORKER_MIN_HOLDERS = 50_000;
/** exact confirmations in one phase from which they are shared with the sweep worker (fewer: not worth a wake-up) */
const EXACT_SHARE_MIN = 64;
/** offsets into Pass.iv: the interval until the next rebase, the interval now; each [LO, HI] */
const IV_NEXT = 0;
const IV_NOW = 2;
const LO = 0;
const HI = 1;

interface Deferred {
  s: AssetSlot;
  dfc: number;
  dfd: number;
  /** the LT moved: the holders' exact anchors no longer bound anything (a price move alone is bounded by psi) */
  voidAnchors: boolean;
}

const lower = (a: string): Address => a.toLowerCase() as Address;

export class HealthEngine {
  private readonly core: EngineData;
  private readonly slotOf = new Map<Address, AssetSlot>();
  private readonly dirty = new Set<number>();
  /** slots whose price freshness flipped since the last evaluate */
  private readonly flipped = new Set<AssetSlot>();
  private pass = 0;
  /** bumped by everything the read paths' frame depends on (prices, state, evaluate); the frame is keyed on it */
  private gen = 0;
  private readonly frame: RiskFrame;
  private pushes = 0;
  private full = true;
  /** Φ at the last rebase, and the last evaluate's index of every slot (to detect time running backwards) */
  private phiRebase = 0;
  private readonly lastIndexes = new Map<AssetSlot, { l: bigint; b: bigint }>();
  private readonly sweeper: Sweeper;
  /** the exact confirmations of one phase, packed for the sweep worker (reused by every evaluate) */
  private readonly exactBatch = new ExactBatch();

  constructor(
    readonly state: ProtocolState,
    readonly math: ProtocolMath,
    opts: HealthEngineOptions = {},
  ) {
    this.core = {
      state,
      math,
      book: new AccountBook(),
      slots: [],
      prices: new Map(),
      thresholds: thresholdsFrom(opts),
      liq: new Map(),
      unknown: new Set(),
      watch: new Set(),
    };
    for (const account of state.accounts.keys()) this.markDirty(lower(account), false);
    this.frame = new RiskFrame(this.core);
    this.sweeper = new Sweeper(opts.sweepWorkerMinHolders ?? SWEEP_WORKER_MIN_HOLDERS);
  }

  /** Records a price; holders of the asset are re-checked at the next evaluate. */
  setPrice(asset: Address, info: PriceInfo): void {
    this.core.prices.set(lower(asset), { price: info.price, status: info.status });
    this.gen++;
  }

  price(asset: Address): PriceInfo | undefined {
    return this.core.prices.get(lower(asset));
  }

  /** Call after every ProtocolState.apply: touched accounts are rebuilt at the next evaluate. */
  onStateChange(change: StateChange): void {
    this.gen++;
    for (const a of change.accounts) this.markDirty(lower(a), true);
  }

  /** Call with the result of ProtocolState.rollbackTo: the undone positions are rebuilt the same way. */
  onRollback(change: StateChange): void {
    this.onStateChange(change);
  }

  /**
   * Brings every account's status up to `now` and returns what changed. `onLiquidatable`, when given, is called
   * as soon as the liquidatable set is final — before the margin-level crossings are confirmed — with the set's
   * net additions and removals so far (the same as the update's; only liquidatable entries' HFs may still be
   * refreshed afterwards).
   */
  evaluate(now: bigint, blockNumber: bigint, onLiquidatable?: (change: { added: Address[]; removed: Address[] }) => void): HealthUpdate {
    const { book, thresholds: th } = this.core;
    this.gen++; // and again at the end: a read from onLiquidatable sees neither the state before nor after
    const ctx = new ExactContext(this.state, (a) => this.core.prices.get(a), now, this.math);
    const out = new UpdateBuilder(blockNumber, now, book);
    this.syncAssets();
    const flipped = [...this.flipped];
    this.flipped.clear();
    const g = this.measureGrowth(ctx);
    if (g.backwards) for (let id = 0; id < book.size; id++) book.f64[id * F64_STRIDE + ANCHOR_HF] = NaN;
    const rebase = this.full || g.backwards || g.newHeld || g.phi - this.phiRebase > th.lnBudget;
    if (rebase) {
      for (const s of this.core.slots) {
        const idx = ctx.indexes(s.address);
        if (idx) s.setRef(idx.liquidityIndex, idx.borrowIndex);
      }
      this.phiRebase = g.phi;
    }
    const { moved: priced, deferred } = this.applyFactors(rebase, flipped.length === 0);
    const run = new Pass(
      this.core,
      ctx,
      out,
      ++this.pass,
      {
        gHi: rebase ? 1 : g.gHi,
        cHi: rebase ? 1 : g.cHi,
        phi: g.phi,
        phiNext: this.phiRebase + th.lnBudget,
      },
      this.sweeper,
      () => this.resum(),
      this.math.healthModule && this.sweeper.running ? this.exactBatch : null,
    );

    for (const id of this.dirty) {
      this.rebuild(id);
      run.refreshUnknown(id);
    }
    for (const s of flipped) {
      const { ids, n } = s.holders;
      for (let h = 0; h < n; h++) run.refreshUnknown(ids[h]!);
    }
    if (rebase) {
      this.core.watch.clear();
      for (let id = 0; id < book.size; id++) book.setFlag(id, WATCH, false);
      for (let id = 0; id < book.size; id++) run.classify(id);
    } else {
      for (const id of this.dirty) run.classify(id);
      if (deferred) this.pushAndClassify(deferred, run);
      else {
        for (const s of priced) {
          const { ids, sw, sd, n } = s.holders;
          run.sweep(ids, sw, sd, n, 0, 0, false, false);
        }
      }
      for (const id of [...this.core.watch]) run.classify(id);
    }
    run.flushExacts();
    // The liquidatable set is final here; only the second phase's margin levels remain.
    onLiquidatable?.(out.liquidatableNow());
    run.confirmLevels();
    run.flushExacts();
    for (const id of this.dirty) book.setFlag(id, DIRTY, false);
    this.dirty.clear();
    this.full = false;
    // A book this big will share its next price sweeps: the worker starts now, to be ready by then.
    this.sweeper.prepare(this.core.slots.reduce((n, s) => Math.max(n, s.holders.n), 0));
    this.gen++;
    return out.build(rebase, run.recomputed, run.classified);
  }

  /** Fresh exact card of one account at `now` (does not need evaluate). */
  account(address: Address, now: bigint): AccountHealth | undefined {
    const { book } = this.core;
    const account = lower(address);
    const held = this.state.accounts.get(account);
    const id = book.idOf.get(account);
    if (!held && id === undefined) return undefined;
    const ctx = new ExactContext(this.state, (a) => this.core.prices.get(a), now, this.math);
    return buildAccountHealth({
      account,
      timestamp: now,
      positions: ctx.positions(account, held),
      math: this.math,
      warningAt: this.warningAt(),
      marginLevels: this.marginLevels(account),
      positionVersion: id === undefined ? 0 : book.version(id),
      category: this.categoryOf(account),
    });
  }

  /**
   * Exact HFs (WAD; max uint256 without debt) of `accounts` at `now`, from ProtocolState and the latest prices, in
   * one context: the figures of crossings the bounds proved (HF null) and of liquidatable set changes. The same
   * number as `account(a, now).healthFactor` (null when a price it reads is not fresh), without the card.
   */
  healthFactors(accounts: readonly Address[], now: bigint): Array<bigint | null> {
    const ctx = new ExactContext(this.state, (a) => this.core.prices.get(a), now, this.math);
    return accounts.map((a) => {
      const r = ctx.account(lower(a));
      return r.hasDebt && r.unknownAssets.length > 0 ? null : r.data.healthFactor;
    });
  }

  /** The category the account chose, with its label (null: none). */
  private categoryOf(account: Address): { id: number; label: string } | null {
    const id = this.state.accountCategories.get(account);
    return id === undefined ? null : { id, label: this.state.categories.get(id)?.label ?? "" };
  }

  liquidatable(): LiquidatableEntry[] {
    const { book } = this.core;
    const out: LiquidatableEntry[] = [];
    for (const [id, r] of this.core.liq) {
      out.push({
        account: book.addresses[id]!,
        healthFactor: r.healthFactor,
        since: r.since,
        computedAt: r.computedAt,
        positionVersion: book.version(id),
      });
    }
    return out.sort((a, b) => cmp(a.account, b.account));
  }

  unknown(): Address[] {
    return [...this.core.unknown].map((id) => this.core.book.addresses[id]!).sort(cmp);
  }

  /** Margin levels active for the account (hysteresis state as of the last evaluate). */
  marginLevels(address: Address): string[] {
    const id = this.core.book.idOf.get(lower(address));
    if (id === undefined) return [];
    const levels = this.core.book.levels(id);
    return this.core.thresholds.names.filter((_n, i) => (levels >> i) & 1);
  }

  positionVersion(address: Address): number {
    const id = this.core.book.idOf.get(lower(address));
    return id === undefined ? 0 : this.core.book.version(id);
  }

  /** Accounts re-checked every evaluate because interest alone could move them across a threshold. */
  watched(): number {
    return this.core.watch.size;
  }

  /** Margin levels with their exact thresholds: crossed down below `down`, resolved at ≥ `up`. */
  levels(): Array<{ name: string; down: bigint; up: bigint }> {
    const t = this.core.thresholds;
    return t.names.map((name, i) => ({ name, down: t.down[i]!, up: t.up[i]! }));
  }

  /** HF under which an account's status is "warning" (the highest level), null with no levels. */
  warningAt(): bigint | null {
    const down = this.core.thresholds.down;
    return down.length ? down.reduce((a, b) => (a > b ? a : b)) : null;
  }

  /** Counts for metrics, as of the last evaluate. */
  stats(): { accounts: number; withDebt: number; liquidatable: number; unknown: number; watched: number } {
    const { book } = this.core;
    let withDebt = 0;
    for (let id = 0; id < book.size; id++) if (book.nDebt(id) !== 0) withDebt++;
    return { accounts: book.size, withDebt, liquidatable: this.core.liq.size, unknown: this.core.unknown.size, watched: this.core.watch.size };
  }

  /** The sweep worker (HealthEngineOptions.sweepWorkerMinHolders): its state, and the sweeps it shared. */
  sweepWorker(): SweepWorkerStatus {
    return this.sweeper.status();
  }

  /** Stops the sweep worker, if one runs; the engine goes on, sweeping on its own thread. */
  close(): Promise<void> {
    return this.sweeper.close();
  }

  /** Bytes held in typed arrays (accounts + holder lists + the read frame); the JS map of addresses comes on top. */
  memoryBytes(): number {
    return this.core.book.bytes() + this.core.slots.reduce((s, a) => s + a.holders.bytes(), 0) + this.frame.bytes();
  }

  /**
   * Risk overview at `now`, on positions as of the last evaluate and the latest prices. Computed once per engine
   * state and timestamp (the read frame): callers of one block share one object, to be treated as read-only.
   */
  aggregates(now: bigint): RiskAggregates {
    this.syncAssets();
    const frame = this.frame.at(this.gen, now);
    frame.aggregates ??= computeAggregates(this.core, frame, now);
    return frame.aggregates;
  }

  /**
   * The at-risk view at `now` from the engine's own book: every account's float HF interval (positions as of the
   * last evaluate, the latest prices, indexes at `now`), the exact liquidatable / unknown flags, exact HF on demand.
   * `warningAt` (default: the highest margin level) is where "warning" begins.
   */
  atRiskView(now: bigint, warningAt: bigint | null = this.warningAt()): AtRiskView {
    this.syncAssets();
    return new AtRiskView(this.core, this.frame.at(this.gen, now), now, warningAt);
  }

  /** Price shocks (asset → fraction, e.g. -0.3) → liquidations and bad debt, exact per account. */
  stress(shocks: Map<Address, number>, now: bigint): StressResult {
    this.syncAssets();
    return runStress(this.core, shocks, now, this.frame.stressScratch());
  }

  // ------------------------------------------------------------------ internals

  private markDirty(account: Address, bump: boolean): void {
    const { book } = this.core;
    const id = book.id(account);
    if (bump) book.u32[id * U32_STRIDE + VERSION]!++;
    book.setFlag(id, DIRTY, true);
    this.dirty.add(id);
  }

  /** Registers newly listed assets, copies params and prices; freshness flips wait in `flipped` for evaluate. */
  private syncAssets(): void {
    const { slots, book, prices } = this.core;
    for (const a of this.state.assets.keys()) {
      if (this.slotOf.has(a)) continue;
      const s = new AssetSlot(slots.length, a);
      slots.push(s);
      this.slotOf.set(a, s);
      book.ensureAssets(slots.length);
    }
    let lowest = 0n;
    const consider = (lt: bigint) => {
      if (lt > 0n && (lowest === 0n || lt < lowest)) lowest = lt;
    };
    for (const s of slots) {
      const a = this.state.assets.get(s.address);
      s.syncParams(a);
      if (a) consider(a.liquidationThresholdBps);
      if (s.syncPrice(prices.get(s.address))) this.flipped.add(s);
    }
    for (const c of this.state.categories.values()) consider(c.liquidationThresholdBps);
    // The float bounds' band covers the protocol's model error for the lowest LT any collateral can count at.
    const t = this.core.thresholds;
    t.modelError = this.math.hfModelError(lowest);
    t.band = t.nearBand + t.modelError;
  }

  /**
   * Φ now; the exact growth of each index since its reference (float bounds); whether an index went backwards
   * since the last evaluate (a reorg or rollback); whether a slot with holders has no reference yet.
   */
  private measureGrowth(ctx: ExactContext): { phi: number; gHi: number; cHi: number; backwards: boolean; newHeld: boolean } {
    let phi = 0;
    let gHi = 1;
    let cHi = 1;
    let backwards = false;
    let newHeld = false;
    for (const s of this.core.slots) {
      const idx = ctx.indexes(s.address);
      const last = this.lastIndexes.get(s);
      if (!idx) {
        if (last) backwards = true; // listing rolled back
        this.lastIndexes.delete(s);
        continue;
      }
      if (last && (idx.liquidityIndex < last.l || idx.borrowIndex < last.b)) backwards = true;
      this.lastIndexes.set(s, { l: idx.liquidityIndex, b: idx.borrowIndex });
      phi += Math.log(Number(idx.liquidityIndex) / RAY_F) + Math.log(Number(idx.borrowIndex) / RAY_F);
      if (!s.hasRef) {
        // A new listing: its holders (all dirty) are summed at this reference.
        if (s.holders.n > 0) newHeld = true;
        s.setRef(idx.liquidityIndex, idx.borrowIndex);
        continue;
      }
      const gk = Number(idx.borrowIndex) / s.refBF;
      const ck = Number(idx.liquidityIndex) / s.refLF;
      if (idx.borrowIndex < s.refB || idx.liquidityIndex < s.refL) backwards = true;
      if (gk > gHi) gHi = gk;
      if (ck > cHi) cHi = ck;
    }
    return { phi, gHi, cHi, backwards, newHeld };
  }

  /**
   * Folds changed price / LT factors into the holders' float sums; returns the slots whose factors moved. When
   * exactly one moved and `canDefer`, its delta is returned instead, to be pushed in the same pass that classifies
   * its holders (one walk over their records instead of two: the common case of one feed update per block).
   */
  private applyFactors(rebase: boolean, canDefer: boolean): { moved: AssetSlot[]; deferred: Deferred | null } {
    const changes: Array<{ s: AssetSlot; fc: number; fd: number; ltMoved: boolean }> = [];
    let resum = rebase || this.pushes > RESUM_AFTER_PUSHES;
    for (const s of this.core.slots) {
      const fc = s.targetFc();
      const fd = s.targetFd();
      if (fc === s.fc && fd === s.fd) continue;
      changes.push({ s, fc, fd, ltMoved: s.ltF !== s.appliedLtF });
      // A deep move would leave a delta's rounding large next to the shrunken sums: re-sum from scratch instead.
      if (!(fc <= s.fc * MAX_DELTA_RATIO && s.fc <= fc * MAX_DELTA_RATIO && fd <= s.fd * MAX_DELTA_RATIO && s.fd <= fd * MAX_DELTA_RATIO))
        resum = true;
    }
    // A rebase alone moves every factor (new references) but no HF: exact anchors stay valid, no holder is re-checked
    // for it (the rebase classifies everyone anyway). A price move keeps them too, widened by the slot's drift (psi);
    // an LT change voids them.
    const priced = changes.filter(({ s, ltMoved }) => ltMoved || s.priceF !== s.appliedPriceF);
    let deferred: Deferred | null = null;
    if (!resum && canDefer && priced.length === 1 && changes.length === 1) {
      const { s, fc, fd, ltMoved } = priced[0]!;
      deferred = { s, dfc: fc - s.fc, dfd: fd - s.fd, voidAnchors: ltMoved };
    } else if (resum) {
      for (const { s, ltMoved } of priced) if (ltMoved) this.invalidateAnchors(s);
    } else for (const { s, fc, fd, ltMoved } of changes) this.push(s, fc - s.fc, fd - s.fd, ltMoved);
    for (const { s, fc, fd } of changes) {
      s.fc = fc;
      s.fd = fd;
      s.applyPrice();
      s.appliedLtF = s.ltF;
    }
    if (resum) this.resum();
    return { moved: priced.map((c) => c.s), deferred };
  }

  /** The deferred push fused with classification. Dirty accounts were just rebuilt at the new factors: no delta. */
  private pushAndClassify({ s, dfc, dfd, voidAnchors }: Deferred, run: Pass): void {
    const { ids, sw, sd, n } = s.holders;
    run.sweep(ids, sw, sd, n, dfc, dfd, true, voidAnchors);
    this.pushes++;
  }

  /** Adds a factor delta to every holder's float sums; with `voidAnchors` (the LT moved) their anchors are dropped. */
  private push(s: AssetSlot, dfc: number, dfd: number, voidAnchors: boolean): void {
    const { ids, sw, sd, n } = s.holders;
    const f64 = this.core.book.f64;
    for (let h = 0; h < n; h++) {
      const at = ids[h]! * F64_STRIDE;
      f64[at + W]! += sw[h]! * dfc;
      f64[at + D]! += sd[h]! * dfd;
      if (voidAnchors) f64[at + ANCHOR_HF] = NaN;
    }
    this.pushes++;
  }

  private invalidateAnchors(s: AssetSlot): void {
    const { ids, n } = s.holders;
    const f64 = this.core.book.f64;
    for (let h = 0; h < n; h++) f64[ids[h]! * F64_STRIDE + ANCHOR_HF] = NaN;
  }

  /** Recomputes every float sum from the holder lists (after a rebase, or to shed accumulated rounding). */
  private resum(): void {
    const { f64, size } = this.core.book;
    for (let id = 0; id < size; id++) {
      f64[id * F64_STRIDE + W] = 0;
      f64[id * F64_STRIDE + D] = 0;
    }
    for (const s of this.core.slots) {
      const { ids, sw, sd, n } = s.holders;
      const fc = s.fc;
      const fd = s.fd;
      for (let h = 0; h < n; h++) {
        const at = ids[h]! * F64_STRIDE;
        f64[at + W]! += sw[h]! * fc;
        f64[at + D]! += sd[h]! * fd;
      }
    }
    this.pushes = 0;
  }

  /**
   * Re-reads one account's positions from state into the holder lists and its float sums. A position is held when
   * the account data reads it: debt, or collateral that counts (flag, LT and category as the protocol's math says).
   */
  private rebuild(id: number): void {
    const b = this.core.book;
    const account = b.addresses[id]!;
    const held = this.state.accounts.get(account);
    const stride = b.stride;
    let nHeld = 0;
    let nDebt = 0;
    let w = 0;
    let d = 0;
    for (const s of this.core.slots) {
      const p = held?.get(s.address);
      const at = id * stride + s.k;
      const slot = b.slots[at]!;
      const terms = p && p.scaledCollateral !== 0n ? this.collateralTerms(account, s.address, p) : null;
      if (p && (terms || p.scaledDebt !== 0n)) {
        const sc = terms ? Number(p.scaledCollateral) : 0;
        const sw = terms ? sc * terms.ltRatio : 0;
        const sd = Number(p.scaledDebt);
        const scB = terms ? p.scaledCollateral : 0n;
        if (slot < 0) b.slots[at] = s.holders.push(id, sc, sw, sd, scB, p.scaledDebt);
        else s.holders.set(slot, sc, sw, sd, scB, p.scaledDebt);
        nHeld++;
        if (sd !== 0) nDebt++;
        w += sw * s.fc;
        d += sd * s.fd;
      } else if (slot >= 0) {
        const movedId = s.holders.removeAt(slot);
        if (movedId >= 0) b.slots[movedId * stride + s.k] = slot;
        b.slots[at] = -1;
      }
    }
    b.u8[id * U8_STRIDE + N_HELD] = nHeld;
    b.u8[id * U8_STRIDE + N_DEBT] = nDebt;
    b.f64[id * F64_STRIDE + W] = w;
    b.f64[id * F64_STRIDE + D] = d;
    b.f64[id * F64_STRIDE + ANCHOR_HF] = NaN;
  }

  /** Whether a collateral balance counts, and its LT relative to the asset's own (null: it does not count). */
  private collateralTerms(account: Address, asset: Address, p: Position): { ltRatio: number } | null {
    const a = this.state.assets.get(asset);
    if (!a) return null;
    const terms = this.math.collateralTerms({
      ltvBps: a.ltvBps,
      liquidationThresholdBps: a.liquidationThresholdBps,
      collateralEnabled: p.collateralFlag ?? this.math.collateralDefault,
      category: a.category === 0 ? null : this.state.categoryOf(account, asset),
    });
    if (!terms.counts) return null;
    const own = a.liquidationThresholdBps;
    return { ltRatio: own === 0n ? 0 : terms.liquidationThresholdBps === own ? 1 : Number(terms.liquidationThresholdBps) / Number(own) };
  }
}

interface Growth {
  /** largest borrow / liquidity index growth of any asset since its reference */
  gHi: number;
  cHi: number;
  phi: number;
  /** Φ at which the next rebase happens at the latest: the horizon of the watch set */
  phiNext: number;
}

/** One evaluate: the float / anchor prefilter, exact confirmation, transitions. */
class Pass {
  recomputed = 0;
  classified = 0;
  /** accounts whose liquidatable flag is proven but whose levels need exact math: confirmed by confirmLevels */
  private readonly levelsOnly: number[] = [];
  /** their `iv` from the first phase, four numbers each (nothing they depend on moves in between) */
  private readonly levelsIv: number[] = [];
  private readonly errPerPosition: number;
  private readonly cap: number;
  private readonly exactBook: BookExact;
  private psiId = -1;
  private psi = 0;
  /** the HF intervals of the last `bounds` (IV_NEXT, IV_NOW; LO, HI), and whose they are */
  private readonly iv = new Float64Array(4);
  private boundsId = -1;

  constructor(
    private readonly c: EngineData,
    ctx: ExactContext,
    private readonly out: UpdateBuilder,
    readonly pass: number,
    private readonly g: Growth,
    private readonly sweeper: Sweeper,
    private readonly resumAll: () => void,
    /** when the sweep worker runs: where exact confirmations wait for flushExacts, to be shared with it */
    private readonly batch: ExactBatch | null,
  ) {
    this.exactBook = new BookExact(c, ctx);
    let err = 0;
    for (const s of c.slots) err = Math.max(err, s.absError());
    this.errPerPosition = err;
    // Without a rebase every index grew by at most e^(ΔΦ) ≤ 1 + budget; max() only absorbs float noise.
    this.cap = Math.max(1 + c.thresholds.budget, g.gHi, g.cHi);
  }

  /**
   * Classifies holders `ids[0..n)` of one asset, first pushing the factor delta (dfc, dfd) into the float sums of
   * those not rebuilt in this evaluate when `push`. sweep.ts sweepRange decides the common case inline and hands
   * back the rest, which go through `classify`. A long list is shared with the sweep worker (sweep-thread.ts): both
   * claim chunks of it from one counter, this thread classifying what each of its chunks left as it goes (so the
   * worker claims more), then what the worker left. The same decisions either way; only whose thread pushed which
   * sums differs.
   */
  sweep(ids: Int32Array, sw: Float64Array, sd: Float64Array, n: number, dfc: number, dfd: number, push: boolean, voidAnchors: boolean): void {
    const { book, thresholds: t } = this.c;
    const arrays: SweepArrays = { f64: book.f64, u32: book.u32, u8: book.u8, ids, sw, sd };
    const params: SweepParams = {
      pass: this.pass,
      errPer: this.errPerPosition,
      cap: this.cap,
      band: t.band,
      dfc,
      dfd,
      push,
      voidAnchors,
      holdLo: t.holdLo,
      holdHi: t.holdHi,
      liqBase: stateIndex(true, 0),
    };
    const worker = this.sweeper.workerFor(n);
    const tally: SweepTally = { count: 0, decided: 0 };
    if (!worker) {
      const cand = this.sweeper.candidates(n);
      sweepRange(arrays, 0, n, params, cand, tally);
      this.classified += tally.decided;
      for (let i = 0; i < tally.count; i++) this.classify(cand[i]!);
      return;
    }
    worker.start(arrays, n, params);
    const cand = this.sweeper.candidates(CHUNK);
    sweepClaimed(arrays, n, params, cand, tally, worker.control, () => {
      for (let i = 0; i < tally.count; i++) this.classify(cand[i]!);
      tally.count = 0;
    });
    this.classified += tally.decided;
    const theirs = worker.finish();
    if (theirs) {
      this.classified += theirs.decided;
      for (let i = 0; i < theirs.ids.length; i++) this.classify(theirs.ids[i]!);
      return;
    }
    // The worker did not answer: a chunk it claimed may be half pushed. Every sum is recomputed from the holder lists
    // (at the factors now in force, the delta included) and every holder not yet stamped classified here; what the
    // worker stamped it decided on sums already pushed, so it stands.
    if (voidAnchors) for (let h = 0; h < n; h++) book.f64[ids[h]! * F64_STRIDE + ANCHOR_HF] = NaN;
    this.resumAll();
    for (let h = 0; h < n; h++) this.classify(ids[h]!);
  }

  /** Recomputes whether the account's HF depends on a price that is not fresh; handles the transition. */
  refreshUnknown(id: number): void {
    const b = this.c.book;
    let unknown = false;
    if (b.nDebt(id) > 0) {
      const base = id * b.stride;
      for (const s of this.c.slots) {
        if (b.slots[base + s.k]! >= 0 && !s.fresh) {
          unknown = true;
          break;
        }
      }
    }
    const was = (b.flags(id) & UNKNOWN) !== 0;
    if (unknown === was) return;
    if (unknown) {
      b.setFlag(id, UNKNOWN, true);
      this.c.unknown.add(id);
      this.out.unknownAdded.push(id);
      if (b.flags(id) & LIQ) this.removeLiq(id);
    } else {
      b.setFlag(id, UNKNOWN, false);
      this.c.unknown.delete(id);
      this.out.unknownRemoved.push(id);
      this.exact(id); // the recorded state predates the unknown period: decide it afresh
      b.u32[id * U32_STRIDE + STAMP] = this.pass;
      this.updateWatch(id);
    }
  }

  classify(id: number): void {
    const { u8, u32 } = this.c.book;
    if (u32[id * U32_STRIDE + STAMP] === this.pass) return;
    u32[id * U32_STRIDE + STAMP] = this.pass;
    this.classified++;
    const flags = u8[id * U8_STRIDE + FLAGS]!;
    if (flags & UNKNOWN) {
      if (flags & WATCH) this.unwatch(id);
      return; // frozen until a price status or a position of the account changes
    }
    const liq = (flags & LIQ) !== 0;
    if (u8[id * U8_STRIDE + N_DEBT] === 0) {
      if (liq || u8[id * U8_STRIDE + LEVELS] !== 0)
        this.confirm(id); // debt repaid: HF is max, everything resolves
      else if (flags & WATCH) this.unwatch(id);
      return;
    }
    if (liq && flags & DIRTY) {
      this.confirm(id); // refresh the HF the keeper sees after a position change
      return;
    }
    this.bounds(id);
    const iv = this.iv;
    // Most accounts: the state holds even at the worst growth before the next rebase, hence now, unwatched.
    if (this.proves(IV_NEXT)) {
      if (flags & WATCH) this.unwatch(id);
      return;
    }
    if (this.proves(IV_NOW)) this.watch(id);
    else if (liq ? iv[IV_NOW + HI]! < 1 : iv[IV_NOW + LO]! >= 1) {
      this.levelsOnly.push(id);
      for (let i = 0; i < 4; i++) this.levelsIv.push(iv[i]!); // the same bounds in the second phase
    } else if (this.settle(id, liq)) this.updateWatch(id);
    else this.confirm(id);
  }

  /**
   * Exact math decides the account, then its watch flag: now, or (while the sweep worker runs) at the phase's
   * flushExacts. Deferring changes nothing: the result depends only on this pass's context and the account's own
   * holder entries, and nothing before the flush reads the account's state again (it is stamped).
   */
  private confirm(id: number): void {
    if (this.batch) {
      const list = this.exactBook.positions(id);
      this.batch.add(id, list, this.exactBook.slotOf, this.exactBook.slack);
    } else {
      this.exact(id);
      this.updateWatch(id);
    }
  }

  /**
   * The phase's deferred exact confirmations (confirm), shared with the sweep worker when there are enough: both
   * threads claim chunks of the batch from one counter (sweep.ts claimChunks); this thread computes and records its
   * chunks as it goes, then records the worker's figures. A worker that does not answer is given up
   * (sweep-thread.ts), and what it may have computed is computed here instead.
   */
  flushExacts(): void {
    const b = this.batch;
    if (!b || b.n === 0) return;
    const n = b.n;
    const worker = n >= EXACT_SHARE_MIN ? this.sweeper.running : null;
    const here = (i: number) => {
      const id = b.ids[i]!;
      this.exact(id);
      this.updateWatch(id);
    };
    if (!worker) {
      for (let i = 0; i < n; i++) here(i);
      b.clear();
      return;
    }
    const inputs = this.c.slots.map((_s, k) => this.exactBook.inputsOf(k));
    worker.startExact((seq, ctrl) => b.job(seq, ctrl, this.c.math.healthModule!, inputs, this.c.state.categories));
    claimChunks(worker.control, n, EXACT_CHUNK, (from, to) => {
      for (let i = from; i < to; i++) {
        b.flags[i]! |= MINE;
        here(i);
      }
    });
    const answered = worker.finish() !== null;
    const u8 = this.c.book.u8;
    for (let i = 0; i < n; i++) {
      const f = b.flags[i]!;
      if (f & MINE) continue;
      if (!answered || !(f & DONE)) {
        here(i); // left to this thread (REDO), or the worker's figures are not to be trusted
        continue;
      }
      const id = b.ids[i]!;
      const debt = u8[id * U8_STRIDE + N_DEBT] !== 0 ? b.debt[i]! : 0;
      this.record(id, f & HF_MAX ? MAX_UINT256 : b.hf[i]!, debt, b.slack[i]!);
      this.updateWatch(id);
    }
    b.clear();
  }

  /**
   * Second phase of an evaluate: the accounts whose liquidatable flag the bounds proved but whose recorded margin
   * levels they did not are decided now — by `settle` when the bounds place every level, else by exact math — the
   * same decisions on the same context as in the first phase, only later, so the liquidatable set is final (and
   * can be handed on) before the level crossings are. The outcome equals deciding them in line.
   */
  confirmLevels(): void {
    const { u8 } = this.c.book;
    for (let j = 0; j < this.levelsOnly.length; j++) {
      const id = this.levelsOnly[j]!;
      for (let i = 0; i < 4; i++) this.iv[i] = this.levelsIv[j * 4 + i]!;
      this.boundsId = id;
      if (this.settle(id, (u8[id * U8_STRIDE + FLAGS]! & LIQ) !== 0)) this.updateWatch(id);
      else this.confirm(id);
    }
    this.levelsOnly.length = 0;
    this.levelsIv.length = 0;
  }

  /**
   * A transition the bounds prove whole, on the interval `bounds` left in iv[IV_NOW..]: the intersection of the
   * anchor's and the float sums' (each holds the exact HF). When the liquidatable flag and every margin level sit on
   * one side of their thresholds for the whole interval, the new state is applied without exact math: the
   * crossings carry no HF (null: the exact figure is the account's card at this block), a removal from the
   * liquidatable set needs none. An account entering the set is left to exact math (its entry records the exact
   * HF), as is any straddled threshold. Returns whether the transition was applied; false changes nothing. The
   * comparisons are those of thresholds.ts holdLo / holdHi.
   */
  private settle(id: number, liq: boolean): boolean {
    const u8 = this.c.book.u8;
    const t = this.c.thresholds;
    const lo = this.iv[IV_NOW + LO]!;
    const hi = this.iv[IV_NOW + HI]!;
    // Entering the set (hi < 1 from outside) or straddling 1: exact.
    if (!(liq ? hi < 1 || lo >= 1 : lo >= 1)) return false;
    const was = u8[id * U8_STRIDE + LEVELS]!;
    let levels = was;
    for (let i = 0; i < t.down.length; i++) {
      const bit = 1 << i;
      if (was & bit) {
        if (lo >= t.upF[i]!) levels &= ~bit;
        else if (!(hi < t.upF[i]!)) return false;
      } else if (hi < t.downF[i]!) levels |= bit;
      else if (!(lo >= t.downF[i]!)) return false;
    }
    if (liq && lo >= 1) this.removeLiq(id);
    if (levels !== was) {
      const address = this.c.book.addresses[id]!;
      for (let i = 0; i < t.down.length; i++) {
        const bit = 1 << i;
        if ((levels ^ was) & bit)
          this.out.cross(id, { account: address, level: t.names[i]!, direction: levels & bit ? "down" : "up", healthFactor: null }, i);
      }
      u8[id * U8_STRIDE + LEVELS] = levels;
    }
    return true;
  }

  /** Whether the interval iv[at..at+2) proves the account's recorded state (thresholds.ts holdLo / holdHi). */
  private proves(at: number): boolean {
    const { u8 } = this.c.book;
    const t = this.c.thresholds;
    const m = this.boundsId * U8_STRIDE;
    const k = stateIndex((u8[m + FLAGS]! & LIQ) !== 0, u8[m + LEVELS]!);
    const needHi = t.holdHi[k]!;
    return this.iv[at + LO]! >= t.holdLo[k]! && (needHi === Infinity || this.iv[at + HI]! < needHi);
  }

  /**
   * The account's HF intervals into `iv` (the numbers stay in a typed array: no boxing on the hot path). The float
   * sums and the exact anchor each give an interval holding the exact HF, so their intersection holds it too:
   * IV_NEXT at the worst growth before the next rebase (Φ = phiNext, every index grown by `cap`), which proves a
   * state until then; IV_NOW at Φ now and the measured growth gHi / cHi. Without an anchor, the float sums alone.
   */
  private bounds(id: number): void {
    const { f64, u8 } = this.c.book;
    const t = this.c.thresholds;
    const iv = this.iv;
    const r = id * F64_STRIDE;
    const w = f64[r + W]!;
    const d = f64[r + D]!;
    const err = u8[id * U8_STRIDE + N_HELD]! * this.errPerPosition;
    let nextLo = hfLow(w, d, err, this.cap, t.band);
    let nextHi = hfHigh(w, d, err, this.cap, t.band);
    let nowLo = hfLow(w, d, err, this.g.gHi, t.band);
    let nowHi = hfHigh(w, d, err, this.g.cHi, t.band);
    const a = f64[r + ANCHOR_HF]!;
    // biome-ignore lint/suspicious/noSelfCompare: NaN (no anchor) test on the hot path, kept as a self-compare
    if (a === a) {
      const then = f64[r + ANCHOR_PHI]!;
      const drift = this.driftOf(id);
      const rel = f64[r + ANCHOR_REL]!;
      const me = t.modelError;
      const gNext = Math.exp(Math.max(0, this.g.phiNext - then));
      const gNow = Math.exp(Math.max(0, this.g.phi - then));
      nextLo = Math.max(nextLo, anchorLow(a, rel, gNext, drift, me));
      nextHi = Math.min(nextHi, anchorHigh(a, rel, gNext, drift, me));
      nowLo = Math.max(nowLo, anchorLow(a, rel, gNow, drift, me));
      nowHi = Math.min(nowHi, anchorHigh(a, rel, gNow, drift, me));
    }
    iv[IV_NEXT + LO] = nextLo;
    iv[IV_NEXT + HI] = nextHi;
    iv[IV_NOW + LO] = nowLo;
    iv[IV_NOW + HI] = nowHi;
    this.boundsId = id;
  }

  /** Σ of the held assets' price drift (AssetSlot.psi); memoised for the last account asked. */
  private psiOf(id: number): number {
    if (id === this.psiId) return this.psi; // prices do not move within a pass
    const { book, slots } = this.c;
    const base = id * book.stride;
    let psi = 0;
    for (let k = 0; k < slots.length; k++) if (book.slots[base + k]! >= 0) psi += slots[k]!.psi;
    this.psiId = id;
    this.psi = psi;
    return psi;
  }

  /** Bound of every held price's move since the account's anchor was taken (1: none moved). */
  private driftOf(id: number): number {
    const dpsi = this.psiOf(id) - this.c.book.f64[id * F64_STRIDE + ANCHOR_PSI]!;
    return dpsi > 0 ? Math.exp(dpsi * (1 + 1e-12)) : 1;
  }

  private exact(id: number): void {
    const r = this.exactBook.account(id);
    this.record(id, r.data.healthFactor, r.hasDebt ? Number(r.data.totalDebtBase) : 0, r.slack);
  }

  /**
   * Applies an exact HF: the anchor (`debt`: the total debt value as a float, 0 for an account without debt),
   * the liquidatable set, the margin levels.
   */
  private record(id: number, hf: bigint, debt: number, slack: number): void {
    const b = this.c.book;
    this.recomputed++;
    const address = b.addresses[id]!;
    const at = id * F64_STRIDE;
    if (debt > 0) {
      b.f64[at + ANCHOR_HF] = Number(hf) / 1e18;
      b.f64[at + ANCHOR_REL] = slack / debt; // this account's own rounding slack
      b.f64[at + ANCHOR_PHI] = this.g.phi;
      b.f64[at + ANCHOR_PSI] = this.psiOf(id);
      if (this.boundsId === id) this.boundsId = -1;
    } else b.f64[at + ANCHOR_HF] = NaN;
    if (hf < WAD) {
      const rec = this.c.liq.get(id);
      if (rec) {
        rec.healthFactor = hf;
        rec.computedAt = this.out.blockNumber;
      } else {
        this.c.liq.set(id, { since: this.out.blockNumber, healthFactor: hf, computedAt: this.out.blockNumber });
        b.setFlag(id, LIQ, true);
        this.out.liquidatableAdded.push(id);
      }
    } else if (b.flags(id) & LIQ) this.removeLiq(id);
    const t = this.c.thresholds;
    let levels = b.levels(id);
    for (let i = 0; i < t.down.length; i++) {
      const bit = 1 << i;
      if (levels & bit) {
        if (hf >= t.up[i]!) {
          levels &= ~bit;
          this.out.cross(id, { account: address, level: t.names[i]!, direction: "up", healthFactor: hf }, i);
        }
      } else if (hf < t.down[i]!) {
        levels |= bit;
        this.out.cross(id, { account: address, level: t.names[i]!, direction: "down", healthFactor: hf }, i);
      }
    }
    b.u8[id * U8_STRIDE + LEVELS] = levels;
  }

  private removeLiq(id: number): void {
    const b = this.c.book;
    this.c.liq.delete(id);
    b.setFlag(id, LIQ, false);
    this.out.liquidatableRemoved.push(id);
  }

  /** WATCH ⟺ the state is not proven for any interest growth until the next rebase (Φ ≤ phiNext). */
  private updateWatch(id: number): void {
    const b = this.c.book;
    let stable = true;
    if (!(b.flags(id) & UNKNOWN) && b.nDebt(id) !== 0) {
      if (this.boundsId !== id) this.bounds(id); // else still current: settle changes levels, not the bounds
      stable = this.proves(IV_NEXT);
    }
    if (stable) {
      if (b.flags(id) & WATCH) this.unwatch(id);
    } else this.watch(id);
  }

  private watch(id: number): void {
    const b = this.c.book;
    if (b.flags(id) & WATCH) return;
    b.setFlag(id, WATCH, true);
    this.c.watch.add(id);
  }

  private unwatch(id: number): void {
    this.c.book.setFlag(id, WATCH, false);
    this.c.watch.delete(id);
  }
}

/** The update as it is found, by account id; addresses, net changes and order at the end. */
class UpdateBuilder {
  readonly liquidatableAdded: Accounts;
  readonly liquidatableRemoved: Accounts;
  readonly unknownAdded: Accounts;
  readonly unknownRemoved: Accounts;
  private readonly crossings: Crossing[] = [];
  /** address prefix and level index of each crossing (the order: by address, then level) */
  private readonly crossKeys: number[] = [];
  private readonly orders: number[] = [];
  /** liquidatableNow's answer and the list lengths it was computed at (reused by build when nothing moved since) */
  private liqNow: { added: Address[]; removed: Address[]; at: [number, number] } | null = null;

  constructor(
    readonly blockNumber: bigint,
    readonly timestamp: bigint,
    private readonly book: AccountBook,
  ) {
    this.liquidatableAdded = new Accounts(book);
    this.liquidatableRemoved = new Accounts(book);
    this.unknownAdded = new Accounts(book);
    this.unknownRemoved = new Accounts(book);
  }

  /** The liquidatable set's net change so far (sorted). */
  liquidatableNow(): { added: Address[]; removed: Address[] } {
    const at: [number, number] = [this.liquidatableAdded.ids.length, this.liquidatableRemoved.ids.length];
    if (!this.liqNow || this.liqNow.at[0] !== at[0] || this.liqNow.at[1] !== at[1]) {
      const [added, removed] = this.netChange(this.liquidatableAdded, this.liquidatableRemoved);
      this.liqNow = { added, removed, at };
    }
    return { added: this.liqNow.added, removed: this.liqNow.removed };
  }

  cross(id: number, c: Crossing, order: number): void {
    this.crossings.push(c);
    this.crossKeys.push(this.book.u32[id * U32_STRIDE + PREFIX]!);
    this.orders.push(order);
  }

  build(rebased: boolean, recomputed: number, classified: number): HealthUpdate {
    const { added: liquidatableAdded, removed: liquidatableRemoved } = this.liquidatableNow();
    const [unknownAdded, unknownRemoved] = this.netChange(this.unknownAdded, this.unknownRemoved);
    const order = addressOrder(
      this.crossings.map((c) => c.account),
      (i, j) => this.orders[i]! - this.orders[j]!,
      Uint32Array.from(this.crossKeys),
    );
    const crossings: Crossing[] = new Array(order.length);
    for (let k = 0; k < order.length; k++) crossings[k] = this.crossings[order[k]!]!;
    return {
      blockNumber: this.blockNumber,
      timestamp: this.timestamp,
      liquidatableAdded: [...liquidatableAdded],
      liquidatableRemoved: [...liquidatableRemoved],
      unknownAdded,
      unknownRemoved,
      crossings,
      recomputed,
      classified,
      rebased,
    };
  }

  /** An account can leave and re-enter within one evaluate (unknown → exact): the net change only, each side sorted. */
  private netChange(added: Accounts, removed: Accounts): [Address[], Address[]] {
    if (added.ids.length === 0 || removed.ids.length === 0) return [this.sorted(added), this.sorted(removed)];
    const a = new Set(added.ids);
    const r = new Set(removed.ids);
    return [this.sorted(added.without(r)), this.sorted(removed.without(a))];
  }

  /** The accounts' addresses in order, each once. */
  private sorted(list: Accounts): Address[] {
    return sortedUnique(
      list.ids.map((id) => this.book.addresses[id]!),
      Uint32Array.from(list.keys),
    );
  }
}

/**
 * Accounts by id, each with its address prefix (book PREFIX), read when the account is added: its record is in
 * cache then, not when the update is sorted.
 */
class Accounts {
  readonly ids: number[] = [];
  readonly keys: number[] = [];

  constructor(private readonly book: AccountBook) {}

  push(id: number): void {
    this.ids.push(id);
    this.keys.push(this.book.u32[id * U32_STRIDE + PREFIX]!);
  }

  /** The entries whose id is not in `drop`. */
  without(drop: ReadonlySet<number>): Accounts {
    const out = new Accounts(this.book);
    for (let i = 0; i < this.ids.length; i++) {
      const id = this.ids[i]!;
      if (!drop.has(id)) {
        out.ids.push(id);
        out.keys.push(this.keys[i]!);
      }
    }
    return out;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
