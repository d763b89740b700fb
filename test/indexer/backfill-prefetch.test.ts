// Backfill with the next range fetched while the current one is applied (IndexerConfig.prefetch) against a real
// `hardhat node`: the prefetched ranges are the ones applied, the result equals a fresh rebuild and the serial
// backfill, and no range is fetched twice when nothing changes the watch set.
import { expect } from "chai";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import type { Deployment } from "../../common/deployment";
import { borrow, deposit, rng, setPrice, type ChainContext } from "../../protocols/marginpool/actions";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";
import { freshState, makeIndexer } from "../fixtures/indexer";
import { createPublicClient, http } from "viem";
import { hardhat } from "viem/chains";

const PORT = 8801;

describe("indexer backfill with prefetch (hardhat node over HTTP)", function () {
  this.timeout(120_000);
  let node: NodeHandle;
  let ctx: ChainContext;
  let d: Deployment;
  const stores: Store[] = [];

  before(async () => {
    node = await startHardhatNode(PORT);
    ctx = { publicClient: node.publicClient, deployment: undefined as never, admin: node.wallet(0) };
    d = await deployProtocol({ publicClient: node.publicClient, walletClient: node.wallet(0) });
    ctx.deployment = d;
    await deposit(ctx, node.wallet(5), "USDC", "1000000");
    const r = rng(7);
    for (let i = 0; i < 30; i++) {
      const w = node.wallet(1 + (i % 4));
      try {
        if (i % 3 === 0) await deposit(ctx, w, "WETH", (1 + Math.floor(r() * 3)).toString());
        else if (i % 3 === 1) await borrow(ctx, w, "USDC", (100 + Math.floor(r() * 300)).toString());
        else await setPrice(ctx, "WETH", (2800 + Math.floor(r() * 400)).toString());
      } catch {
        // a borrow over the limit reverts: part of the activity
      }
    }
    for (let i = 0; i < 5; i++) await node.rpc("evm_mine");
  });

  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await node?.stop();
  });

  async function backfill(prefetch: boolean) {
    const store = await openStore({ dataDir: "memory://" });
    stores.push(store);
    let getLogs = 0;
    // head polls (eth_blockNumber) until the indexer has caught up
    let backfillPolls = 0;
    let caughtUp = false;
    const client = createPublicClient({
      chain: hardhat,
      transport: http(node.url, {
        onFetchRequest: async (req) => {
          const body = (await req.clone().json()) as { method?: string } | Array<{ method?: string }>;
          for (const m of Array.isArray(body) ? body : [body]) {
            if (m.method === "eth_getLogs") getLogs++;
            if (m.method === "eth_blockNumber" && !caughtUp) backfillPolls++;
          }
        },
      }),
    });
    const indexer = makeIndexer(client, store, d, { range: { initial: 2, max: 4 }, prefetch });
    const ranges: Array<[bigint, bigint]> = [];
    indexer.on("batch", (b: { from: bigint; to: bigint }) => ranges.push([b.from, b.to]));
    indexer.on("caught-up", () => (caughtUp = true));
    await indexer.start();
    const head = await node.publicClient.getBlockNumber();
    await indexer.waitForBlock(head);
    await indexer.stop();
    return { indexer, getLogs, backfillPolls, ranges, head, checkpoint: (await store.loadState()).checkpoint };
  }

  it("applies the prefetched ranges, contiguous, and ends where the serial backfill ends, equal to a fresh rebuild", async () => {
    const serial = await backfill(false);
    const pre = await backfill(true);
    const reference = await freshState(node.publicClient, d, pre.head);
    expect(pre.indexer.state.digest()).to.equal(reference.digest());
    expect(serial.indexer.state.digest()).to.equal(reference.digest());
    expect(pre.checkpoint!.digest).to.equal(serial.checkpoint!.digest);
    // Ranges follow each other with no gap and no overlap, from the deployment block.
    expect(pre.ranges.length).to.be.greaterThan(5);
    expect(pre.ranges[0]![0]).to.equal(BigInt(d.startBlock));
    for (let i = 1; i < pre.ranges.length; i++) expect(pre.ranges[i]![0]).to.equal(pre.ranges[i - 1]![1] + 1n);
    // Most ranges came from the prefetch; a dropped one (the watch set grew: a listing named a feed) is fetched
    // again, so getLogs calls exceed the serial run's by at most the drops.
    const { used, dropped } = pre.indexer.status.prefetch;
    expect(used).to.be.greaterThan(pre.ranges.length / 2);
    expect(used + dropped).to.be.at.most(pre.ranges.length);
    expect(serial.indexer.status.prefetch).to.deep.equal({ used: 0, dropped: 0 });
    expect(pre.getLogs).to.be.at.most(serial.getLogs + dropped);
    // The head is not polled while a prefetched range is in flight (on a batching transport the poll would share
    // the range's HTTP request and its response-size limit): only the first step and those after no prefetch poll.
    expect(pre.backfillPolls).to.be.at.most(pre.ranges.length - (used + dropped) + 1);
    expect(serial.backfillPolls).to.be.at.least(serial.ranges.length);
  });
});
