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
}

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
}

type UndoEntry =
  | { kind: "position"; account: Address; asset: Address; prev: Position | undefined }
  | { kind: "asset"; asset: Address; prev: AssetState | undefined }
  | { kind: "feed"; asset: Address; prev: FeedConfig | undefined }
  | { kind: "sequencer"; prev: SequencerConfig | null };

/** Thrown when a change contradicts the state (e.g. a burn larger than the balance): the log stream is wrong. */
export class StateInvariantError extends MarginwatchError {}

export class ProtocolState {
  readonly assets = new Map<Address, AssetState>();
  readonly feeds = new Map<Address, FeedConfig>(); // by asset
  readonly accounts = new Map<Address, Map<Address, Position>>(); // account → asset → position
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
        });
        change.assets.push(asset);
        break;
      }
      case "reserve-params": {
        const a = this.mutAsset(block, c.asset);
        a.ltvBps = c.ltvBps;
        a.liquidationThresholdBps = c.liquidationThresholdBps;
        a.liquidationBonusBps = c.liquidationBonusBps;
        a.reserveFactorBps = c.reserveFactorBps;
        change.assets.push(a.address);
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
      case "liquidation":
      case "bad-debt":
        break; // history: the store's business
    }
    return change;
  }

  /** Undoes every block above `block`, newest first; returns what the undo touched. */
  rollbackTo(block: bigint): StateChange {
    if (block < this.finalizedBlock) throw new StateInvariantError(`cannot roll back to ${block}: block ${this.finalizedBlock} is final`);
    const touched = { accounts: new Set<Address>(), assets: new Set<Address>(), feeds: new Set<Address>() };
    const blocks = [...this.journal.keys()].filter((b) => b > block).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    for (const b of blocks) {
      const entries = this.journal.get(b)!;
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        this.undo(e);
        if (e.kind === "position") touched.accounts.add(e.account);
        else if (e.kind === "asset") touched.assets.add(e.asset);
        else if (e.kind === "feed") touched.feeds.add(e.asset);
      }
      this.journal.delete(b);
      this.journaledKeys.delete(b);
    }
    return { accounts: [...touched.accounts], assets: [...touched.assets], feeds: [...touched.feeds] };
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
    finalizedBlock: bigint;
    journal: string | null;
  }): ProtocolState {
    const s = new ProtocolState();
    for (const a of [...rows.assets].sort((x, y) => x.index - y.index)) s.assets.set(a.address, { ...a });
    for (const f of rows.feeds) s.feeds.set(f.asset, { ...f });
    for (const p of rows.positions) {
      if (p.scaledCollateral === 0n && p.scaledDebt === 0n) continue;
      s.accountMap(p.account).set(p.asset, { scaledCollateral: p.scaledCollateral, scaledDebt: p.scaledDebt });
    }
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
          `${a.totalScaledCollateral}|${a.totalScaledDebt}|${a.deficit}`;
      }
    } else if (it.kind === "feed") {
      const f = this.feeds.get(it.asset);
      if (f) line = `F${it.asset}|${f.aggregator}|${f.heartbeat}|${f.decimals}`;
    } else if (it.kind === "sequencer") {
      if (this.sequencer) line = `S${this.sequencer.feed}|${this.sequencer.gracePeriod}`;
    } else if (it.kind === "position") {
      const p = this.accounts.get(it.account)?.get(it.asset);
      if (p && (p.scaledCollateral !== 0n || p.scaledDebt !== 0n)) line = `P${it.account}|${it.asset}|${p.scaledCollateral}|${p.scaledDebt}`;
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
      p = { scaledCollateral: 0n, scaledDebt: 0n };
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
  }
}

/** One item of the digest: an asset, a feed (by asset), the sequencer, or one position. */
type Item = { kind: "asset" | "feed"; asset: Address } | { kind: "sequencer" } | { kind: "position"; account: Address; asset: Address };

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
      return [{ kind: "asset", asset: c.asset }];
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
