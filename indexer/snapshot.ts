// The published snapshot: the one view of the indexer that the API, the keeper producer, alerts, metrics and the
// auditor read. A block (or a caught-up range) is published only once it is fully applied — state, every feed read
// at that block, health evaluated at its timestamp, batch committed — so every answer equals the chain at the block
// it names, however far behind the head the indexer is.
//
// Invariant: the sync engine mutates state, oracle readings and the health engine only between `beginWrite()` and
// `publish()` / `abortWrite()`. Readers run synchronously inside `read()`, which never starts while a write is open,
// so the large structures (state, engine) they see are exactly those of `current`. The small per-block facts are
// copied into the view itself and are immutable.
import { EventEmitter } from "node:events";
import { MarginwatchError } from "../common/errors";
import type { FeedReading, SequencerStatus } from "./oracle/tracker";
import type { Address } from "./state/events";
import type { BlockRef } from "./store/types";

export interface PublishedView {
  /** increases by one on every publication (a reorg rollback publishes too) */
  readonly seq: number;
  readonly block: BlockRef;
  readonly finalizedBlock: bigint;
  /** "range": a caught-up range ending at `block`; "block": one block followed at the head; "rollback": a reorg */
  readonly kind: "range" | "block" | "rollback";
  /** first block whose events this publication applied */
  readonly from: bigint;
  /** every configured feed as read at `block` (by asset) */
  readonly readings: ReadonlyMap<Address, Readonly<FeedReading>>;
  readonly sequencer: SequencerStatus;
  /** assets whose price is not fresh at `block`: their holders' HF is "unknown" */
  readonly unusablePrices: readonly Address[];
}

/** Thrown by `read()` before the first publication. */
export class NothingPublishedError extends MarginwatchError {
  constructor() {
    super("no block published yet");
  }
}

/**
 * Events: "published" (PublishedView), after the view is current.
 */
export class Publication extends EventEmitter {
  private view: PublishedView | null = null;
  private writing = false;
  private waiters: Array<() => void> = [];
  private seq = 0;

  /** The current view, or null before the first publication. Safe to hold: it never changes. */
  get current(): PublishedView | null {
    return this.view;
  }

  get isWriting(): boolean {
    return this.writing;
  }

  /**
   * Runs `fn` against the current view once no write is open. `fn` must be synchronous: everything it reads from
   * the state or the health engine then belongs to `view.block`.
   */
  async read<T>(fn: (view: PublishedView) => T): Promise<T> {
    while (this.writing) await new Promise<void>((r) => this.waiters.push(r));
    if (!this.view) throw new NothingPublishedError();
    return fn(this.view);
  }

  /** Like `read`, but resolves to null before the first publication instead of throwing. */
  async tryRead<T>(fn: (view: PublishedView) => T): Promise<T | null> {
    while (this.writing) await new Promise<void>((r) => this.waiters.push(r));
    return this.view ? fn(this.view) : null;
  }

  // ---------------------------------------------------------------- writer side (the sync engine only)

  beginWrite(): void {
    if (this.writing) throw new Error("a write is already open");
    this.writing = true;
  }

  publish(view: Omit<PublishedView, "seq">): PublishedView {
    if (!this.writing) throw new Error("publish without beginWrite");
    const v: PublishedView = Object.freeze({ ...view, seq: ++this.seq });
    this.view = v;
    this.release();
    this.emit("published", v);
    return v;
  }

  /** Closes a write that did not complete; the caller has restored the state of `current`. */
  abortWrite(): void {
    this.release();
  }

  private release(): void {
    this.writing = false;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
