// The float error bounds, written once: a float HF from float sums (or from an exact anchor) turned into an interval
// that provably holds the exact HF. The engine's prefilter, stress and the at-risk view all decide with these and
// hand whatever they cannot decide to exact bigint math.

/** relative error allowed for float accumulation (delta updates, conversions); the band is far wider */
export const FLOAT_EPS = 1e-9;
/** relative slack of a WAD bound turned into a float (Number(bound) / 1e18 rounds once) */
const BOUND_EPS = 1e-12;

// ---- bounds from the float sums (w, d at the reference indexes; err: absolute rounding slack, USD 8-dec units) --

/** A lower bound of the exact HF: collateral at its smallest, debt grown by gHi, minus the safety band. */
export function hfLow(w: number, d: number, err: number, gHi: number, band: number): number {
  const wLo = w * (1 - FLOAT_EPS) - err;
  if (wLo <= 0) return 0;
  return (wLo / (d * gHi * (1 + FLOAT_EPS) + err)) * (1 - band);
}

/** An upper bound of the exact HF: collateral grown by cHi, debt at its smallest, plus the safety band. */
export function hfHigh(w: number, d: number, err: number, cHi: number, band: number): number {
  const dLo = d * (1 - FLOAT_EPS) - err;
  if (dLo <= 0) return Infinity;
  return ((w * cHi * (1 + FLOAT_EPS) + err) / dLo) * (1 + band);
}

// ---- bounds from an exact anchor: HF `hf` (float of the exact WAD value) when the relative rounding slack was
// `rel` (= slack / debt); `growth` bounds every index's growth since, `drift` (≥ 1) every held price's move since
// (either way), `modelError` is the protocol's (ProtocolMath.hfModelError). With interest alone Σ value·LT only
// rises with the liquidity index and each debt value rises at most by growth·value + slack; a price move of at
// most `drift` scales each true value by at most that and re-rounds it (one slack on each side). The protocol's
// HF sits within modelError under the model's, at the anchor and now. --

export function anchorLow(hf: number, rel: number, growth: number, drift: number, modelError: number): number {
  const lo = drift > 1 ? Math.max(0, hf / drift - rel) / (growth * drift + rel) : hf / (growth + rel);
  return lo * (1 - modelError) * (1 - FLOAT_EPS);
}

export function anchorHigh(hf: number, rel: number, growth: number, drift: number, modelError: number): number {
  const h = (hf + 1e-18) / (1 - modelError);
  if (drift > 1) {
    const den = 1 / drift - rel;
    return den > 0 ? ((growth * drift * h + rel) / den) * (1 + FLOAT_EPS) : Infinity;
  }
  return (h + rel) * growth * (1 + FLOAT_EPS);
}

/**
 * Whether an HF known to lie in [lo, hi] is ≥ the WAD `bound`: true / false when the interval sits on one side,
 * undefined when it straddles the bound (exact math decides).
 */
export function atLeastFloat(lo: number, hi: number, bound: bigint): boolean | undefined {
  const b = Number(bound) / 1e18;
  if (lo >= b * (1 + BOUND_EPS)) return true;
  if (hi < b * (1 - BOUND_EPS)) return false;
  return undefined;
}
