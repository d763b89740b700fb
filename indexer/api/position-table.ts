// A compact float copy of every account's scaled positions (typed arrays, no bigint, no Map walk), kept current
// from the indexer's events: an event re-reads only the accounts it names, a reorg reloads everything. The at-risk
// index sums it against per-asset price factors in one pass, so ranking a million accounts costs milliseconds.
import type { Address } from "../health";
import type { Indexer } from "../indexer";
import { accountOfChange, type Change } from "../state/changes";
import type { ProtocolState } from "../state/state";

export class PositionTable {
  private idOf = new Map<Address, number>();
  addresses: Address[] = [];
  /** per account: first slot in the pool, positions held, slots reserved */
  start = new Int32Array(1024);
  count = new Uint8Array(1024);
  reserved = new Uint8Array(1024);
  /** per pool slot: asset listing index, scaled collateral, scaled debt (raw wei as float) */
  asset = new Uint8Array(4096);
  sc = new Float64Array(4096);
  sd = new Float64Array(4096);
  private used = 0;
  private wasted = 0;
  private full = true;
  private readonly dirty = new Set<Address>();
  private readonly onBlock = (b: { changes: Change[] }): void => this.mark(b.changes);
  private readonly onReorg = (): void => {
    this.full = true;
  };

  constructor(private readonly indexer: Indexer) {
    indexer.on("block", this.onBlock);
    indexer.on("batch", this.onBlock);
    indexer.on("reorg", this.onReorg);
  }

  get size(): number {
    return this.addresses.length;
  }

  id(account: Address): number | undefined {
    return this.idOf.get(account);
  }

  detach(): void {
    this.indexer.off("block", this.onBlock);
    this.indexer.off("batch", this.onBlock);
    this.indexer.off("reorg", this.onReorg);
  }

  /** Brings the table up to `state`: the accounts named by events since the last sync, or everything after a reorg. */
  sync(state: ProtocolState): void {
    if (this.full || this.dirty.size > state.accounts.size / 2) {
      this.reload(state);
      return;
    }
    for (const account of this.dirty) this.load(account, state);
    this.dirty.clear();
    if (this.wasted > 65_536 && this.wasted > this.used / 2) this.compact();
  }

  private mark(events: Change[]): void {
    if (this.full) return;
    for (const e of events) {
      const a = accountOfChange(e);
      if (a) this.dirty.add(a);
    }
  }

  private reload(state: ProtocolState): void {
    this.idOf = new Map();
    this.addresses = [];
    this.used = 0;
    this.wasted = 0;
    this.count.fill(0);
    this.reserved.fill(0);
    for (const account of state.accounts.keys()) this.load(account, state);
    this.full = false;
    this.dirty.clear();
  }

  private load(account: Address, state: ProtocolState): void {
    let id = this.idOf.get(account);
    if (id === undefined) {
      id = this.addresses.length;
      this.growAccounts(id + 1);
      this.addresses.push(account);
      this.idOf.set(account, id);
      this.count[id] = 0;
      this.reserved[id] = 0;
    }
    const held = state.accounts.get(account);
    let n = 0;
    if (held) for (const p of held.values()) if (p.scaledCollateral !== 0n || p.scaledDebt !== 0n) n++;
    if (n > this.reserved[id]!) {
      // Does not fit where it was: move to the end of the pool (the old slots are reclaimed by compact()).
      this.wasted += this.reserved[id]!;
      this.growPool(this.used + n);
      this.start[id] = this.used;
      this.reserved[id] = n;
      this.used += n;
    }
    let k = this.start[id]!;
    if (held) {
      for (const [asset, p] of held) {
        if (p.scaledCollateral === 0n && p.scaledDebt === 0n) continue;
        const a = state.assets.get(asset);
        if (!a) continue;
        this.asset[k] = a.index;
        this.sc[k] = Number(p.scaledCollateral);
        this.sd[k] = Number(p.scaledDebt);
        k++;
      }
    }
    this.count[id] = k - this.start[id]!;
  }

  private compact(): void {
    const n = this.addresses.length;
    let total = 0;
    for (let id = 0; id < n; id++) total += this.count[id]!;
    const asset = new Uint8Array(Math.max(4096, total * 2));
    const sc = new Float64Array(asset.length);
    const sd = new Float64Array(asset.length);
    let at = 0;
    for (let id = 0; id < n; id++) {
      const s = this.start[id]!;
      const c = this.count[id]!;
      asset.set(this.asset.subarray(s, s + c), at);
      sc.set(this.sc.subarray(s, s + c), at);
      sd.set(this.sd.subarray(s, s + c), at);
      this.start[id] = at;
      this.reserved[id] = c;
      at += c;
    }
    this.asset = asset;
    this.sc = sc;
    this.sd = sd;
    this.used = at;
    this.wasted = 0;
  }

  private growAccounts(n: number): void {
    if (n <= this.start.length) return;
    const cap = Math.max(n, this.start.length * 2);
    const start = new Int32Array(cap);
    start.set(this.start);
    const count = new Uint8Array(cap);
    count.set(this.count);
    const reserved = new Uint8Array(cap);
    reserved.set(this.reserved);
    this.start = start;
    this.count = count;
    this.reserved = reserved;
  }

  private growPool(n: number): void {
    if (n <= this.asset.length) return;
    const cap = Math.max(n, this.asset.length * 2);
    const asset = new Uint8Array(cap);
    asset.set(this.asset);
    const sc = new Float64Array(cap);
    sc.set(this.sc);
    const sd = new Float64Array(cap);
    sd.set(this.sd);
    this.asset = asset;
    this.sc = sc;
    this.sd = sd;
  }
}
