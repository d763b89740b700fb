// The auditor over a real indexed world (hardhat node on 8720, real PGlite, the real indexer and health engine):
// it samples on every published block in one batched round trip, catches a figure that is one wei off (counter,
// /readyz 503 naming account and block, /v1/status with both values, an error log line), counts RPC failures as
// errors and never as mismatches, and discards a sample whose block is orphaned between capture and read.
import { expect } from "chai";
import { Registry } from "prom-client";
import { createPublicClient, decodeFunctionData, http, type Hex, type PublicClient } from "viem";
import type { FastifyInstance } from "fastify";
import { marginPoolAbi } from "../../common/generated/abis";
import { buildApi } from "../../indexer/api";
import { Auditor, type AuditorOptions, type FigureSource } from "../../indexer/audit";
import type { Address } from "../../indexer/state/events";
import { silentLogger, waitFor } from "../fixtures/indexer";
import { get } from "../api/helpers";
import { capturingLogger, metric, PORTS, startAuditWorld, startCountingProxy, type AuditWorld } from "./helpers";

describe("auditor (real chain, real indexer)", function () {
  this.timeout(180_000);
  let w: AuditWorld;
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async () => {
    w = await startAuditWorld(PORTS.world);
  });

  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop();
  });

  after(async () => {
    await w?.stop();
  });

  function auditor(o: Partial<AuditorOptions> = {}): Auditor {
    const a = new Auditor({
      indexer: w.indexer, health: w.health, client: w.node.publicClient, pool: w.d.pool, registry: new Registry(), logger: silentLogger, ...o,
    });
    a.start();
    running.push(a);
    return a;
  }

  async function api(a: Auditor, registry: Registry): Promise<FastifyInstance> {
    const app = await buildApi({ indexer: w.indexer, health: w.health, store: w.store, deployment: w.d, registry, auditor: a }, { logger: silentLogger });
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
      expect(trip.every((m) => m === "eth_call"), trip.join(",")).to.equal(true);
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
    const onChain = await w.node.publicClient.readContract({ address: w.d.pool, abi: marginPoolAbi, functionName: "getAccountData", args: [victim], blockNumber: BigInt(mm.blockNumber) });
    expect(d!.pool).to.equal(onChain.totalDebtBase.toString());
    expect(mm.blockHash).to.equal((await w.node.publicClient.getBlock({ blockNumber: BigInt(mm.blockNumber) })).hash);

    const m = (await get(app, "/metrics")).text;
    expect(metric(m, "marginwatch_audit_checks_total", 'result="mismatch"')).to.equal(s.checks.mismatch);
    const ready = await get(app, "/readyz");
    expect(ready.status, ready.text).to.equal(503);
    expect(ready.body.error).to.equal("not_ready");
    expect(ready.body.message).to.include(victim).and.include(`block ${mm.blockNumber}`).and.include("totalDebtBase").and.include(d!.pool).and.include(d!.marginwatch);
    const status = (await get(app, "/v1/status")).body;
    expect(status.ready).to.equal(false);
    expect(status.reason).to.equal(ready.body.message);
    expect(status.audit.checks.mismatch).to.equal(s.checks.mismatch);
    expect(status.audit.openMismatches.map((x: { account: string }) => x.account)).to.deep.equal([victim]);
    expect(status.audit.lastMismatches[0]).to.deep.include({ account: victim, blockNumber: mm.blockNumber, blockHash: mm.blockHash });
    expect(status.audit.lastMismatches[0].diffs).to.deep.equal([{ field: "totalDebtBase", marginwatch: d!.marginwatch, pool: d!.pool }]);

    const logged = lines.find((l) => l.level === 50 && String(l.msg).startsWith("audit mismatch"));
    expect(logged, "an error-level log line").to.not.equal(undefined);
    expect(logged).to.deep.include({ account: victim, block: mm.blockNumber });
    expect(logged!.diffs).to.deep.equal([{ field: "totalDebtBase", marginwatch: d!.marginwatch, pool: d!.pool }]);

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
    const judged = () => a.status().checks.match + a.status().checks.mismatch + a.status().checks.error > before.checks.match + before.checks.mismatch + before.checks.error;
    await waitFor(() => a.status().skipped.reorged >= 1 || judged(), 30_000, "the orphaned sample judged or discarded");
    armed = false;
    const after = a.status();
    expect(after.checks, `an orphaned block is neither a mismatch nor an error: ${JSON.stringify(after.lastMismatches[0] ?? after.lastError)}`).to.deep.equal(before.checks);
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
