// The health engine's shared mutable state, in its own module so that aggregates, stress and sums can read it
// without importing the engine.
import type { ProtocolMath } from "../../protocols/types";
import type { ProtocolState } from "../state/state";
import type { AssetSlot } from "./asset-slot";
import type { AccountBook } from "./book";
import type { Thresholds } from "./thresholds";
import type { Address, PriceInfo } from "./types";

/** The liquidatable episode of one account. */
export interface LiqRecord {
  since: bigint;
  healthFactor: bigint;
  computedAt: bigint;
}

/** Mutable state shared by the engine, one evaluate pass, aggregates and stress (those two only read). */
export interface EngineData {
  state: ProtocolState;
  /** the protocol's exact math (protocols/<name>/math.ts) */
  math: ProtocolMath;
  book: AccountBook;
  slots: AssetSlot[];
  prices: Map<Address, PriceInfo>;
  thresholds: Thresholds;
  liq: Map<number, LiqRecord>;
  unknown: Set<number>;
  watch: Set<number>;
}
