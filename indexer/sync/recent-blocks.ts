// The hash chain of unfinalised blocks. Invariant: consecutive entries are linked by parentHash, the first entry
// is the newest final block (the anchor), and every entry after it is above the finality depth.
import type { BlockRef } from "../store/types";

export class RecentBlocks {
  private blocks: BlockRef[];

  constructor(blocks: BlockRef[] = []) {
    this.blocks = [...blocks];
  }

  get last(): BlockRef | undefined {
    return this.blocks[this.blocks.length - 1];
  }

  get all(): readonly BlockRef[] {
    return this.blocks;
  }

  /** Appends a block that extends the chain; the caller checked parentHash. */
  push(b: BlockRef): void {
    this.blocks.push(b);
  }

  /** Keeps the anchor (newest block ≤ finalized) and everything above it. */
  prune(finalized: bigint): void {
    let anchor = -1;
    for (let i = 0; i < this.blocks.length; i++) if (this.blocks[i]!.number <= finalized) anchor = i;
    if (anchor > 0) this.blocks = this.blocks.slice(anchor);
  }

  /** Drops every block above `number`. */
  truncate(number: bigint): void {
    this.blocks = this.blocks.filter((b) => b.number <= number);
  }

  clear(): void {
    this.blocks = [];
  }

  reset(anchor: BlockRef): void {
    this.blocks = [anchor];
  }
}
