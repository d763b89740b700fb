// The price sweep's inner loop over a range of an asset's holders: push the factor delta into the float sums,
// decide the common case inline, hand back the rest. Pure functions of typed arrays, so that the engine's thread and
// its sweep worker (sweep-worker.ts) run the same code, each on the chunks of one holder list it claims.
import { ANCHOR_HF, D, DIRTY, F64_STRIDE, FLAGS, LEVELS, LIQ, N_DEBT, N_HELD, STAMP, U32_STRIDE, U8_STRIDE, UNKNOWN, W, WATCH } from "./book";
import { FLOAT_EPS } from "./float-bounds";

/** What one evaluate's sweep of one asset decides with (the same numbers on both threads). */
export interface SweepParams {
  /** the evaluate's pass number: an account stamped with it was classified already */
  pass: number;
  /** absolute float error per held position (USD 8-dec units) */
  errPer: number;
  /** worst index growth before the next rebase */
  cap: number;
  /** relative safety band of the float bounds */
  band: number;
  /** factor delta pushed into the sums (collateral, debt), when `push` */
  dfc: number;
  dfd: number;
  push: boolean;
  /** the LT moved: the holders' anchors are dropped */
  voidAnchors: boolean;
  /** thresholds.ts holdLo / holdHi, and stateIndex(true, 0) */
  holdLo: Float64Array;
  holdHi: Float64Array;
  liqBase: number;
}

/** The book's three views and one holder list's columns. */
export interface SweepArrays {
  f64: Float64Array;
  u32: Uint32Array;
  u8: Uint8Array;
  ids: Int32Array;
  sw: Float64Array;
  sd: Float64Array;
}

/** Slots of the control words shared by the engine's thread and its sweep worker (sweep-thread.ts). */
export const CTRL = {
  /** the job the worker may start (seq); −seq once it started; 0 once the engine took it back unstarted */
  JOB: 0,
  /** the last job the worker finished */
  DONE: 1,
  /** the worker's candidates and inline decisions in that job */
  COUNT: 2,
  DECIDED: 3,
  /** ≠ 0: the worker stops at its next claim */
  ABORT: 4,
  /** the next unclaimed holder (both threads claim CHUNK at a time) */
  NEXT: 5,
} as const;

/** holders per claim: small enough that a thread waiting for the other's last chunk waits ~0.1 ms */
export const CHUNK = 4096;

/** Running totals of one thread's share of a sweep: ids handed back (in `out`), accounts decided inline. */
export interface SweepTally {
  count: number;
  decided: number;
}

/**
 * Holders [from, to): pushes the delta into the sums of those not rebuilt in this evaluate (when `push`), then
 * decides inline every holder with no flag but LIQ, some debt, and float sums proving its recorded state at the
 * worst growth before the next rebase (float-bounds.ts hfLow / hfHigh multiplied out instead of divided, against
 * holdLo / holdHi), and no-debt holders with nothing to resolve; stamps them. The others (flagged, near a threshold,
 * not yet stamped) are appended to `out` at `tally.count`, in order, for the engine's classify.
 */
export function sweepRange(a: SweepArrays, from: number, to: number, p: SweepParams, out: Int32Array, tally: SweepTally): void {
  const { f64, u8, u32, ids, sw, sd } = a;
  const { holdLo, holdHi, pass, errPer, dfc, dfd, push, voidAnchors, liqBase } = p;
  const shrink = 1 - FLOAT_EPS;
  const grow = p.cap * (1 + FLOAT_EPS);
  const bandLo = 1 - p.band;
  const bandHi = 1 + p.band;
  let decided = 0;
  let count = tally.count;
  for (let h = from; h < to; h++) {
    const id = ids[h]!;
    const r = id * F64_STRIDE;
    const m = id * U8_STRIDE;
    const flags = u8[m + FLAGS]!;
    let w = f64[r + W]!;
    let d = f64[r + D]!;
    if (push && !(flags & DIRTY)) {
      w += sw[h]! * dfc;
      d += sd[h]! * dfd;
      f64[r + W] = w;
      f64[r + D] = d;
      if (voidAnchors) f64[r + ANCHOR_HF] = NaN;
    }
    const st = id * U32_STRIDE + STAMP;
    if (u32[st] === pass) continue;
    if ((flags & (UNKNOWN | DIRTY | WATCH)) === 0) {
      if (u8[m + N_DEBT] === 0) {
        // No debt: HF is max whatever the price. Only a flag or level left over from the debt needs classify.
        if ((flags & LIQ) === 0 && u8[m + LEVELS] === 0) {
          u32[st] = pass;
          decided++;
          continue;
        }
      } else {
        const k = (flags & LIQ ? liqBase : 0) | u8[m + LEVELS]!;
        const needLo = holdLo[k]!;
        const needHi = holdHi[k]!;
        const err = u8[m + N_HELD]! * errPer;
        const dLo = d * shrink - err;
        // lo: hfLow(w, d, err, cap, band) ≥ needLo;  hi: hfHigh(w, d, err, cap, band) < needHi (or none)
        if (
          (w * shrink - err) * bandLo >= needLo * (d * grow + err) &&
          (needHi === Infinity || (dLo > 0 && (w * grow + err) * bandHi < needHi * dLo))
        ) {
          u32[st] = pass;
          decided++;
          continue;
        }
      }
    }
    out[count++] = id;
  }
  tally.count = count;
  tally.decided += decided;
}

/**
 * Claims `chunk` items at a time from ctrl[NEXT] until all `n` are claimed, calling `work(from, to)` for each; the
 * other thread does the same on the same counter, so the faster one does more and neither waits for the other's
 * share. Stops early (returning false) once ctrl[ABORT] ≠ 0.
 */
export function claimChunks(ctrl: Int32Array, n: number, chunk: number, work: (from: number, to: number) => void): boolean {
  for (;;) {
    if (Atomics.load(ctrl, CTRL.ABORT) !== 0) return false;
    const start = Atomics.add(ctrl, CTRL.NEXT, chunk);
    if (start >= n) return true;
    work(start, Math.min(n, start + chunk));
  }
}

/** A holder list's sweep shared by chunks (claimChunks, CHUNK holders each), `afterChunk` called after each. */
export function sweepClaimed(
  a: SweepArrays,
  n: number,
  p: SweepParams,
  out: Int32Array,
  tally: SweepTally,
  ctrl: Int32Array,
  afterChunk?: () => void,
): boolean {
  return claimChunks(ctrl, n, CHUNK, (from, to) => {
    sweepRange(a, from, to, p, out, tally);
    afterChunk?.();
  });
}
