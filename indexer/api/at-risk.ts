// One page of the at-risk list: filter, keyset or offset paging and the total count over an AtRiskIndex.
import { MAX_UINT256 } from "../../common/math";
import { formatHealthFactor } from "../health";
import type { AccountStatus, Address } from "../health";
import { type AtRiskFilter, type AtRiskIndex, RANK_KNOWN, RANK_UNKNOWN, type SortKey } from "./at-risk-index";
import { BadRequestError } from "./errors";
import { usdFromBase } from "./format";

export interface AtRiskRow {
  account: Address;
  status: AccountStatus;
  /** display HF: 2 decimals rounded down, "∞" with no debt, "?" when unknown */
  healthFactor: string;
  /** exact WAD as MarginPool.healthFactor; null when unknown */
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

export function queryAtRisk(ix: AtRiskIndex, f: AtRiskFilter, page: { limit: number; offset?: number; cursor?: string }): AtRiskPage {
  const start = page.cursor !== undefined ? ix.positionAfter(decodeKeyCursor(page.cursor)) : 0;
  let skip = page.offset ?? 0;
  let total = 0;
  const ids: number[] = [];
  let more = false;
  for (let p = 0; p < ix.size; p++) {
    const id = ix.order[p]!;
    if (!ix.matches(id, f)) continue;
    total++;
    if (p < start) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (ids.length < page.limit) ids.push(id);
    else more = true;
  }
  const rows = ids.map((id) => row(ix, id));
  const last = ids[ids.length - 1];
  return { total, rows, nextCursor: more && last !== undefined ? encodeKeyCursor(ix.key(last)) : null };
}

function row(ix: AtRiskIndex, id: number): AtRiskRow {
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
