// The one rule that turns an exact health factor into an account status: the card, what-if shocks and store rows.
import { WAD } from "../../common/math";
import type { AccountStatus } from "./types";

/** null HF (a price the protocol would refuse) is "unknown"; below 1 "liquidatable"; below `warningAt` "warning". */
export function statusOf(healthFactor: bigint | null, warningAt: bigint | null): AccountStatus {
  if (healthFactor === null) return "unknown";
  if (healthFactor < WAD) return "liquidatable";
  if (warningAt !== null && healthFactor < warningAt) return "warning";
  return "healthy";
}
