// What the API reads (indexer, health engine, store, deployment, metrics registry) and the per-request view of it:
// the block every answer is computed at, stamped on every response about chain data.
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Deployment } from "../../common/deployment";
import type { HealthEngine, HealthEngineOptions } from "../health";
import type { Indexer } from "../indexer";
import type { Address } from "../state/events";
import type { Store } from "../store/types";
import type { PublishedView } from "../snapshot";
import type { AuditReader } from "../audit";

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
  /** the background auditor (indexer/audit): its counts on /v1/status, an open mismatch fails /readyz */
  auditor?: AuditReader;
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
  /** the block's hash: the answer belongs to this block, even if a reorg later replaces it */
  blockHash: string;
  blockTimestamp: string;
  /** ISO 8601 of blockTimestamp, for people */
  lastUpdated: string;
}

/** The published view an answer is computed on, with its stamp. */
export interface At {
  blockNumber: bigint;
  timestamp: bigint;
  stamp: BlockStamp;
  view: PublishedView;
}

export function stampOf(blockNumber: bigint, timestamp: bigint, blockHash: string): BlockStamp {
  return {
    blockNumber: blockNumber.toString(),
    blockHash,
    blockTimestamp: timestamp.toString(),
    lastUpdated: new Date(Number(timestamp) * 1000).toISOString(),
  };
}

/** The stamp of a published view. */
export function atOf(view: PublishedView): At {
  const { number, timestamp, hash } = view.block;
  return { blockNumber: number, timestamp, stamp: stampOf(number, timestamp, hash), view };
}

export type DeploymentAsset = Deployment["assets"][number];

export function symbolOf(ctx: ApiContext, asset: Address): string | null {
  return ctx.deployment.assets.find((a) => a.address === asset.toLowerCase())?.symbol ?? null;
}

export function decimalsOf(ctx: ApiContext, asset: Address): number {
  return (
    ctx.indexer.state.assets.get(asset.toLowerCase() as Address)?.decimals ??
    ctx.deployment.assets.find((a) => a.address === asset.toLowerCase())?.decimals ??
    18
  );
}
