// Product bugs the fault suite found, each as a test of the behaviour that should hold. Skipped by default (they
// fail until fixed); FAULTS_BUGS=1 runs them. Each names the file and the symptom.
import { expect } from "chai";
import { AlertPolicy } from "../../../indexer/alerts/policy";
import { baseEnv, bugIt, Cli, freshDb, freshKey, freshPrefix, PORTS, request, sleep, status, until, waitCursor, world } from "../harness";
import { startChaosProxy } from "../chaos-proxy";

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

export function bugCases(): void {
  describe("known product bugs (FAULTS_BUGS=1 runs them)", function () {
    this.timeout(180_000);

    // BUG (indexer/indexer.ts restore() → rpc() retries transient errors forever without a log line, and
    // cli/app.ts startApp awaits indexer.start() before buildApi/listen): `index` (and `start`) with RPC_URL
    // unreachable at start-up prints nothing, never serves /healthz, never exits — observed silent for 120 s.
    bugIt("BUG: `index` with the RPC unreachable at start-up says so (a log line and /healthz, or an exit) instead of hanging silently", async () => {
      const w = await world("bug-rpc");
      const db = await freshDb("bugrpc");
      const cli = new Cli(
        "bug-index-dead-rpc",
        ["index"],
        baseEnv({
          apiPort: PORTS.api.misc,
          rpcUrl: `http://127.0.0.1:${PORTS.dead}`,
          deploymentFile: w.file,
          databaseUrl: db.url,
          prefix: freshPrefix("bugrpc"),
        }),
      );
      try {
        // Either outcome is acceptable, but it must be one of them: an exit naming RPC_URL, or a live /healthz with
        // the RPC problem in the log. (Waiting for "a word" first raced the exit that follows it.)
        await until(
          "an exit or a live /healthz",
          async () => !cli.alive || (await request(`http://127.0.0.1:${PORTS.api.misc}/healthz`)).status === 200,
          60_000,
          500,
        );
        if (cli.alive) expect(cli.all).to.match(/RPC|8699|ECONNREFUSED|fetch failed/i);
        else expect(cli.err).to.match(/RPC_URL|8699/);
      } finally {
        await cli.stop();
      }
    });

    // BUG (keeper/main.ts runKeeper: no checkRedis as in cli/app.ts; keeper/keeper.ts and BullMQ connect lazily with
    // retries forever): `keeper` with REDIS_URL unreachable never exits and prints "[ioredis] Unhandled error event"
    // stack traces to stderr instead of the friendly "Redis is not reachable … redis-server …" message.
    bugIt("BUG: `keeper` with Redis unreachable exits non-zero with the friendly Redis message, no stack trace", async () => {
      const w = await world("bug-redis");
      const cli = new Cli("bug-keeper-dead-redis", ["keeper"], {
        ...baseEnv({
          apiPort: 0,
          rpcUrl: w.chain.url,
          deploymentFile: w.file,
          databaseUrl: (await freshDb("bugredis")).url,
          prefix: freshPrefix("bugredis"),
          key: freshKey(),
        }),
        REDIS_URL: `redis://127.0.0.1:${PORTS.dead}`,
      });
      try {
        const exit = await cli.waitExit(60_000);
        expect(exit.signal, "did not exit by itself").to.equal(null);
        expect(exit.code).to.not.equal(0);
        expect(cli.err).to.match(/Redis is not reachable/);
        expect(cli.err).to.not.match(STACK);
      } finally {
        await cli.stop();
      }
    });

    // BUG (indexer/alerts/dispatcher.ts raise(), now indexer/alerts/policy.ts): a non-critical level re-triggered
    // within the cooldown is muted (nothing queued), but the next resolve was sent: consumers got "resolved" twice
    // in a row for one trigger. Seen in the crash case as warning "triggered, resolved, resolved" when prices flap.
    bugIt("BUG: a warning muted by the cooldown is not followed by a second 'resolved' alert", async () => {
      const policy = new AlertPolicy([]);
      const account = "0x00000000000000000000000000000000000000aa" as `0x${string}`;
      const cross = (direction: "down" | "up", hf: bigint) => [{ account, level: "warning", direction, healthFactor: hf }];
      const states: string[] = [];
      const steps = [cross("down", 11n * 10n ** 17n), cross("up", 13n * 10n ** 17n), cross("down", 11n * 10n ** 17n), cross("up", 13n * 10n ** 17n)];
      for (const [i, crossings] of steps.entries()) {
        // The third step falls within the cooldown: muted.
        const d = policy.decide({ blockNumber: BigInt(i + 1), nowMs: Date.now() + i, crossings, oracleAlerts: [], card: () => null });
        d.accept();
        states.push(...d.outbox.map((a) => (a.body.kind === "margin-call" ? a.body.state : a.body.kind)));
      }
      expect(states).to.deep.equal(["triggered", "resolved"]);
    });

    // BUG (indexer/indexer.ts handleReorg/backfillStep/followStep): when the node says block N+1's parent is not
    // block N while block N itself is unchanged (a lagging or inconsistent node behind a load balancer; Hardhat's
    // hardhat_mine does it with a zero parentHash), the "reorg" has depth 0 and the indexer rolls back to N and
    // retries at once, forever: ~20 "chain reorganised" warnings a second, no backoff, /readyz only "phase …".
    bugIt("BUG: a node contradicting itself (block N+1's parentHash ≠ hash of N) is retried with backoff and reported, not spun on", async () => {
      const w = await world("bug-parent");
      await w.chain.mine(5);
      const head = await w.chain.head();
      const bad = head + 3n;
      const proxy = await startChaosProxy(w.chain.url, PORTS.proxy.secrets);
      proxy.after = (call, reply) => {
        const r = (reply as { result?: { number?: string; parentHash?: string } }).result;
        if (call.method === "eth_getBlockByNumber" && r?.number && BigInt(r.number) === bad) r.parentHash = `0x${"00".repeat(32)}`;
      };
      const api = `http://127.0.0.1:${PORTS.api.misc}`;
      const cli = new Cli(
        "bug-index-parent",
        ["index"],
        baseEnv({
          apiPort: PORTS.api.misc,
          rpcUrl: proxy.url,
          deploymentFile: w.file,
          databaseUrl: (await freshDb("bugparent")).url,
          prefix: freshPrefix("bugparent"),
        }),
      );
      try {
        await waitCursor(api, head, 90_000, cli);
        await w.chain.mine(6);
        await sleep(5_000);
        const s = await status(api);
        expect(s.reorgs, "rollbacks in ~5 s").to.be.lessThan(10);
        expect(s.reason ?? "").to.match(/parent|inconsistent|reorg/i);
      } finally {
        await cli.stop();
        await proxy.close();
      }
    });
  });
}
