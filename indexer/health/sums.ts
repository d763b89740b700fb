// Float sums of every account at `now` (current indexes, current or shocked prices), for aggregates and stress:
// one pass over the holder lists, no bigint.
import type { EngineData } from "./engine-data";
import { ExactContext } from "./exact";
import type { Address } from "./types";

const RAY_F = 1e27;

export interface CurrentSums {
  /** Σ collateral value·LT/BPS, USD 8-dec units */
  w: Float64Array;
  /** Σ debt value */
  d: Float64Array;
  /** Σ collateral value (unweighted) */
  c: Float64Array;
  /** per slot k, per scaled wei: weighted collateral, debt, collateral value */
  fc: number[];
  fd: number[];
  cc: number[];
  /** per slot k: the price used (8-dec, float) */
  price: number[];
  /** largest rounding slack of one position, USD 8-dec units */
  errPerPosition: number;
}

/**
 * `into`: arrays to reuse (at least `book.size` long; zeroed here), so a per-block caller allocates nothing — a
 * million-account engine would otherwise hand the GC tens of MB of buffers a block, and its full collections of a
 * multi-GB heap cost more than the pass.
 */
export function currentSums(
  data: EngineData,
  now: bigint,
  priceOverride?: ReadonlyMap<Address, bigint>,
  into?: { w: Float64Array; d: Float64Array; c: Float64Array },
): CurrentSums {
  const n = data.book.size;
  const w = into ? into.w.subarray(0, n).fill(0) : new Float64Array(n);
  const d = into ? into.d.subarray(0, n).fill(0) : new Float64Array(n);
  const c = into ? into.c.subarray(0, n).fill(0) : new Float64Array(n);
  const ctx = new ExactContext(data.state, (a) => data.prices.get(a), now, data.math);
  const fc: number[] = [];
  const fd: number[] = [];
  const cc: number[] = [];
  const price: number[] = [];
  let errPerPosition = 0;
  for (const s of data.slots) {
    const idx = s.listed ? ctx.indexes(s.address) : undefined;
    const override = priceOverride?.get(s.address);
    const p = override !== undefined ? Number(override) : s.priceF;
    price[s.k] = p;
    const collateralPerWei = idx ? (p * Number(idx.liquidityIndex)) / RAY_F / s.unitF : 0;
    cc[s.k] = collateralPerWei;
    fc[s.k] = (collateralPerWei * s.ltF) / 1e4;
    fd[s.k] = idx ? (p * Number(idx.borrowIndex)) / RAY_F / s.unitF : 0;
    errPerPosition = Math.max(errPerPosition, p / s.unitF + 2);
    const { ids, sc, sw, sd, n: holders } = s.holders;
    const kc = cc[s.k]!;
    const kw = fc[s.k]!;
    const kd = fd[s.k]!;
    for (let h = 0; h < holders; h++) {
      const id = ids[h]!;
      c[id]! += sc[h]! * kc;
      w[id]! += sw[h]! * kw;
      d[id]! += sd[h]! * kd;
    }
  }
  return { w, d, c, fc, fd, cc, price, errPerPosition };
}
