// The indexer's configuration, status, dependencies and events, apart from the wiring that uses them.
import type { PublicClient } from "viem";
import type { Logger } from "pino";
import type { Deployment } from "../common/deployment";
import type { ProtocolAdapter } from "../protocols/types";
import type { HealthSink } from "./apply";
import type { HealthUpdate } from "./health/types";
import type { OracleAlert, OracleTracker } from "./oracle/tracker";
import type { PublishedView } from "./snapshot";
import type { Change } from "./state/changes";
import type { ProtocolState } from "./state/state";
import type { BatchWrite, BlockRef, Store } from "./store/types";
import type { AdaptiveRangeOptions } from "./sync/adaptive-range";

/** One applied step, before its commit: what a step hook may turn into rows of the same transaction. */
export interface AppliedStep {
  block: BlockRef;
  kind: PublishedView["kind"];
  /** the first step since start(): in-memory hysteresis starts afresh here */
  first: boolean;
  health: HealthUpdate | undefined;
  oracleAlerts: OracleAlert[];
}

/** Rows a hook adds to the step's batch, and what it does once that batch is committed. */
export interface StepContribution {
  batch?: Partial<BatchWrite>;
  afterCommit?: () => void;
}

/** Called synchronously after a step is applied, before its commit (e.g. the alert outbox). */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook with nothing to add may return nothing at all
export type StepHook = (step: AppliedStep) => StepContribution | void;

export interface IndexerConfig {
  /** blocks after which a block is final; a reorg deeper than this stops the indexer (default 12) */
  finalityDepth: number;
  /** head polling interval, ms (default 1000) */
  pollIntervalMs: number;
  /** head not advancing for this long → not ready (default 60_000) */
  stallTimeoutMs: number;
  range?: AdaptiveRangeOptions;
  /** show a cli-progress bar during backfill (default: stderr is a TTY) */
  progress?: boolean;
  /** consecutive failures of a step on a log that does not decode before the indexer stops (default 8) */
  malformedLimit: number;
  /**
   * Backfill: fetch the next range's logs while this one is applied and committed (default true). The prefetched
   * range is used only if it starts where the committed one ended and the watch set did not change meanwhile.
   */
  prefetch?: boolean;
}

export const DEFAULT_INDEXER_CONFIG: IndexerConfig = { finalityDepth: 12, pollIntervalMs: 1000, stallTimeoutMs: 60_000, malformedLimit: 8 };

export interface IndexerStatus {
  phase: "starting" | "backfill" | "follow" | "stopped" | "failed";
  head: bigint | null;
  cursor: bigint;
  finalizedBlock: bigint;
  lastBlockTimestamp: bigint | null;
  /** ms epoch of the last successful RPC call */
  lastRpcOkAt: number;
  /** ms epoch when the head last advanced */
  lastHeadChangeAt: number;
  rpcError: string | null;
  /** the last failed sync step's error while steps keep failing (cleared by a successful step) */
  syncError: string | null;
  consecutiveFailures: number;
  fatalError: string | null;
  reorgs: number;
  malformedLogs: number;
  /** changes applied since start (a log decodes to one or more) */
  eventsApplied: number;
  /** cumulative wall time per stage of the steps since start, ms: logs fetched and decoded, feeds read, applied in
   *  memory (state, readings, health), committed to the store */
  /** (with prefetch, `fetch` is the time the loop waited for a range's logs, not the time the node spent on them) */
  /** `rows`: the batch built (account-health rows of touched accounts, checkpoint journal and digest) */
  stageMs: { fetch: number; prices: number; apply: number; rows: number; commit: number };
  /** backfill ranges taken from the prefetch, and prefetches thrown away (watch set changed, failed, reorg) */
  prefetch: { used: number; dropped: number };
}

export interface BlockProcessed {
  block: BlockRef;
  phase: "backfill" | "follow";
  /** the changes this publication applied (none for a reorg) */
  changes: Change[];
  health: HealthUpdate | undefined;
  view: PublishedView;
}

export interface IndexerDeps {
  client: PublicClient;
  store: Store;
  deployment: Deployment;
  /** the protocol's adapter; default: the one the deployment names */
  protocol?: ProtocolAdapter;
  logger: Logger;
  /** builds the health engine over the (restored) state; called once by start() */
  createHealth?: (state: ProtocolState) => HealthSink;
  oracle?: OracleTracker;
  config?: Partial<IndexerConfig>;
  /** contributes rows to each step's transaction (see StepHook) */
  onStep?: StepHook;
}
