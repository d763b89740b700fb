// Detection and reaction latency on a local chain: the block with a price drop → the indexer has it and the
// health engine reports the account liquidatable → the producer has enqueued the job → the keeper's liquidation is
// mined. Automine: every transaction is mined on arrival, so the figures are marginwatch's own processing time.
import type { HealthUpdate } from "../indexer/health/types";
import { LiquidationProducer } from "../keeper/producer";
import { refreshFeeds, sendPrice, SEED_PRICES, type BenchChain } from "./chain";
import type { Follower, SeenBlock } from "./follower";
import { dropPrefix, fundSigners, REDIS, startBenchKeeper, uniqueQueue } from "./keepers";
import { BASE_WETH, dropPrice } from "./population";
import { emit, median, note } from "./report";

const KEEPER_SIGNER = 2;

interface Round {
  t0: number;
  block: bigint;
  detectedAt: number | null;
  enqueuedAt: number | null;
  enqueued: number;
  added: number;
  /** accounts that became liquidatable in this round */
  accounts: Set<string>;
  lastChangeAt: number;
}

export async function detectionLatency(chain: BenchChain, follower: Follower, rounds: number): Promise<void> {
  const n = chain.borrowers.length;
  const queue = uniqueQueue("latency");
  await fundSigners(chain, [KEEPER_SIGNER]);
  await refreshFeeds(chain, SEED_PRICES);
  const bk = await startBenchKeeper(chain, KEEPER_SIGNER, queue);
  const producer = new LiquidationProducer({ connection: { ...REDIS }, ...queue });
  let current: Round | null = null;
  const onBlock = (ev: SeenBlock["ev"]) => {
    const r = current;
    const upd = ev.health as HealthUpdate | undefined;
    if (!r || !upd || ev.block.number < r.block) return;
    if (r.detectedAt === null && upd.liquidatableAdded.length) {
      r.detectedAt = performance.now();
      r.added = upd.liquidatableAdded.length;
    }
    for (const a of upd.liquidatableAdded) r.accounts.add(a.toLowerCase());
    const opps = follower.health.liquidatable().map((l) => ({
      account: l.account,
      healthFactor: l.healthFactor,
      since: l.since,
      positionVersion: l.positionVersion,
      status: "liquidatable" as const,
    }));
    void producer.enqueueOpportunities(opps, { blockNumber: ev.block.number, blockHash: ev.block.hash }).then((res) => {
      if (res.enqueued && r.enqueuedAt === null) r.enqueuedAt = performance.now();
      if (res.enqueued) r.lastChangeAt = performance.now();
      r.enqueued += res.enqueued;
    });
  };
  follower.indexer.on("block", onBlock);

  const results: Array<{ detect: number; enqueue: number; mined: number; blocks: number; all: number; jobs: number }> = [];
  try {
    for (let k = 0; k < rounds; k++) {
      const price = dropPrice(k);
      const before = bk.finished.length;
      const r: Round = {
        t0: performance.now(),
        block: (await chain.node.publicClient.getBlockNumber()) + 1n,
        detectedAt: null,
        enqueuedAt: null,
        enqueued: 0,
        added: 0,
        accounts: new Set(),
        lastChangeAt: 0,
      };
      current = r;
      r.t0 = performance.now();
      const hash = await sendPrice(chain, "WETH", price);
      const receipt = await chain.node.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5 });
      r.block = receipt.blockNumber;
      // Wait until this round's jobs have all finished (each liquidation mines its own block) and nothing new was
      // enqueued for 500 ms (a partial liquidation can leave an account liquidatable: a new job).
      const deadline = Date.now() + 120_000;
      const busy = () =>
        r.enqueuedAt === null ||
        bk.finished.length - before < r.enqueued ||
        performance.now() - Math.max(r.lastChangeAt, bk.finished.at(-1)?.at ?? 0) < 500;
      while (busy()) {
        if (Date.now() > deadline) throw new Error(`latency round ${k}: ${bk.finished.length - before}/${r.enqueued} jobs finished in 120 s`);
        await new Promise((res) => setTimeout(res, 10));
      }
      const done = bk.finished.slice(before);
      const liquidated = done.filter((f) => f.result?.outcome === "liquidated" && r.accounts.has(f.account.toLowerCase()));
      if (!liquidated.length) throw new Error(`latency round ${k}: no liquidation (${done.map((d) => d.result?.outcome ?? d.failed).join(", ")})`);
      const first = liquidated.reduce((a, b) => (a.at < b.at ? a : b));
      const rc = await chain.node.publicClient.getTransactionReceipt({ hash: first.result!.transactionHash! });
      results.push({
        detect: r.detectedAt! - r.t0,
        enqueue: r.enqueuedAt! - r.t0,
        mined: first.at - r.t0,
        blocks: Number(rc.blockNumber - r.block),
        all: Math.max(...done.map((d) => d.at)) - r.t0,
        jobs: done.length,
      });
      note(
        `latency ${n}: round ${k} WETH → ${price}: ${r.added} liquidatable, ${liquidated.length}/${done.length} liquidated; first mined after ${Math.round(first.at - r.t0)} ms`,
      );
      current = null;
    }
  } finally {
    current = null;
    follower.indexer.off("block", onBlock);
    await bk.stop();
    await producer.close();
    await dropPrefix(queue.prefix);
    // Back to the seeding price for whatever runs next on this chain.
    await chain.node.publicClient.waitForTransactionReceipt({ hash: await sendPrice(chain, "WETH", BASE_WETH) });
  }
  const p = {
    borrowers: n,
    accounts_indexed: follower.health.stats().accounts,
    rounds,
    poll_ms: follower.pollIntervalMs,
    mining: "automine",
    keeper_concurrency: 2,
  };
  emit("latency.detect_ms", median(results.map((x) => x.detect)), "ms", {
    ...p,
    what: "price tx sent (mined on arrival) → indexer applied the block and the engine reported the account liquidatable (p50)",
  });
  emit("latency.enqueue_ms", median(results.map((x) => x.enqueue)), "ms", { ...p, what: "→ job in the BullMQ queue (p50)" });
  emit("latency.liquidation_mined_ms", median(results.map((x) => x.mined)), "ms", {
    ...p,
    what: "→ keeper's liquidation mined and recorded (first of the round, p50)",
  });
  emit("latency.liquidation_blocks", median(results.map((x) => x.blocks)), "blocks", { ...p, what: "liquidation block − price-drop block (p50)" });
  emit("latency.round_all_done_ms", median(results.map((x) => x.all)), "ms", {
    ...p,
    jobs_per_round: median(results.map((x) => x.jobs)),
    what: "→ every job of the round finished (p50)",
  });
  emit("latency.detect_max_ms", Math.max(...results.map((x) => x.detect)), "ms", p);
}
