// Risk snapshots for GET /v1/risk/history: every `everyBlocks` published blocks, the health engine's risk
// aggregates at that block's timestamp, stored by block. The app and the API tests record them through this.
import type { Store } from "./types";

/** One snapshot every this many blocks (about 10 minutes of Ethereum blocks). */
export const RISK_SNAPSHOT_EVERY_BLOCKS = 50n;

export interface RiskSnapshotRecorderOptions {
  store: Store;
  /** the engine's aggregates at `now` (HealthEngine.aggregates): read synchronously, on the view just published */
  aggregates: (now: bigint) => unknown;
  /** default RISK_SNAPSHOT_EVERY_BLOCKS */
  everyBlocks?: bigint;
  /** a failed write is reported here and never stops the indexer */
  onError: (e: Error) => void;
  /** resolves when the write is stored (tests); default nothing */
  onStored?: (blockNumber: bigint) => void;
}

/**
 * Returns the function to call for every published block: it snapshots the first block and then each one at least
 * `everyBlocks` after the last snapshot. The aggregates are computed at once (the published view of that block);
 * only the write is asynchronous.
 */
export function riskSnapshotRecorder(o: RiskSnapshotRecorderOptions): (block: { number: bigint; timestamp: bigint }) => void {
  const every = o.everyBlocks ?? RISK_SNAPSHOT_EVERY_BLOCKS;
  if (every < 1n) throw new RangeError(`everyBlocks must be at least 1, got ${every}`);
  let last: bigint | null = null;
  return (block) => {
    if (last !== null && block.number - last < every) return;
    last = block.number;
    const payload = o.aggregates(block.timestamp);
    o.store
      .insertRiskSnapshot({ blockNumber: block.number, timestamp: block.timestamp, payload })
      .then(() => o.onStored?.(block.number))
      .catch((e: unknown) => o.onError(e as Error));
  };
}
