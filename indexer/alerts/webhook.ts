// Webhook delivery: JSON POST signed with HMAC-SHA256 over "<timestamp>.<body>", so receivers can verify origin
// and reject replays. Non-2xx and network errors throw (BullMQ retries with backoff).
import { createHmac, timingSafeEqual } from "node:crypto";
import { MarginwatchError } from "../../common/errors";

export const SIGNATURE_HEADER = "x-marginwatch-signature";
export const TIMESTAMP_HEADER = "x-marginwatch-timestamp";

export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** For receivers (and tests): constant-time check of a delivery's signature. */
export function verify(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export class WebhookDeliveryError extends MarginwatchError {
  constructor(
    readonly url: string,
    readonly status: number | null,
    reason: string,
  ) {
    super(`webhook ${redactQuery(url)} failed: ${reason}`);
  }
}

/** Webhook URLs often carry tokens in the query: never log them. */
export function redactQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "<invalid url>";
  }
}

export async function deliver(url: string, secret: string, payload: unknown, timeoutMs = 5_000): Promise<number> {
  const body = JSON.stringify(payload);
  const timestamp = String(Math.floor(Date.now() / 1000));
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: sign(secret, timestamp, body), [TIMESTAMP_HEADER]: timestamp },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new WebhookDeliveryError(url, null, (e as Error).message);
  }
  if (res.status < 200 || res.status >= 300) throw new WebhookDeliveryError(url, res.status, `HTTP ${res.status}`);
  return res.status;
}
