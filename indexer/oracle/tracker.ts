// Oracle tracker: reads every feed's latestRoundData at every published block (real Chainlink proxies emit no events)
// and classifies each feed fresh / stale / invalid by its heartbeat (the check a Chainlink-reading oracle should make,
// whether or not the protocol's own does). Reading (I/O) and taking the readings (pure,
// journaled for reorgs) are separate steps, so nothing changes until the block they belong to is applied.
import type { PublicClient } from "viem";
import { aggregatorV3Abi } from "../../common/generated/chainlink";
import { normalisePrice } from "../../common/math";
import { isContractAnswer } from "../../common/retry";
import type { Address } from "../state/events";
import type { FeedConfig, ProtocolState } from "../state/state";
import type { OracleRound } from "../store/types";

export type FeedStatus = "fresh" | "stale" | "invalid";

export interface FeedReading {
  asset: Address;
  feed: Address;
  roundId: bigint;
  answer: bigint;
  updatedAt: bigint;
  /** 8-decimal USD, the feed's answer normalised as the protocol's oracle does; null when ≤ 0 or unreadable */
  price: bigint | null;
  status: FeedStatus;
  heartbeat: bigint;
  /** seconds since updatedAt at the block the reading was taken */
  age: bigint;
  /** why the feed is not fresh */
  reason: string | null;
  blockNumber: bigint;
}

export type SequencerStatus = "none" | "up" | "down" | "grace";

export type OracleAlert =
  | { type: "heartbeat-missed"; asset: Address; feed: Address; updatedAt: bigint; heartbeat: bigint; age: bigint; blockNumber: bigint }
  | { type: "feed-invalid"; asset: Address; feed: Address; reason: string; blockNumber: bigint }
  | { type: "feed-recovered"; asset: Address; feed: Address; blockNumber: bigint }
  | { type: "sequencer-down" | "sequencer-grace" | "sequencer-up"; blockNumber: bigint };

export interface PollResult {
  /** assets whose price or status changed since the previous poll */
  changed: Address[];
  rounds: OracleRound[];
  alerts: OracleAlert[];
}

export interface OracleTrackerOptions {
  /** rounds kept in memory per feed (default 50) */
  historyLimit?: number;
}

type RoundData = readonly [bigint, bigint, bigint, bigint, bigint];
type RoundResult = { ok: true; r: RoundData } | { ok: false; error: string };

/** What `read` fetched at one block, before it is classified. */
export interface FeedRead {
  block: { number: bigint; timestamp: bigint };
  sequencerFeed: Address | null;
  sequencer: RoundResult | null;
  /** by aggregator address (lower case) */
  rounds: Map<Address, RoundResult>;
}

type UndoEntry =
  | { kind: "reading"; asset: Address; prev: FeedReading | undefined; announced: FeedStatus | undefined }
  | { kind: "sequencer"; prev: SequencerStatus };

export class OracleTracker {
  private readonly current = new Map<Address, FeedReading>(); // by asset
  private readonly history = new Map<Address, OracleRound[]>(); // by asset, newest last
  /** status last alerted per asset: transitions are judged against what was last announced */
  private readonly announced = new Map<Address, FeedStatus>();
  /** undo entries of every unfinalised block, in application order */
  private readonly journal = new Map<bigint, UndoEntry[]>();
  sequencerStatus: SequencerStatus = "none";
  private readonly historyLimit: number;

  constructor(
    private readonly client: PublicClient,
    opts: OracleTrackerOptions = {},
  ) {
    this.historyLimit = opts.historyLimit ?? 50;
  }

  readings(): FeedReading[] {
    return [...this.current.values()].sort((a, b) => (a.asset < b.asset ? -1 : 1));
  }

  reading(asset: Address): FeedReading | undefined {
    return this.current.get(asset);
  }

  rounds(asset: Address): OracleRound[] {
    return [...(this.history.get(asset) ?? [])];
  }

  /**
   * Reads, at `block`, every aggregator the state names plus `extra` ones (feeds set by logs not yet applied), and the
   * sequencer feed, in one batched round trip. Changes nothing: `apply` takes the result once the block's logs are
   * applied. A transport failure throws (the caller retries the step); a revert or an undecodable answer is a reading.
   */
  async read(
    state: ProtocolState,
    block: { number: bigint; timestamp: bigint },
    extra: { aggregators?: Address[]; sequencer?: Address | null } = {},
  ): Promise<FeedRead> {
    const aggregators = new Set<Address>([...state.feeds.values()].map((f) => f.aggregator));
    for (const a of extra.aggregators ?? []) aggregators.add(a.toLowerCase() as Address);
    const seqFeed = extra.sequencer ?? state.sequencer?.feed ?? null;
    const read = (address: Address): Promise<RoundResult> =>
      this.client
        .readContract({ address, abi: aggregatorV3Abi, functionName: "latestRoundData", blockNumber: block.number })
        .then((r) => ({ ok: true as const, r: r as RoundData }))
        .catch((e: unknown) => {
          if (!isContractAnswer(e)) throw e;
          return { ok: false as const, error: (e as { shortMessage?: string }).shortMessage ?? String(e) };
        });
    const list = [...aggregators].sort();
    const [seq, ...results] = await Promise.all([seqFeed ? read(seqFeed) : Promise.resolve(null), ...list.map(read)]);
    return {
      block: { number: block.number, timestamp: block.timestamp },
      sequencerFeed: seqFeed,
      sequencer: seq,
      rounds: new Map(list.map((a, i) => [a, results[i]!])),
    };
  }

  /**
   * Takes a `read` result as the readings at its block, classified against the (already updated) state. Journaled:
   * `rollbackTo` restores the readings of an earlier unfinalised block exactly.
   */
  apply(state: ProtocolState, fr: FeedRead): PollResult {
    const block = fr.block;
    const undo: UndoEntry[] = [];
    const alerts: OracleAlert[] = [];
    const prevSeq = this.sequencerStatus;
    undo.push({ kind: "sequencer", prev: prevSeq });
    const seqRes =
      state.sequencer && state.sequencer.feed === fr.sequencerFeed
        ? fr.sequencer
        : state.sequencer
          ? { ok: false as const, error: "sequencer feed not read" }
          : null;
    this.sequencerStatus = sequencerStatusOf(state, seqRes, block.timestamp);
    if (prevSeq !== this.sequencerStatus && this.sequencerStatus !== "none") {
      alerts.push({ type: `sequencer-${this.sequencerStatus}` as "sequencer-up", blockNumber: block.number });
    }

    const changed: Address[] = [];
    const rounds: OracleRound[] = [];
    for (const feed of state.feeds.values()) {
      const res = fr.rounds.get(feed.aggregator) ?? { ok: false as const, error: "feed not read at this block" };
      const reading = res.ok
        ? classify(feed, res.r, block, this.sequencerStatus)
        : { ...emptyReading(feed, block), reason: `latestRoundData failed: ${res.error}` };
      const prev = this.current.get(feed.asset);
      undo.push({ kind: "reading", asset: feed.asset, prev, announced: this.announced.get(feed.asset) });
      this.current.set(feed.asset, reading);
      if (!prev || prev.price !== reading.price || prev.status !== reading.status) changed.push(feed.asset);
      if (res.ok && (!prev || prev.roundId !== reading.roundId || prev.feed !== reading.feed)) {
        const round = this.remember(reading);
        if (round) rounds.push(round);
      }
      alerts.push(...transitionAlerts(this.announced.get(feed.asset), reading));
      this.announced.set(feed.asset, reading.status);
    }
    // A feed removed by the state (a reorg undid its FeedSet) has no reading any more.
    for (const asset of [...this.current.keys()]) {
      if (state.feeds.has(asset)) continue;
      undo.push({ kind: "reading", asset, prev: this.current.get(asset), announced: this.announced.get(asset) });
      this.current.delete(asset);
      this.announced.delete(asset);
      changed.push(asset);
    }
    const list = this.journal.get(block.number) ?? [];
    list.push(...undo);
    this.journal.set(block.number, list);
    return { changed, rounds, alerts };
  }

  /** Undoes every reading taken above `block` (a reorg, or a step whose commit failed). */
  rollbackTo(block: bigint): void {
    const blocks = [...this.journal.keys()].filter((b) => b > block).sort((a, b) => (a < b ? 1 : -1));
    for (const b of blocks) {
      const entries = this.journal.get(b)!;
      for (let i = entries.length - 1; i >= 0; i--) {
        const u = entries[i]!;
        if (u.kind === "sequencer") this.sequencerStatus = u.prev;
        else {
          if (u.prev) this.current.set(u.asset, u.prev);
          else this.current.delete(u.asset);
          if (u.announced) this.announced.set(u.asset, u.announced);
          else this.announced.delete(u.asset);
        }
      }
      this.journal.delete(b);
    }
    for (const [asset, list] of this.history)
      this.history.set(
        asset,
        list.filter((x) => x.blockNumber <= block),
      );
  }

  /** Drops undo data of blocks at or below `block` (final: never rolled back). */
  finalize(block: bigint): void {
    for (const b of this.journal.keys()) if (b <= block) this.journal.delete(b);
  }

  private remember(r: FeedReading): OracleRound | null {
    const list = this.history.get(r.asset) ?? [];
    if (list.some((x) => x.feed === r.feed && x.roundId === r.roundId)) return null;
    const round: OracleRound = {
      asset: r.asset,
      feed: r.feed,
      roundId: r.roundId,
      answer: r.answer,
      price: r.price,
      updatedAt: r.updatedAt,
      blockNumber: r.blockNumber,
    };
    list.push(round);
    if (list.length > this.historyLimit) list.splice(0, list.length - this.historyLimit);
    this.history.set(r.asset, list);
    return round;
  }
}

function emptyReading(feed: FeedConfig, block: { number: bigint }): FeedReading {
  return {
    asset: feed.asset,
    feed: feed.aggregator,
    roundId: 0n,
    answer: 0n,
    updatedAt: 0n,
    price: null,
    status: "invalid",
    heartbeat: feed.heartbeat,
    age: 0n,
    reason: null,
    blockNumber: block.number,
  };
}

/** The verdict on one answer: sequencer down or in grace, answer ≤ 0, then age > heartbeat. */
function classify(feed: FeedConfig, r: RoundData, block: { number: bigint; timestamp: bigint }, seq: SequencerStatus): FeedReading {
  const [roundId, answer, , updatedAt] = r;
  const age = block.timestamp > updatedAt ? block.timestamp - updatedAt : 0n;
  const base = { ...emptyReading(feed, block), roundId, answer, updatedAt, age };
  if (answer <= 0n) return { ...base, reason: `answer ${answer} ≤ 0` };
  const price = normalisePrice(answer, feed.decimals);
  // An answer below 1e-8 USD normalises to 0: an invalid price.
  if (price === 0n) return { ...base, reason: `answer ${answer} normalises to a zero price` };
  if (seq === "down" || seq === "grace") return { ...base, price, reason: `sequencer ${seq}` };
  if (age > feed.heartbeat) return { ...base, price, status: "stale", reason: `no update for ${age}s (heartbeat ${feed.heartbeat}s)` };
  return { ...base, price, status: "fresh" };
}

function sequencerStatusOf(state: ProtocolState, res: RoundResult | null, now: bigint): SequencerStatus {
  if (!state.sequencer || !res) return "none";
  if (!res.ok) return "down";
  const [, answer, startedAt] = res.r;
  if (answer !== 0n || startedAt === 0n) return "down";
  return now - startedAt <= state.sequencer.gracePeriod ? "grace" : "up";
}

function transitionAlerts(prev: FeedStatus | undefined, next: FeedReading): OracleAlert[] {
  if (prev === next.status) return [];
  const { asset, feed, blockNumber } = next;
  if (next.status === "stale") {
    return [{ type: "heartbeat-missed", asset, feed, updatedAt: next.updatedAt, heartbeat: next.heartbeat, age: next.age, blockNumber }];
  }
  if (next.status === "invalid") return [{ type: "feed-invalid", asset, feed, reason: next.reason ?? "invalid", blockNumber }];
  return prev ? [{ type: "feed-recovered", asset, feed, blockNumber }] : [];
}
