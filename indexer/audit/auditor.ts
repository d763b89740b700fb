// The auditor: on every published view it checks a few accounts' figures against the pool's own views at that
// block, to the wei. Matches, mismatches and RPC errors are counted (Prometheus), the last mismatches are kept for
// /v1/status, and an open mismatch fails readiness. The margin figures are provable against the chain, continuously.
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import type { Hex } from "viem";
import type { HealthEngine } from "../health";
import type { BlockProcessed, Indexer } from "../indexer";
import type { PublishedView } from "../snapshot";
import type { Deployment } from "../../common/deployment";
import type { PoolViews, ProtocolAdapter, RpcRequester } from "../../protocols/types";
import { accountOfChange } from "../state/changes";
import type { Address } from "../state/events";
import { compareAccount, describeDiffs, type AuditFigures, type FieldDiff } from "./compare";
import { AccountSelection } from "./selection";

export const AUDIT_METRICS = {
  checks: "marginwatch_audit_checks_total",
  skipped: "marginwatch_audit_samples_skipped_total",
} as const;

/** marginwatch's figures for one account on a published view (synchronous: called inside `snapshots.read`). */
export type FigureSource = (account: Address, view: PublishedView) => AuditFigures | undefined;

export interface AuditorOptions {
  /** the published views to audit (its "block" event), and the state the rotation walks */
  indexer: Pick<Indexer, "snapshots" | "state" | "on" | "off">;
  /** the engine: at-risk sets for the priority share; and, unless `figures` is given, the figures under audit */
  health: Pick<HealthEngine, "account" | "liquidatable" | "unknown" | "marginLevels">;
  /** JSON-RPC client; give it a batching transport (viem `http(url, { batch: true })`) so a sample is one round trip */
  client: RpcRequester & { getBlock(args: { blockNumber: bigint }): Promise<{ hash: Hex | null }> };
  /** the market and its adapter, whose own views are the reference */
  deployment: Deployment;
  protocol: Pick<ProtocolAdapter, "views" | "label">;
  /** the app's registry: the auditor registers its counters on it */
  registry: Registry;
  logger: Logger;
  /** accounts checked per published block; default 4; 0 = off */
  samplePerBlock?: number;
  /** at most this many RPC calls per sampled block: 2 per account, +1 block lookup when a read fails; default 16 */
  maxCallsPerBlock?: number;
  /** share of the sample reserved for touched / at-risk / near-threshold accounts; default 0.5 */
  priorityShare?: number;
  /** mismatches kept for /v1/status; default 20 */
  keepMismatches?: number;
  /** the figures under audit; default the health engine's card at the view's block timestamp */
  figures?: FigureSource;
}

export interface AuditMismatch {
  account: Address;
  blockNumber: string;
  blockHash: Hex;
  diffs: FieldDiff[];
  /** ISO 8601, when it was found */
  at: string;
}

export interface AuditStatus {
  enabled: boolean;
  samplePerBlock: number;
  maxCallsPerBlock: number;
  checks: { match: number; mismatch: number; error: number };
  /** matches where marginwatch said "unknown" and the pool refused the price (or, not refusing stale ones, agreed on the sums) */
  unpricedMatches: number;
  /** sampled blocks (one batched round trip each) */
  samples: number;
  /** blocks not sampled: the previous sample was still in flight ("busy"), or its block was orphaned ("reorged") */
  skipped: { busy: number; reorged: number };
  /** accounts in the rotation, and full passes over them completed */
  coverage: { accounts: number; laps: number };
  lastSample: { blockNumber: string; blockHash: Hex; accounts: number; at: string } | null;
  lastError: { message: string; blockNumber: string; at: string } | null;
  /** accounts whose latest check mismatched: readiness fails while there is one */
  openMismatches: AuditMismatch[];
  /** newest first */
  lastMismatches: AuditMismatch[];
}

/** What the API reads from an auditor. */
export interface AuditReader {
  status(): AuditStatus;
  readiness(): { ready: boolean; reason: string | null };
}

type Result = "match" | "mismatch" | "error";

const TOUCHED_HINTS = 64;

export class Auditor implements AuditReader {
  readonly samplePerBlock: number;
  readonly maxCallsPerBlock: number;
  private readonly size: number;
  private readonly priority: number;
  private readonly keep: number;
  private readonly figures: FigureSource;
  private readonly checks: Counter<"result">;
  private readonly skippedCounter: Counter<"reason">;
  private readonly selection = new AccountSelection();
  private readonly counts = { match: 0, mismatch: 0, error: 0 };
  private readonly skipped = { busy: 0, reorged: 0 };
  private unpriced = 0;
  private samples = 0;
  private readonly open = new Map<Address, AuditMismatch>();
  private readonly history: AuditMismatch[] = [];
  private lastSample: AuditStatus["lastSample"] = null;
  private lastError: AuditStatus["lastError"] = null;
  private errorStreak = 0;
  private inFlight: Promise<void> | null = null;
  private started = false;
  private readonly onBlock = (ev: BlockProcessed) => this.handle(ev);

  constructor(private readonly o: AuditorOptions) {
    this.samplePerBlock = Math.max(0, Math.floor(o.samplePerBlock ?? 4));
    this.maxCallsPerBlock = Math.max(3, Math.floor(o.maxCallsPerBlock ?? 16));
    this.size = Math.min(this.samplePerBlock, Math.floor((this.maxCallsPerBlock - 1) / 2));
    this.priority = Math.ceil(this.size * Math.min(1, Math.max(0, o.priorityShare ?? 0.5)));
    this.keep = Math.max(1, o.keepMismatches ?? 20);
    this.figures = o.figures ?? ((account, view) => o.health.account(account, view.block.timestamp));
    const registers = [o.registry];
    // One metric per name per registry: a second auditor on the same registry (tests, restarts) replaces ours.
    for (const name of Object.values(AUDIT_METRICS)) if (o.registry.getSingleMetric(name)) o.registry.removeSingleMetric(name);
    this.checks = new Counter({
      name: AUDIT_METRICS.checks,
      help: "Accounts checked against the protocol's own health factor and account data views at the published block, by result (mismatch: marginwatch's figure differs from the protocol's; error: the protocol's answer could not be read)",
      labelNames: ["result"] as const,
      registers,
    });
    this.skippedCounter = new Counter({
      name: AUDIT_METRICS.skipped,
      help: "Published blocks the auditor did not sample: busy (previous sample in flight) or reorged (block orphaned before the read)",
      labelNames: ["reason"] as const,
      registers,
    });
    for (const result of ["match", "mismatch", "error"] as const) this.checks.inc({ result }, 0);
    for (const reason of ["busy", "reorged"] as const) this.skippedCounter.inc({ reason }, 0);
  }

  get enabled(): boolean {
    return this.size > 0;
  }

  /** Starts sampling on every publication (no-op when disabled). */
  start(): void {
    if (this.started || !this.enabled) return;
    this.started = true;
    this.o.indexer.on("block", this.onBlock);
  }

  /** Stops sampling and waits for a sample in flight (bounded by the client's timeout). */
  async stop(): Promise<void> {
    if (this.started) this.o.indexer.off("block", this.onBlock);
    this.started = false;
    await this.inFlight;
  }

  /** Resolves once the sample in flight (if any) is done: tests, shutdown. */
  async idle(): Promise<void> {
    await this.inFlight;
  }

  status(): AuditStatus {
    return {
      enabled: this.enabled,
      samplePerBlock: this.size,
      maxCallsPerBlock: this.maxCallsPerBlock,
      checks: { ...this.counts },
      unpricedMatches: this.unpriced,
      samples: this.samples,
      skipped: { ...this.skipped },
      coverage: { accounts: this.o.indexer.state.accounts.size, laps: this.selection.laps },
      lastSample: this.lastSample,
      lastError: this.lastError,
      openMismatches: [...this.open.values()],
      lastMismatches: [...this.history],
    };
  }

  readiness(): { ready: boolean; reason: string | null } {
    const first = this.open.values().next();
    if (first.done) return { ready: true, reason: null };
    const m = first.value;
    const more = this.open.size > 1 ? ` (and ${this.open.size - 1} more account${this.open.size > 2 ? "s" : ""})` : "";
    return { ready: false, reason: `audit mismatch: account ${m.account} at block ${m.blockNumber}: ${describeDiffs(m.diffs)}${more}` };
  }

  // ---------------------------------------------------------------- sampling

  private handle(ev: BlockProcessed): void {
    try {
      if (ev.health) this.selection.noteCrossings(ev.health.crossings);
      if (this.inFlight) {
        this.skip("busy");
        return;
      }
      const touched = touchedBy(ev);
      const run: Promise<void> = this.sample(touched)
        .catch((e: unknown) => this.recordError(e, ev.block.number))
        .finally(() => {
          if (this.inFlight === run) this.inFlight = null;
        });
      this.inFlight = run;
    } catch (e) {
      // Never let an audit problem reach the indexer's emit loop.
      this.recordError(e, ev.block.number);
    }
  }

  /** One sample: pick and capture on the published view (synchronously), then one batched read at its block hash. */
  private async sample(touched: Address[]): Promise<void> {
    const captured = await this.o.indexer.snapshots.read((view) => {
      const accounts = this.selection.pick(
        {
          accounts: this.o.indexer.state.accounts,
          liquidatable: () => this.o.health.liquidatable().map((l) => l.account),
          unknown: () => this.o.health.unknown(),
          marginLevels: (a) => this.o.health.marginLevels(a),
        },
        this.size,
        this.priority,
        { recheck: [...this.open.keys()], touched },
      );
      const items: Array<{ account: Address; figures: AuditFigures }> = [];
      for (const account of accounts) {
        const f = this.figures(account, view);
        // marginwatch no longer states anything about it: an open mismatch on it has nothing left to be wrong about.
        if (!f) this.open.delete(account);
        // Copied: the engine's objects are not ours to hold across the next write.
        if (f)
          items.push({
            account,
            figures: {
              healthFactor: f.healthFactor,
              totalCollateralBase: f.totalCollateralBase,
              totalDebtBase: f.totalDebtBase,
              status: f.status,
              unknownAssets: [...f.unknownAssets],
            },
          });
      }
      return { block: view.block, items };
    });
    const { block, items } = captured;
    if (!items.length) return;
    this.samples++;
    this.lastSample = { blockNumber: block.number.toString(), blockHash: block.hash, accounts: items.length, at: new Date().toISOString() };
    const views = await this.o.protocol.views.read(
      this.o.client,
      this.o.deployment,
      items.map((i) => i.account),
      { blockHash: block.hash },
    );

    // A read that failed on the node may mean the block was orphaned since capture: then nothing can be said.
    const failed = views.some((v) => v.healthFactor.kind === "rpc-error" || v.accountData.kind === "rpc-error");
    if (failed && (await this.orphaned(block.number, block.hash))) {
      this.skip("reorged");
      this.o.logger.info({ block: block.number.toString(), hash: block.hash }, "audit sample discarded: its block was orphaned before the read");
      return;
    }
    let errors = 0;
    items.forEach((item, i) => {
      const r = this.judge(item.account, item.figures, views[i]!, block);
      if (r === "error") errors++;
    });
    if (errors === 0) this.errorStreak = 0;
  }

  private judge(account: Address, figures: AuditFigures, pool: PoolViews, block: { number: bigint; hash: Hex }): Result {
    const v = compareAccount(figures, pool, this.o.protocol.views.refusesStalePrices ?? true);
    this.count(v.result);
    if (v.result === "match") {
      if (v.unpriced) this.unpriced++;
      this.open.delete(account);
    } else if (v.result === "mismatch") {
      const m: AuditMismatch = { account, blockNumber: block.number.toString(), blockHash: block.hash, diffs: v.diffs, at: new Date().toISOString() };
      this.open.set(account, m);
      this.history.unshift(m);
      if (this.history.length > this.keep) this.history.length = this.keep;
      this.o.logger.error(
        { account, block: block.number.toString(), blockHash: block.hash, diffs: v.diffs },
        `audit mismatch: marginwatch's figures for ${account} differ from ${this.o.protocol.label}'s at block ${block.number}: ${describeDiffs(v.diffs)}`,
      );
    } else {
      this.noteError(v.error, block.number);
    }
    return v.result;
  }

  /** Whether the block at `number` is no longer `hash` (the lookup failing counts as "cannot tell": not orphaned). */
  private async orphaned(number: bigint, hash: Hex): Promise<boolean> {
    try {
      const b = await this.o.client.getBlock({ blockNumber: number });
      return b.hash !== hash;
    } catch {
      return false;
    }
  }

  private count(result: Result): void {
    this.counts[result]++;
    this.checks.inc({ result });
  }

  private skip(reason: "busy" | "reorged"): void {
    this.skipped[reason]++;
    this.skippedCounter.inc({ reason });
  }

  /** A failure of the sample itself (not of one account's read): counted as one error. */
  private recordError(e: unknown, blockNumber: bigint): void {
    this.count("error");
    this.noteError((e as { shortMessage?: string })?.shortMessage ?? (e instanceof Error ? e.message : String(e)), blockNumber);
  }

  private noteError(message: string, blockNumber: bigint): void {
    this.lastError = { message: message.slice(0, 300), blockNumber: blockNumber.toString(), at: new Date().toISOString() };
    // The first error of a streak at warn, the rest at debug: a down RPC must not flood the log once per block.
    if (this.errorStreak++ === 0)
      this.o.logger.warn({ block: blockNumber.toString(), err: this.lastError.message }, "audit read failed (counted as error, not as a mismatch)");
    else this.o.logger.debug({ block: blockNumber.toString(), err: this.lastError.message }, "audit read failed");
  }
}

/** Accounts a step touched: status changes, level crossings, then position events (bounded). */
function touchedBy(ev: BlockProcessed): Address[] {
  const out = new Set<Address>();
  const u = ev.health;
  if (u) {
    for (const list of [u.liquidatableAdded, u.liquidatableRemoved, u.unknownAdded, u.unknownRemoved]) for (const a of list) out.add(a);
    for (const c of u.crossings) out.add(c.account);
  }
  for (const c of ev.changes) {
    if (out.size >= TOUCHED_HINTS) break;
    const a = accountOfChange(c);
    if (a) out.add(a);
  }
  return [...out].slice(0, TOUCHED_HINTS);
}
