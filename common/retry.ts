// Retry with exponential backoff and full jitter, and the one place that says which RPC errors are transient.
import {
  AbiDecodingDataSizeInvalidError,
  AbiDecodingDataSizeTooSmallError,
  AbiDecodingSizeLimitExceededError,
  AbiDecodingZeroDataError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  ExecutionRevertedError,
  HttpRequestError,
  InvalidAbiDecodingTypeError,
  SliceOffsetOutOfBoundsError,
  TimeoutError,
} from "viem";
export interface RetryOptions {
  /** first delay, ms (default 200) */
  baseMs?: number;
  /** delay cap, ms (default 10_000) */
  maxMs?: number;
  /** attempts before giving up; Infinity retries forever (default 5) */
  attempts?: number;
  /** called before each wait, e.g. to log or to mark the RPC unhealthy */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** stop retrying when this says the error is permanent (default: isTransientError) */
  shouldRetry?: (error: unknown) => boolean;
  signal?: AbortSignal;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

export function backoffDelay(attempt: number, baseMs = 200, maxMs = 10_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.floor(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Network-level and rate-limit failures: the same call may succeed later. */
export function isTransientError(error: unknown): boolean {
  const text = errorText(error);
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|socket hang up|fetch failed|timed? ?out|HTTP request failed|Too Many Requests|429|502|503|504|rate limit|other side closed|network|UND_ERR/i.test(
    text,
  );
}

/** Provider refusals that mean "ask for fewer blocks" on eth_getLogs. */
export function isRangeTooLargeError(error: unknown): boolean {
  const text = errorText(error);
  return /block range|range (is )?too (large|wide|big)|more than \d+ (results|logs)|limit exceeded|response size|query returned more than|too many (results|logs|blocks)|exceed(s|ed) .*(range|limit)|-32005|log response size/i.test(
    text,
  );
}

/**
 * The words of an error and its causes, for classification and logs. viem's messages embed the request body:
 * long hex strings (calldata, signed transactions) are cut so a "429" or "503" inside them cannot match.
 */
export function errorText(error: unknown): string {
  const clean = (s: string | undefined) => (s ?? "").replace(/0x[0-9a-fA-F]{16,}/g, "0x…");
  if (error instanceof Error) {
    const e = error as Error & { shortMessage?: string; details?: string; cause?: unknown; code?: unknown; status?: unknown };
    return [
      e.name,
      clean(e.message),
      clean(e.shortMessage),
      clean(e.details),
      String(e.code ?? ""),
      String(e.status ?? ""),
      e.cause ? errorText(e.cause) : "",
    ].join(" ");
  }
  return clean(String(error));
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  const shouldRetry = opts.shouldRetry ?? isTransientError;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt + 1 >= attempts || !shouldRetry(e) || opts.signal?.aborted) throw e;
      const delay = backoffDelay(attempt, opts.baseMs, opts.maxMs);
      opts.onRetry?.(e, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}

/**
 * Whether a failed contract read is the contract's own answer — a revert, no code, or data that does not decode —
 * rather than a transport failure. Judged by viem's error classes along the `cause` chain, never by message text:
 * an answer is a reading to classify, anything else must be retried.
 */
const CURSOR_ERRORS = new Set(["PositionOutOfBoundsError", "NegativeOffsetError", "RecursiveReadLimitExceededError"]);

export function isContractAnswer(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (
      e instanceof ContractFunctionRevertedError ||
      e instanceof ContractFunctionZeroDataError ||
      e instanceof ExecutionRevertedError ||
      e instanceof AbiDecodingZeroDataError ||
      e instanceof AbiDecodingDataSizeTooSmallError ||
      e instanceof AbiDecodingDataSizeInvalidError ||
      e instanceof SliceOffsetOutOfBoundsError ||
      e instanceof InvalidAbiDecodingTypeError ||
      e instanceof AbiDecodingSizeLimitExceededError ||
      // viem's decoding cursor errors are not exported from its root: matched by class name, not by message.
      CURSOR_ERRORS.has(e.name)
    )
      return true;
    if (e instanceof HttpRequestError || e instanceof TimeoutError) return false;
  }
  return false;
}
