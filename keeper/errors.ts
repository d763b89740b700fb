// Typed keeper errors and the one place that decides what a failure means: retryable, lost race, or price problem.
import { type Abi, BaseError, decodeErrorResult, NonceTooHighError, NonceTooLowError, type Hex } from "viem";
import { getNodeError } from "viem/utils";
import { MarginwatchError, UserInputError } from "../common/errors";
import { errorText, shouldRetry as shouldRetryRpc } from "../common/retry";

/** An error of a keeper job. Its `shortMessage` is one line for logs and outcome rows; it never carries a secret. */
export class KeeperError extends MarginwatchError {
  constructor(shortMessage: string, options?: { cause?: unknown }) {
    super(shortMessage, { cause: options?.cause });
  }
}

/**
 * A setting is missing or invalid; raised at start-up only, never inside a job. A user-input error (the CLI exits
 * with code 2), so it extends UserInputError rather than KeeperError; `shouldRetry` still treats it as permanent.
 */
export class KeeperConfigError extends UserInputError {}

/** The private key is missing, unreadable or malformed. The message never includes the key. */
export class PrivateKeyError extends KeeperError {}

/** Another signer lock holder kept the lock past our wait (retryable). */
export class SignerLockTimeoutError extends KeeperError {}

/** Our nonce was used by a transaction this job did not send (another process on the same key): re-plan. */
export class NonceConsumedError extends KeeperError {}

/** The worker is shutting down: the job is put back (delayed) without using up an attempt. */
export class ShutdownRequestedError extends KeeperError {}

/** A start-up token approval reverted or could not be sent. */
export class ApprovalError extends KeeperError {}

/**
 * The keeper's `shouldRetry`: the shared RPC classifier (common/retry.ts: timeouts, refused or dropped connections,
 * rate limits, 5xx) with the keeper's own rules layered on top: our transient errors (a signer lock held too long, a
 * nonce used by another process) and a nonce error the nonce manager could not cure within its retries are retried;
 * our other typed errors and reverts end the job.
 */
export function shouldRetry(err: unknown, errorsAbi: Abi = []): boolean {
  if (err instanceof SignerLockTimeoutError || err instanceof NonceConsumedError) return true;
  if (err instanceof MarginwatchError) return false;
  if (isNonceConflict(err)) return true;
  if (revertOf(err, errorsAbi)) return false;
  return shouldRetryRpc(err);
}

/**
 * The node refused a transaction's nonce: too low (already used), too high (a gap: a remembered nonce from another
 * chain instance, e.g. an embedded chain restarted), or already used under another name. Judged by viem's node
 * error classes: an error already typed by viem (`NonceTooLowError`, `NonceTooHighError` anywhere in its `cause`
 * chain) or a raw RPC error that viem's own `getNodeError` maps to one — which lower-cases the node's message, so
 * Hardhat's "Nonce too high" counts (viem's `nodeMessage` regexes alone are case-sensitive). Messages viem has no
 * class for ("nonce has already been used", "invalid nonce", Nethermind's "OldNonce") are matched by text.
 * "already known" is not a nonce error (viem's NonceTooLowError pattern would say it is): the node has our bytes.
 */
export function isNonceError(err: unknown): boolean {
  if (isAlreadyKnown(err)) return false;
  if (err instanceof BaseError) {
    if (err.walk((e) => e instanceof NonceTooLowError || e instanceof NonceTooHighError)) return true;
    const node = nodeErrorOf(err);
    if (node instanceof NonceTooLowError || node instanceof NonceTooHighError) return true;
  }
  return /nonce too (low|high)|nonce has already been used|invalid nonce|\bOldNonce\b/i.test(errorText(err));
}

/** viem's typed node error for the RPC error inside `err` (what `sendTransaction` would have thrown), if any. */
function nodeErrorOf(err: BaseError): BaseError | null {
  const rpc = err.walk((e) => e instanceof BaseError && typeof e.details === "string" && e.details.length > 0) as BaseError | null;
  return rpc ? (getNodeError(rpc, {}) as BaseError) : null;
}

/**
 * A first send at a nonce that a transaction still in the node's pool already holds (viem has no class for it):
 * our nonce was wrong — the pool knows a transaction we forgot — so re-read the pending count, as for a nonce error.
 */
export const isReplacementUnderpriced = (err: unknown): boolean =>
  !isAlreadyKnown(err) && /replacement (transaction )?underpriced|replacement fee too low/i.test(errorText(err));

/** Our nonce is wrong for this chain: drop the remembered one, re-read the chain's pending count, send again. */
export const isNonceConflict = (err: unknown): boolean => isNonceError(err) || isReplacementUnderpriced(err);

/** The node already has this exact transaction (a re-broadcast): not an error for us. */
export const isAlreadyKnown = (err: unknown): boolean => /already known|already imported|known transaction/i.test(errorText(err));

/** A replacement offered too little fee: keep waiting for the version already in the pool. */
export const isUnderpriced = (err: unknown): boolean => /underpriced|fee too low|replacement/i.test(errorText(err));

/** A protocol custom error decoded from revert data. */
export interface DecodedRevert {
  name: string;
  args: readonly unknown[];
}

const HEX_DATA = /^0x[0-9a-fA-F]{8,}$/;

/**
 * Finds revert data anywhere in a viem error chain and decodes it against `errorsAbi` (the protocol's custom errors:
 * LiquidationAdapter.errorsAbi; Solidity's Error(string) and Panic(uint256) always decode).
 */
export function revertOf(err: unknown, errorsAbi: Abi = []): DecodedRevert | null {
  if (!(err instanceof BaseError)) return null;
  let found: DecodedRevert | null = null;
  err.walk((e) => {
    if (found) return true;
    const candidate = e as { raw?: unknown; data?: unknown; reason?: unknown; errorName?: unknown };
    const decoded = (candidate.data as { errorName?: string; args?: readonly unknown[] } | undefined) ?? undefined;
    if (decoded && typeof decoded === "object" && typeof decoded.errorName === "string") {
      found = { name: decoded.errorName, args: decoded.args ?? [] };
      return true;
    }
    for (const raw of [candidate.raw, candidate.data]) {
      if (typeof raw === "string" && HEX_DATA.test(raw)) {
        try {
          const r = decodeErrorResult({ abi: errorsAbi, data: raw as Hex });
          found = { name: r.errorName, args: (r.args ?? []) as readonly unknown[] };
          return true;
        } catch {
          // not one of ours (e.g. an ERC20 Error(string)); keep walking
        }
      }
    }
    return false;
  });
  if (found) return found;
  // Error(string) reverts such as an ERC20 transfer failing: name them by their reason.
  const reverted = err.walk((e) => typeof (e as { reason?: unknown }).reason === "string") as { reason?: string } | null;
  return reverted?.reason ? { name: "Error", args: [reverted.reason] } : null;
}

/**
 * Whether a decoded revert is one of `names` (LiquidationAdapter.priceErrors / lostRaceErrors): a custom error by its
 * name, an Error(string) revert by its reason (protocols that revert with codes, e.g. Aave V3.0's "45").
 */
export function revertIn(revert: DecodedRevert | null, names: ReadonlySet<string>): boolean {
  if (!revert) return false;
  if (names.has(revert.name)) return true;
  return revert.name === "Error" && typeof revert.args[0] === "string" && names.has(revert.args[0]);
}

/** A short, secret-free description of any error for outcome rows and logs (reverts named by `errorsAbi`). */
export function describeError(err: unknown, errorsAbi: Abi = []): string {
  const revert = revertOf(err, errorsAbi);
  if (revert) return `${revert.name}(${revert.args.map(String).join(", ")})`;
  if (err instanceof BaseError || err instanceof KeeperError || err instanceof KeeperConfigError) return err.shortMessage;
  return err instanceof Error ? err.message : String(err);
}
