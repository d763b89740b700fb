// In-process reservations of the keeper's token balances, so concurrent jobs do not plan with the same funds.
import type { Address } from "./job";

/**
 * A job reserves the most it may repay from the moment it plans until its transaction is mined (when the chain
 * balance reflects it). Planning and reserving happen without an await in between, so two jobs of one process
 * never both count the same tokens. Processes sharing a key do not see each other's reservations: give each its
 * own funds, or accept that one of two competing liquidations may fail its simulation.
 */
export class BalanceLedger {
  private readonly reserved = new Map<string, bigint>();

  /** balance minus what in-flight jobs hold */
  available = (asset: Address, balance: bigint): bigint => {
    const left = balance - (this.reserved.get(asset.toLowerCase()) ?? 0n);
    return left > 0n ? left : 0n;
  };

  /** Returns the release function (idempotent). */
  reserve(asset: Address, amount: bigint): () => void {
    const key = asset.toLowerCase();
    this.reserved.set(key, (this.reserved.get(key) ?? 0n) + amount);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.reserved.get(key) ?? 0n) - amount;
      if (left > 0n) this.reserved.set(key, left);
      else this.reserved.delete(key);
    };
  }
}
