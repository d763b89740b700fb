// What every decoded log carries, whatever the protocol: where it sits on chain. Adapters (protocols/*/decode.ts)
// turn logs into protocol-neutral changes (./changes.ts) stamped with this.
import type { Log } from "viem";
import { MarginwatchError } from "../../common/errors";

export type Address = `0x${string}`;

/** Where a log sits on chain; the order (block, logIndex) is the order state applies its changes. */
export interface EventMeta {
  blockNumber: bigint;
  blockHash: `0x${string}`;
  logIndex: number;
  transactionHash: `0x${string}`;
  /** the emitting contract, lower-case */
  address: Address;
}

/** A log that claims to come from a watched contract but does not decode: an RPC fault, never skipped past. */
export class MalformedLogError extends MarginwatchError {
  constructor(
    readonly log: Pick<Log, "address" | "blockNumber" | "logIndex" | "transactionHash">,
    reason: string,
  ) {
    super(`malformed log: ${reason}`, { message: `malformed log from ${log.address} at block ${log.blockNumber} index ${log.logIndex}: ${reason}` });
  }
}

const lower = (a: string): Address => a.toLowerCase() as Address;

/** The log's position; MalformedLogError for a pending log (no block, hash or index). */
export function metaOf(log: Log): EventMeta {
  if (log.blockNumber == null || log.logIndex == null || log.blockHash == null || log.transactionHash == null) {
    throw new MalformedLogError(log, "pending log (no block number, hash or index)");
  }
  return {
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    logIndex: log.logIndex,
    transactionHash: log.transactionHash,
    address: lower(log.address),
  };
}

/** Decoded event arguments with every address lower-cased (state keys are lower-case). */
export function lowerArgs<T>(args: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args as Record<string, unknown>))
    out[k] = typeof v === "string" && v.startsWith("0x") && v.length === 42 ? lower(v) : v;
  return out as T;
}

/** True for viem's "this topic is not in the ABI" error: an event of a watched contract marginwatch does not use. */
export function isUnknownEvent(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  return /AbiEventSignatureNotFoundError|Encoded event signature .* not found/i.test(`${err?.name} ${err?.message}`);
}
