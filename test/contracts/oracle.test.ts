// PriceOracle: decimal normalisation, answer ≤ 0, heartbeat to the second, L2 sequencer uptime and grace
// period, configuration errors; and that the pool's borrow and liquidation obey each of them.
import hre from "hardhat";
import { expect } from "chai";
import { parseEventLogs, parseUnits } from "viem";
import { borrow, deposit, setPrice, tx, type Fixture } from "../fixtures/protocol";
import { mockV3AggregatorAbi, priceOracleAbi } from "../../protocols/marginpool/generated/abis";
import { mockV3AggregatorBytecode } from "../../protocols/marginpool/generated/bytecode";
import { deployContract } from "../../common/wallet";
import { normalisePrice } from "../../common/math";
import {
  MAX_UINT,
  ZERO_ADDRESS,
  addr,
  deployToken,
  expectEq,
  expectRevert,
  latestTimestamp,
  poolTx,
  refNormalise,
  setNextTimestamp,
  setRound,
  useFixture,
  from,
} from "./helpers";

async function mineAt(ts: bigint): Promise<void> {
  await setNextTimestamp(ts);
  await hre.network.provider.send("evm_mine", []);
}

describe("PriceOracle", () => {
  const fx = useFixture();
  const price = (f: Fixture, symbol: string) => f.oracle.read.getAssetPrice([f.asset(symbol).address]);

  describe("normalisation to 8 decimals", () => {
    it("passes 8-decimal answers through and scales an 18-decimal feed down (truncating)", async () => {
      const f = fx();
      expect(await price(f, "WETH")).to.equal(3000n * 10n ** 8n);
      expect(await price(f, "WBTC")).to.equal(60_000n * 10n ** 8n);
      expect(await price(f, "DAI")).to.equal(10n ** 8n); // 1e18 answer
      expect((await f.oracle.read.getFeed([f.asset("DAI").address])).decimals).to.equal(18);
      await setPrice(f, "DAI", "1.000000019999999999");
      const answer = 1_000_000_019_999_999_999n;
      expect(await price(f, "DAI")).to.equal(100_000_001n);
      expect(refNormalise(answer, 18)).to.equal(100_000_001n);
      expect(normalisePrice(answer, 18)).to.equal(100_000_001n);
    });

    it("scales a 6-decimal feed up, and records the decimals read from the aggregator in FeedSet", async () => {
      const f = fx();
      const token = await deployToken(f, "SIX", 18);
      const feed = await deployContract({ publicClient: f.publicClient, walletClient: f.owner }, mockV3AggregatorAbi, mockV3AggregatorBytecode, [
        6,
        1_234_567n,
      ]);
      const receipt = await tx(f, f.owner, f.deployment.oracle, priceOracleAbi, "setFeed", [token, feed, 600]);
      const [ev] = parseEventLogs({ abi: priceOracleAbi, logs: receipt.logs, eventName: "FeedSet" });
      expectEq(ev!.args, { asset: token, aggregator: feed, heartbeat: 600n, decimals: 6 });
      expect(await f.oracle.read.getAssetPrice([token])).to.equal(123_456_700n);
      expect(normalisePrice(1_234_567n, 6)).to.equal(123_456_700n);
    });
  });

  describe("answer validation", () => {
    for (const symbol of ["WETH", "USDC"]) {
      it(`InvalidPrice for a zero and a negative answer (${symbol}: ${symbol === "WETH" ? "EmittingAggregator" : "MockV3Aggregator"})`, async () => {
        const f = fx();
        const a = f.asset(symbol);
        await setPrice(f, symbol, "0");
        await expectRevert(price(f, symbol), "InvalidPrice", [a.address, 0n]);
        await setPrice(f, symbol, "-5");
        await expectRevert(price(f, symbol), "InvalidPrice", [a.address, -5n * 10n ** 8n]);
        await setPrice(f, symbol, "0.00000001"); // the smallest positive answer is accepted
        expect(await price(f, symbol)).to.equal(1n);
      });
    }

    it("InvalidPrice for a positive answer that normalises to 0 (18-decimal feed below 1e-8 USD)", async () => {
      const f = fx();
      const dai = f.asset("DAI").address;
      await setPrice(f, "DAI", "0.00000001"); // 1e10 at 18 decimals: the smallest price an 8-decimal result can hold
      expect(await f.oracle.read.getAssetPrice([dai])).to.equal(1n);
      await setPrice(f, "DAI", "0.000000009999999999");
      await expectRevert(f.oracle.read.getAssetPrice([dai]), "InvalidPrice", [dai, 9_999_999_999n]);
      // Priced at 0, a DAI debt would weigh nothing: any collateral could drain the DAI reserve.
      await deposit(f, f.supplier, "DAI", "100000");
      await deposit(f, f.borrower, "WETH", "1");
      await expectRevert(f.pool.simulate.borrow([dai, parseUnits("100000", 18)], from(f.borrower)), "InvalidPrice", [dai, 9_999_999_999n]);
    });

    it("FeedNotSet for an asset without a feed", async () => {
      const f = fx();
      const token = await deployToken(f, "NOFEED", 18);
      await expectRevert(f.oracle.read.getAssetPrice([token]), "FeedNotSet", [token]);
    });
  });

  describe("heartbeat", () => {
    it("an answer exactly `heartbeat` old is fresh; one second older is StalePrice(asset, updatedAt, heartbeat)", async () => {
      const f = fx();
      const weth = f.asset("WETH");
      const hb = BigInt(weth.heartbeat);
      const updatedAt = (await latestTimestamp(f)) + 10n;
      await setRound(f, "WETH", 2500n * 10n ** 8n, updatedAt);
      await mineAt(updatedAt + hb);
      expect(await price(f, "WETH")).to.equal(2500n * 10n ** 8n);
      await mineAt(updatedAt + hb + 1n);
      await expectRevert(price(f, "WETH"), "StalePrice", [weth.address, updatedAt, hb]);
    });

    it("a borrow mined exactly at the heartbeat goes through; one mined a second later reverts", async () => {
      const f = fx();
      const usdc = f.asset("USDC").address;
      await deposit(f, f.supplier, "USDC", "10000");
      await deposit(f, f.borrower, "WETH", "1");
      await setPrice(f, "USDC", "1"); // USDC's heartbeat (1 day) outlasts the test
      const updatedAt = (await latestTimestamp(f)) + 10n;
      await setRound(f, "WETH", 3000n * 10n ** 8n, updatedAt);
      const hb = BigInt(f.asset("WETH").heartbeat);

      await setNextTimestamp(updatedAt + hb);
      const ok = await poolTx(f, f.borrower, "borrow", [usdc, 1_000_000n]);
      expect(ok.status).to.equal("success");
      await mineAt(updatedAt + hb + 1n);
      await expectRevert(f.pool.simulate.borrow([usdc, 1_000_000n], from(f.borrower)), "StalePrice", [f.asset("WETH").address, updatedAt, hb]);
    });

    it("an answer stamped in the future (feed clock ahead of the chain) counts as fresh", async () => {
      const f = fx();
      await setRound(f, "WBTC", 61_000n * 10n ** 8n, (await latestTimestamp(f)) + 100_000n);
      expect(await price(f, "WBTC")).to.equal(61_000n * 10n ** 8n);
    });

    it("healthFactor of an account without debt is max uint256 even with its collateral's price stale", async () => {
      const f = fx();
      await deposit(f, f.borrower, "WETH", "1");
      const updatedAt = await latestTimestamp(f);
      await setRound(f, "WETH", 3000n * 10n ** 8n, updatedAt - BigInt(f.asset("WETH").heartbeat) - 1n);
      await expectRevert(price(f, "WETH"), "StalePrice");
      expect(await f.pool.read.healthFactor([addr(f.borrower)])).to.equal(MAX_UINT);
    });
  });

  describe("configuration", () => {
    it("InvalidHeartbeat for heartbeat 0", async () => {
      const f = fx();
      const a = f.asset("WETH");
      await expectRevert(f.oracle.simulate.setFeed([a.address, a.feed, 0], from(f.owner)), "InvalidHeartbeat", [a.address, 0n]);
    });

    it("ZeroAddress for a zero asset or aggregator", async () => {
      const f = fx();
      const a = f.asset("WETH");
      await expectRevert(f.oracle.simulate.setFeed([ZERO_ADDRESS, a.feed, 60], from(f.owner)), "ZeroAddress", []);
      await expectRevert(f.oracle.simulate.setFeed([a.address, ZERO_ADDRESS, 60], from(f.owner)), "ZeroAddress", []);
    });

    it("NotOwner for setFeed and setSequencerUptimeFeed from anyone else", async () => {
      const f = fx();
      const a = f.asset("WETH");
      await expectRevert(f.oracle.simulate.setFeed([a.address, a.feed, 60], from(f.borrower)), "NotOwner", [addr(f.borrower)]);
      await expectRevert(f.oracle.simulate.setSequencerUptimeFeed([a.feed, 60n], from(f.liquidator)), "NotOwner", [addr(f.liquidator)]);
    });
  });
});

describe("PriceOracle L2 sequencer check (grace period 3600 s)", () => {
  const GRACE = 3600n;
  const fx = useFixture({ sequencerGracePeriod: Number(GRACE) });

  /** Writes the sequencer feed's status: 0 up, 1 down; `startedAt` is when that status began. */
  async function sequencer(f: Fixture, status: bigint, startedAt: bigint, roundId = 10n): Promise<void> {
    await tx(f, f.owner, f.deployment.sequencerUptimeFeed!, mockV3AggregatorAbi, "updateRoundData", [roundId, status, startedAt, startedAt]);
  }
  const price = (f: Fixture) => f.oracle.read.getAssetPrice([f.asset("WETH").address]);

  it("is wired by the deploy: feed and grace period readable, SequencerUptimeFeedSet emitted", async () => {
    const f = fx();
    expect((await f.oracle.read.sequencerUptimeFeed()).toLowerCase()).to.equal(f.deployment.sequencerUptimeFeed!.toLowerCase());
    expect(await f.oracle.read.gracePeriod()).to.equal(GRACE);
    const logs = await f.oracle.getEvents.SequencerUptimeFeedSet({}, { fromBlock: BigInt(f.deployment.startBlock) });
    expect(logs.map((l) => l.args.gracePeriod)).to.deep.equal([GRACE]);
  });

  it("GracePeriodNotOver right after the sequencer came up, up to and including `grace` seconds", async () => {
    const f = fx();
    const upSince = (await latestTimestamp(f)) - GRACE + 100n;
    await sequencer(f, 0n, upSince);
    await expectRevert(price(f), "GracePeriodNotOver", [upSince, GRACE]);
    await mineAt(upSince + GRACE); // exactly `grace` seconds since it came up: still waiting
    await expectRevert(price(f), "GracePeriodNotOver", [upSince, GRACE]);
    await mineAt(upSince + GRACE + 1n); // one second more: prices flow
    expect(await price(f)).to.equal(3000n * 10n ** 8n);
  });

  it("GracePeriodNotOver (not an arithmetic panic) when the feed's startedAt is ahead of the chain's clock", async () => {
    const f = fx();
    const ahead = (await latestTimestamp(f)) + 100n;
    await sequencer(f, 0n, ahead);
    await expectRevert(price(f), "GracePeriodNotOver", [ahead, GRACE]);
  });

  it("SequencerDown while the feed answers 1, and for a round that never started (startedAt 0)", async () => {
    const f = fx();
    const now = await latestTimestamp(f);
    await sequencer(f, 1n, now - 10_000n);
    await expectRevert(price(f), "SequencerDown", []);
    await sequencer(f, 0n, 0n, 11n);
    await expectRevert(price(f), "SequencerDown", []);
  });

  it("blocks borrows and liquidations while down, leaves debt-free HF at max, and can be disabled", async () => {
    const f = fx();
    const usdc = f.asset("USDC").address;
    const weth = f.asset("WETH").address;
    const now = await latestTimestamp(f);
    await sequencer(f, 0n, now - 2n * GRACE); // up long enough
    await deposit(f, f.supplier, "USDC", "100000");
    await deposit(f, f.borrower, "WETH", "10");
    await deposit(f, f.others[0]!, "WETH", "1");
    await borrow(f, f.borrower, "USDC", "20000");
    await setPrice(f, "WETH", "2000"); // HF 0.825: liquidatable

    await sequencer(f, 1n, await latestTimestamp(f), 11n);
    await expectRevert(f.pool.simulate.borrow([usdc, 1n], from(f.borrower)), "SequencerDown", []);
    await expectRevert(f.pool.simulate.liquidate([addr(f.borrower), weth, usdc, MAX_UINT], from(f.liquidator)), "SequencerDown", []);
    expect(await f.pool.read.healthFactor([addr(f.others[0]!)])).to.equal(MAX_UINT);

    await tx(f, f.owner, f.deployment.oracle, priceOracleAbi, "setSequencerUptimeFeed", [ZERO_ADDRESS, 0n]);
    expect(await price(f)).to.equal(2000n * 10n ** 8n);
    const hf = await f.pool.read.healthFactor([addr(f.borrower)]);
    // 0.825 at the borrow's second, a little less after each second of interest (a loaded machine takes seconds here).
    expect(hf <= parseUnits("0.825", 18) && hf > parseUnits("0.8249", 18), String(hf)).to.equal(true);
  });
});
