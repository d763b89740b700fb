// Oracle faults under a spawned `start` on a deployment made by `marginwatch deploy --sequencer-grace`: a stale
// feed, zero and negative answers, a feed whose code reverts or returns short data, the L2 sequencer down and in
// its grace period. For each: the account is "unknown" in the API, an oracle alert is queued and logged, and the
// keeper sends nothing although the bad price would make the account liquidatable. Good prices then get it
// liquidated (the keeper was alive all along).
import { expect } from "chai";
import path from "node:path";
import { parseUnits, type Hex } from "viem";
import { readDeployment } from "../../../common/deployment";
import { mockV3AggregatorAbi } from "../../../protocols/marginpool/generated/abis";
import {
  baseEnv,
  bugIt,
  captureApi,
  chain,
  Cli,
  fault,
  freshDb,
  freshKey,
  freshPrefix,
  PORTS,
  queueJobs,
  request,
  send,
  sleep,
  tmp,
  txAccounting,
  until,
  waitHealthy,
  world,
  type World,
} from "../harness";

const API = `http://127.0.0.1:${PORTS.api.oracle}`;
const GRACE = 60;
/** PUSH1 0 PUSH1 0 REVERT: every call reverts */
const REVERTING = "0x60006000fd";
/** returns one 32-byte word (42): too short for latestRoundData's five */
const SHORT = "0x602a60005260206000f3";

export function oracleCases(): void {
  describe("oracle faults under `start` (deployed with `deploy --sequencer-grace`)", function () {
    this.timeout(300_000);
    let w: World;
    let cli: Cli;
    let prefix: string;
    let keeper: Hex;
    let from: bigint;
    let v: Hex; // WETH collateral, USDC debt
    let u: Hex; // WBTC collateral, USDC debt

    before(async () => {
      const c = await chain();
      const file = path.join(tmp(), "oracle-cli-deployment.json");
      const deploy = new Cli("oracle-deploy", ["deploy", "--rpc-url", c.url, "--out", file, "--sequencer-grace", String(GRACE)], {});
      const exit = await deploy.waitExit(180_000);
      expect(exit.code, deploy.tail()).to.equal(0);
      expect(deploy.out).to.match(/deployed MarginPool 0x[0-9a-f]{40}/);
      const d = readDeployment(file);
      expect(d.sequencerUptimeFeed).to.match(/^0x[0-9a-f]{40}$/);
      // The sequencer feed starts "up" at deployment: its grace period runs first.
      await c.rpc("evm_increaseTime", [GRACE + 1]);
      await c.mine();
      w = await world("oracle", d);
      v = await w.openPosition(6, "10", "20000"); // HF 1.24 at WETH 3000, 0.99 at 2400
      await w.deposit(7, "WBTC", "1");
      await w.borrow(7, "USDC", "40000"); // HF 1.17 at WBTC 60000, 0.88 at 45000
      u = w.chain.wallet(7).account.address.toLowerCase() as Hex;
      const key = freshKey();
      from = await w.chain.head();
      keeper = await w.fundKeeper(key);
      const db = await freshDb("oracle");
      prefix = freshPrefix("oracle");
      // The key bare and in upper case: the keeper must accept it, and it must leak in no spelling.
      cli = new Cli(
        "oracle-start",
        ["start"],
        baseEnv({
          apiPort: PORTS.api.oracle,
          rpcUrl: w.chain.url,
          deploymentFile: w.file,
          databaseUrl: db.url,
          prefix,
          key: key.slice(2).toUpperCase(),
        }),
      );
      await cli.waitFor(/keeper started/, 120_000);
      await waitHealthy(API, cli);
      await until("approvals mined", async () => (await txAccounting(w.chain, keeper, from)).mined >= 2, 30_000);
      await until("both accounts indexed", async () => (await request(`${API}/v1/accounts/${u}`)).status === 200, 60_000);
    });

    after(async () => {
      if (cli?.alive) await captureApi(API);
      await cli?.stop();
    });

    const accountStatus = async (a: Hex): Promise<string> => (await request(`${API}/v1/accounts/${a}`)).body?.status;

    async function oracleAlerts(type: string): Promise<number> {
      return (await queueJobs("alerts", prefix)).filter((j) => j.data.body.kind === "oracle" && j.data.body.type === type).length;
    }

    /**
     * Applies a fault; checks the account is unknown, an oracle alert is queued and logged, and nothing is sent
     * over a few blocks; then restores (also when a check failed, so one failure does not cascade).
     */
    async function badPrice(
      name: string,
      account: Hex,
      alertType: string,
      apply: () => Promise<unknown>,
      restore: () => Promise<unknown>,
    ): Promise<void> {
      await fault("oracle", name, async (f) => {
        const alertsBefore = await oracleAlerts(alertType);
        const logsBefore = cli.logs().filter((l) => String(l.msg).startsWith(`oracle alert: ${alertType}`)).length;
        const before = await txAccounting(w.chain, keeper, from);
        const liqBefore = (await w.liquidations(undefined, account)).length;
        try {
          await apply();
          await until(`${account} unknown`, async () => (await accountStatus(account)) === "unknown", 30_000);
          // Blocks go by: the producer sees the account every block, the keeper must not act on it.
          await w.chain.mine(3);
          await sleep(1_500);
          const after = await txAccounting(w.chain, keeper, from);
          const liq = (await w.liquidations(undefined, account)).length - liqBefore;
          f.lost(after.mined - before.mined, "transactions sent on a bad price");
          expect(liq, "Liquidation events").to.equal(0);
          expect(after.nonce, "keeper nonce").to.equal(before.nonce);
          expect(cli.logs().filter((l) => l.account === account && /liquidation sent/.test(String(l.msg))).length).to.equal(0);
          expect(await accountStatus(account)).to.equal("unknown");
          await until(`a ${alertType} alert queued`, async () => (await oracleAlerts(alertType)) > alertsBefore, 15_000);
          expect(cli.logs().filter((l) => String(l.msg).startsWith(`oracle alert: ${alertType}`)).length).to.be.greaterThan(logsBefore);
        } finally {
          await restore();
        }
        await until(`${account} priced again`, async () => (await accountStatus(account)) !== "unknown", 30_000);
      });
    }

    // u's collateral is WBTC, a silent feed (MockV3Aggregator): the indexer sees its faults by polling.
    const wbtcBack = () => w.setPrice("WBTC", "60000");

    it("zero and negative answers (a naive reader would price the collateral at 0): unknown, feed-invalid alert, nothing sent", async () => {
      await badPrice("zero answer (WBTC)", u, "feed-invalid", () => w.setRound("WBTC", 0n, 0), wbtcBack);
      await badPrice("negative answer (WBTC)", u, "feed-invalid", () => w.setRound("WBTC", -45_000n * 10n ** 8n, 0), wbtcBack);
    });

    it("a feed whose code reverts, and one returning short data (hardhat_setCode): unknown, feed-invalid alert, nothing sent", async () => {
      const feed = w.asset("WBTC").feed;
      const code = await w.chain.rpc<Hex>("eth_getCode", [feed, "latest"]);
      for (const [label, bytecode] of [
        ["reverts", REVERTING],
        ["returns short data", SHORT],
      ] as const) {
        await badPrice(
          `feed code ${label} (WBTC)`,
          u,
          "feed-invalid",
          async () => {
            await w.chain.rpc("hardhat_setCode", [feed, bytecode]);
            await w.chain.mine();
          },
          async () => {
            await w.chain.rpc("hardhat_setCode", [feed, code]);
            await wbtcBack();
          },
        );
      }
    });

    it("a stale feed (a round older than the heartbeat, at a price that would liquidate): unknown, heartbeat alert, nothing sent; fresh again → liquidated once", async () => {
      await badPrice(
        "stale feed (WBTC round 4000 s old)",
        u,
        "heartbeat-missed",
        () => w.setRound("WBTC", parseUnits("45000", 8), 4_000),
        () => w.setPrice("WBTC", "45000"),
      );
      await until("u liquidated on the fresh price", async () => (await w.liquidations(undefined, u)).length === 1, 60_000);
      await w.chain.mine(2);
      expect((await w.liquidations(undefined, u)).length).to.equal(1);
    });

    // BUG (indexer/oracle/tracker.ts, OracleTracker.onAnswerUpdated): for an emitting aggregator (WETH and DAI in the
    // default market) the AnswerUpdated event replaces the feed's current reading before the block's poll, so the
    // poll sees no status change and raises no alert: a zero, negative or stale answer delivered by an event never
    // produces feed-invalid / heartbeat-missed (nor feed-recovered). The account is still marked unknown and
    // nothing is sent. Runs with FAULTS_BUGS=1; un-skip when fixed.
    bugIt("BUG: a zero answer on an emitting feed (WETH) raises a feed-invalid alert", async () => {
      await badPrice(
        "zero answer on an emitting feed (WETH)",
        v,
        "feed-invalid",
        () => w.setRound("WETH", 0n, 0),
        () => w.setPrice("WETH", "3000"),
      );
    });

    it("the L2 sequencer down (then in its grace period) while the price would liquidate: unknown, sequencer alert, nothing sent; up → liquidated once", async () => {
      const seq = w.d.sequencerUptimeFeed!;
      const admin = w.chain.wallet(0);
      await badPrice(
        "sequencer down + price drop",
        v,
        "sequencer-down",
        async () => {
          await send(w.chain, admin, seq, mockV3AggregatorAbi, "updateAnswer", [1n]);
          await w.setPrice("WETH", "2400");
        },
        async () => {
          // Back up: the grace period starts now; the account stays unknown until it is over.
          await send(w.chain, admin, seq, mockV3AggregatorAbi, "updateAnswer", [0n]);
          await until("grace period reported", async () => (await request(`${API}/v1/oracles`)).body?.sequencer?.status === "grace", 30_000);
          await w.chain.mine(2);
          await sleep(1_000);
          expect(await accountStatus(v)).to.equal("unknown");
          expect((await w.liquidations(undefined, v)).length).to.equal(0);
          await w.chain.rpc("evm_increaseTime", [GRACE + 1]);
          await w.chain.mine();
        },
      );
      await until(
        "v liquidated once the sequencer is up and its grace is over",
        async () => (await w.liquidations(undefined, v)).length === 1,
        60_000,
      );
      await w.chain.mine(2);
      const acc = await txAccounting(w.chain, keeper, from);
      expect((await w.liquidations(undefined, v)).length).to.equal(1);
      expect(acc.nonce).to.equal(acc.mined);
      expect(acc.pending).to.equal(acc.nonce);
    });
  });
}
