// The terminal's log: LOG_FORMAT picks JSON lines or pretty ones (auto: pretty only at a terminal), secrets are
// redacted in both, and a block's margin calls over many accounts are one summary line, not one line per account.
import { expect } from "chai";
import { execFile } from "node:child_process";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { ConfigError, loadConfig } from "../../common/config";
import { resolveLogFormat } from "../../common/logger";
import { AlertLog, summariseMarginCalls } from "../../indexer/alerts/alert-log";
import type { Alert } from "../../indexer/alerts/types";

const ROOT = path.join(__dirname, "..", "..");
const SECRET = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** Logs one line through common/logger in a child process whose stdout is a pipe (not a terminal). */
function logLine(env: NodeJS.ProcessEnv): Promise<string> {
  const script = `require("ts-node").register({ transpileOnly: true });
const { createLogger } = require("./common/logger");
createLogger({ format: process.env.LOG_FORMAT }).info({ privateKey: "${SECRET}", port: 8545 }, "hello");`;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["-e", script], { cwd: ROOT, env: { ...process.env, ...env } }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    ),
  );
}

describe("terminal log", function () {
  this.timeout(60_000);

  describe("LOG_FORMAT", () => {
    it("json (and auto without a terminal) prints JSON lines; pretty prints a readable line; the key is redacted in both", async () => {
      for (const format of ["json", "auto"]) {
        const out = await logLine({ LOG_FORMAT: format });
        const lines = out.trim().split("\n");
        expect(lines, format).to.have.length(1);
        const j = JSON.parse(lines[0]!);
        expect(j).to.include({ level: 30, msg: "hello", privateKey: "[redacted]", port: 8545 });
      }
      const pretty = await logLine({ LOG_FORMAT: "pretty" });
      expect(() => JSON.parse(pretty)).to.throw();
      expect(pretty).to.match(/^\[\d\d:\d\d:\d\d\] INFO: hello /);
      expect(pretty).to.include('"privateKey":"[redacted]"');
      for (const out of [pretty, await logLine({ LOG_FORMAT: "json" })]) expect(out).to.not.include(SECRET.slice(2));
    });

    it("auto means pretty at a terminal only", () => {
      expect(resolveLogFormat("auto", { isTTY: true })).to.equal("pretty");
      expect(resolveLogFormat("auto", { isTTY: false })).to.equal("json");
      expect(resolveLogFormat("json", { isTTY: true })).to.equal("json");
      expect(resolveLogFormat("pretty", {})).to.equal("pretty");
    });

    it("is validated with the other settings: a wrong value names the variable and the choices", () => {
      expect(loadConfig({}).LOG_FORMAT).to.equal("auto");
      expect(loadConfig({ LOG_FORMAT: "json" }).LOG_FORMAT).to.equal("json");
      expect(() => loadConfig({ LOG_FORMAT: "xml" }))
        .to.throw(ConfigError)
        .with.property("message")
        .that.matches(/LOG_FORMAT: must be one of auto, json, pretty .*\(got "xml"\)/);
    });
  });

  describe("margin-call summary", () => {
    const account = (i: number) => `0x${i.toString(16).padStart(40, "0")}`;
    const mc = (i: number, level: string, state: "triggered" | "resolved", block = "653"): Alert => ({
      id: `mc-${account(i)}-${level}-${state}-${block}`,
      severity: state === "resolved" ? "info" : level === "warning" ? "warning" : "critical",
      blockNumber: block,
      at: "2025-01-01T00:00:00.000Z",
      message: `account ${account(i)} HF 1.00 ${state === "triggered" ? "fell below" : "is back above"} the ${level} level`,
      body: { kind: "margin-call", account: account(i), level, state, healthFactor: "1", card: null },
    });
    const capture = () => {
      const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
      const stream = new Writable({
        write(chunk, _enc, cb) {
          for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
          cb();
        },
      });
      return { logger: pino({ level: "debug" }, stream), lines };
    };

    it("counts per level per block", () => {
      const alerts = [
        ...Array.from({ length: 40 }, (_, i) => mc(i, "warning", "triggered")),
        ...Array.from({ length: 12 }, (_, i) => mc(100 + i, "critical", "triggered")),
        ...Array.from({ length: 3 }, (_, i) => mc(200 + i, "warning", "resolved")),
      ];
      const s = summariseMarginCalls("653", alerts);
      expect(s.message).to.equal("block 653: margin calls — critical 12 triggered, warning 40 triggered, 3 resolved");
      expect(s).to.deep.include({ alerts: 55, triggered: { warning: 40, critical: 12 }, resolved: { warning: 3 } });
      expect(summariseMarginCalls("7", [mc(1, "liquidatable", "triggered", "7"), mc(2, "critical", "triggered", "7")]).message).to.equal(
        "block 7: margin calls — liquidatable 1 triggered, critical 1 triggered",
      );
    });

    it("a start-up block of hundreds of margin calls is one line at info level and above; each alert stays at debug", () => {
      const { logger, lines } = capture();
      const log = new AlertLog(logger);
      const alerts = Array.from({ length: 300 }, (_, i) => mc(i, i % 3 === 0 ? "critical" : "warning", "triggered"));
      const oracle: Alert = {
        id: "oracle-x-heartbeat-missed-653",
        severity: "critical",
        blockNumber: "653",
        at: "2025-01-01T00:00:00.000Z",
        message: "WBTC feed missed its heartbeat: no update for 4000s (heartbeat 3600s)",
        body: { kind: "oracle", type: "heartbeat-missed", asset: "0x1", symbol: "WBTC", detail: "" },
      };
      // Two dispatcher batches of one block: still one summary.
      log.add(alerts.slice(0, 100));
      log.add([oracle, ...alerts.slice(100)]);
      log.flush();
      const shown = lines.filter((l) => l.level >= 30);
      expect(shown.map((l) => l.msg)).to.deep.equal([oracle.message, "block 653: margin calls — critical 100 triggered, warning 200 triggered"]);
      expect(shown[1]).to.deep.include({
        level: 40,
        marginCalls: { block: "653", alerts: 300, accounts: 300, triggered: { critical: 100, warning: 200 }, resolved: {} },
      });
      expect(lines.filter((l) => l.level === 20).map((l) => l.msg)).to.deep.equal(alerts.map((a) => a.message));
    });

    it("a block touching one or two accounts keeps a line per account, its levels together", () => {
      const { logger, lines } = capture();
      const log = new AlertLog(logger);
      const one = mc(1, "warning", "triggered", "9");
      log.add([one, mc(2, "warning", "resolved", "9"), mc(2, "critical", "resolved", "9"), mc(2, "liquidatable", "resolved", "9")]);
      log.flush();
      expect(lines.map((l) => [l.level, l.msg])).to.deep.equal([
        [40, one.message],
        [30, `account ${account(2)} is back above the warning, critical and liquidatable levels`],
      ]);
    });
  });
});
