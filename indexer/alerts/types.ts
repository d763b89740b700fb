// Alert shapes: margin calls (with the position card), liquidatable set changes and oracle faults.
export type AlertSeverity = "info" | "warning" | "critical";

export interface PositionCard {
  healthFactor: string;
  totalCollateralUSD: string;
  totalBorrowsUSD: string;
  availableBorrowsUSD: string;
  borrowPowerUsed: string;
}

export type AlertBody =
  | { kind: "margin-call"; account: string; level: string; state: "triggered" | "resolved"; healthFactor: string; card: PositionCard | null }
  | { kind: "liquidatable"; account: string; state: "triggered" | "resolved"; healthFactor: string | null }
  | { kind: "oracle"; type: string; asset: string | null; symbol: string | null; detail: string };

export interface Alert {
  /** deterministic: the same event gives the same id (queue and webhook de-duplication) */
  id: string;
  severity: AlertSeverity;
  blockNumber: string;
  /** ISO time the alert was raised */
  at: string;
  message: string;
  body: AlertBody;
}

/**
 * What the policy remembers of one alert key (`mc|<account>|<level>`, `oracle|<asset>|fault`,
 * `oracle|sequencer|sequencer`): persisted in the store in the transaction of the block that changed it.
 */
export interface AlertStateRow {
  key: string;
  state: "triggered" | "resolved";
  /** oracle faults: which fault ("heartbeat-missed" / "feed-invalid"); "" otherwise */
  variant: string;
  /** ms since the epoch at which the state was decided (the cooldown counts from here) */
  atMs: number;
  /** a trigger silenced by the cooldown: its resolve is silent too */
  muted: boolean;
}
