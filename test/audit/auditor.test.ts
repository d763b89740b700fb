// The auditor over a real indexed world (hardhat node on 8720, real PGlite, the real indexer and health engine):
// it samples on every published block in one batched round trip, catches a figure that is one wei off (counter,
// /readyz 503 naming account and block, /v1/status with both values, an error log line), counts RPC failures as
// errors and never as mismatches, and discards a sample whose block is orphaned between capture and read.
import { marginpool } from "../../protocols/marginpool";
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { Registry } from "prom-client";
import { createPublicClient, decodeFunctionData, http, type Hex, type PublicClient } from "viem";
import type { FastifyInstance } from "fastify";
import { marginPoolAbi } from "../../protocols/marginpool/generated/abis";
import { buildApi, listen } from "../../indexer/api";
import { Auditor, type AuditorOptions, type FigureSource } from "../../indexer/audit";
import type { Address } from "../../indexer/state/events";
import { silentLogger, waitFor } from "../fixtures/indexer";
import { get } from "../api/helpers";
import { capturingLogger, metric, PORTS, startAuditWorld, startCountingProxy, type AuditWorld } from "./helpers";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = path.resolve(__dirname, "../../test-results/audit-panel.png");

describe("auditor (real chain, real indexer)", function () {
  this.timeout(180_000);
  let w: AuditWorld;
  let browser: Browser | null = null;
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async () => {
    w = await startAuditWorld(PORTS.world);
    if (fs.existsSync(CHROMIUM))
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"] });
    else console.log(`      (dashboard panel checks skipped: ${CHROMIUM} is not installed)`);
  });

  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop();
  });

  after(async () => {
    await browser?.close();
    await w?.stop();
  });

  /** The dashboard's audit panel as a browser renders it from a listening server (null without Chromium). */
  async function panel(
    app: FastifyInstance,
    screenshot?: string,
  ): Promise<{ checks: string; mismatches: string; cls: string; rows: string[][] } | null> {
    if (!browser) return null;
    const url = await listen(app, { host: "127.0.0.1", port: 0 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(`${url}/`);
      await page.waitForFunction(() => document.getElementById("audit-checks")!.textContent !== "—", undefined, { timeout: 15_000 });
      const out = {
        checks: (await page.textContent("#audit-checks"))!,
        mismatches: (await page.textContent("#audit-mismatches"))!,
        cls: (await page.getAttribute("#audit-mismatches", "class"))!,
        rows: await page.$$eval("#audit-mismatch-list:not([hidden]) tbody tr", (trs) =>
          trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.getAttribute("title") ?? td.textContent ?? "")),
        ),
      };
      if (screenshot) {
        fs.mkdirSync(path.dirname(screenshot), { recursive: true });
        await page.locator("#audit").screenshot({ path: screenshot });
      }
      expect(errors, errors.join("\n")).to.deep.equal([]);
      return out;
    } finally {
      await page.close();
    }
  }

  function auditor(o: Partial<AuditorOptions> = {}): Auditor {
    const a = new Auditor({
      indexer: w.indexer,
      health: w.health,
      client: w.node.publicClient,
      deployment: w.d,
      protocol: marginpool,
      registry: new Registry(),
      logger: silentLogger,
      ...o,
    });
    a.start();
    running.push(a);
    return a;
  }

  async function api(a: Auditor, registry: Registry): Promise<FastifyInstance> {
    const app = await buildApi(
      { indexer: w.indexer, health: w.health, store: w.store, deployment: w.d, registry, auditor: a },
      { logger: silentLogger },
    );
    running.push({ stop: () => app.close() });
    return app;
  }

  /** Mines blocks one at a time (each sampled: the previous sample is awaited) until `done` holds. */
  async function mineUntil(a: Auditor, done: () => boolean, what: string, max = 40): Promise<void> {
    for (let i = 0; i < max && !done(); i++) {
      await w.mine();
      await a.idle();
    }
    expect(done(), `${what} after ${max} blocks: ${JSON.stringify(a.status())}`).to.equal(true);
  }

  it("checks every account to the wei, in one batched HTTP round trip per sampled block within the call budget", async () => {
    const proxy = await startCountingProxy(w.node.url);
    running.push({ stop: () => proxy.close() });
    const client = createPublicClient({ transport: http(proxy.url, { batch: true, retryCount: 0 }), cacheTime: 0 }) as PublicClient;
    const registry = new Registry();
    const a = auditor({ client, registry, samplePerBlock: 3, maxCallsPerBlock: 7 });
    const app = await api(a, registry);
    const accounts = w.indexer.state.accounts.size;

    await mineUntil(a, () => a.status().coverage.laps >= 2, "two laps of the rotation");
    const s = a.status();
    expect(s.checks.mismatch, JSON.stringify(s.lastMismatches)).to.equal(0);
    expect(s.checks.error, JSON.stringify(s.lastError)).to.equal(0);
    expect(s.checks.match).to.be.at.least(2 * accounts);
    expect(s.samplePerBlock).to.equal(3);
    // Each sampled block: exactly one HTTP request, carrying 2 eth_calls per account and nothing else.
    expect(proxy.trips.length).to.equal(s.samples);
    for (const trip of proxy.trips) {
      expect(trip.length).to.be.at.most(7).and.at.least(2);
      expect(
        trip.every((m) => m === "eth_call"),
        trip.join(","),
      ).to.equal(true);
    }
    expect(s.checks.match).to.equal(proxy.trips.reduce((n, t) => n + t.length / 2, 0));

    const m = (await get(app, "/metrics")).text;
    expect(metric(m, "marginwatch_audit_checks_total", 'result="match"')).to.equal(s.checks.match);
    expect(metric(m, "marginwatch_audit_checks_total", 'result="mismatch"')).to.equal(0);
    expect(metric(m, "marginwatch_audit_checks_total", 'result="error"')).to.equal(0);
    const status = (await get(app, "/v1/status")).body;
    expect(status.ready).to.equal(true);
    expect(status.audit).to.include({ enabled: true, samplePerBlock: 3, maxCallsPerBlock: 7 });
    expect(status.audit.checks).to.deep.equal(s.checks);
    expect((await get(app, "/readyz")).status).to.equal(200);

    // Every field the status answers is documented in the OpenAPI response schema.
    const doc = (await get(app, "/openapi.json")).body;
    const schema = doc.paths["/v1/status"].get.responses["200"].content["application/json"].schema;
    expect(undocumented(status, schema)).to.deep.equal([]);
    expect(schema.properties.audit.properties.lastMismatches.items.properties.diffs.items.required).to.deep.equal(["field", "marginwatch", "pool"]);

    const p = await panel(app);
    if (p) {
      expect(Number(p.checks)).to.be.at.least(s.checks.match);
      expect(p).to.deep.include({ mismatches: "0", rows: [] });
      expect(p.cls)
        .to.match(/\bok\b/)
        .and.not.match(/\bbad\b/);
    }
  });

  it("catches a figure one wei off: mismatch counted, logged with both values, /readyz 503 naming account and block, /v1/status lists it", async () => {
    // A rounding bug in one place (debt rounded down instead of up) for one account: exactly what the audit is for.
    const victim = w.b.b3;
    let broken = true;
    const figures: FigureSource = (account, view) => {
      const f = w.health.account(account, view.block.timestamp);
      return f && broken && account === victim ? { ...f, totalDebtBase: f.totalDebtBase - 1n } : f;
    };
    const { logger, lines } = capturingLogger();
    const registry = new Registry();
    const a = auditor({ figures, registry, logger, samplePerBlock: 4 });
    const app = await api(a, registry);

    await mineUntil(a, () => a.status().checks.mismatch >= 1, "a mismatch");
    const s = a.status();
    expect(s.checks.match, "the other accounts still match").to.be.at.least(1);
    const mm = s.lastMismatches[0]!;
    expect(s.lastMismatches.every((x) => x.account === victim)).to.equal(true);
    expect(mm.diffs.map((d) => d.field)).to.deep.equal(["totalDebtBase"]);
    const [d] = mm.diffs;
    expect(BigInt(d!.pool) - BigInt(d!.marginwatch)).to.equal(1n);
    // The pool's value is the chain's own at that block.
    const onChain = await w.node.publicClient.readContract({
      address: w.d.pool,
      abi: marginPoolAbi,
      functionName: "getAccountData",
      args: [victim],
      blockNumber: BigInt(mm.blockNumber),
    });
    expect(d!.pool).to.equal(onChain.totalDebtBase.toString());
    expect(mm.blockHash).to.equal((await w.node.publicClient.getBlock({ blockNumber: BigInt(mm.blockNumber) })).hash);

    const m = (await get(app, "/metrics")).text;
    expect(metric(m, "marginwatch_audit_checks_total", 'result="mismatch"')).to.equal(s.checks.mismatch);
    const ready = await get(app, "/readyz");
    expect(ready.status, ready.text).to.equal(503);
    expect(ready.body.error).to.equal("not_ready");
    expect(ready.body.message)
      .to.include(victim)
      .and.include(`block ${mm.blockNumber}`)
      .and.include("totalDebtBase")
      .and.include(d!.pool)
      .and.include(d!.marginwatch);
    const status = (await get(app, "/v1/status")).body;
    expect(status.ready).to.equal(false);
    expect(status.reason).to.equal(ready.body.message);
    expect(status.audit.checks.mismatch).to.equal(s.checks.mismatch);
    expect(status.audit.openMismatches.map((x: { account: string }) => x.account)).to.deep.equal([victim]);
    expect(status.audit.lastMismatches[0]).to.deep.include({ account: victim, blockNumber: mm.blockNumber, blockHash: mm.blockHash });
    expect(status.audit.lastMismatches[0].diffs).to.deep.equal([{ field: "totalDebtBase", marginwatch: d!.marginwatch, pool: d!.pool }]);
    const doc = (await get(app, "/openapi.json")).body;
    expect(undocumented(status, doc.paths["/v1/status"].get.responses["200"].content["application/json"].schema)).to.deep.equal([]);

    const logged = lines.find((l) => l.level === 50 && String(l.msg).startsWith("audit mismatch"));
    expect(logged, "an error-level log line").to.not.equal(undefined);
    expect(logged).to.deep.include({ account: victim, block: mm.blockNumber });
    expect(logged!.diffs).to.deep.equal([{ field: "totalDebtBase", marginwatch: d!.marginwatch, pool: d!.pool }]);

    // The dashboard's panel: the mismatch count in red, each mismatch with its block, account, field and both values.
    const p = await panel(app, SCREENSHOT);
    if (p) {
      expect(Number(p.mismatches)).to.be.at.least(s.checks.mismatch);
      expect(p.cls).to.match(/\bbad\b/);
      expect(p.rows[0]).to.deep.equal([mm.blockNumber, victim, "totalDebtBase", d!.marginwatch, d!.pool]);
    }

    // Fixed figures: the open mismatch is re-checked first and closes; the count and the history stay.
    broken = false;
    const before = a.status().checks.mismatch;
    await mineUntil(a, () => a.status().openMismatches.length === 0, "the mismatch closed", 5);
    expect(a.status().checks.mismatch).to.equal(before);
    expect((await get(app, "/readyz")).status).to.equal(200);
    expect((await get(app, "/v1/status")).body.audit.lastMismatches[0].account).to.equal(victim);
  });

  it("counts an unreachable RPC as errors, never as mismatches, and carries on when it is back", async () => {
    const proxy = await startCountingProxy(w.node.url);
    running.push({ stop: () => proxy.close() });
    const client = createPublicClient({ transport: http(proxy.url, { batch: true, retryCount: 0, timeout: 2_000 }), cacheTime: 0 }) as PublicClient;
    const registry = new Registry();
    const a = auditor({ client, registry });
    const app = await api(a, registry);
    proxy.down = true;
    await mineUntil(a, () => a.status().checks.error >= 8, "errors while the RPC is down", 6);
    expect(a.status().checks).to.include({ match: 0, mismatch: 0 });
    expect(a.status().lastError?.message).to.match(/HTTP request failed|503/);
    expect((await get(app, "/readyz")).status, "an audit read failing is not a wrong figure").to.equal(200);
    expect(w.indexer.status.fatalError).to.equal(null);
    proxy.down = false;
    await mineUntil(a, () => a.status().checks.match >= 8, "matches once the RPC is back", 6);
    expect(a.status().checks.mismatch).to.equal(0);
    expect(metric((await get(app, "/metrics")).text, "marginwatch_audit_checks_total", 'result="error"')).to.equal(a.status().checks.error);
  });

  it("discards a sample whose block is orphaned between capture and read (a read by number would mismatch), then matches the pool's stale-price refusals", async () => {
    // The reorg happens at the RPC edge, on the real chain: when the auditor's first read of a block arrives, the
    // chain is reverted to before that block and a different block (a day later: interest, stale feeds) is mined
    // at the same height. Only then do the reads go out.
    let trap: Promise<void> | null = null;
    let armed = false;
    let sampledAccount: Address | null = null;
    const inner = w.node.publicClient;
    let snapshot: Hex = "0x0";
    const client: AuditorOptions["client"] = {
      request: async (args) => {
        if (armed && args.method === "eth_call") {
          if (!trap) {
            sampledAccount = decodeFunctionData({ abi: marginPoolAbi, data: args.params[0].data }).args[0] as Address;
            trap = (async () => {
              await w.node.rpc("evm_revert", [snapshot]);
              await w.node.rpc("evm_increaseTime", [90_000]);
              await w.node.rpc("evm_mine");
            })();
          }
          await trap;
        }
        return inner.request(args as never);
      },
      getBlock: (b) => inner.getBlock(b),
    };
    const a = auditor({ client });
    await w.synced();
    await a.idle();
    const before = a.status();
    snapshot = await w.node.rpc<Hex>("evm_snapshot");
    armed = true;
    await w.node.rpc("evm_mine"); // block N: published, sampled, then orphaned before the reads
    const judged = () =>
      a.status().checks.match + a.status().checks.mismatch + a.status().checks.error >
      before.checks.match + before.checks.mismatch + before.checks.error;
    await waitFor(() => a.status().skipped.reorged >= 1 || judged(), 30_000, "the orphaned sample judged or discarded");
    armed = false;
    const after = a.status();
    expect(
      after.checks,
      `an orphaned block is neither a mismatch nor an error: ${JSON.stringify(after.lastMismatches[0] ?? after.lastError)}`,
    ).to.deep.equal(before.checks);
    expect(after.skipped.reorged).to.equal(1);
    expect(sampledAccount).to.not.equal(null);

    // The same height now holds a different block: read by number, marginwatch's figures of the orphaned block differ.
    const orphaned = after.lastSample!;
    const replaced = await inner.getBlock({ blockNumber: BigInt(orphaned.blockNumber) });
    expect(replaced.hash).to.not.equal(orphaned.blockHash);
    // The indexer learns of the reorg from the next block's parent hash.
    await w.mine();
    await waitFor(() => w.indexer.status.reorgs >= 1, 30_000, "the indexer saw the reorg");

    // A day later every feed is past its heartbeat: the pool refuses to price, marginwatch says "unknown": a match.
    await mineUntil(a, () => a.status().unpricedMatches >= 4, "unpriced matches");
    const s = a.status();
    expect(s.checks.mismatch, JSON.stringify(s.lastMismatches)).to.equal(0);
    expect(s.checks.error, JSON.stringify(s.lastError)).to.equal(0);
    expect(w.health.unknown().length).to.be.greaterThan(0);
  });
});

/** Paths of `value` that `schema` (JSON schema as @fastify/swagger emits it) does not describe. */
function undocumented(
  value: unknown,
  schema: { type?: string | string[]; properties?: Record<string, unknown>; items?: unknown; additionalProperties?: unknown },
  at = "$",
): string[] {
  if (value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => (schema.items ? undocumented(v, schema.items as never, `${at}[${i}]`) : [`${at}[${i}]`]));
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
    if (!sub) out.push(`${at}.${k}`);
    else out.push(...undocumented(v, sub as never, `${at}.${k}`));
  }
  return out;
}
