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
  InternalRpcError,
  InvalidAbiDecodingTypeError,
  InvalidParamsRpcError,
  LimitExceededRpcError,
  ResourceUnavailableRpcError,
  SliceOffsetOutOfBoundsError,
  SocketClosedError,
  TimeoutError,
  WebSocketRequestError,
} from "viem";
import { causeChain, findCause } from "./errors";
export interface RetryOptions {
  /** first delay, ms (default 200) */
  baseMs?: number;
  /** delay cap, ms (default 10_000) */
  maxMs?: number;
  /** attempts before giving up; Infinity retries forever (default 5) */
  attempts?: number;
  /** called before each wait, e.g. to log or to mark the RPC unhealthy */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** stop retrying when this says the error is permanent (default: shouldRetry) */
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

/** HTTP statuses a later attempt can cure: request timeout, too early, rate limited, and every server error. */
const isRetryableStatus = (status: number): boolean => status === 408 || status === 425 || status === 429 || status >= 500;

/** Node's system errors for a connection that failed or dropped (the request itself may be fine). */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * Postgres SQLSTATEs for a lost or refused connection (pg reports them as `code`): class 08 (connection exception),
 * the server shutting down or starting up (57P01–57P03) and too many connections (53300).
 */
const isPgConnectionState = (code: string): boolean => /^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === "53300";

/** A network failure by its `code`: Node's and ioredis's system errors, undici's (`fetch`) UND_ERR_*, pg's SQLSTATEs. */
function isNetworkCode(code: unknown): boolean {
  return typeof code === "string" && (NETWORK_CODES.has(code) || code.startsWith("UND_ERR_") || isPgConnectionState(code));
}

/**
 * Ponder-style `shouldRetry`: whether a later attempt of the same call can succeed. Judged along the `cause` chain,
 * outermost first, by error class and status, never by message text (viem's messages embed the request body, whose
 * hex would match "502" or "429" by chance):
 * - a contract's own answer (a revert, no code, undecodable data) is final: false;
 * - viem's `HttpRequestError`: by HTTP status (408, 425, 429, 5xx), or no status at all, i.e. the request never got
 *   an answer (refused, reset, malformed response);
 * - viem's timeout, socket and rate-limit/overload classes (`TimeoutError`, `SocketClosedError`,
 *   `WebSocketRequestError`, `LimitExceededRpcError`, `ResourceUnavailableRpcError`, `InternalRpcError`): true;
 * - Node, undici, ioredis and pg connection errors, by their `code`: true.
 * Everything else (bad input, a JSON-RPC error the node means, our own typed errors) is permanent.
 */
export function shouldRetry(error: unknown): boolean {
  for (const e of causeChain(error)) {
    if (isContractAnswerError(e)) return false;
    if (e instanceof HttpRequestError) return e.status === undefined || isRetryableStatus(e.status);
    if (
      e instanceof TimeoutError ||
      e instanceof SocketClosedError ||
      e instanceof WebSocketRequestError ||
      e instanceof LimitExceededRpcError ||
      e instanceof ResourceUnavailableRpcError ||
      e instanceof InternalRpcError
    )
      return true;
    if (isNetworkCode((e as { code?: unknown } | null)?.code)) return true;
  }
  return false;
}

/** A timeout anywhere in the chain: viem's `TimeoutError`, a socket's ETIMEDOUT, or one of undici's *_TIMEOUT codes. */
export function isTimeoutError(error: unknown): boolean {
  return !!findCause(error, (e) => {
    if (e instanceof TimeoutError) return true;
    const code = (e as { code?: unknown } | null)?.code;
    return code === "ETIMEDOUT" || (typeof code === "string" && code.startsWith("UND_ERR_") && code.endsWith("_TIMEOUT"));
  });
}

/** Range wording of providers that refuse an eth_getLogs range (Alchemy, Infura, QuickNode, Ankr, geth, Erigon…). */
const RANGE_TOO_LARGE_TEXT =
  /block range|range (is )?too (large|wide|big)|more than \d+ (results|logs)|limit exceeded|response size|query returned more than|too many (results|logs|blocks)|exceed(s|ed) .*(range|limit)|log response size/i;

/**
 * Provider refusals that mean "ask for fewer blocks" on eth_getLogs. Judged first by JSON-RPC error code: -32005
 * (limit exceeded, viem's `LimitExceededRpcError`), or -32602 (invalid params) when its words speak of the range.
 * The one exception to "never by message text": providers signal a too-large range only in their message, with no
 * code of their own (or a generic -32000), so the text of the chain is matched as a last resort.
 */
export function isRangeTooLargeError(error: unknown): boolean {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown } | null)?.code;
    if (e instanceof LimitExceededRpcError || code === LimitExceededRpcError.code) return true;
    if ((e instanceof InvalidParamsRpcError || code === InvalidParamsRpcError.code) && RANGE_TOO_LARGE_TEXT.test(errorText(e))) return true;
  }
  return RANGE_TOO_LARGE_TEXT.test(errorText(error));
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
      // a short message that is the whole message (most of ours) is not repeated
      e.shortMessage === e.message ? "" : clean(e.shortMessage),
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
  const retryable = opts.shouldRetry ?? shouldRetry;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt + 1 >= attempts || !retryable(e) || opts.signal?.aborted) throw e;
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
    if (isContractAnswerError(e)) return true;
    if (e instanceof HttpRequestError || e instanceof TimeoutError) return false;
  }
  return false;
}

/** One link of a chain is a contract's answer (not its causes). */
function isContractAnswerError(e: unknown): boolean {
  return (
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
    (e instanceof Error && CURSOR_ERRORS.has(e.name))
  );
}
