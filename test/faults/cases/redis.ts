// A `start` process (producer + keeper workers + alerts) on the suite's own redis-server, which is killed and
// restarted empty (no persistence) while an opportunity appears: producer and workers reconnect, the opportunity
// still liquidatable is enqueued again and liquidated once, nothing is sent twice.
import { expect } from "chai";
import type { Hex } from "viem";
import {
  baseEnv,
  captureApi,
  Cli,
  dumpPrefix,
  fault,
  freshDb,
  freshKey,
  freshPrefix,
  ownRedis,
  PORTS,
  request,
  sleep,
  txAccounting,
  until,
  waitCursor,
  waitHealthy,
  world,
  captured,
  type RedisServer,
  type World,
} from "../harness";

const API = `http://127.0.0.1:${PORTS.api.redis}`;

export function redisCases(): void {
  describe("Redis restart under `start` (own redis-server, no persistence)", function () {
    this.timeout(240_000);
    let w: World;
    let redis: RedisServer;
    let cli: Cli;
    let prefix: string;
    let keeper: Hex;
    let from: bigint;
    let a: Hex;
    let b: Hex;

    before(async () => {
      redis = await ownRedis(PORTS.redis);
      w = await world("redis");
      a = await w.openPosition(6, "10", "20000"); // WETH collateral: HF 0.99 at WETH 2400
      await w.deposit(7, "WBTC", "1");
      await w.borrow(7, "USDC", "40000"); // WBTC collateral: HF 0.94 at WBTC 48000
      b = w.chain.wallet(7).account.address.toLowerCase() as Hex;
      const key = freshKey();
      from = await w.chain.head();
      keeper = await w.fundKeeper(key);
      const db = await freshDb("redis");
      prefix = freshPrefix("redis", PORTS.redis);
      cli = new Cli(
        "redis-start",
        ["start"],
        baseEnv({ apiPort: PORTS.api.redis, rpcUrl: w.chain.url, deploymentFile: w.file, databaseUrl: db.url, redisUrl: redis.url, prefix, key }),
      );
      await cli.waitFor(/keeper started/, 120_000);
      await waitHealthy(API, cli);
    });

    after(async () => {
      if (cli?.alive) await captureApi(API);
      await cli?.stop();
      const dump = await dumpPrefix(PORTS.redis, prefix);
      captured.push({ source: "own redis-server dump", text: () => dump });
      await redis?.stop();
    });

    it("redis-server killed and restarted empty while an account becomes liquidatable: reconnects, liquidates it once, nothing sent twice", async () => {
      await fault("redis", "redis-server killed, restarted empty", async (f) => {
        await w.setPrice("WETH", "2400");
        await until("the first opportunity liquidated", async () => (await w.liquidations(undefined, a)).length === 1, 60_000);

        await redis.stop();
        await w.setPrice("WBTC", "48000"); // b becomes liquidatable while Redis is down
        await w.chain.mine(2);
        await sleep(3_000);
        expect(cli.alive, "the process survives Redis going away").to.equal(true);
        expect((await request(`${API}/healthz`)).status).to.equal(200);
        expect((await w.liquidations(undefined, b)).length, "nothing can be queued without Redis").to.equal(0);

        await redis.start();
        // New blocks make the producer look again.
        const liquidated = await until(
          "b liquidated after Redis came back",
          async () => {
            await w.chain.mine();
            const ev = await w.liquidations(undefined, b);
            return ev.length ? ev : undefined;
          },
          90_000,
          1_000,
        );
        await w.chain.mine(5);
        await sleep(2_000);
        await waitCursor(API, await w.chain.head(), 30_000, cli);
        const evA = await w.liquidations(undefined, a);
        const evB = await w.liquidations(undefined, b);
        const acc = await txAccounting(w.chain, keeper, from);
        f.lost(evB.length === 0 ? 1 : 0, "liquidations");
        expect(evA.length, "a liquidated once").to.equal(1);
        expect(evB.length, "b liquidated once").to.equal(1);
        expect(liquidated[0]!.liquidator).to.equal(keeper);
        expect(acc.nonce).to.equal(acc.mined);
        expect(acc.pending).to.equal(acc.nonce);
        expect(cli.alive).to.equal(true);
        const s = await request(`${API}/v1/status`);
        expect(s.body.keeperQueue, `keeper queue reachable again: ${s.body.keeperQueueError}`).to.be.an("object");
        const outcomes = await request(`${API}/v1/keeper/outcomes?account=${b}`);
        expect(outcomes.body.outcomes.map((o: { outcome: string }) => o.outcome)).to.deep.equal(["liquidated"]);
      });
    });
  });
}
