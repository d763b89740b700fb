// The verdict on one account at one block: marginwatch's figures against the pool's own views, to the wei. Shared
// by the background auditor and `marginwatch verify`.
import { WAD } from "../../common/math";
import type { AccountStatus } from "../health/types";
import type { Address } from "../state/events";
import type { PoolAccountData, PoolViews } from "../../protocols/types";

/** What marginwatch states about an account at a block (the health engine's card, or the API's). */
export interface AuditFigures {
  /** WAD; MAX_UINT256 with no debt; null = unknown (a held asset's price is not usable) */
  healthFactor: bigint | null;
  /** USD, 8 decimals */
  totalCollateralBase: bigint;
  totalDebtBase: bigint;
  status: AccountStatus;
  /** held assets whose price is not usable at the block: the pool must refuse to price the account */
  unknownAssets: readonly Address[];
}

export type AuditField = "healthFactor" | "accountData.healthFactor" | "totalCollateralBase" | "totalDebtBase" | "status" | "pricing";

/** One figure on which marginwatch and the pool disagree, both sides as text (integers in full). */
export interface FieldDiff {
  field: AuditField;
  marginwatch: string;
  pool: string;
}

export type Verdict =
  /**
   * `unpriced`: marginwatch said "unknown" (a held price not usable) and the pool agreed as far as it can: it refused
   * the price, or — a protocol that prices with a stale answer (ProtocolViews.refusesStalePrices false) — its
   * collateral and debt at that same last answer equal marginwatch's
   */
  | { result: "match"; unpriced: boolean }
  | { result: "mismatch"; diffs: FieldDiff[] }
  /** the pool's answer could not be had (RPC failure, unexpected revert): no verdict on marginwatch */
  | { result: "error"; error: string };

/**
 * `refusesStalePrices` (the protocol's ProtocolViews flag, default true): false for a protocol whose oracle answers
 * with a stale price (Aave V3). Where marginwatch says "unknown", such a pool still answers: its figures are the
 * ones computed with the last, stale answer — the same answer marginwatch's own figures use — so collateral and debt
 * are compared to the wei, and the health factor and status (marginwatch deliberately states none) are not.
 */
export function compareAccount(mw: AuditFigures, pool: PoolViews, refusesStalePrices = true): Verdict {
  const { healthFactor: hf, accountData: data } = pool;
  if (hf.kind === "rpc-error" || hf.kind === "revert") return { result: "error", error: `healthFactor: ${hf.error}` };
  if (data.kind === "rpc-error" || data.kind === "revert") return { result: "error", error: `getAccountData: ${data.error}` };
  if (!refusesStalePrices && mw.unknownAssets.length > 0 && data.kind === "value" && hf.kind === "value") return staleCompared(mw, data.value);
  const diffs: FieldDiff[] = [];
  let unpriced = false;
  // The pool prices every held asset in getAccountData, and in healthFactor only when there is debt.
  const mustRefuse = mw.unknownAssets.length > 0;
  const mwPricing = mustRefuse ? `unknown (price not usable: ${mw.unknownAssets.join(", ")})` : "priced";

  if (data.kind === "price-revert") {
    if (mustRefuse) unpriced = true;
    else diffs.push({ field: "pricing", marginwatch: mwPricing, pool: `reverted ${data.error}` });
  } else if (mustRefuse) {
    diffs.push({ field: "pricing", marginwatch: mwPricing, pool: "priced" });
  }

  if (hf.kind === "price-revert") {
    if (mw.healthFactor === null) unpriced = true;
    else diffs.push({ field: "healthFactor", marginwatch: mw.healthFactor.toString(), pool: `reverted ${hf.error}` });
  } else if (mw.healthFactor === null) {
    diffs.push({ field: "healthFactor", marginwatch: "unknown", pool: hf.value.toString() });
  } else if (hf.value !== mw.healthFactor) {
    diffs.push({ field: "healthFactor", marginwatch: mw.healthFactor.toString(), pool: hf.value.toString() });
  }

  if (data.kind === "value" && !mustRefuse) {
    const d = data.value;
    if (mw.healthFactor !== null && d.healthFactor !== mw.healthFactor) {
      diffs.push({ field: "accountData.healthFactor", marginwatch: mw.healthFactor.toString(), pool: d.healthFactor.toString() });
    }
    if (d.totalCollateralBase !== mw.totalCollateralBase) {
      diffs.push({ field: "totalCollateralBase", marginwatch: mw.totalCollateralBase.toString(), pool: d.totalCollateralBase.toString() });
    }
    if (d.totalDebtBase !== mw.totalDebtBase) {
      diffs.push({ field: "totalDebtBase", marginwatch: mw.totalDebtBase.toString(), pool: d.totalDebtBase.toString() });
    }
  }

  // The status must follow from the chain's HF: liquidatable exactly below 1, unknown exactly when unpriced.
  const poolStatus = hf.kind === "price-revert" ? "unknown" : hf.value < WAD ? "liquidatable" : "healthy or warning";
  const statusAgrees = poolStatus === "healthy or warning" ? mw.status === "healthy" || mw.status === "warning" : mw.status === poolStatus;
  if (!statusAgrees) diffs.push({ field: "status", marginwatch: mw.status, pool: poolStatus });

  return diffs.length ? { result: "mismatch", diffs } : { result: "match", unpriced };
}

/** A pool that priced with the stale answer where marginwatch says "unknown": the sums must still agree. */
function staleCompared(mw: AuditFigures, d: PoolAccountData): Verdict {
  const diffs: FieldDiff[] = [];
  if (mw.healthFactor === null) {
    if (mw.status !== "unknown") diffs.push({ field: "status", marginwatch: mw.status, pool: "unknown (a stale price is read)" });
  } else {
    // An HF that needs no price (no debt: max) is stated, and must be the pool's.
    if (mw.healthFactor !== d.healthFactor)
      diffs.push({ field: "healthFactor", marginwatch: mw.healthFactor.toString(), pool: d.healthFactor.toString() });
    const poolStatus = d.healthFactor < WAD ? "liquidatable" : "healthy or warning";
    const agrees = poolStatus === "liquidatable" ? mw.status === "liquidatable" : mw.status === "healthy" || mw.status === "warning";
    if (!agrees) diffs.push({ field: "status", marginwatch: mw.status, pool: poolStatus });
  }
  if (d.totalCollateralBase !== mw.totalCollateralBase)
    diffs.push({ field: "totalCollateralBase", marginwatch: mw.totalCollateralBase.toString(), pool: d.totalCollateralBase.toString() });
  if (d.totalDebtBase !== mw.totalDebtBase)
    diffs.push({ field: "totalDebtBase", marginwatch: mw.totalDebtBase.toString(), pool: d.totalDebtBase.toString() });
  return diffs.length ? { result: "mismatch", diffs } : { result: "match", unpriced: true };
}

/** "totalDebtBase marginwatch 123 ≠ pool 124; status …": a mismatch in one line, for logs and reasons. */
export function describeDiffs(diffs: readonly FieldDiff[]): string {
  return diffs.map((d) => `${d.field} marginwatch ${d.marginwatch} ≠ pool ${d.pool}`).join("; ");
}
