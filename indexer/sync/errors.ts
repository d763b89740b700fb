// Sync errors that must stop the indexer instead of being retried.
import { MarginwatchError } from "../../common/errors";

/** The chain reorganised below the finality depth: the stored state may rest on blocks that no longer exist. */
export class DeepReorgError extends MarginwatchError {
  constructor(
    readonly blockNumber: bigint,
    readonly finalityDepth: number,
  ) {
    super(`reorg deeper than finality depth ${finalityDepth} at block ${blockNumber}`, {
      message:
        `reorg deeper than the finality depth (${finalityDepth} blocks): block ${blockNumber} changed after it was final. ` +
        `Stop, raise FINALITY_DEPTH if the chain needs it, and re-index from the deployment block ("marginwatch index --reset").`,
    });
  }
}

export class ChainMismatchError extends MarginwatchError {
  constructor(expected: number, actual: number) {
    super(`the RPC serves chain id ${actual} but the deployment file is for chain id ${expected}`);
  }
}

export class RpcUnreachableError extends MarginwatchError {
  constructor(reason: string) {
    super(`cannot reach the RPC endpoint at start-up: ${reason}. Check RPC_URL and that the node is running.`);
  }
}

/** The node served a block whose parent is not the (still canonical) block before it: transient, retried. */
export class InconsistentNodeError extends MarginwatchError {
  constructor(readonly blockNumber: bigint) {
    super(`the node's block ${blockNumber + 1n} does not extend its block ${blockNumber}; retrying`);
  }
}

/** A watched log kept failing to decode: the RPC serves a broken log stream, and the cursor must not pass it. */
export class MalformedLogStreamError extends MarginwatchError {
  constructor(
    readonly last: Error,
    readonly attempts: number,
  ) {
    super(`malformed log stream (${attempts} attempts)`, {
      message: `${last.message} — still undecodable after ${attempts} attempts: the RPC serves broken logs. Stopping rather than skip a log; check the node, then restart.`,
      cause: last,
    });
  }
}
