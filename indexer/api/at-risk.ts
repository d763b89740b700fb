// One page of the at-risk list: filter, keyset or offset paging and the total count over the health engine's
// at-risk view (HealthEngine.atRiskView: float HF intervals from the engine's book, exact HF where it matters).
import { MAX_UINT256 } from "../../common/math";
import { type AtRiskFilter, type AtRiskView, formatHealthFactor, RANK_KNOWN, RANK_UNKNOWN, type SortKey } from "../health";
import type { AccountStatus, Address } from "../health";
import { BadRequestError } from "./errors";
import { usdFromBase } from "./format";

export interface AtRiskRow {
  account: Address;
  status: AccountStatus;
  /** display HF: 2 decimals rounded down, "∞" with no debt, "?" when unknown */
  healthFactor: string;
  /** exact WAD, as the protocol's own healthFactor view; null when unknown */
  healthFactorWad: string | null;
  totalCollateralUSD: string;
  totalBorrowsUSD: string;
}

export interface AtRiskPage {
  total: number;
  rows: AtRiskRow[];
  nextCursor: string | null;
}

export function encodeKeyCursor(k: SortKey): string {
  return Buffer.from(`k:${k.rank}:${k.hf}:${k.address}`).toString("base64url");
}

export function decodeKeyCursor(cursor: string): SortKey {
  const m = /^k:([0-2]):([0-9.eE+-]+|Infinity):(0x[0-9a-f]{40})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const hf = m ? Number(m[2]) : NaN;
  if (!m || Number.isNaN(hf)) throw new BadRequestError("cursor is not one this API issued; start again without it");
  return { rank: Number(m[1]), hf, address: m[3]! };
}

/**
 * One pass over every account: count the matches, keep the `offset + limit + 1` smallest after the cursor in a
 * bounded max-heap (no full sort: a page of a million accounts costs one linear scan).
 */
export function queryAtRisk(ix: AtRiskView, f: AtRiskFilter, page: { limit: number; offset?: number; cursor?: string }): AtRiskPage {
  const after = page.cursor !== undefined ? decodeKeyCursor(page.cursor) : null;
  const offset = page.offset ?? 0;
  const keep = offset + page.limit + 1;
  const heap = new MaxHeap(keep, (a, b) => ix.compare(a, b));
  const all = f.status === undefined && f.minHealthFactor === undefined && f.maxHealthFactor === undefined && f.asset === undefined;
  const { rank, hf } = ix.keyArrays();
  let total = 0;
  // Once the heap is full, an account whose (rank, float HF) sorts strictly after the largest kept cannot enter it:
  // decided on two typed-array reads, with no comparator call (most of a million accounts).
  const known = RANK_KNOWN; // a local: the package's re-export is a getter, too slow for a million reads
  let topRank = 3;
  let topHf = Infinity;
  for (let id = 0; id < ix.size; id++) {
    if (!all && !ix.matches(id, f)) continue;
    total++;
    const r = rank[id]!;
    if (r > topRank || (r === topRank && r === known && hf[id]! > topHf)) continue;
    if (after && ix.compareToKey(id, after) <= 0) continue;
    heap.offer(id);
    if (heap.full) {
      const top = heap.top;
      topRank = rank[top]!;
      topHf = hf[top]!;
    }
  }
  const sorted = heap.sorted();
  const ids = sorted.slice(offset, offset + page.limit);
  const more = sorted.length > offset + page.limit;
  const last = ids[ids.length - 1];
  return { total, rows: ids.map((id) => row(ix, id)), nextCursor: more && last !== undefined ? encodeKeyCursor(ix.key(last)) : null };
}

/** Keeps the `cap` smallest items seen (by `cmp`). */
class MaxHeap {
  private readonly items: number[] = [];

  constructor(
    private readonly cap: number,
    private readonly cmp: (a: number, b: number) => number,
  ) {}

  get full(): boolean {
    return this.items.length >= this.cap;
  }

  /** The largest item kept (the heap must not be empty). */
  get top(): number {
    return this.items[0]!;
  }

  offer(x: number): void {
    const h = this.items;
    if (h.length < this.cap) {
      h.push(x);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.cmp(h[i]!, h[p]!) <= 0) break;
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      }
      return;
    }
    if (this.cmp(x, h[0]!) >= 0) return;
    h[0] = x;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.cmp(h[l]!, h[m]!) > 0) m = l;
      if (r < h.length && this.cmp(h[r]!, h[m]!) > 0) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  sorted(): number[] {
    return [...this.items].sort(this.cmp);
  }
}

function row(ix: AtRiskView, id: number): AtRiskRow {
  const d = ix.exactData(id);
  const status = ix.status(id);
  const k = ix.key(id);
  const hf = k.rank === RANK_UNKNOWN ? null : k.rank === RANK_KNOWN ? d.healthFactor : MAX_UINT256;
  return {
    account: ix.address(id),
    status,
    healthFactor: formatHealthFactor(hf),
    healthFactorWad: hf === null ? null : hf.toString(),
    totalCollateralUSD: usdFromBase(d.totalCollateralBase),
    totalBorrowsUSD: usdFromBase(d.totalDebtBase),
  };
}
