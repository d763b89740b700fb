// The operator files in ops/: the alerting rules pass `promtool check rules` and their unit tests
// (`promtool test rules`), every Grafana panel query parses as PromQL, and every metric name either file uses is in
// a real /metrics scrape of `startApp` (what `npm start` runs). promtool comes from Debian's `prometheus` package:
// absent on a dev machine, its checks are skipped with a message; absent in CI (CI=true), they fail.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig } from "../../common/config";
import { startApp, type App } from "../../cli/app";
import { waitFor } from "../fixtures/indexer";
import { metricNames, panelQueries, ruleExpressions, scrapedNames, type GrafanaDashboard } from "./promql";

const ROOT = path.join(__dirname, "..", "..");
const RULES = "ops/prometheus/marginwatch.rules.yml";
const RULE_TESTS = "ops/prometheus/marginwatch.rules.test.yml";
const DASHBOARD = "ops/grafana/marginwatch.json";
/** ports 8751–8759 are the ops tests' */
const CHAIN_PORT = 8751;
/** series Prometheus writes itself for every scrape target: never on /metrics */
const PROMETHEUS_SERIES = new Set(["up"]);
/** Grafana's import input: replaced by the chosen datasource's uid on import */
const DS_PROMETHEUS = ["$", "{DS_PROMETHEUS}"].join("");
const DATASOURCE = { type: "prometheus", uid: DS_PROMETHEUS };

function promtoolVersion(): string | null {
  const r = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? (r.stdout || r.stderr).split("\n")[0]!.trim() : null;
}

function promtool(args: string[], cwd = ROOT): { status: number | null; output: string } {
  const r = spawnSync("promtool", args, { cwd, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe("operator files: Prometheus rules and the Grafana dashboard", function () {
  this.timeout(240_000);
  const version = promtoolVersion();
  const rulesText = fs.readFileSync(path.join(ROOT, RULES), "utf8");
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, DASHBOARD), "utf8")) as GrafanaDashboard;

  const needPromtool = (ctx: Mocha.Context): void => {
    if (version) return;
    if (process.env.CI === "true") throw new Error("promtool is not installed: CI must have it (apt-get install prometheus; .ci/run does)");
    console.log("      (promtool not found: apt-get install prometheus to run the rule checks; skipped on this machine, required in CI)");
    ctx.skip();
  };

  it("promtool check rules passes on the alerting rules", function () {
    needPromtool(this);
    const r = promtool(["check", "rules", RULES]);
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.match(/SUCCESS: \d+ rules found/);
  });

  it("promtool test rules passes: every alert is tested not firing and firing", function () {
    needPromtool(this);
    const r = promtool(["test", "rules", RULE_TESTS]);
    expect(r.status, r.output).to.equal(0);
    expect(r.output).to.match(/SUCCESS/);
    const alerts = [...rulesText.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]!);
    const tests = fs.readFileSync(path.join(ROOT, RULE_TESTS), "utf8");
    for (const a of alerts) {
      const evals = [...tests.matchAll(new RegExp(`alertname: ${a}\\n\\s+exp_alerts:(.*)`, "g"))].map((m) => m[1]!.trim());
      expect(evals, `${a}: an evaluation where it does not fire`).to.include("[]");
      expect(
        evals.some((e) => e === ""),
        `${a}: an evaluation where it fires`,
      ).to.equal(true);
    }
  });

  it("every Grafana panel query parses as PromQL (promtool check rules on them as recording rules)", function () {
    needPromtool(this);
    const queries = panelQueries(dashboard);
    expect(queries.length).to.be.greaterThan(20);
    // Grafana's variables replaced by what they expand to, so promtool parses what Prometheus will receive.
    const expand = (q: string) =>
      q.replaceAll("$__rate_interval", "1m").replaceAll("$__range", "6h").replaceAll("$job", ".+").replaceAll("$instance", ".+");
    const rules = queries.map((q, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expand(q.expr))}`).join("\n");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-ops-"));
    try {
      const file = path.join(dir, "dashboard-queries.yml");
      fs.writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      const r = promtool(["check", "rules", file]);
      expect(r.status, r.output).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the dashboard imports cleanly: a DS_PROMETHEUS datasource input used by every panel and query, unique panel ids", () => {
    expect(dashboard.__inputs).to.deep.include({
      name: "DS_PROMETHEUS",
      label: "Prometheus",
      description: "The Prometheus that scrapes marginwatch's /metrics",
      type: "datasource",
      pluginId: "prometheus",
      pluginName: "Prometheus",
    });
    expect(dashboard.schemaVersion).to.be.at.least(39);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const p of dashboard.panels.filter((x) => x.type !== "row")) {
      expect(p.datasource, p.title).to.deep.equal(DATASOURCE);
      for (const t of p.targets ?? []) expect(t.datasource, p.title).to.deep.equal(DATASOURCE);
    }
  });

  describe("against a real /metrics scrape of startApp", () => {
    let app: App | undefined;
    let dataDir: string;
    let scraped: Set<string>;

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-ops-app-"));
      const config = loadConfig({}, { DATA_DIR: dataDir, API_PORT: 0, CHAIN_PORT, SIM_BORROWERS: 12, SIM_TICK_MS: 500, LOG_LEVEL: "silent" });
      app = await startApp(config, { logger: pino({ level: "silent" }), env: {} });
      await waitFor(() => app!.indexer.status.phase === "follow" && app!.indexer.snapshots.current !== null, 60_000, "the app following the chain");
      await waitFor(async () => (await fetch(`${app!.url}/readyz`)).status === 200, 60_000, "/readyz 200");
      // One API request, so the request counter and the latency histogram have series.
      expect((await fetch(`${app.url}/v1/risk`)).status).to.equal(200);
      const r = await fetch(`${app.url}/metrics`);
      expect(r.status).to.equal(200);
      scraped = scrapedNames(await r.text());
    });

    after(async () => {
      await app?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("every metric the alerting rules use is exported", () => {
      const exprs = ruleExpressions(rulesText);
      expect(exprs.length).to.equal([...rulesText.matchAll(/^\s*- alert: /gm)].length);
      const used = new Set(exprs.flatMap(metricNames));
      expect(used.size).to.be.greaterThan(10);
      const missing = [...used].filter((n) => !scraped.has(n) && !PROMETHEUS_SERIES.has(n));
      expect(missing, `in ${RULES} but not on /metrics`).to.deep.equal([]);
    });

    it("every metric the Grafana dashboard uses is exported, including its variables' queries", () => {
      const used = new Set(panelQueries(dashboard).flatMap((q) => metricNames(q.expr)));
      for (const v of dashboard.templating.list) {
        const m = /^label_values\((.*),\s*\w+\)$/.exec(v.definition ?? "");
        expect(m, `variable ${v.name}: label_values(metric, label)`).to.not.equal(null);
        for (const n of metricNames(m![1]!)) used.add(n);
      }
      expect(used.size).to.be.greaterThan(20);
      const missing = [...used].filter((n) => !scraped.has(n) && !PROMETHEUS_SERIES.has(n));
      expect(missing, `in ${DASHBOARD} but not on /metrics`).to.deep.equal([]);
    });

    it("the name extraction finds what it should (a typo would not slip through)", () => {
      expect(metricNames('sum by (job, instance) (rate(marginwatch_typo_total{result="x"}[5m])) / on() group_left up offset 5m > 0.5')).to.deep.equal(
        ["marginwatch_typo_total", "up"],
      );
      expect(scraped.has("marginwatch_typo_total")).to.equal(false);
      expect(scraped.has("marginwatch_api_request_duration_seconds_bucket")).to.equal(true);
    });
  });
});
