// The conformance suite: for every protocol target, the real pipeline — a real chain, the Indexer with its sync
// engine, oracle tracker and HealthEngine, a real store — states for EVERY account, at every checked published
// block, what the protocol's own views say at that block (by hash), to the wei: while following the head, while
// catching up by ranges, across a reorg, across a restart on the same store. Then the behaviours the keeper relies on.
// Protocol-neutral: everything protocol-specific comes from ./targets.
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Deployment } from "../../common/deployment";
import { WAD } from "../../common/math";
import { compareAccount, describeDiffs, type AuditFigures } from "../../indexer/audit/compare";
import type { PoolViews } from "../../protocols/types";
import { HealthEngine } from "../../indexer/health";
import type { HealthUpdate } from "../../indexer/health/types";
import type { BlockProcessed, Indexer } from "../../indexer/indexer";
import type { PublishedView } from "../../indexer/snapshot";
import { accountOfChange } from "../../indexer/state/changes";
import type { Address } from "../../indexer/state/events";
import { openStore } from "../../indexer/store";
import type { BlockRef, Store } from "../../indexer/store/types";
import { freshState, makeIndexer, silentLogger, waitFor } from "../fixtures/indexer";
import { HARDHAT_KEYS, startHardhatNode, type NodeHandle } from "../fixtures/node";
import type { MarketSimulation as ConformanceSimulation } from "../../protocols/types";
import { SCRIPTED, TARGETS, type ConformanceTarget, type ScriptedMarket } from "./targets";

/** Ports 8711–8719 belong to test/conformance: two per target (the market run, the scripted behaviours). */
const PORT_BASE = 8711;
const FINALITY_DEPTH = 3;
const BORROWERS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- what the pipeline states, and the verdict on it

/** Everything the engine states about every account the state knows, copied out at one published view. */
interface Capture {
  block: BlockRef;
  kind: PublishedView["kind"];
  from: bigint;
  cards: Array<{ account: Address; figures: AuditFigures; rest: [bigint, bigint, bigint] }>;
  /** accounts the state knows for which the engine gave no card */
  missing: Address[];
  liquidatable: Address[];
  unknown: Address[];
  unusable: readonly Address[];
}

/** Synchronous: called inside `snapshots.read` or the "published" listener, where state and engine are the view's. */
function capture(indexer: Indexer, health: HealthEngine, view: PublishedView): Capture {
  const cards: Capture["cards"] = [];
  const missing: Address[] = [];
  for (const account of [...indexer.state.accounts.keys()].sort()) {
    const h = health.account(account, view.block.timestamp);
    if (!h) {
      missing.push(account);
      continue;
    }
    cards.push({
      account,
      figures: {
        healthFactor: h.healthFactor,
        totalCollateralBase: h.totalCollateralBase,
        totalDebtBase: h.totalDebtBase,
        status: h.status,
        unknownAssets: [...h.unknownAssets],
      },
      rest: [h.availableBorrowsBase, h.currentLiquidationThresholdBps, h.ltvBps],
    });
  }
  return {
    block: view.block,
    kind: view.kind,
    from: view.from,
    cards,
    missing,
    liquidatable: health.liquidatable().map((l) => l.account),
    unknown: health.unknown(),
    unusable: view.unusablePrices,
  };
}

/** Counts over a whole run: every account compared at every checked block. */
class Tally {
  comparisons = 0;
  unpriced = 0;
  liquidatable = 0;
  readonly blocks = new Set<string>();
  readonly kinds: Record<PublishedView["kind"], number> = { range: 0, block: 0, rollback: 0 };
  readonly mismatches: string[] = [];

  fail(what: string): void {
    if (this.mismatches.length < 50) this.mismatches.push(what);
    else if (this.mismatches.length === 50) this.mismatches.push("…");
  }
}

/**
 * The protocol's views for every captured account at the capture's block hash, against the engine's figures
 * (compareAccount, as the auditor judges), plus the rest of the account data, and the engine's liquidatable and
 * unknown sets against the accounts the protocol says are under 1 / refuses to price.
 */
async function verify(t: ConformanceTarget, node: NodeHandle, d: Deployment, c: Capture, tally: Tally): Promise<PoolViews[]> {
  const at = `block ${c.block.number} (${c.kind})`;
  for (const a of c.missing) tally.fail(`${at}: ${a}: the state knows it, the engine has no card`);
  const views = await t.adapter.views.read(
    node.publicClient,
    d,
    c.cards.map((x) => x.account),
    { blockHash: c.block.hash },
  );
  const under: Address[] = [];
  const refused: Address[] = [];
  // A protocol that prices with a stale answer (Aave V3) answers where marginwatch says "unknown": compareAccount
  // then holds it to the collateral and debt at that answer, and its HF < 1 there is not a liquidatable account.
  const refusesStale = t.adapter.views.refusesStalePrices ?? true;
  const unknown = new Set(c.unknown);
  views.forEach((pool, i) => {
    const { account, figures, rest } = c.cards[i]!;
    const v = compareAccount(figures, pool, refusesStale);
    tally.comparisons++;
    if (v.result === "error") tally.fail(`${at}: ${account}: no verdict: ${v.error}`);
    else if (v.result === "mismatch") tally.fail(`${at}: ${account}: ${describeDiffs(v.diffs)}`);
    else if (v.unpriced) tally.unpriced++;
    if (pool.accountData.kind === "value" && figures.unknownAssets.length === 0) {
      const p = pool.accountData.value;
      const chain = [p.availableBorrowsBase, p.currentLiquidationThresholdBps, p.ltvBps];
      if (chain.some((x, j) => x !== rest[j])) tally.fail(`${at}: ${account}: available/LT/LTV ${rest.join("/")} ≠ ${chain.join("/")}`);
    }
    if (pool.healthFactor.kind === "value" && pool.healthFactor.value < WAD && (refusesStale || !unknown.has(account))) under.push(account);
    if (pool.healthFactor.kind === "price-revert") refused.push(account);
    // Not refusing: an account is unknown exactly when it reads a price the tracker calls unusable.
    if (!refusesStale && unknown.has(account) !== (figures.healthFactor === null && figures.unknownAssets.length > 0))
      tally.fail(`${at}: ${account}: unknown ${unknown.has(account)} but HF ${figures.healthFactor} with unusable [${figures.unknownAssets}]`);
    if (!refusesStale && figures.unknownAssets.some((a) => !c.unusable.includes(a)))
      tally.fail(`${at}: ${account}: unknown assets [${figures.unknownAssets}] not all unusable [${c.unusable}]`);
  });
  if (under.join() !== c.liquidatable.join()) tally.fail(`${at}: liquidatable set [${c.liquidatable}] ≠ the protocol's HF < 1 [${under}]`);
  if (refusesStale && refused.join() !== c.unknown.join())
    tally.fail(`${at}: unknown set [${c.unknown}] ≠ the protocol's price refusals [${refused}]`);
  if (!refusesStale && refused.length > 0) tally.fail(`${at}: a protocol that prices stale answers refused [${refused}]`);
  tally.liquidatable += under.length;
  tally.blocks.add(c.block.hash);
  tally.kinds[c.kind]++;
  return views;
}

// ---------------------------------------------------------------- the pipeline on a store that outlives it

class Pipeline {
  store!: Store;
  indexer!: Indexer;
  health!: HealthEngine;
  /** "block" events, by block number (the latest publication of that number) */
  readonly steps = new Map<bigint, BlockProcessed>();
  /** set: every publication is captured in the "published" listener and verified at once, as it comes */
  onPublished: ((c: Capture) => void) | null = null;

  constructor(
    readonly node: NodeHandle,
    readonly d: Deployment,
    readonly dataDir: string,
  ) {}

  async start(): Promise<void> {
    this.store = await openStore({ dataDir: this.dataDir });
    let health: HealthEngine | undefined;
    this.indexer = makeIndexer(
      this.node.publicClient,
      this.store,
      this.d,
      { finalityDepth: FINALITY_DEPTH },
      (state) => (health = new HealthEngine(state, this.indexer.protocol.math)),
    );
    this.indexer.snapshots.on("published", (view: PublishedView) => {
      if (this.onPublished && health) this.onPublished(capture(this.indexer, health, view));
    });
    this.indexer.on("block", (ev: BlockProcessed) => this.steps.set(ev.block.number, ev));
    await this.indexer.start();
    if (!health) throw new Error("the indexer built no health engine");
    this.health = health;
  }

  async stop(): Promise<void> {
    await this.indexer.stop();
    await this.store.close();
  }

  /** Waits until the head is published and captures it: nothing mines meanwhile, so the view is exactly the head's. */
  async published(): Promise<Capture> {
    const head = await this.node.publicClient.getBlockNumber();
    await this.indexer.waitForBlock(head, 60_000);
    const c = await this.indexer.snapshots.read((view) => capture(this.indexer, this.health, view));
    expect(c.block.number, "the published view is the head's").to.equal(head);
    return c;
  }

  /** The state digest at the published block, its recomputation, and a fresh rebuild's from all logs to that block. */
  async digests(): Promise<{ running: string; recomputed: string; fresh: string; block: bigint }> {
    const { running, recomputed, block } = await this.indexer.snapshots.read((view) => ({
      running: this.indexer.state.digest(),
      recomputed: this.indexer.state.recomputeDigest(),
      block: view.block.number,
    }));
    return { running, recomputed, block, fresh: (await freshState(this.node.publicClient, this.d, block)).digest() };
  }
}

// ---------------------------------------------------------------- chain control (generic Hardhat RPC)

/** Manual mining while `work` runs: each batch of pending transactions, once it stops growing, lands in the first of `burst` blocks. */
async function mineWhile(node: NodeHandle, work: () => Promise<void>, burst: number, intervalS = 0): Promise<number> {
  await node.rpc("evm_setAutomine", [false]);
  let done = false;
  const finished = work().finally(() => {
    done = true;
  });
  let mined = 0;
  let last = -1;
  try {
    // Until the work is done and nothing it sent is left pending (a send it does not wait for is mined too).
    for (;;) {
      const pending = (await node.rpc<{ transactions: unknown[] }>("eth_getBlockByNumber", ["pending", false])).transactions.length;
      if (done && pending === 0) break;
      if (pending > 0 && (pending === last || done)) {
        await mineBurst(node, burst, intervalS);
        mined += burst;
        last = -1;
      } else {
        last = pending;
        await sleep(40);
      }
    }
  } finally {
    await node.rpc("evm_setAutomine", [true]);
  }
  await finished;
  return mined;
}

/**
 * `count` real blocks in one JSON-RPC batch (one round trip, so the indexer finds itself behind), `intervalS` apart.
 * Not `hardhat_mine`: its lazily reserved blocks answer eth_call with no code and change hash once materialised.
 */
async function mineBurst(node: NodeHandle, count: number, intervalS: number): Promise<void> {
  const calls: Array<{ method: string; params: unknown[] }> = [];
  for (let k = 0; k < count; k++) {
    if (intervalS && k > 0) calls.push({ method: "evm_increaseTime", params: [intervalS] });
    calls.push({ method: "evm_mine", params: [] });
  }
  const res = await fetch(node.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: "2.0", id, ...c }))),
  });
  const out = (await res.json()) as Array<{ error?: { message: string } }>;
  const failed = out.find((r) => r.error);
  if (failed) throw new Error(`mining a burst: ${failed.error!.message}`);
}

/** A block in which only time passed: no transaction. */
async function timeOnly(node: NodeHandle, seconds: number): Promise<void> {
  await node.rpc("evm_increaseTime", [seconds]);
  await node.rpc("evm_mine");
}

function report(name: string, tally: Tally, extra = ""): void {
  console.log(
    `      ${name}: ${tally.comparisons} account comparisons at ${tally.blocks.size} published blocks ` +
      `(range ${tally.kinds.range}, block ${tally.kinds.block}, rollback ${tally.kinds.rollback}), ` +
      `${tally.unpriced} unpriced matches, ${tally.liquidatable} liquidatable, ${tally.mismatches.length} mismatches${extra}`,
  );
}

// ---------------------------------------------------------------- the suite, once per target

TARGETS.forEach((t, i) => {
  describe(`conformance: ${t.name}`, function () {
    this.timeout(180_000);
    let node: NodeHandle;
    let d: Deployment;
    let sim: ConformanceSimulation;
    let dataDir: string;
    let p: Pipeline;
    const totals = { comparisons: 0, blocks: 0, reorgs: 0, restarts: 0 };

    const account = (c: Capture) => c.cards.map((x) => x.account);
    const finish = (name: string, tally: Tally, extra = "") => {
      report(name, tally, extra);
      totals.comparisons += tally.comparisons;
      totals.blocks += tally.blocks.size;
      expect(tally.mismatches, "every account equal to the protocol's views").to.deep.equal([]);
    };

    before(async () => {
      node = await startHardhatNode(PORT_BASE + 2 * i);
      d = await t.adapter.dev.deploy({ publicClient: node.publicClient, walletClient: node.wallet(0) });
      sim = t.adapter.dev.simulation({
        url: node.url,
        publicClient: node.publicClient,
        deployment: d,
        adminKey: HARDHAT_KEYS[0],
        fundAddresses: [],
        borrowers: BORROWERS,
        seed: 11,
        tickMs: 3_600_000, // never started: the suite steps it
        logger: silentLogger,
      });
      await sim.seed();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `mw-conformance-${t.name}-`));
      p = new Pipeline(node, d, dataDir);
      await p.start(); // a backfill by ranges over the seeded market, then following the head
    });

    after(async () => {
      await p?.stop().catch(() => undefined);
      await node?.stop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      console.log(
        `      ${t.name} totals: ${totals.comparisons} comparisons, ${totals.blocks} blocks, ${totals.reorgs} reorgs, ${totals.restarts} restarts`,
      );
    });

    it("parity, every account, at sampled published blocks of a live market (crashes, a missed heartbeat, time-only blocks)", async () => {
      const tally = new Tally();
      let staleSeen = 0;
      let crashedIn = 0;
      const check = async () => {
        const c = await p.published();
        await verify(t, node, d, c, tally);
        if (c.unusable.length && c.unknown.length) staleSeen++;
        return c;
      };
      const first = await check();
      expect(first.cards.length, "the seeded market's accounts").to.be.greaterThan(BORROWERS / 2);
      // 47 ticks: a WETH crash at tick 8, a WBTC crash at 38, WBTC missing its heartbeat from 40 to 45.
      for (let tick = 1; tick <= 47; tick++) {
        await sim.tick();
        const c = await check();
        if (tick === 8) crashedIn = c.liquidatable.length;
        if (tick % 6 === 0) {
          await timeOnly(node, 600); // interest only: no event, no price update, feeds within their heartbeat
          await check();
        }
      }
      const last = await check();
      expect(sim.stats.crashes, "crashes").to.be.greaterThan(0);
      expect(sim.stats.heartbeatMisses, "missed heartbeats").to.be.greaterThan(0);
      expect(crashedIn, "accounts liquidatable after the first crash").to.be.greaterThan(0);
      expect(staleSeen, "blocks with a stale feed and unknown accounts").to.be.greaterThan(0);
      expect(tally.unpriced, "accounts the protocol refused to price, and marginwatch said unknown").to.be.greaterThan(0);
      expect(last.unusable, "every feed fresh again").to.deep.equal([]);
      expect(tally.comparisons).to.be.greaterThan(40 * 50);
      finish("live market", tally, `; ${sim.stats.ticks} ticks, ${sim.stats.actions} borrower actions, ${sim.stats.crashes} crashes`);
    });

    it("parity while behind the head: bursts deeper than the finality depth are caught up by ranges, checked as published", async () => {
      const tally = new Tally();
      const checks: Promise<unknown>[] = [];
      p.onPublished = (c) => checks.push(verify(t, node, d, c, tally));
      const startedAt = p.indexer.status.cursor;
      let mined = 0;
      try {
        // Every batch of market transactions lands in the first block of a burst of 4·depth blocks, 12 s apart.
        for (let k = 0; k < 3; k++) mined += await mineWhile(node, () => sim.tick(), 4 * FINALITY_DEPTH, 12);
        await p.published();
      } finally {
        p.onPublished = null;
      }
      await Promise.all(checks);
      const ranges = [...p.steps.values()].filter((s) => s.view.kind === "range" && s.block.number > startedAt && s.view.from < s.block.number);
      expect(mined).to.be.greaterThan(6 * FINALITY_DEPTH);
      expect(tally.kinds.range, "range publications checked").to.be.greaterThan(1);
      expect(
        ranges.some((s) => s.changes.length > 0),
        "a range that carried market events",
      ).to.equal(true);
      finish("behind the head", tally, `; ${mined} blocks mined in bursts`);
    });

    it("reorg: the indexer rolls back, every account equals the new branch, and the digest a fresh rebuild's", async () => {
      const tally = new Tally();
      const reorgsBefore = p.indexer.status.reorgs;
      const ancestor = await node.publicClient.getBlockNumber();
      const snap = await node.rpc<string>("evm_snapshot");
      // The branch to be orphaned: one market tick, a block per batch (within the finality depth), published.
      await mineWhile(node, () => sim.tick(), 1);
      const orphanedTip = await p.published();
      expect(Number(orphanedTip.block.number - ancestor), "orphaned blocks").to.be.within(1, FINALITY_DEPTH);
      await verify(t, node, d, orphanedTip, tally);
      // The market's senders keep their nonces across the revert: the simulation remembers them.
      const nonces = await Promise.all(
        account(orphanedTip).map(async (a) => [a, await node.rpc<string>("eth_getTransactionCount", [a, "latest"])] as const),
      );
      expect(await node.rpc("evm_revert", [snap])).to.equal(true);
      for (const [a, n] of nonces) await node.rpc("hardhat_setNonce", [a, n]);

      const checks: Promise<unknown>[] = [];
      const captured: Capture[] = [];
      p.onPublished = (c) => {
        captured.push(c);
        checks.push(verify(t, node, d, c, tally));
      };
      try {
        // A different branch, longer: two ticks (other prices, other actions) and a time-only block.
        await mineWhile(node, () => sim.tick(), 1);
        await mineWhile(node, () => sim.tick(), 1);
        await timeOnly(node, 300);
        await waitFor(() => p.indexer.status.reorgs > reorgsBefore, 30_000, "the indexer to roll back");
        await p.indexer.waitForBlock(await node.publicClient.getBlockNumber());
      } finally {
        p.onPublished = null;
      }
      await Promise.all(checks);
      expect(p.indexer.status.reorgs).to.equal(reorgsBefore + 1);
      const rollback = captured.find((c) => c.kind === "rollback");
      expect(rollback?.block.number, "rolled back to the common ancestor").to.equal(ancestor);
      expect(captured.some((c) => c.block.hash === orphanedTip.block.hash)).to.equal(false);
      // The new branch is longer than the orphaned one; an indexer that fell behind (a loaded machine) publishes part of
      // it as a range: either way every height of it was published and checked.
      const heights = new Set<bigint>();
      for (const c of captured)
        if (c.kind !== "rollback") for (let b = c.kind === "range" ? c.from : c.block.number; b <= c.block.number; b++) heights.add(b);
      expect(heights.size, "new-branch blocks checked").to.be.greaterThan(Number(orphanedTip.block.number - ancestor));
      const g = await p.digests();
      expect(g.running).to.equal(g.recomputed);
      expect(g.running, `state digest at block ${g.block} against a fresh rebuild`).to.equal(g.fresh);
      totals.reorgs++;
      finish("reorg", tally, `; ${orphanedTip.block.number - ancestor} blocks orphaned`);
    });

    it("restart: a new indexer on the same store resumes, and every account equals the chain as the market goes on", async () => {
      const tally = new Tally();
      await p.stop();
      const stoppedAt = p.indexer.status.cursor;
      // The market goes on while nothing indexes.
      for (let k = 0; k < 3; k++) await sim.tick();
      const old = p;
      p = new Pipeline(node, d, dataDir);
      const captured: Capture[] = [];
      p.onPublished = (c) => captured.push(c);
      await p.start();
      await waitFor(() => captured.length > 0, 30_000, "the first publication after the restart");
      p.onPublished = null;
      const resumed = captured[0]!;
      expect(resumed.block.number, "the checkpoint is re-published first").to.equal(stoppedAt);
      expect(old.indexer.state.digest(), "the stopped indexer's state at its cursor, against a fresh rebuild").to.equal(
        (await freshState(node.publicClient, d, stoppedAt)).digest(),
      );
      await verify(t, node, d, resumed, tally);
      for (let k = 0; k < 4; k++) {
        await sim.tick();
        await verify(t, node, d, await p.published(), tally);
      }
      await timeOnly(node, 600);
      await verify(t, node, d, await p.published(), tally);
      const g = await p.digests();
      expect(g.running).to.equal(g.recomputed);
      expect(g.running, `state digest at block ${g.block} against a fresh rebuild`).to.equal(g.fresh);
      totals.restarts++;
      finish("restart", tally, `; stopped at block ${stoppedAt}, resumed to ${g.block}`);
    });

    // ------------------------------------------------------------ the behaviours the keeper relies on, scripted

    const scripted = SCRIPTED[t.name];
    (scripted ? describe : describe.skip)("keeper behaviours through the pipeline (scripted market)", () => {
      let bnode: NodeHandle;
      let bp: Pipeline;
      let m: ScriptedMarket;
      let bd: Deployment;
      const tally = new Tally();
      /** the published head, verified; with the health updates and events of every block since the last step's */
      let stepped = 0n;
      const step = async () => {
        const from = stepped + 1n;
        const c = await bp.published();
        stepped = c.block.number;
        const views = await verify(t, bnode, bd, c, tally);
        const updates: HealthUpdate[] = [];
        const touched = new Set<Address>();
        for (let n = from; n <= c.block.number; n++) {
          const s = bp.steps.get(n);
          if (s?.health) updates.push(s.health);
          for (const e of s?.changes ?? []) {
            const a = accountOfChange(e);
            if (a) touched.add(a);
          }
        }
        const union = (k: "liquidatableAdded" | "liquidatableRemoved" | "unknownAdded" | "unknownRemoved") =>
          [...new Set(updates.flatMap((u) => u[k]))].sort();
        return { c, views, union, touched, hf: (a: Address) => views.find((v) => v.account === a)!.healthFactor };
      };
      // Actors: 1 supplier; 2 A, 3 B, 4 C, 5 D, 6 E (price checks); 7 I (interest).
      let A: Address, B: Address, C: Address, D: Address, E: Address, I: Address;
      const usd8 = (x: string) => BigInt(Math.round(Number(x) * 1e8));

      before(async () => {
        bnode = await startHardhatNode(PORT_BASE + 2 * i + 1);
        bd = await t.adapter.dev.deploy({ publicClient: bnode.publicClient, walletClient: bnode.wallet(0) });
        m = scripted!({ publicClient: bnode.publicClient, deployment: bd, wallet: (k) => bnode.wallet(k) });
        [A, B, C, D, E, I] = [2, 3, 4, 5, 6, 7].map((k) => m.account(k)) as [Address, Address, Address, Address, Address, Address];
        bp = new Pipeline(bnode, bd, "memory://");
        await bp.start();
        await step();
      });

      after(async () => {
        await bp?.stop().catch(() => undefined);
        await bnode?.stop();
        report("keeper behaviours", tally);
        totals.comparisons += tally.comparisons;
        totals.blocks += tally.blocks.size;
      });

      afterEach(() => expect(tally.mismatches, "every account equal to the protocol's views").to.deep.equal([]));

      it("interest alone takes an account under 1: liquidatable at the published block, with no event of its own", async () => {
        await m.deposit(1, "WBTC", "1");
        await m.deposit(7, "USDC", "100000");
        await m.borrow(7, "WBTC", "0.99"); // 99% utilisation: WBTC's kinked rate is ~300% a year
        await m.setPrice("USDC", usd8("0.7445")); // HF ≈ 1.003
        const start = await step();
        const hf0 = start.hf(I);
        expect(hf0.kind).to.equal("value");
        const v0 = (hf0 as { value: bigint }).value;
        expect(v0 >= WAD && v0 < (WAD * 1005n) / 1000n, `HF ${v0} just above 1`).to.equal(true);
        expect(start.c.liquidatable).to.deep.equal([]);
        const version = bp.health.positionVersion(I);

        // A day of interest, then the feeds refreshed at the same prices: blocks of feed rounds only.
        await bnode.rpc("evm_increaseTime", [86_400]);
        for (const [s, px] of [
          ["WETH", "3000"],
          ["WBTC", "60000"],
          ["USDC", "0.7445"],
          ["DAI", "1"],
        ] as const)
          await m.setPrice(s, usd8(px));
        const later = await step();
        const hf1 = later.hf(I);
        expect(hf1.kind === "value" && hf1.value < WAD, "the protocol's HF is under 1").to.equal(true);
        expect(later.c.liquidatable).to.deep.equal([I]);
        expect(later.union("liquidatableAdded")).to.deep.equal([I]);
        expect(later.touched.has(I), "no event of the account").to.equal(false);
        expect(bp.health.positionVersion(I), "no position event moved it").to.equal(version);
        const entry = bp.health.liquidatable().find((l) => l.account === I)!;
        const addedAt = [...bp.steps.values()].find((s) => s.health?.liquidatableAdded.includes(I))!.block.number;
        expect(entry.since, "the episode starts at the block that crossed").to.equal(addedAt);
        await m.repayAll(7, "WBTC");
        expect((await step()).c.liquidatable).to.deep.equal([]);
      });

      it("a price update moves accounts in and out of the liquidatable set, a new episode each time", async () => {
        for (const [s, h] of [
          ["WBTC", "10"],
          ["WETH", "100"],
          ["USDC", "1000000"],
          ["DAI", "1000000"],
        ] as const)
          await m.deposit(1, s, h);
        await m.setPrice("USDC", usd8("1"));
        await m.deposit(2, "WETH", "1");
        await m.borrow(2, "USDC", "2300"); // A: HF = 3000·0.825 / 2300 ≈ 1.076
        await m.deposit(3, "WBTC", "0.1");
        await m.borrow(3, "USDC", "3000"); // B
        await m.deposit(4, "WETH", "2"); // C: no debt
        await m.deposit(5, "USDC", "10000");
        await m.borrow(5, "WETH", "2"); // D: WETH debt
        expect((await step()).c.liquidatable).to.deep.equal([]);

        await m.setPrice("WETH", usd8("2700")); // A: 2700·0.825 / 2300 < 1; D gets healthier
        const down = await step();
        expect(down.union("liquidatableAdded")).to.deep.equal([A]);
        expect(bp.health.liquidatable()[0]!.since).to.equal(down.c.block.number);

        await m.setPrice("WETH", usd8("3000"));
        const up = await step();
        expect(up.union("liquidatableAdded")).to.deep.equal([]);
        expect(up.union("liquidatableRemoved")).to.deep.equal([A]);
        expect(up.c.liquidatable).to.deep.equal([]);

        await m.setPrice("WETH", usd8("2700"));
        const again = await step();
        expect(again.union("liquidatableAdded")).to.deep.equal([A]);
        expect(bp.health.liquidatable()[0]!.since, "a new episode").to.equal(again.c.block.number);
      });

      it("a stale feed makes exactly the holders of its asset with debt unknown (never liquidatable), where the protocol refuses", async () => {
        await bnode.rpc("evm_increaseTime", [3_700]); // past WETH's (and WBTC's) 3600 s heartbeat
        for (const [s, px] of [
          ["WBTC", "60000"],
          ["USDC", "1"],
          ["DAI", "1"],
        ] as const)
          await m.setPrice(s, usd8(px));
        const stale = await step();
        expect(stale.c.unusable).to.deep.equal([m.asset("WETH")]);
        expect(stale.c.unknown).to.deep.equal([A, D].sort());
        expect(stale.union("unknownAdded")).to.deep.equal([A, D].sort());
        expect(stale.union("liquidatableRemoved")).to.deep.equal([A]);
        expect(stale.c.liquidatable).to.deep.equal([]);
        for (const x of [A, D]) {
          // Aave V3's oracle prices with the stale answer; verify compared its collateral and debt at it.
          const refuses = t.adapter.views.refusesStalePrices ?? true;
          expect(stale.hf(x).kind, `the protocol ${refuses ? "refuses" : "does not refuse"} to price ${x}`).to.equal(
            refuses ? "price-revert" : "value",
          );
          expect(stale.c.cards.find((k) => k.account === x)!.figures.status).to.equal("unknown");
        }
        // C holds WETH without debt: the protocol's HF is max, and so is marginwatch's (verify compared both).
        expect(stale.hf(C)).to.deep.equal({ kind: "value", value: 2n ** 256n - 1n });
        expect(stale.hf(B).kind).to.equal("value");

        await m.setPrice("WETH", usd8("2700"));
        const fresh = await step();
        expect(fresh.union("unknownRemoved")).to.deep.equal([A, D].sort());
        expect(fresh.union("liquidatableAdded")).to.deep.equal([A]);
        expect(fresh.c.unknown).to.deep.equal([]);
      });

      it("liquidation prices: at the price the protocol's HF is under 1 and the pipeline says liquidatable, one unit above it is not", async () => {
        await m.setPrice("WETH", usd8("3000"));
        await m.deposit(6, "DAI", "3000");
        await m.deposit(6, "WETH", "1");
        await m.borrow(6, "USDC", "3500"); // liquidatable at WETH ≈ 1333 (DAI fixed) or DAI ≈ 0.43 (WETH fixed)
        const base = await step();
        const now = base.c.block.timestamp;
        const card = await bp.indexer.snapshots.read((view) => bp.health.account(E, view.block.timestamp)!);
        const byAsset = new Map(card.liquidationPrices.map((l) => [l.asset, l]));
        for (const [symbol, restore] of [
          ["DAI", "1"],
          ["WETH", "3000"],
        ] as const) {
          const liq = byAsset.get(m.asset(symbol))!;
          expect(liq.price, `${symbol} liquidation price`).to.not.equal(null);
          expect(Number(liq.dropPct)).to.be.within(0, 100);
          for (const [price, under] of [
            [liq.price!, true],
            [liq.price! + 1n, false],
          ] as const) {
            // At the timestamp the price was computed for: a second of interest moves HF by more than a unit of price.
            await bnode.rpc("evm_setNextBlockTimestamp", [Number(now)]);
            await m.setPrice(symbol, price);
            const s = await step();
            expect(s.c.block.timestamp).to.equal(now);
            const hf = s.hf(E);
            expect(hf.kind).to.equal("value");
            const v = (hf as { value: bigint }).value;
            expect(v < WAD, `${symbol} at ${price}: HF ${v}`).to.equal(under);
            expect(v > WAD - 10n ** 12n && v < WAD + 10n ** 12n, `${symbol} at ${price}: HF ${v} ≈ 1`).to.equal(true);
            expect(s.c.liquidatable.includes(E), `${symbol} at ${price}: the pipeline's liquidatable set`).to.equal(under);
          }
          await bnode.rpc("evm_setNextBlockTimestamp", [Number(now)]);
          await m.setPrice(symbol, usd8(restore));
          await step();
        }
      });
    });
  });
});
