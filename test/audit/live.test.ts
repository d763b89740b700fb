// The auditor inside the real app (`startApp`, what `npm start` runs: embedded chain on 8724, simulated market with
// prices moving, interest accruing, a feed missing its heartbeat, accounts becoming liquidatable) and `marginwatch verify`
// as a child process against that running app: equal on the chain it indexes, mismatched on another chain.
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { loadConfig } from "../../common/config";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import { startApp, type App } from "../../cli/app";
import type { VerifyReport } from "../../indexer/audit/verify";
import { waitFor } from "../fixtures/indexer";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";
import { metric, PORTS, runCli } from "./helpers";

interface Status {
  ready: boolean;
  reason: string | null;
  blockNumber: string;
  audit: {
    enabled: boolean;
    samplePerBlock: number;
    checks: { match: number; mismatch: number; error: number };
    unpricedMatches: number;
    samples: number;
    skipped: { busy: number; reorged: number };
    coverage: { accounts: number; laps: number };
    lastSample: { blockNumber: string } | null;
    lastMismatches: unknown[];
  };
}

describe("auditor in the real app over a live market, and `marginwatch verify`", function () {
  this.timeout(300_000);
  let app: App;
  let dataDir: string;
  let other: NodeHandle | null = null;
  const status = async (): Promise<Status> => (await fetch(`${app.url}/v1/status`)).json() as Promise<Status>;
  const deploymentFile = () => path.join(dataDir, "embedded", "deployment.json");
  const chainUrl = `http://127.0.0.1:${PORTS.liveChain}`;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-audit-"));
    const config = loadConfig(
      {},
      {
        DATA_DIR: dataDir,
        API_PORT: 0,
        CHAIN_PORT: PORTS.liveChain,
        SIM_BORROWERS: 40,
        SIM_TICK_MS: 250,
        AUDIT_SAMPLE_PER_BLOCK: 4,
        LOG_LEVEL: "silent",
        // Keeper off: on main it remembers its signer's nonce in Redis for a minute, and a re-run on this chain port
        // within that minute would start with a nonce the fresh chain has not reached (being fixed in keeper/).
        KEEPER_ENABLED: false,
      },
    );
    app = await startApp(config, { logger: pino({ level: "silent" }), env: {} });
    await waitFor(async () => (await fetch(`${app.url}/readyz`)).status === 200, 60_000, "the app ready");
  });

  after(async () => {
    await other?.stop();
    await app?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("samples every block of a live market: dozens of matches, stale-price refusals matched, 0 mismatches, counter on /metrics", async () => {
    const first = await status();
    expect(first.audit).to.include({ enabled: true, samplePerBlock: 4 });
    const priceOf = async (symbol: string) =>
      ((await (await fetch(`${app.url}/v1/oracles`)).json()) as { feeds: Array<{ symbol: string; price: string }> }).feeds.find(
        (f) => f.symbol === symbol,
      )!.price;
    const wethBefore = await priceOf("WETH");
    // Matches by the dozen, a full lap of the rotation, and the simulation's WBTC heartbeat miss seen as refusals.
    await waitFor(
      async () => {
        const a = (await status()).audit;
        if (a.checks.mismatch > 0) return true;
        return a.checks.match >= 80 && a.coverage.laps >= 1 && a.unpricedMatches >= 1;
      },
      200_000,
      "80 matches, a lap and an unpriced match",
    );
    const s = await status();
    expect(s.audit.checks.mismatch, JSON.stringify(s.audit.lastMismatches, null, 2)).to.equal(0);
    expect(s.audit.checks.match).to.be.at.least(80);
    expect(s.audit.unpricedMatches).to.be.at.least(1);
    expect(s.audit.coverage.accounts).to.be.at.least(40);
    // It was a live market: blocks went by, prices moved, the simulation ticked past its heartbeat miss.
    expect(Number(s.audit.lastSample!.blockNumber) - Number(first.blockNumber)).to.be.at.least(20);
    expect(await priceOf("WETH")).to.not.equal(wethBefore);
    expect(app.simulation!.stats.heartbeatMisses).to.be.at.least(1);

    const m = await (await fetch(`${app.url}/metrics`)).text();
    const after = await status();
    expect(metric(m, "marginwatch_audit_checks_total", 'result="match"'))
      .to.be.at.least(s.audit.checks.match)
      .and.at.most(after.audit.checks.match);
    expect(metric(m, "marginwatch_audit_checks_total", 'result="mismatch"')).to.equal(0);
    expect(m).to.match(/^marginwatch_audit_checks_total\{result="error"\} \d+$/m);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status, await ready.text()).to.equal(200);
    console.log(
      `      audit: ${after.audit.checks.match} matches (${after.audit.unpricedMatches} stale-price refusals), ${after.audit.checks.mismatch} mismatches, ${after.audit.checks.error} errors over ${after.audit.samples} sampled blocks (${after.audit.skipped.busy} skipped while a sample was in flight), ${after.audit.coverage.laps} laps of ${after.audit.coverage.accounts} accounts`,
    );
  });

  it("`marginwatch verify` against the running app: every account equal to the wei, exit 0", async () => {
    const r = await runCli(["verify", "--api-url", app.url, "--rpc-url", chainUrl, "--deployment", deploymentFile()]);
    expect(r.code, r.out + r.err).to.equal(0);
    expect(r.out)
      .to.match(/\b0 mismatched\b/)
      .and.match(/^\s+checked\s+\d+$/m)
      .and.match(/^\s+blocks spanned\s+\d+–\d+/m);
    const checked = Number(/^\s+checked\s+(\d+)$/m.exec(r.out)![1]);
    expect(checked).to.be.at.least(40);
    expect(Number(/^\s+equal\s+(\d+)/m.exec(r.out)![1])).to.equal(checked);
    console.log(r.out.replace(/^/gm, "      "));

    const j = await runCli(["verify", "--api-url", app.url, "--rpc-url", chainUrl, "--deployment", deploymentFile(), "--sample", "10", "--json"]);
    expect(j.code, j.out + j.err).to.equal(0);
    const report = JSON.parse(j.out) as VerifyReport;
    expect(report).to.include({ checked: 10, equal: 10, mismatched: 0, errors: 0 });
    expect(report.listed).to.be.at.least(40);
  });

  it("`marginwatch verify` against another chain (same addresses, no positions): no card can be proven, exit 1", async () => {
    other = await startHardhatNode(PORTS.otherChain);
    const d = await deployProtocol({ publicClient: other.publicClient, walletClient: other.wallet(0) });
    expect(d.pool, "the same deployer and nonces give the same pool address").to.equal(app.deployment.pool);
    app.simulation!.stop(); // only interval mining from here: the other chain can be mined past every card's block
    const head = (await status()).blockNumber;
    // One evm_mine per block: Hardhat's hardhat_mine reserves blocks whose historical state eth_call cannot read.
    while ((await other.publicClient.getBlockNumber()) < BigInt(head) + 200n) await other.rpc("evm_mine");

    const r = await runCli(["verify", "--api-url", app.url, "--rpc-url", other.url, "--deployment", deploymentFile()]);
    expect(r.code, r.out + r.err).to.equal(1);
    const checked = Number(/^\s+checked\s+(\d+)$/m.exec(r.out)![1]);
    const equal = Number(/^\s+equal\s+(\d+)$/m.exec(r.out)![1]);
    expect(checked).to.be.at.least(40);
    expect(equal, r.out).to.equal(0);
    // Cards name their block by hash: the other chain has no such block, so nothing is compared with the wrong state.
    expect(r.out).to.match(/errors\s+\d+/);
    expect(r.out).to.match(/invalid block tag 0x[0-9a-f]{64}/);
    console.log(r.out.split("\n").slice(0, 16).join("\n").replace(/^/gm, "      "));
  });

  it("`marginwatch verify` exits 2 with a clear message when the API is unreachable", async () => {
    const r = await runCli(["verify", "--api-url", `http://127.0.0.1:${PORTS.dead}`, "--rpc-url", chainUrl, "--deployment", deploymentFile()]);
    expect(r.code, r.out + r.err).to.equal(2);
    expect(r.err).to.match(/cannot reach the marginwatch API at http:\/\/127\.0\.0\.1:8729/);
  });
});
