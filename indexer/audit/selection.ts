// Which accounts the auditor checks at a block: part of the sample from where errors would hurt (accounts that
// just changed, crossed a level, are liquidatable, unknown or near a threshold), the rest from a rotation over every
// account so that each one is checked once per lap. O(sample) per block, whatever the number of accounts.
import type { Address } from "../state/events";

/** What selection reads from the published view (synchronously, inside `snapshots.read`). */
export interface SelectionSource {
  /** every account the state knows (the rotation's universe); iterated live, never copied */
  accounts: ReadonlyMap<Address, unknown>;
  liquidatable(): readonly Address[];
  unknown(): readonly Address[];
  /** margin levels active for the account (an empty list: no longer near a threshold) */
  marginLevels(account: Address): readonly string[];
}

export interface SelectionHints {
  /** accounts whose last check mismatched: re-checked first, so a fixed figure closes the mismatch */
  recheck: readonly Address[];
  /** accounts this step touched: position events, status changes, level crossings */
  touched: readonly Address[];
}

/** Bounds the "near a threshold" set kept between blocks (accounts seen crossing a margin level). */
const MAX_NEAR = 10_000;

export class AccountSelection {
  private rotationOf: ReadonlyMap<Address, unknown> | null = null;
  private rotation: Iterator<Address> | null = null;
  private lapTaken = 0;
  /** full passes over every account completed by the rotation */
  laps = 0;
  private riskCursor = 0;
  /** accounts seen crossing a margin level downwards, pruned once no level is active for them */
  private readonly near = new Set<Address>();
  private nearIter: Iterator<Address> | null = null;

  /** Records level crossings (from the step's health update) for the near-threshold share of later samples. */
  noteCrossings(crossings: ReadonlyArray<{ account: Address; direction: "down" | "up" }>): void {
    for (const c of crossings) if (c.direction === "down" && this.near.size < MAX_NEAR) this.near.add(c.account);
  }

  /**
   * Up to `size` distinct accounts: at most `priority` of them from the hints and the at-risk sets, the rest from
   * the rotation (and back to the at-risk sets when there are fewer accounts than `size`).
   */
  pick(src: SelectionSource, size: number, priority: number, hints: SelectionHints): Address[] {
    const out = new Set<Address>();
    const known = (a: Address) => src.accounts.has(a);
    const add = (a: Address | undefined, limit: number): boolean => {
      if (a !== undefined && out.size < limit && known(a)) out.add(a);
      return out.size >= limit;
    };
    const fromPriority = (limit: number) => {
      // Re-checks go first even for an account that left the state: its figures (now zero) can still close it.
      for (const a of hints.recheck) if (out.size < limit && out.add(a).size >= limit) return;
      for (const a of hints.touched) if (add(a, limit)) return;
      const risky = [...src.liquidatable(), ...src.unknown()];
      for (let n = 0; n < risky.length && out.size < limit; n++) add(risky[this.riskCursor++ % risky.length], limit);
      for (let n = this.near.size; n > 0 && out.size < limit; n--) {
        const a = this.nextNear();
        if (a === undefined) break;
        if (!known(a) || src.marginLevels(a).length === 0) this.near.delete(a);
        else add(a, limit);
      }
    };
    fromPriority(Math.min(priority, size));
    // The rotation: a live iterator over the state's map, restarted (a lap) when it runs out.
    for (let guard = 0; out.size < size && guard < size * 4 + 2; guard++) {
      const a = this.nextInRotation(src.accounts);
      if (a === undefined) break;
      out.add(a);
    }
    if (out.size < size) fromPriority(size);
    return [...out];
  }

  private nextInRotation(accounts: ReadonlyMap<Address, unknown>): Address | undefined {
    if (this.rotationOf !== accounts) {
      this.rotationOf = accounts;
      this.rotation = null;
      this.lapTaken = 0;
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      this.rotation ??= accounts.keys();
      const r = this.rotation.next();
      if (!r.done) {
        this.lapTaken++;
        return r.value;
      }
      if (this.lapTaken > 0) this.laps++;
      this.rotation = null;
      this.lapTaken = 0;
    }
    return undefined;
  }

  private nextNear(): Address | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.nearIter ??= this.near.values();
      const r = this.nearIter.next();
      if (!r.done) return r.value;
      this.nearIter = null;
    }
    return undefined;
  }
}
