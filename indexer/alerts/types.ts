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
