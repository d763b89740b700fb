// What the sync engine emits, and the only input the indexer's apply step takes: a block (one head block, or a
// caught-up range of final blocks ending at `block`) with its decoded changes, a reorg back to a common ancestor,
// and a finality mark.
import type { Change } from "../state/changes";
import type { BlockRef } from "../store/types";

export type SyncEvent =
  /** `changes` of blocks [from, block.number], in chain order; a "range" is final as a whole */
  | {
      type: "block";
      kind: "range" | "block";
      from: bigint;
      block: BlockRef;
      changes: Change[];
      /** a head block when no chain is held yet: the held chain starts at this parent */
      parent?: BlockRef;
    }
  /** blocks above `ancestor.number` are orphaned: undo them */
  | { type: "reorg"; ancestor: BlockRef; depth: number }
  /** blocks ≤ `block` can no longer be reorganised: forget their undo data */
  | { type: "finalize"; block: bigint };

/** A step: the events one commit and one publication cover (a block, then perhaps its finality mark). */
export type SyncStep = SyncEvent[];
