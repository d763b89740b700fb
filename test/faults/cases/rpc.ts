// RPC faults against a spawned `index` process behind the chaos proxy: the node going away mid-backfill and
// mid-follow (503s, connection resets), malformed logs from the RPC, and hostile API input while it runs.
import { expect } from "chai";
import {
  activity,
  baseEnv,
  Cli,
  convergence,
  fault,
  freshDb,
  freshPrefix,
  FULL,
  ledger,
  PORTS,
  request,
  sleep,
  status,
  until,
  waitCursor,
  waitHealthy,
  world,
  type Db,
  type World,
} from "../harness";
import { startChaosProxy, type ChaosProxy } from "../chaos-proxy";
import { fuzzApi } from "./fuzz";

const API = `http://127.0.0.1:${PORTS.api.rpc}`;

type RawLog = Record<string, unknown>;

/** A copy of a real log (its topic0 is a known event) with its data cut short, at an unused log index. */
function truncated(real: RawLog, logIndex: number): RawLog {
  return { ...real, data: String(real.data).slice(0, 2 + 40), logIndex: `0x${logIndex.toString(16)}` };
}

export function rpcCases(): void {
  let pool = "";
  /** a pool log with more than one word of data (cut to 20 bytes it cannot decode) */
  const isPoolLog = (l: RawLog) =>
    String(l.address).toLowerCase() === pool && String(l.data).length > 2 + 64 && Array.isArray(l.topics) && l.topics.length > 0;

  describe("RPC outage, malformed logs and hostile API input (`index` behind a proxy)", function () {
    this.timeout(180_000);
    let w: World;
    let db: Db;
    let proxy: ChaosProxy;
    let cli: Cli;

    before(async () => {
      w = await world("rpc");
      pool = w.d.pool;
      for (const [i, weth, usdc] of [
        [6, "10", "15000"],
        [7, "5", "9000"],
        [8, "20", "30000"],
        [9, "3", "5000"],
      ] as const)
        await w.openPosition(i, weth, usdc);
      await activity(w, 11, 25);
      await w.chain.mine(150); // a long backfill: many small eth_getLogs ranges below
      await activity(w, 12, 10);
      db = await freshDb("rpc");
      proxy = await startChaosProxy(w.chain.url, PORTS.proxy.rpc);
    });

    after(async () => {
      await cli?.stop();
      await proxy?.close();
    });

    it("the node goes away mid-backfill (HTTP 503 for 3 s): /readyz 503 meanwhile, the backfill resumes with no gap", async () => {
      await fault("rpc-outage", "node down mid-backfill (503, 3 s)", async (f) => {
        proxy.maxLogRange = 6;
        let ranges = 0;
        let outageAt = -1;
        const malformed = ledger.inject("bad-input", "malformed log in a backfill range");
        let injected = 0;
        const outage = new Promise<void>((resolve) => {
          proxy.transformLogs = (logs, call) => {
            const p = (call.params?.[0] ?? {}) as { fromBlock?: string };
            if (p.fromBlock && !injected && logs.some(isPoolLog)) {
              injected++;
              logs = [...logs, truncated(logs.find(isPoolLog)!, 0x6000)];
            }
            if (p.fromBlock && ++ranges === 6) {
              proxy.mode = "503";
              outageAt = Number(BigInt(p.fromBlock));
              resolve();
            }
            return logs;
          };
        });
        cli = new Cli(
          "rpc-index",
          ["index"],
          baseEnv({ apiPort: PORTS.api.rpc, rpcUrl: proxy.url, deploymentFile: w.file, databaseUrl: db.url, prefix: freshPrefix("rpc") }),
        );
        await outage;
        expect(outageAt > w.d.startBlock).to.equal(true);
        // The API may come up during the outage (the backfill is in the background): it must say "not ready".
        await waitHealthy(API, cli);
        const during = await request(`${API}/readyz`);
        expect(during.status).to.equal(503);
        await sleep(3_000);
        const s = await status(API);
        expect(s.phase).to.equal("backfill");
        expect(BigInt(s.blockNumber) < (await w.chain.head()) - 4n).to.equal(true);
        proxy.mode = "up";
        proxy.transformLogs = null;
        const head = await w.chain.head();
        await waitCursor(API, head, 60_000, cli);
        await until("ready after the outage", async () => (await request(`${API}/readyz`)).status === 200, 15_000);
        expect(cli.logCount(/retrying/), "the outage was logged").to.be.greaterThan(0);
        const c = await convergence(db, w);
        f.lost(c.positionDiffs, "positions");
        expect(c.stored).to.equal(c.fresh);
        expect(c.positionDiffs).to.equal(0);
        // The malformed log failed its range once; the range was fetched again and nothing was skipped (same digest).
        expect(injected).to.equal(1);
        expect(cli.logCount(/malformed log/)).to.equal(1);
        malformed.survived();
      });
    });

    async function followOutage(mode: "503" | "reset" | "hang", seconds: number, seed: number): Promise<void> {
      await fault("rpc-outage", `node down mid-follow (${mode}, ${seconds} s)`, async (f) => {
        proxy.maxLogRange = null;
        await waitCursor(API, await w.chain.head(), 30_000, cli);
        await until("ready before the outage", async () => (await request(`${API}/readyz`)).status === 200, 15_000);
        const down = Date.now();
        proxy.mode = mode;
        // Positions and prices move while the indexer cannot see the chain.
        await activity(w, seed, 6);
        if (mode !== "hang") {
          const r = await until(
            "/readyz 503 during the outage",
            async () => {
              const res = await request(`${API}/readyz`);
              return res.status === 503 ? res : undefined;
            },
            15_000,
          );
          expect(r.body.message).to.match(/RPC failing/);
        }
        const left = seconds * 1000 - (Date.now() - down);
        if (left > 0) await sleep(left);
        proxy.mode = "up";
        await activity(w, seed + 1, 3);
        const head = await w.chain.head();
        await waitCursor(API, head, 60_000, cli);
        await until("ready after the outage", async () => (await request(`${API}/readyz`)).status === 200, 20_000);
        expect(cli.alive).to.equal(true);
        const c = await convergence(db, w);
        f.lost(c.positionDiffs, "positions");
        expect(c.stored).to.equal(c.fresh);
        expect(c.positionDiffs).to.equal(0);
      });
    }

    it("the node goes away mid-follow (HTTP 503, then connection resets): /readyz 503, then catches up with no gap", async () => {
      await followOutage("503", 3, 21);
      await followOutage("reset", 3, 23);
    });

    (FULL ? it : it.skip)("[full] the node hangs mid-follow (requests held 6 s): catches up with no gap", async () => {
      await followOutage("hang", 6, 25);
    });

    it("an RPC returning malformed logs (known topic, truncated data) while following: each fails its step, which is retried; nothing skipped", async () => {
      await fault("bad-input", "malformed logs from the RPC", async (f) => {
        const before = cli.logCount(/malformed log/);
        let injected = 0;
        proxy.transformLogs = (logs) => {
          const real = logs.find(isPoolLog);
          if (!real || injected >= 3) return logs;
          injected++;
          return [...logs, truncated(real, 0x7000 + injected)];
        };
        await activity(w, 31, 8);
        await until("three malformed logs injected", () => injected >= 3, 30_000);
        proxy.transformLogs = null;
        await activity(w, 32, 4);
        const head = await w.chain.head();
        await waitCursor(API, head, 60_000, cli);
        expect(cli.alive).to.equal(true);
        expect(cli.logCount(/malformed log/) - before).to.equal(injected);
        const c = await convergence(db, w);
        f.lost(c.positionDiffs, "positions");
        expect(c.stored).to.equal(c.fresh);
        expect(c.positionDiffs).to.equal(0);
      });
    });

    it("hostile API input (every route, random and crafted): only 4xx, the process stays up and /healthz answers 200", async () => {
      await fault("bad-input", "API fuzzing against `index`", async (f) => {
        const r = await fuzzApi(API, 7, FULL ? 1500 : 400);
        const by = Object.entries(r.byStatus)
          .map(([s, n]) => `${n}×${s}`)
          .join(" ");
        f.survived(`${r.requests} requests: ${by}`);
        expect(r.serverErrors, JSON.stringify(r.serverErrorSamples, null, 1)).to.deep.equal([]);
        expect(r.requests).to.be.greaterThan(300);
        expect(r.clientErrors).to.be.greaterThan(200);
        expect(cli.alive).to.equal(true);
        expect((await request(`${API}/healthz`)).status).to.equal(200);
        expect((await request(`${API}/readyz`)).status).to.equal(200);
      });
    });

    it("an RPC that keeps serving an undecodable log: /readyz names it at once, the cursor never passes it, then a loud stop", async () => {
      await fault("bad-input", "a log that never decodes", async (f) => {
        let injected = 0;
        let badBlock = -1n;
        proxy.transformLogs = (logs) => {
          const real = logs.find(isPoolLog);
          if (badBlock < 0n && real) badBlock = BigInt(real.blockNumber as string);
          const here = logs.filter(isPoolLog).find((l) => BigInt(l.blockNumber as string) === badBlock);
          if (!here) return logs;
          injected++;
          return [...logs, truncated(here, 0x7100)];
        };
        await activity(w, 41, 3);
        const r = await until(
          "/readyz 503 naming the undecodable log",
          async () => {
            const res = await request(`${API}/readyz`);
            return res.status === 503 && /undecodable log/.test(String(res.body.message)) ? res : undefined;
          },
          30_000,
        );
        expect(r.body.message).to.match(/malformed log/);
        expect(BigInt((await status(API)).blockNumber) < badBlock).to.equal(true);
        await cli.waitFor(/indexer stopped on a fatal error/, 90_000);
        const after = await request(`${API}/readyz`);
        expect(after.status).to.equal(503);
        expect(after.body.message).to.match(/still undecodable after \d+ attempts/);
        expect(BigInt((await status(API)).blockNumber) < badBlock, "the cursor stayed before the bad block").to.equal(true);
        expect(injected).to.be.greaterThanOrEqual(8);
        expect(cli.alive).to.equal(true);
        proxy.transformLogs = null;
        f.survived(`stopped after ${injected} attempts at block ${badBlock}`);
      });
    });
  });
}
