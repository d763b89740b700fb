// Oracle tracker: reads every feed's latestRoundData each block (real Chainlink proxies emit no events), also takes
// AnswerUpdated events for an immediate reaction, and classifies each feed fresh / stale / invalid as PriceOracle does.
import type { PublicClient } from "viem";
import { mockV3AggregatorAbi } from "../../common/generated/abis";
import { normalisePrice } from "../../common/math";
import { errorText } from "../../common/retry";
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
  /** 8-decimal USD, as PriceOracle.getAssetPrice would return; null when the answer is ≤ 0 or unreadable */
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

export class OracleTracker {
  private readonly current = new Map<Address, FeedReading>(); // by asset
  private readonly history = new Map<Address, OracleRound[]>(); // by asset, newest last
  /** status last alerted per asset: AnswerUpdated events replace readings between polls, so transitions are
   *  judged against what was last announced, not against the latest reading */
  private readonly announced = new Map<Address, FeedStatus>();
  sequencerStatus: SequencerStatus = "none";
  private readonly historyLimit: number;

  constructor(private readonly client: PublicClient, opts: OracleTrackerOptions = {}) {
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

  /** Reads all feeds (and the sequencer feed) at `block` in one batched round trip. */
  async poll(state: ProtocolState, block: { number: bigint; timestamp: bigint }): Promise<PollResult> {
    const feeds = [...state.feeds.values()];
    const read = (address: Address) =>
      this.client
        .readContract({ address, abi: mockV3AggregatorAbi, functionName: "latestRoundData", blockNumber: block.number })
        .then((r) => ({ ok: true as const, r: r as RoundData }))
        .catch((e: unknown) => {
          // Transport failures must surface (the caller retries the block); a revert or garbage answer is a reading.
          if (/HTTP request failed|fetch failed|ECONNREFUSED|timed? ?out|socket/i.test(errorText(e))) throw e;
          return { ok: false as const, error: (e as { shortMessage?: string }).shortMessage ?? String(e) };
        });
    const [seq, ...results] = await Promise.all([state.sequencer ? read(state.sequencer.feed) : Promise.resolve(null), ...feeds.map((f) => read(f.aggregator))]);

    const alerts: OracleAlert[] = [];
    const prevSeq = this.sequencerStatus;
    this.sequencerStatus = sequencerStatusOf(state, seq, block.timestamp);
    if (prevSeq !== this.sequencerStatus && this.sequencerStatus !== "none") {
      alerts.push({ type: `sequencer-${this.sequencerStatus}` as "sequencer-up", blockNumber: block.number });
    }

    const changed: Address[] = [];
    const rounds: OracleRound[] = [];
    feeds.forEach((feed, i) => {
      const res = results[i]!;
      const reading = res.ok
        ? classify(feed, res.r, block, this.sequencerStatus)
        : { ...emptyReading(feed, block), reason: `latestRoundData failed: ${res.error}` };
      const prev = this.current.get(feed.asset);
      this.current.set(feed.asset, reading);
      if (!prev || prev.price !== reading.price || prev.status !== reading.status) changed.push(feed.asset);
      if (res.ok && (!prev || prev.roundId !== reading.roundId || prev.feed !== reading.feed)) {
        const round = this.remember(reading);
        if (round) rounds.push(round);
      }
      alerts.push(...transitionAlerts(this.announced.get(feed.asset), reading));
      this.announced.set(feed.asset, reading.status);
    });
    return { changed, rounds, alerts };
  }

  /**
   * An AnswerUpdated event from an emitting aggregator: the price is taken at once (status by age at the event's
   * block); the next poll confirms it with latestRoundData.
   */
  onAnswerUpdated(state: ProtocolState, feed: Address, ev: { current: bigint; roundId: bigint; updatedAt: bigint }, block: { number: bigint; timestamp: bigint }): Address | null {
    const cfg = [...state.feeds.values()].find((f) => f.aggregator === feed);
    if (!cfg) return null;
    const reading = classify(cfg, [ev.roundId, ev.current, ev.updatedAt, ev.updatedAt, ev.roundId], block, this.sequencerStatus);
    const prev = this.current.get(cfg.asset);
    if (prev && prev.roundId >= ev.roundId && prev.feed === feed) return null;
    this.current.set(cfg.asset, reading);
    this.remember(reading);
    return cfg.asset;
  }

  /** Forget readings above `block` (reorg): the next poll re-reads them. */
  rollbackTo(block: bigint): void {
    for (const [asset, r] of this.current) if (r.blockNumber > block) this.current.delete(asset);
    for (const [asset, list] of this.history) this.history.set(asset, list.filter((x) => x.blockNumber <= block));
  }

  private remember(r: FeedReading): OracleRound | null {
    const list = this.history.get(r.asset) ?? [];
    if (list.some((x) => x.feed === r.feed && x.roundId === r.roundId)) return null;
    const round: OracleRound = { asset: r.asset, feed: r.feed, roundId: r.roundId, answer: r.answer, price: r.price, updatedAt: r.updatedAt, blockNumber: r.blockNumber };
    list.push(round);
    if (list.length > this.historyLimit) list.splice(0, list.length - this.historyLimit);
    this.history.set(r.asset, list);
    return round;
  }
}

function emptyReading(feed: FeedConfig, block: { number: bigint }): FeedReading {
  return {
    asset: feed.asset, feed: feed.aggregator, roundId: 0n, answer: 0n, updatedAt: 0n, price: null, status: "invalid",
    heartbeat: feed.heartbeat, age: 0n, reason: null, blockNumber: block.number,
  };
}

/** Mirrors PriceOracle.getAssetPrice: sequencer, answer ≤ 0, then age > heartbeat. */
function classify(feed: FeedConfig, r: RoundData, block: { number: bigint; timestamp: bigint }, seq: SequencerStatus): FeedReading {
  const [roundId, answer, , updatedAt] = r;
  const age = block.timestamp > updatedAt ? block.timestamp - updatedAt : 0n;
  const base = { ...emptyReading(feed, block), roundId, answer, updatedAt, age };
  if (answer <= 0n) return { ...base, reason: `answer ${answer} ≤ 0` };
  const price = normalisePrice(answer, feed.decimals);
  // An answer below 1e-8 USD normalises to 0: PriceOracle rejects it as InvalidPrice.
  if (price === 0n) return { ...base, reason: `answer ${answer} normalises to a zero price` };
  if (seq === "down" || seq === "grace") return { ...base, price, reason: `sequencer ${seq}` };
  if (age > feed.heartbeat) return { ...base, price, status: "stale", reason: `no update for ${age}s (heartbeat ${feed.heartbeat}s)` };
  return { ...base, price, status: "fresh" };
}

function sequencerStatusOf(
  state: ProtocolState,
  res: { ok: true; r: RoundData } | { ok: false; error: string } | null,
  now: bigint,
): SequencerStatus {
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
