// Historical sync: adaptive eth_getLogs ranges over final blocks (below head − finality depth), each range one step
// that is final as a whole. Fetches only; the indexer applies what it returns.
import type { Watched } from "../../protocols/types";
import type { AdaptiveRange } from "./adaptive-range";
import { fetchRange } from "./logs";
import { type ChainPosition, findReorg, type SyncContext } from "./realtime";
import type { SyncStep } from "./types";

/**
 * The next range of final blocks from `from` (at most to `to`) as a step: [block (range), finalize]. A range must
 * extend the chain we hold — a reorg can jump straight past the safe head — else the step is that reorg.
 */
export async function nextRange(
  ctx: SyncContext,
  at: ChainPosition,
  from: bigint,
  to: bigint,
  watched: readonly Watched[],
  range: AdaptiveRange,
  onRetry: (error: unknown, attempt: number) => void,
  signal: AbortSignal,
): Promise<SyncStep> {
  const anchor = at.recent.last;
  if (anchor && anchor.number === from - 1n) {
    const first = await ctx.getBlock(from);
    if (first.parentHash !== anchor.hash) return [await findReorg(ctx, at)];
  }
  const res = await fetchRange(ctx.client, ctx.adapter, watched, from, to, range, onRetry, signal);
  const block = await ctx.getBlock(res.to);
  return [
    { type: "block", kind: "range", from: res.from, block, changes: res.changes },
    { type: "finalize", block: res.to },
  ];
}
