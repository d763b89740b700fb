// Address discovery in the sync engine: an address a log names (here a feed set by PriceOracle.FeedSet after the
// deployment) joins the watch set, and its logs of the same range are fetched in the same step — in a range and in a
// single head block — then the indexer keeps watching it.
import { expect } from "chai";
import { createPublicClient, http, parseUnits, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import type { Deployment } from "../../common/deployment";
import { deployContract } from "../../common/wallet";
import { openStore } from "../../indexer/store";
import { ProtocolState } from "../../indexer/state/state";
import { AdaptiveRange } from "../../indexer/sync/adaptive-range";
import { fetchBlock, fetchRange } from "../../indexer/sync/logs";
import { marginpool } from "../../protocols/marginpool";
import { write, type ChainContext } from "../../protocols/marginpool/actions";
import { emittingAggregatorAbi, priceOracleAbi } from "../../protocols/marginpool/generated/abis";
import { emittingAggregatorBytecode } from "../../protocols/marginpool/generated/bytecode";
import { makeIndexer, waitFor } from "../fixtures/indexer";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";

const PORT = 8553;

describe("sync: address discovery", function () {
  this.timeout(120_000);
  let node: NodeHandle;
  let client: PublicClient;
  let d: Deployment;
  let ctx: ChainContext;

  before(async () => {
    node = await startHardhatNode(PORT);
    client = createPublicClient({ chain: hardhat, transport: http(node.url), cacheTime: 0 }) as PublicClient;
    d = await marginpool.dev.deploy({ publicClient: node.publicClient, walletClient: node.wallet(0) });
    ctx = { publicClient: node.publicClient, deployment: d, admin: node.wallet(0) };
  });
  after(async () => node?.stop());

  /** A new emitting feed for WETH, set on the oracle, then one answer from it. */
  async function newFeed(answerUsd: string): Promise<`0x${string}`> {
    const o = { publicClient: node.publicClient, walletClient: node.wallet(0) };
    const feed = await deployContract(o, emittingAggregatorAbi, emittingAggregatorBytecode, [8, parseUnits("3000", 8)]);
    const weth = d.assets.find((a) => a.symbol === "WETH")!;
    await write(ctx, node.wallet(0), d.oracle, priceOracleAbi, "setFeed", [weth.address, feed, 3600]);
    await write(ctx, node.wallet(0), feed, emittingAggregatorAbi, "updateAnswer", [parseUnits(answerUsd, 8)]);
    return feed;
  }

  it("a range fetches the discovered feed's logs; a head block too; the indexer then watches it", async () => {
    const from = BigInt(d.startBlock);
    const feed = await newFeed("3100");
    const head = await client.getBlockNumber();
    const watched = marginpool.watch(d, new ProtocolState());
    expect(watched.map((w) => w.address)).not.to.include(feed);

    const r = await fetchRange(client, marginpool, watched, from, head, new AdaptiveRange());
    expect(r.to).to.equal(head);
    expect(r.discovered).to.deep.equal([{ address: feed, family: "feed" }]);
    expect(
      r.logs.some((l) => l.address.toLowerCase() === feed),
      "the new feed's AnswerUpdated fetched in the same range",
    ).to.equal(true);
    expect(r.changes.some((c) => c.kind === "feed-set" && c.aggregator === feed)).to.equal(true);

    // A head block that sets a second feed and hears from it in the same block (automine off, two txs, one block).
    const o = { publicClient: node.publicClient, walletClient: node.wallet(0) };
    const feed2 = await deployContract(o, emittingAggregatorAbi, emittingAggregatorBytecode, [8, parseUnits("3000", 8)]);
    const weth = d.assets.find((x) => x.symbol === "WETH")!;
    await node.rpc("evm_setAutomine", [false]);
    try {
      await write(ctx, node.wallet(0), d.oracle, priceOracleAbi, "setFeed", [weth.address, feed2, 3600], false);
      await write(ctx, node.wallet(0), feed2, emittingAggregatorAbi, "updateAnswer", [parseUnits("3150", 8)], false);
      await node.rpc("evm_mine");
    } finally {
      await node.rpc("evm_setAutomine", [true]);
    }
    const block = await client.getBlock();
    const b = await fetchBlock(client, marginpool, watched, block.hash!);
    expect(b.discovered).to.deep.equal([{ address: feed2, family: "feed" }]);
    expect(b.logs.filter((l) => l.address.toLowerCase() === feed2).length, "the new feed's log of the same block").to.be.greaterThan(0);
  });

  it("the indexer watches a feed set after the deployment, from the block that set it", async () => {
    const store = await openStore({ dataDir: "memory://" });
    const indexer = makeIndexer(client, store, d, { finalityDepth: 2 });
    try {
      await indexer.start();
      const feed = await newFeed("3200");
      await node.rpc("evm_mine");
      await indexer.waitForBlock(await client.getBlockNumber());
      await waitFor(() => indexer.watched.some((w) => w.address === feed), 10_000, "the new feed in the watch set");
      const weth = d.assets.find((a) => a.symbol === "WETH")!.address;
      expect(indexer.state.feeds.get(weth)?.aggregator).to.equal(feed);
    } finally {
      await indexer.stop();
      await store.close();
    }
  });
});
