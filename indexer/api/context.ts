// What the API reads (indexer, health engine, store, deployment, metrics registry) and the per-request view of it:
// the block every answer is computed at, stamped on every response about chain data.
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Deployment } from "../../common/deployment";
import type { HealthEngine, HealthEngineOptions } from "../health";
import type { Indexer } from "../indexer";
import type { Address } from "../state/events";
import type { Store } from "../store/types";
import { NotReadyError } from "./errors";

export interface KeeperQueueCounts {
  /** BullMQ job counts by state (waiting, active, completed, failed, delayed, …) */
  counts(): Promise<Record<string, number>>;
}

export interface ApiContext {
  indexer: Indexer;
  health: HealthEngine;
  store: Store;
  deployment: Deployment;
  /** the app's metrics registry: the API registers its own metrics on it */
  registry: Registry;
  keeperQueue?: KeeperQueueCounts;
}

export interface ApiOptions {
  logger: Logger;
  /** serve the dashboard page at `/` (default true) */
  dashboard?: boolean;
  /** largest accepted request body, bytes (default 64 KiB) */
  bodyLimit?: number;
  /** the options the health engine was built with: its margin levels decide the "warning" status */
  healthOptions?: HealthEngineOptions;
}

/** The block an answer describes. */
export interface BlockStamp {
  blockNumber: string;
  blockTimestamp: string;
  /** ISO 8601 of blockTimestamp, for people */
  lastUpdated: string;
}

export interface At {
  blockNumber: bigint;
  timestamp: bigint;
  stamp: BlockStamp;
}

/**
 * Counts the indexer's state changes (blocks, backfill batches, reorgs) so per-block results (aggregates, the
 * at-risk order, scenarios) are computed once per block however often the dashboard polls.
 */
export class Epoch {
  value = 0;
  private readonly bump = (): void => {
    this.value++;
  };

  constructor(private readonly indexer: Indexer) {
    for (const ev of ["block", "batch", "reorg"] as const) indexer.on(ev, this.bump);
  }

  detach(): void {
    for (const ev of ["block", "batch", "reorg"] as const) this.indexer.off(ev, this.bump);
  }

  /** Memoises `fn` for the current epoch. */
  memo<T>(fn: () => T): () => T {
    let at = -1;
    let v: T | undefined;
    return () => {
      if (at !== this.value) {
        v = fn();
        at = this.value;
      }
      return v as T;
    };
  }
}

export function stampOf(blockNumber: bigint, timestamp: bigint): BlockStamp {
  return { blockNumber: blockNumber.toString(), blockTimestamp: timestamp.toString(), lastUpdated: new Date(Number(timestamp) * 1000).toISOString() };
}

/** The last block the indexer fully processed; 503 before the first one. */
export function currentBlock(ctx: ApiContext): At {
  const s = ctx.indexer.status;
  if (s.lastBlockTimestamp === null || s.cursor < BigInt(ctx.deployment.startBlock)) {
    throw new NotReadyError(`no block indexed yet (indexer ${s.phase}); retry shortly`);
  }
  return { blockNumber: s.cursor, timestamp: s.lastBlockTimestamp, stamp: stampOf(s.cursor, s.lastBlockTimestamp) };
}

export type DeploymentAsset = Deployment["assets"][number];

export function symbolOf(ctx: ApiContext, asset: Address): string | null {
  return ctx.deployment.assets.find((a) => a.address === asset.toLowerCase())?.symbol ?? null;
}

export function decimalsOf(ctx: ApiContext, asset: Address): number {
  return ctx.indexer.state.assets.get(asset.toLowerCase() as Address)?.decimals
    ?? ctx.deployment.assets.find((a) => a.address === asset.toLowerCase())?.decimals
    ?? 18;
}
