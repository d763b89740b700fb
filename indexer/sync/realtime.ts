// Realtime sync: one block at a time at the head, each checked against the parent-hash chain of unfinalised blocks;
// a block that does not extend it means a reorg, answered by walking back to the common ancestor (a loud stop past
// the finality depth). Fetches only; the indexer applies what it returns.
import type { PublicClient } from "viem";
import type { ProtocolAdapter, Watched } from "../../protocols/types";
import type { BlockRef } from "../store/types";
import { DeepReorgError, InconsistentNodeError } from "./errors";
import { fetchBlock } from "./logs";
import type { RecentBlocks } from "./recent-blocks";
import type { SyncEvent, SyncStep } from "./types";

export interface SyncContext {
  client: PublicClient;
  adapter: ProtocolAdapter;
  /** the block's header, through the indexer's RPC health tracking */
  getBlock(number: bigint): Promise<BlockRef>;
  /** runs an RPC call with the indexer's retry and health tracking */
  rpc<T>(fn: () => Promise<T>): Promise<T>;
  finalityDepth: number;
}

/** Where the held chain stands: its unfinalised blocks, the last final block, the last applied block. */
export interface ChainPosition {
  recent: RecentBlocks;
  finalizedBlock: bigint;
  cursor: bigint;
}

/**
 * Block `number` as a step: [block, finalize?], [reorg] when it does not extend the held chain, or [] to ask again. Its logs are
 * fetched by block hash; a log of another branch (a node answering mid-reorg) fails the step (InconsistentNodeError).
 */
export async function nextBlock(ctx: SyncContext, at: ChainPosition, number: bigint, watched: readonly Watched[]): Promise<SyncStep> {
  const block = await ctx.getBlock(number);
  const parent = at.recent.last ?? (await ctx.getBlock(number - 1n));
  if (block.parentHash !== parent.hash) {
    // Without a held chain there is nothing to undo: the node moved between our two calls; ask again next tick.
    if (!at.recent.last) return [];
    return [await findReorg(ctx, at)];
  }
  const { changes, logs } = await ctx.rpc(() => fetchBlock(ctx.client, ctx.adapter, watched, block.hash, block.timestamp));
  if (logs.some((l) => l.blockHash !== block.hash)) throw new InconsistentNodeError(number);
  const step: SyncStep = [{ type: "block", kind: "block", from: number, block, changes, ...(at.recent.last ? {} : { parent }) }];
  const finalized = number - BigInt(ctx.finalityDepth);
  if (finalized > at.finalizedBlock) step.push({ type: "finalize", block: finalized });
  return step;
}

/** Walks the held chain back to the newest block still canonical: the reorg to apply. */
export async function findReorg(ctx: SyncContext, at: ChainPosition): Promise<SyncEvent> {
  const blocks = [...at.recent.all].reverse();
  let ancestor: BlockRef | null = null;
  for (const b of blocks) {
    const onChain = await ctx.getBlock(b.number);
    if (onChain.hash === b.hash) {
      ancestor = b;
      break;
    }
  }
  if (!ancestor || ancestor.number < at.finalizedBlock) {
    throw new DeepReorgError(blocks[blocks.length - 1]?.number ?? at.finalizedBlock, ctx.finalityDepth);
  }
  const depth = Number(at.cursor - ancestor.number);
  // Our newest block is still canonical, yet the next block does not name it as parent: the node is mid-update or
  // inconsistent. Nothing to undo; back off and ask again.
  if (depth === 0) throw new InconsistentNodeError(ancestor.number);
  return { type: "reorg", ancestor, depth };
}
