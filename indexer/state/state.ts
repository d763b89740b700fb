// Protocol state rebuilt from protocol-neutral changes (indexer/state/changes.ts) alone: assets (risk params, indexes, rates, totals), feeds, positions.
// Pure and deterministic (no I/O). Every mutation of an unfinalised block is journaled so a reorg can undo it.
import { createHash } from "node:crypto";
import { MarginwatchError } from "../../common/errors";
import type { Change } from "./changes";
import type { Address } from "./events";

export interface AssetState {
  address: Address;
  /** listing order, as the protocol lists reserves: account data iterates assets in this order */
  index: number;
  decimals: number;
  rateModel: Address;
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
  liquidationBonusBps: bigint;
  reserveFactorBps: bigint;
  liquidityIndex: bigint;
  borrowIndex: bigint;
  liquidityRate: bigint;
  borrowRate: bigint;
  lastUpdateTimestamp: bigint;
  totalScaledCollateral: bigint;
  totalScaledDebt: bigint;
  deficit: bigint;
  /** efficiency-mode category (Aave eMode), 0 = none */
  category: number;
}

/** An efficiency-mode category: accounts that chose it use these parameters for the assets in it. */
export interface CategoryConfig {
  category: number;
  ltvBps: bigint;
  liquidationThresholdBps: bigint;
  liquidationBonusBps: bigint;
  /** 0x0… = the assets' own prices */
  priceSource: Address;
  label: string;
}

export interface FeedConfig {
  asset: Address;
  aggregator: Address;
  heartbeat: bigint;
  decimals: number;
}

export interface Position {
  scaledCollateral: bigint;
  scaledDebt: bigint;
  /** the account's collateral flag for the asset; null or absent: never set (the protocol's default applies) */
  collateralFlag?: boolean | null;
}

/** A position holds nothing the math or the store needs: no balance and no flag of its own. */
export const isEmptyPosition = (p: Position): boolean => p.scaledCollateral === 0n && p.scaledDebt === 0n && (p.collateralFlag ?? null) === null;

export interface SequencerConfig {
  feed: Address;
  gracePeriod: bigint;
}

/** What one applied change touched, for the health engine to recompute incrementally. */
export interface StateChange {
  accounts: Address[];
  /** assets whose indexes/rates/params changed */
  assets: Address[];
  /** feeds added or replaced */
  feeds: Address[];
  /** efficiency-mode categories configured (omitted: none) */
  categories?: number[];
  /** accounts whose category choice changed (omitted: none) */
  modes?: Address[];
  /** contracts found (omitted: none) */
  contracts?: Address[];
}

type UndoEntry =
  | { kind: "position"; account: Address; asset: Address; prev: Position | undefined }
  | { kind: "asset"; asset: Address; prev: AssetState | undefined }
  | { kind: "feed"; asset: Address; prev: FeedConfig | undefined }
  | { kind: "sequencer"; prev: SequencerConfig | null }
  | { kind: "category"; category: number; prev: CategoryConfig | undefined }
  | { kind: "mode"; account: Address; prev: number }
  | { kind: "contract"; address: Address; prev: string | undefined };

/** Thrown when a change contradicts the state (e.g. a burn larger than the balance): the log stream is wrong. */
export class StateInvariantError extends MarginwatchError {}

export class ProtocolState {
  readonly assets = new Map<Address, AssetState>();
  readonly feeds = new Map<Address, FeedConfig>(); // by asset
  readonly accounts = new Map<Address, Map<Address, Position>>(); // account → asset → position
  readonly categories = new Map<number, CategoryConfig>();
  /** accounts in a non-zero category → category */
  readonly accountCategories = new Map<Address, number>();
  /** contracts found in logs (address → the adapter's family), watched from then on */
  readonly contracts = new Map<Address, string>();
  sequencer: SequencerConfig | null = null;

  // Invariant: journal holds the undo entries of every block > the last finalized block, in application order;
  // undoing them in reverse gives exactly the state at the finalized block.
  private readonly journal = new Map<bigint, UndoEntry[]>();
  private readonly journaledKeys = new Map<bigint, Set<string>>();
  /** blocks at or below this are final and not journaled */
  finalizedBlock = -1n;
  /** running digest (see digest()) */
  private sum = 0n;

  apply(c: Change): StateChange {
    // The digest follows every item the change touches: out with its old line, in with its new one.
    const items = itemsOf(c);
    for (const it of items) this.sum -= this.itemHash(it);
    const change = this.applyChange(c);
    for (const it of items) this.sum += this.itemHash(it);
    this.sum = BigInt.asUintN(256, this.sum);
    return change;
  }

  private applyChange(c: Change): StateChange {
    const change: StateChange = { accounts: [], assets: [], feeds: [] };
    const block = c.meta.blockNumber;
    switch (c.kind) {
      case "feed-set": {
        const { asset, aggregator, heartbeat, decimals } = c;
        this.record(block, `f:${asset}`, () => ({ kind: "feed", asset, prev: this.feeds.get(asset) }));
        this.feeds.set(asset, { asset, aggregator, heartbeat, decimals });
        change.feeds.push(asset);
        break;
      }
      case "sequencer-set":
        this.record(block, "seq", () => ({ kind: "sequencer", prev: this.sequencer }));
        this.sequencer = { feed: c.feed, gracePeriod: c.gracePeriod };
        break;
      case "reserve-listed": {
        const { asset } = c;
        this.record(block, `a:${asset}`, () => ({ kind: "asset", asset, prev: this.assets.get(asset) }));
        this.assets.set(asset, {
          address: asset,
          index: this.assets.size,
          decimals: c.decimals,
          rateModel: c.rateModel,
          ltvBps: 0n,
          liquidationThresholdBps: 0n,
          liquidationBonusBps: 0n,
          reserveFactorBps: 0n,
          liquidityIndex: 10n ** 27n,
          borrowIndex: 10n ** 27n,
          liquidityRate: 0n,
          borrowRate: 0n,
          lastUpdateTimestamp: 0n,
          totalScaledCollateral: 0n,
          totalScaledDebt: 0n,
          deficit: 0n,
          category: 0,
        });
        change.assets.push(asset);
        break;
      }
      case "reserve-params": {
        const a = this.mutAsset(block, c.asset);
        if (c.ltvBps !== undefined) a.ltvBps = c.ltvBps;
        if (c.liquidationThresholdBps !== undefined) a.liquidationThresholdBps = c.liquidationThresholdBps;
        if (c.liquidationBonusBps !== undefined) a.liquidationBonusBps = c.liquidationBonusBps;
        if (c.reserveFactorBps !== undefined) a.reserveFactorBps = c.reserveFactorBps;
        change.assets.push(a.address);
        // In-category holders weigh the asset by the category's LT: their float weights depend on the ratio.
        if (a.category !== 0) change.accounts.push(...this.categoryHolders(a.address, [a.category]));
        break;
      }
      case "reserve-rate-model":
        this.mutAsset(block, c.asset).rateModel = c.rateModel;
        change.assets.push(c.asset);
        break;
      case "reserve-indexes": {
        const a = this.mutAsset(block, c.asset);
        a.liquidityRate = c.liquidityRate;
        a.borrowRate = c.borrowRate;
        a.liquidityIndex = c.liquidityIndex;
        a.borrowIndex = c.borrowIndex;
        a.lastUpdateTimestamp = c.timestamp;
        change.assets.push(a.address);
        break;
      }
      case "collateral":
        this.moveCollateral(block, c.account, c.asset, c.scaledDelta);
        change.accounts.push(c.account);
        break;
      case "debt":
        this.moveDebt(block, c.account, c.asset, c.scaledDelta, c.deficit);
        change.accounts.push(c.account);
        break;
      case "collateral-flag": {
        this.mutAsset(block, c.asset); // the asset must be listed
        this.mutPosition(block, c.account, c.asset).collateralFlag = c.enabled;
        change.accounts.push(c.account);
        break;
      }
      case "category-set": {
        const { category } = c;
        change.categories = [category];
        if (category === 0) throw new StateInvariantError(`category 0 (none) cannot be configured, at block ${block}`);
        this.record(block, `c:${category}`, () => ({ kind: "category", category, prev: this.categories.get(category) }));
        this.categories.set(category, {
          category,
          ltvBps: c.ltvBps,
          liquidationThresholdBps: c.liquidationThresholdBps,
          liquidationBonusBps: c.liquidationBonusBps,
          priceSource: c.priceSource,
          label: c.label,
        });
        change.accounts.push(...this.accountsInCategory(category));
        break;
      }
      case "reserve-category": {
        const a = this.mutAsset(block, c.asset);
        const before = a.category;
        a.category = c.category;
        change.assets.push(a.address);
        change.accounts.push(...this.categoryHolders(c.asset, [before, c.category]));
        break;
      }
      case "account-category": {
        const { account, category } = c;
        this.record(block, `m:${account}`, () => ({ kind: "mode", account, prev: this.accountCategories.get(account) ?? 0 }));
        if (category === 0) this.accountCategories.delete(account);
        else this.accountCategories.set(account, category);
        change.accounts.push(account);
        change.modes = [account];
        break;
      }
      case "contract-found": {
        const { address } = c;
        this.record(block, `k:${address}`, () => ({ kind: "contract", address, prev: this.contracts.get(address) }));
        this.contracts.set(address, c.family);
        change.contracts = [address];
        break;
      }
      case "liquidation":
      case "bad-debt":
        break; // history: the store's business
    }
    return change;
  }

  /** The category parameters that apply to `account`'s `asset`: its category when the asset is in it, else null. */
  categoryOf(account: Address, asset: Address): CategoryConfig | null {
    const category = this.accountCategories.get(account);
    if (category === undefined || this.assets.get(asset)?.category !== category) return null;
    return this.categories.get(category) ?? null;
  }

  private accountsInCategory(category: number): Address[] {
    const out: Address[] = [];
    for (const [account, c] of this.accountCategories) if (c === category) out.push(account);
    return out;
  }

  /** Accounts in one of `categories` holding `asset`: their effective parameters change with the asset's. */
  private categoryHolders(asset: Address, categories: number[]): Address[] {
    const out: Address[] = [];
    for (const [account, c] of this.accountCategories) if (categories.includes(c) && this.accounts.get(account)?.has(asset)) out.push(account);
    return out;
  }

  /** Undoes every block above `block`, newest first; returns what the undo touched. */
  rollbackTo(block: bigint): StateChange {
    if (block < this.finalizedBlock) throw new StateInvariantError(`cannot roll back to ${block}: block ${this.finalizedBlock} is final`);
    const touched = {
      accounts: new Set<Address>(),
      assets: new Set<Address>(),
      feeds: new Set<Address>(),
      categories: new Set<number>(),
      modes: new Set<Address>(),
      contracts: new Set<Address>(),
    };
    const blocks = [...this.journal.keys()].filter((b) => b > block).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    for (const b of blocks) {
      const entries = this.journal.get(b)!;
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        this.undo(e);
        if (e.kind === "position") touched.accounts.add(e.account);
        else if (e.kind === "mode") {
          touched.accounts.add(e.account);
          touched.modes.add(e.account);
        } else if (e.kind === "asset") touched.assets.add(e.asset);
        else if (e.kind === "feed") touched.feeds.add(e.asset);
        else if (e.kind === "category") touched.categories.add(e.category);
        else if (e.kind === "contract") touched.contracts.add(e.address);
      }
      this.journal.delete(b);
      this.journaledKeys.delete(b);
    }
    // Undone category settings move every account in a category (a reserve's category is part of its asset).
    if (touched.categories.size > 0 || touched.assets.size > 0) for (const account of this.accountCategories.keys()) touched.accounts.add(account);
    return {
      accounts: [...touched.accounts],
      assets: [...touched.assets],
      feeds: [...touched.feeds],
      categories: [...touched.categories],
      modes: [...touched.modes],
      contracts: [...touched.contracts],
    };
  }

  /** Forgets undo data at or below `block`: those blocks can no longer be rolled back. */
  finalize(block: bigint): void {
    if (block <= this.finalizedBlock) return;
    for (const b of [...this.journal.keys()]) {
      if (b <= block) {
        this.journal.delete(b);
        this.journaledKeys.delete(b);
      }
    }
    this.finalizedBlock = block;
  }

  /** Rebuilds a state from a checkpoint's rows (see Store.loadState). */
  static restore(rows: {
    assets: AssetState[];
    feeds: FeedConfig[];
    positions: Array<Position & { account: Address; asset: Address }>;
    sequencer: SequencerConfig | null;
    categories?: CategoryConfig[];
    accountCategories?: Array<{ account: Address; category: number }>;
    contracts?: Array<{ address: Address; family: string }>;
    finalizedBlock: bigint;
    journal: string | null;
  }): ProtocolState {
    const s = new ProtocolState();
    for (const a of [...rows.assets].sort((x, y) => x.index - y.index)) s.assets.set(a.address, { ...a });
    for (const f of rows.feeds) s.feeds.set(f.asset, { ...f });
    for (const p of rows.positions) {
      if (isEmptyPosition(p)) continue;
      s.accountMap(p.account).set(p.asset, {
        scaledCollateral: p.scaledCollateral,
        scaledDebt: p.scaledDebt,
        collateralFlag: p.collateralFlag ?? null,
      });
    }
    for (const c of rows.categories ?? []) s.categories.set(c.category, { ...c });
    for (const m of rows.accountCategories ?? []) if (m.category !== 0) s.accountCategories.set(m.account, m.category);
    for (const k of rows.contracts ?? []) s.contracts.set(k.address, k.family);
    s.sequencer = rows.sequencer ? { ...rows.sequencer } : null;
    s.finalizedBlock = rows.finalizedBlock;
    if (rows.journal) s.loadJournal(rows.journal);
    s.sum = BigInt(`0x${s.recomputeDigest()}`);
    return s;
  }

  /** Takes over `other`'s contents in place (holders of this object keep seeing the current state). */
  replaceWith(other: ProtocolState): void {
    this.assets.clear();
    for (const [k, v] of other.assets) this.assets.set(k, v);
    this.feeds.clear();
    for (const [k, v] of other.feeds) this.feeds.set(k, v);
    this.accounts.clear();
    for (const [k, v] of other.accounts) this.accounts.set(k, v);
    this.categories.clear();
    for (const [k, v] of other.categories) this.categories.set(k, v);
    this.accountCategories.clear();
    for (const [k, v] of other.accountCategories) this.accountCategories.set(k, v);
    this.contracts.clear();
    for (const [k, v] of other.contracts) this.contracts.set(k, v);
    this.sequencer = other.sequencer;
    this.finalizedBlock = other.finalizedBlock;
    this.journal.clear();
    for (const [k, v] of other.journal) this.journal.set(k, v);
    this.journaledKeys.clear();
    for (const [k, v] of other.journaledKeys) this.journaledKeys.set(k, v);
    this.sum = other.sum;
  }

  position(account: Address, asset: Address): Position | undefined {
    return this.accounts.get(account)?.get(asset);
  }

  /**
   * The state's digest: the sum mod 2^256 of sha256 over every item's canonical line (assets, feeds, sequencer,
   * non-zero positions). The same items give the same digest whatever the process history, and it is kept up to
   * date in O(1) per change (apply and undo), so every checkpoint can carry it. An integrity check of our own
   * state, not a commitment against an adversary (sums of hashes are weaker than one hash over a sorted dump).
   */
  digest(): string {
    return this.sum.toString(16).padStart(64, "0");
  }

  /** Recomputes the digest from every item (restore, tests): equal to the running one unless the state is corrupt. */
  recomputeDigest(): string {
    let sum = 0n;
    for (const a of this.assets.keys()) sum += this.itemHash({ kind: "asset", asset: a });
    for (const f of this.feeds.keys()) sum += this.itemHash({ kind: "feed", asset: f });
    sum += this.itemHash({ kind: "sequencer" });
    for (const category of this.categories.keys()) sum += this.itemHash({ kind: "category", category });
    for (const account of this.accountCategories.keys()) sum += this.itemHash({ kind: "mode", account });
    for (const address of this.contracts.keys()) sum += this.itemHash({ kind: "contract", address });
    for (const [account, positions] of this.accounts)
      for (const asset of positions.keys()) sum += this.itemHash({ kind: "position", account, asset });
    return BigInt.asUintN(256, sum).toString(16).padStart(64, "0");
  }

  private itemHash(it: Item): bigint {
    let line: string | null = null;
    if (it.kind === "asset") {
      const a = this.assets.get(it.asset);
      if (a) {
        line =
          `A${it.asset}|${a.index}|${a.decimals}|${a.rateModel}|${a.ltvBps}|${a.liquidationThresholdBps}|${a.liquidationBonusBps}|` +
          `${a.reserveFactorBps}|${a.liquidityIndex}|${a.borrowIndex}|${a.liquidityRate}|${a.borrowRate}|${a.lastUpdateTimestamp}|` +
          `${a.totalScaledCollateral}|${a.totalScaledDebt}|${a.deficit}` +
          // Appended only when set, so a market without categories keeps the lines (and digests) it always had.
          (a.category !== 0 ? `|c${a.category}` : "");
      }
    } else if (it.kind === "feed") {
      const f = this.feeds.get(it.asset);
      if (f) line = `F${it.asset}|${f.aggregator}|${f.heartbeat}|${f.decimals}`;
    } else if (it.kind === "sequencer") {
      if (this.sequencer) line = `S${this.sequencer.feed}|${this.sequencer.gracePeriod}`;
    } else if (it.kind === "position") {
      const p = this.accounts.get(it.account)?.get(it.asset);
      if (p && !isEmptyPosition(p))
        line =
          `P${it.account}|${it.asset}|${p.scaledCollateral}|${p.scaledDebt}` +
          ((p.collateralFlag ?? null) === null ? "" : `|${p.collateralFlag ? 1 : 0}`);
    } else if (it.kind === "category") {
      const c = this.categories.get(it.category);
      if (c) line = `C${c.category}|${c.ltvBps}|${c.liquidationThresholdBps}|${c.liquidationBonusBps}|${c.priceSource}|${c.label}`;
    } else if (it.kind === "mode") {
      const c = this.accountCategories.get(it.account);
      if (c !== undefined) line = `M${it.account}|${c}`;
    } else if (it.kind === "contract") {
      const f = this.contracts.get(it.address);
      if (f !== undefined) line = `K${it.address}|${f}`;
    }
    return line === null ? 0n : BigInt(`0x${createHash("sha256").update(line).digest("hex")}`);
  }

  // ---- serialisation for checkpoints (bigints as decimal strings) ----

  /** The undo journal of unfinalised blocks, for a checkpoint; restore with loadJournal. */
  dumpJournal(): string {
    return JSON.stringify([...this.journal.entries()], (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
  }

  loadJournal(json: string): void {
    this.journal.clear();
    this.journaledKeys.clear();
    const entries = JSON.parse(json, (_k, v) => (typeof v === "string" && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)) as [
      bigint,
      UndoEntry[],
    ][];
    for (const [b, list] of entries) {
      this.journal.set(b, list);
      this.journaledKeys.set(b, new Set(list.map(keyOf)));
    }
  }

  // ---- internals ----

  private record(block: bigint, key: string, entry: () => UndoEntry): void {
    if (block <= this.finalizedBlock) return;
    let keys = this.journaledKeys.get(block);
    if (!keys) {
      keys = new Set();
      this.journaledKeys.set(block, keys);
      this.journal.set(block, []);
    }
    if (keys.has(key)) return;
    keys.add(key);
    const e = entry();
    // Copy the previous value: the live object is mutated in place afterwards.
    if (e.kind === "position" && e.prev) e.prev = { ...e.prev };
    if (e.kind === "asset" && e.prev) e.prev = { ...e.prev };
    this.journal.get(block)!.push(e);
  }

  private undo(e: UndoEntry): void {
    const it: Item =
      e.kind === "position"
        ? { kind: "position", account: e.account, asset: e.asset }
        : e.kind === "sequencer"
          ? { kind: "sequencer" }
          : e.kind === "category"
            ? { kind: "category", category: e.category }
            : e.kind === "mode"
              ? { kind: "mode", account: e.account }
              : e.kind === "contract"
                ? { kind: "contract", address: e.address }
                : { kind: e.kind, asset: e.asset };
    this.sum -= this.itemHash(it);
    this.undoEntry(e);
    this.sum = BigInt.asUintN(256, this.sum + this.itemHash(it));
  }

  private undoEntry(e: UndoEntry): void {
    switch (e.kind) {
      case "position": {
        const m = this.accounts.get(e.account);
        if (e.prev) {
          const live = m?.get(e.asset);
          if (live) Object.assign(live, e.prev);
          else this.accountMap(e.account).set(e.asset, { ...e.prev });
        } else if (m) {
          m.delete(e.asset);
          if (m.size === 0) this.accounts.delete(e.account);
        }
        break;
      }
      case "asset": {
        if (!e.prev) this.assets.delete(e.asset);
        else {
          const live = this.assets.get(e.asset);
          if (live) Object.assign(live, e.prev);
          else this.assets.set(e.asset, { ...e.prev });
        }
        break;
      }
      case "feed":
        if (e.prev) this.feeds.set(e.asset, e.prev);
        else this.feeds.delete(e.asset);
        break;
      case "sequencer":
        this.sequencer = e.prev;
        break;
      case "category":
        if (e.prev) this.categories.set(e.category, e.prev);
        else this.categories.delete(e.category);
        break;
      case "mode":
        if (e.prev === 0) this.accountCategories.delete(e.account);
        else this.accountCategories.set(e.account, e.prev);
        break;
      case "contract":
        if (e.prev === undefined) this.contracts.delete(e.address);
        else this.contracts.set(e.address, e.prev);
        break;
    }
  }

  private mutAsset(block: bigint, asset: Address): AssetState {
    const a = this.assets.get(asset);
    if (!a) throw new StateInvariantError(`event for unlisted asset ${asset} at block ${block}`);
    this.record(block, `a:${asset}`, () => ({ kind: "asset", asset, prev: a }));
    return a;
  }

  private accountMap(account: Address): Map<Address, Position> {
    let m = this.accounts.get(account);
    if (!m) {
      m = new Map();
      this.accounts.set(account, m);
    }
    return m;
  }

  private mutPosition(block: bigint, account: Address, asset: Address): Position {
    this.record(block, `p:${account}:${asset}`, () => ({ kind: "position", account, asset, prev: this.accounts.get(account)?.get(asset) }));
    const m = this.accountMap(account);
    let p = m.get(asset);
    if (!p) {
      p = { scaledCollateral: 0n, scaledDebt: 0n, collateralFlag: null };
      m.set(asset, p);
    }
    return p;
  }

  private moveCollateral(block: bigint, account: Address, assetAddr: Address, delta: bigint): void {
    const asset = this.mutAsset(block, assetAddr);
    const p = this.mutPosition(block, account, assetAddr);
    if (p.scaledCollateral + delta < 0n) {
      throw new StateInvariantError(`collateral of ${account} in ${assetAddr} would go negative at block ${block}`);
    }
    p.scaledCollateral += delta;
    asset.totalScaledCollateral += delta;
  }

  private moveDebt(block: bigint, account: Address, assetAddr: Address, delta: bigint, deficit: bigint | undefined): void {
    const asset = this.mutAsset(block, assetAddr);
    const p = this.mutPosition(block, account, assetAddr);
    if (p.scaledDebt + delta < 0n) throw new StateInvariantError(`debt of ${account} in ${assetAddr} would go negative at block ${block}`);
    p.scaledDebt += delta;
    asset.totalScaledDebt += delta;
    if (deficit !== undefined) asset.deficit = deficit;
  }
}

function keyOf(e: UndoEntry): string {
  switch (e.kind) {
    case "position":
      return `p:${e.account}:${e.asset}`;
    case "asset":
      return `a:${e.asset}`;
    case "feed":
      return `f:${e.asset}`;
    case "sequencer":
      return "seq";
    case "category":
      return `c:${e.category}`;
    case "mode":
      return `m:${e.account}`;
    case "contract":
      return `k:${e.address}`;
  }
}

/** One item of the digest: an asset, a feed (by asset), the sequencer, or one position. */
type Item =
  | { kind: "asset" | "feed"; asset: Address }
  | { kind: "sequencer" }
  | { kind: "position"; account: Address; asset: Address }
  | { kind: "category"; category: number }
  | { kind: "mode"; account: Address }
  | { kind: "contract"; address: Address };

/** The items a change may touch. */
function itemsOf(c: Change): Item[] {
  switch (c.kind) {
    case "feed-set":
      return [{ kind: "feed", asset: c.asset }];
    case "sequencer-set":
      return [{ kind: "sequencer" }];
    case "reserve-listed":
    case "reserve-params":
    case "reserve-rate-model":
    case "reserve-indexes":
    case "reserve-category":
      return [{ kind: "asset", asset: c.asset }];
    case "collateral-flag":
      return [
        { kind: "asset", asset: c.asset },
        { kind: "position", account: c.account, asset: c.asset },
      ];
    case "category-set":
      return [{ kind: "category", category: c.category }];
    case "account-category":
      return [{ kind: "mode", account: c.account }];
    case "contract-found":
      return [{ kind: "contract", address: c.address }];
    case "collateral":
    case "debt":
      return [
        { kind: "asset", asset: c.asset },
        { kind: "position", account: c.account, asset: c.asset },
      ];
    case "liquidation":
    case "bad-debt":
      return [];
  }
}
