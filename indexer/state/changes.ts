// Protocol-neutral changes: what a protocol adapter decodes its logs into (protocols/*/decode.ts) and the only
// input ProtocolState takes. State knows reserves, feeds and accounts' scaled balances, never a protocol's events.
import type { Address, EventMeta } from "./events";

export type Change =
  /** a reserve (asset) becomes known; `decimals` of the underlying, its interest-rate model */
  | { kind: "reserve-listed"; asset: Address; decimals: number; rateModel: Address; meta: EventMeta }
  /**
   * risk parameters in basis points; a field left out keeps its value (a protocol that sets them by separate events).
   * The bonus is what the liquidator gets above par: 500 = 5% (Aave's 10500 form is decoded to 500).
   */
  | {
      kind: "reserve-params";
      asset: Address;
      ltvBps?: bigint;
      liquidationThresholdBps?: bigint;
      liquidationBonusBps?: bigint;
      reserveFactorBps?: bigint;
      meta: EventMeta;
    }
  | { kind: "reserve-rate-model"; asset: Address; rateModel: Address; meta: EventMeta }
  /** indexes and rates (RAY) as stored at `timestamp` */
  | {
      kind: "reserve-indexes";
      asset: Address;
      liquidityRate: bigint;
      borrowRate: bigint;
      liquidityIndex: bigint;
      borrowIndex: bigint;
      timestamp: bigint;
      meta: EventMeta;
    }
  /** scaled collateral of `account` in `asset` moves by `scaledDelta` (negative: burned) */
  | { kind: "collateral"; account: Address; asset: Address; scaledDelta: bigint; meta: EventMeta }
  /** scaled debt moves by `scaledDelta`; `deficit` (underlying) replaces the reserve's recorded deficit when set */
  | { kind: "debt"; account: Address; asset: Address; scaledDelta: bigint; deficit?: bigint; meta: EventMeta }
  /** the price source of `asset`: a Chainlink-style aggregator and its heartbeat (seconds) */
  | { kind: "feed-set"; asset: Address; aggregator: Address; heartbeat: bigint; decimals: number; meta: EventMeta }
  | { kind: "sequencer-set"; feed: Address; gracePeriod: bigint; meta: EventMeta }
  /**
   * whether `account` uses its `asset` balance as collateral (Aave's per-reserve collateral bit); an account that
   * never had one set uses the protocol's default (ProtocolMath.collateralDefault)
   */
  | { kind: "collateral-flag"; account: Address; asset: Address; enabled: boolean; meta: EventMeta }
  /** an efficiency-mode category's parameters (Aave eMode); `priceSource` 0x0… = the assets' own oracle prices */
  | {
      kind: "category-set";
      category: number;
      ltvBps: bigint;
      liquidationThresholdBps: bigint;
      liquidationBonusBps: bigint;
      priceSource: Address;
      label: string;
      meta: EventMeta;
    }
  /** the category a reserve belongs to (0: none) */
  | { kind: "reserve-category"; asset: Address; category: number; meta: EventMeta }
  /** the category an account chose (0: none): in-category assets use the category's LTV and LT */
  | { kind: "account-category"; account: Address; category: number; meta: EventMeta }
  /**
   * a contract a log names joins the watch set for good (Aave's reserve tokens, its Pool and oracle found from the
   * addresses provider); `family` is the adapter's word for how its logs decode. Kept in state (and the store) so a
   * restart watches what the logs found, not only what the deployment file names.
   */
  | { kind: "contract-found"; address: Address; family: string; meta: EventMeta }
  /** history only (state is moved by the collateral / debt changes decoded from the same log) */
  | {
      kind: "liquidation";
      borrower: Address;
      liquidator: Address;
      collateralAsset: Address;
      debtAsset: Address;
      debtRepaid: bigint;
      collateralSeized: bigint;
      meta: EventMeta;
    }
  /** history only: debt written off as bad debt (`amount` underlying; the debt change carries the state move) */
  | { kind: "bad-debt"; account: Address; asset: Address; amount: bigint; reserveDeficit: bigint; meta: EventMeta };

export type ChangeKind = Change["kind"];

/** The account whose balances or settings a change moves; null for reserve, feed, category and history changes. */
export function accountOfChange(c: Change): Address | null {
  return c.kind === "collateral" || c.kind === "debt" || c.kind === "collateral-flag" || c.kind === "account-category" ? c.account : null;
}

/** Orders changes as the chain does: block, then log index (changes decoded from one log keep their order). */
export function compareChanges(a: { meta: EventMeta }, b: { meta: EventMeta }): number {
  if (a.meta.blockNumber !== b.meta.blockNumber) return a.meta.blockNumber < b.meta.blockNumber ? -1 : 1;
  return a.meta.logIndex - b.meta.logIndex;
}
