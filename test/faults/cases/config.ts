// Start-up faults of the real CLI: malformed configuration and Redis unreachable. Each process must exit by
// itself with one clear message naming what is wrong, the documented exit code, and no stack trace.
import { expect } from "chai";
import { baseEnv, Cli, fault, freshKey, FULL, PORTS, world, type World } from "../harness";

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

interface Case {
  label: string;
  args: string[];
  env: (w: World) => Record<string, string | undefined>;
  /** what stderr must say */
  says: RegExp[];
  exitCode: number | "non-zero";
  category: string;
  full?: boolean;
}

export function configCases(): void {
  describe("start-up faults: malformed configuration, Redis unreachable", function () {
    this.timeout(240_000);
    let w: World;
    const clis = new Map<string, Cli>();

    const valid = (w: World): Record<string, string> =>
      baseEnv({
        apiPort: PORTS.api.misc,
        rpcUrl: w.chain.url,
        deploymentFile: w.file,
        databaseUrl: "postgres://postgres@127.0.0.1:5432/test",
        prefix: "{mwf-config}",
      });

    const CASES: Case[] = [
      {
        label: "bad API_PORT, RPC_URL and ALERT_LEVELS at once",
        args: ["index"],
        category: "bad-input",
        exitCode: 2,
        env: (w) => ({ ...valid(w), API_PORT: "abc", RPC_URL: "notaurl", ALERT_LEVELS: "bad" }),
        says: [/invalid configuration/, /API_PORT/, /RPC_URL/, /ALERT_LEVELS/, /name:healthFactor/],
      },
      {
        label: "RPC_URL without DEPLOYMENT_FILE",
        args: ["index"],
        category: "bad-input",
        exitCode: 2,
        env: (w) => ({ ...valid(w), DEPLOYMENT_FILE: undefined }),
        says: [/DEPLOYMENT_FILE/, /required when RPC_URL is set/],
      },
      {
        label: "`start` with Redis unreachable",
        args: ["start"],
        category: "redis",
        exitCode: "non-zero",
        env: (w) => ({ ...valid(w), REDIS_URL: `redis://127.0.0.1:${PORTS.dead}`, KEEPER_PRIVATE_KEY: freshKey() }),
        says: [/Redis is not reachable at redis:\/\/127\.0\.0\.1:8699/, /redis-server/, /REDIS_URL/],
      },
      {
        label: "`index` with Redis unreachable",
        args: ["index"],
        category: "redis",
        exitCode: "non-zero",
        env: (w) => ({ ...valid(w), REDIS_URL: `redis://127.0.0.1:${PORTS.dead}` }),
        says: [/Redis is not reachable/, /redis-server/],
      },
      {
        label: "`keeper` with the RPC unreachable",
        args: ["keeper"],
        category: "rpc-outage",
        exitCode: "non-zero",
        env: (w) => ({ ...valid(w), RPC_URL: `http://127.0.0.1:${PORTS.dead}`, KEEPER_PRIVATE_KEY: freshKey().toUpperCase().replace("0X", "0x") }),
        says: [/HTTP request failed/, /127\.0\.0\.1:8699/],
      },
      {
        label: "API_PORT=abc",
        args: ["index"],
        category: "bad-input",
        exitCode: 2,
        full: true,
        env: (w) => ({ ...valid(w), API_PORT: "abc" }),
        says: [/API_PORT/, /got "abc"/],
      },
      {
        label: "RPC_URL=notaurl",
        args: ["start"],
        category: "bad-input",
        exitCode: 2,
        full: true,
        env: (w) => ({ ...valid(w), RPC_URL: "notaurl" }),
        says: [/RPC_URL/],
      },
      {
        label: "ALERT_LEVELS=bad",
        args: ["index"],
        category: "bad-input",
        exitCode: 2,
        full: true,
        env: (w) => ({ ...valid(w), ALERT_LEVELS: "bad" }),
        says: [/ALERT_LEVELS/],
      },
      {
        label: "FINALITY_DEPTH, LOG_LEVEL, DATABASE_URL, webhook without secret",
        args: ["index"],
        category: "bad-input",
        exitCode: 2,
        full: true,
        env: (w) => ({
          ...valid(w),
          FINALITY_DEPTH: "-1",
          LOG_LEVEL: "loud",
          DATABASE_URL: "mysql://x/y",
          ALERT_WEBHOOK_URLS: "https://example.invalid/hook",
        }),
        says: [/FINALITY_DEPTH/, /LOG_LEVEL/, /DATABASE_URL/],
      },
      {
        label: "`keeper` with KEEPER_MIN_PROFIT_USD=abc",
        args: ["keeper"],
        category: "bad-input",
        exitCode: 2,
        full: true,
        env: (w) => ({ ...valid(w), KEEPER_PRIVATE_KEY: `0x${"11".repeat(32)}`, KEEPER_MIN_PROFIT_USD: "abc" }),
        says: [/minProfitUsd/, /USD amount/],
      },
      {
        label: "`keeper` with a malformed KEEPER_PRIVATE_KEY",
        args: ["keeper"],
        category: "bad-input",
        exitCode: "non-zero",
        full: true,
        env: (w) => ({ ...valid(w), KEEPER_PRIVATE_KEY: "0x1234" }),
        says: [/KEEPER_PRIVATE_KEY/, /64 hex digits/],
      },
    ];
    const cases = CASES.filter((c) => FULL || !c.full);

    before(async () => {
      w = await world("config");
      // Every process at once: they only parse, check and exit.
      for (const c of cases) clis.set(c.label, new Cli(`config-${c.label}`, c.args, c.env(w)));
    });

    after(async () => {
      for (const c of clis.values()) await c.stop(2_000);
    });

    for (const c of cases) {
      it(`${c.label}: exits ${c.exitCode === 2 ? "with code 2" : "non-zero"}, names it, no stack trace`, async () => {
        await fault(c.category, `start-up: ${c.label}`, async () => {
          const cli = clis.get(c.label)!;
          const exit = await cli.waitExit(180_000);
          expect(exit.signal, `${cli.label} did not exit by itself:\n${cli.tail()}`).to.equal(null);
          if (c.exitCode === 2) expect(exit.code, cli.err).to.equal(2);
          else expect(exit.code, cli.err).to.not.equal(0);
          for (const re of c.says) expect(cli.err).to.match(re);
          expect(cli.err).to.match(/^marginwatch: /);
          expect(cli.err, "a stack trace").to.not.match(STACK);
          expect(cli.out, "nothing started").to.not.match(/Server listening/);
        });
      });
    }
  });
}
