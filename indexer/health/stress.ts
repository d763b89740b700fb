// Stress test: shock prices per asset, find the accounts that would be liquidatable and the bad debt they would
// leave. Float sums rule out accounts safely above 1; every account that could be under is computed exactly.
import Decimal from "decimal.js";
import { LIQ, UNKNOWN } from "./book";
import type { EngineData } from "./engine-data";
import { ExactContext, isLiquidatable } from "./exact";
import { currentSums } from "./sums";
import { hfLow } from "./float-bounds";
import type { Address, StressResult } from "./types";

const lower = (a: string): Address => a.toLowerCase() as Address;

/** Shocked 8-decimal price, rounded down: p·(1 + shock), never below 0. */
export function shockPrice(price: bigint, shock: number): bigint {
  const v = new Decimal(price.toString()).mul(new Decimal(1).plus(shock)).toFixed(0, Decimal.ROUND_DOWN);
  const p = BigInt(v);
  return p < 0n ? 0n : p;
}

/** `into`: reusable buffers for the shocked float sums (currentSums), so a scenario per block allocates none. */
export function runStress(
  data: EngineData,
  shocks: ReadonlyMap<Address, number>,
  now: bigint,
  into?: { w: Float64Array; d: Float64Array; c: Float64Array },
): StressResult {
  const override = new Map<Address, bigint>();
  const shockList: StressResult["shocks"] = [];
  for (const [raw, shock] of shocks) {
    const asset = lower(raw);
    const info = data.prices.get(asset);
    if (!info) continue;
    const shockedPrice = shockPrice(info.price, shock);
    override.set(asset, shockedPrice);
    shockList.push({ asset, shock, price: info.price, shockedPrice });
  }
  shockList.sort((a, b) => (a.asset < b.asset ? -1 : 1));
  const s = currentSums(data, now, override, into);
  const ctx = new ExactContext(data.state, (a) => data.prices.get(a), now, data.math);
  const { book, thresholds } = data;
  let accounts = 0;
  let newly = 0;
  let unknown = 0;
  let recomputed = 0;
  let debt = 0n;
  let bad = 0n;
  for (let id = 0; id < book.size; id++) {
    if (book.nDebt(id) === 0) continue;
    const flags = book.flags(id);
    if (flags & UNKNOWN) {
      unknown++;
      continue;
    }
    // Sums are at `now` exactly (no growth bound needed); the band still absorbs float rounding.
    if (hfLow(s.w[id]!, s.d[id]!, book.nHeld(id) * s.errPerPosition, 1, thresholds.band) >= 1) continue;
    recomputed++;
    const r = ctx.account(book.addresses[id]!, override);
    if (!isLiquidatable(r.data)) continue;
    accounts++;
    if (!(flags & LIQ)) newly++;
    debt += r.data.totalDebtBase;
    if (r.data.totalDebtBase > r.data.totalCollateralBase) bad += r.data.totalDebtBase - r.data.totalCollateralBase;
  }
  return {
    timestamp: now,
    shocks: shockList,
    accountsLiquidatable: accounts,
    newlyLiquidatable: newly,
    unknown,
    debtLiquidatableBase: debt,
    projectedBadDebtBase: bad,
    debtLiquidatableUSD: Number(debt) / 1e8,
    projectedBadDebtUSD: Number(bad) / 1e8,
    recomputed,
  };
}
