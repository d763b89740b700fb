// Sync engine against a real `hardhat node` over HTTP: backfill in adaptive ranges, follow, reorgs, restarts.
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import type { Deployment } from "../../common/deployment";
import { borrow, deposit, rng, setPrice, withdraw, repay, type ChainContext } from "../../protocols/marginpool/actions";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";
import { startRpcProxy } from "../fixtures/rpc-proxy";
import { freshState, makeIndexer, waitFor } from "../fixtures/indexer";
import { createPublicClient, http, type PublicClient } from "viem";
import { hardhat } from "viem/chains";

const PORT = 8551;

describe("indexer sync (hardhat node over HTTP)", function () {
  this.timeout(120_000);
  let node: NodeHandle;
  let ctx: ChainContext;
  let d: Deployment;
  const stores: Store[] = [];

  async function memStore(): Promise<Store> {
    const s = await openStore({ dataDir: "memory://" });
    stores.push(s);
    return s;
  }

  const PG_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
  const schemas: string[] = [];
  /** The same tests on both back-ends: PGlite in memory, or PostgreSQL in a fresh schema. */
  async function storeOf(kind: "pglite" | "postgres"): Promise<Store> {
    if (kind === "pglite") return memStore();
    const schema = `mw_sync_${process.pid}_${schemas.length}_${Date.now() % 100000}`;
    schemas.push(schema);
    const s = await openStore({ databaseUrl: PG_URL, schema });
    stores.push(s);
    return s;
  }

  /** Random but reproducible activity: deposits, borrows, repays, withdraws and price moves. */
  async function activity(seed: number, steps: number): Promise<void> {
    const r = rng(seed);
    for (let i = 0; i < steps; i++) {
      const w = node.wallet(1 + Math.floor(r() * 4));
      const pick = r();
      try {
        if (pick < 0.35) await deposit(ctx, w, ["WETH", "WBTC", "DAI"][Math.floor(r() * 3)]!, (1 + Math.floor(r() * 5)).toString());
        else if (pick < 0.6) await borrow(ctx, w, "USDC", (50 + Math.floor(r() * 500)).toString());
        else if (pick < 0.75) await repay(ctx, w, "USDC", (10 + Math.floor(r() * 100)).toString());
        else if (pick < 0.85) await withdraw(ctx, w, "WETH", "0.1");
        else await setPrice(ctx, "WETH", (2500 + Math.floor(r() * 1000)).toString());
      } catch {
        // reverts (no debt, over LTV, nothing to withdraw) are part of random activity
      }
    }
  }

  before(async () => {
    node = await startHardhatNode(PORT);
    ctx = { publicClient: node.publicClient, deployment: undefined as never, admin: node.wallet(0) };
    d = await deployProtocol({ publicClient: node.publicClient, walletClient: node.wallet(0) });
    ctx.deployment = d;
    // Liquidity for borrowers.
    await deposit(ctx, node.wallet(5), "USDC", "1000000");
    await activity(1, 40);
  });

  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await node?.stop();
    if (schemas.length) {
      const { Client } = await import("pg");
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      for (const schema of schemas) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  });

  for (const kind of ["pglite", "postgres"] as const)
    it(`[${kind}] backfills in small adaptive ranges, follows the head and equals a fresh rebuild (digest and store)`, async () => {
      const store = await storeOf(kind);
      const indexer = makeIndexer(node.publicClient, store, d, { range: { initial: 4, max: 8 } });
      let batches = 0;
      indexer.on("batch", () => batches++);
      await indexer.start();
      let head = await node.publicClient.getBlockNumber();
      await indexer.waitForBlock(head);
      expect(batches).to.be.greaterThan(3);
      expect(indexer.state.digest()).to.equal((await freshState(node.publicClient, d, head)).digest());

      await activity(2, 15);
      head = await node.publicClient.getBlockNumber();
      await indexer.waitForBlock(head);
      const reference = await freshState(node.publicClient, d, head);
      expect(indexer.state.digest()).to.equal(reference.digest());
      expect(indexer.status.phase).to.equal("follow");
      await indexer.stop();

      // The store holds the same positions as the reference.
      const loaded = await store.loadState();
      expect(loaded.checkpoint!.blockNumber).to.equal(head);
      const rows = new Map(loaded.positions.map((p) => [`${p.account}|${p.asset}`, p]));
      let n = 0;
      for (const [acct, m] of reference.accounts) {
        for (const [asset, p] of m) {
          if (p.scaledCollateral === 0n && p.scaledDebt === 0n) continue;
          const row = rows.get(`${acct}|${asset}`);
          expect(row, `${acct} ${asset}`).to.not.equal(undefined);
          expect(row!.scaledCollateral).to.equal(p.scaledCollateral);
          expect(row!.scaledDebt).to.equal(p.scaledDebt);
          n++;
        }
      }
      expect(n).to.be.greaterThan(3);
      expect(rows.size).to.equal(n);
    });

  for (const kind of ["pglite", "postgres"] as const)
    it(`[${kind}] rolls back a reorg to the common ancestor and converges to the fresh-index digest`, async () => {
      const store = await storeOf(kind);
      const indexer = makeIndexer(node.publicClient, store, d, { finalityDepth: 32 });
      await indexer.start();
      await indexer.waitForBlock(await node.publicClient.getBlockNumber());

      const snap = await node.rpc<string>("evm_snapshot");
      await activity(3, 4); // branch A
      const headA = await node.publicClient.getBlockNumber();
      await indexer.waitForBlock(headA);
      const digestA = indexer.state.digest();

      await node.rpc("evm_revert", [snap]);
      await activity(4, 8); // branch B: different actions, longer
      while ((await node.publicClient.getBlockNumber()) <= headA) await node.rpc("evm_mine");
      const headB = await node.publicClient.getBlockNumber();
      expect(headB > headA).to.equal(true);
      await waitFor(() => indexer.status.reorgs >= 1 && indexer.status.cursor >= headB, 30_000, "reorg handled");
      const reference = await freshState(node.publicClient, d, headB);
      expect(indexer.state.digest()).to.equal(reference.digest());
      expect(indexer.state.digest()).to.not.equal(digestA);
      await indexer.stop();

      // A restart from the checkpoint taken after the reorg gives the same state.
      const again = makeIndexer(node.publicClient, store, d, { finalityDepth: 32 });
      await again.start();
      await again.waitForBlock(headB);
      expect(again.state.digest()).to.equal(reference.digest());
      await again.stop();
    });

  it("stops with a clear error on a reorg deeper than the finality depth", async () => {
    const store = await memStore();
    const indexer = makeIndexer(node.publicClient, store, d, { finalityDepth: 2 });
    await indexer.start();
    await indexer.waitForBlock(await node.publicClient.getBlockNumber());
    const snap = await node.rpc<string>("evm_snapshot");
    for (let i = 0; i < 5; i++) await node.rpc("evm_mine");
    await indexer.waitForBlock(await node.publicClient.getBlockNumber());
    await node.rpc("evm_revert", [snap]);
    await setPrice(ctx, "WETH", "3100");
    for (let i = 0; i < 7; i++) await node.rpc("evm_mine");
    await waitFor(() => indexer.status.phase === "failed", 30_000, "deep reorg detected");
    expect(indexer.status.fatalError).to.match(/deeper than the finality depth \(2 blocks\)/);
    expect(indexer.isReady().ready).to.equal(false);
    await indexer.stop();
  });

  it("resumes after a stop mid-backfill from its PGlite checkpoint and converges", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-sync-"));
    const head = await node.publicClient.getBlockNumber();
    let store = await openStore({ dataDir: dir });
    const first = makeIndexer(node.publicClient, store, d, { range: { initial: 2, max: 2 } });
    let batches = 0;
    const stopped = new Promise<void>((resolve) =>
      first.on("batch", () => {
        if (++batches === 5) resolve();
      }),
    );
    await first.start();
    await stopped;
    await first.stop();
    const partial = first.status.cursor;
    expect(partial < head).to.equal(true);
    await store.close();

    store = await openStore({ dataDir: dir });
    stores.push(store);
    const second = makeIndexer(node.publicClient, store, d, { range: { initial: 2, max: 2 } });
    await second.start();
    expect(second.status.cursor >= partial).to.equal(true);
    await second.waitForBlock(head);
    expect(second.state.digest()).to.equal((await freshState(node.publicClient, d, second.status.cursor)).digest());
    await second.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("stores the state digest in every checkpoint and refuses to resume from rows that do not rebuild to it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-sync-digest-"));
    const head = await node.publicClient.getBlockNumber();
    let store = await openStore({ dataDir: dir });
    const first = makeIndexer(node.publicClient, store, d);
    await first.start();
    await first.waitForBlock(head);
    await first.stop();
    const loaded = await store.loadState();
    expect(loaded.checkpoint!.digest).to.equal(first.state.digest());
    expect(loaded.checkpoint!.digest).to.equal((await freshState(node.publicClient, d, first.status.cursor)).digest());
    // One wei of collateral changed behind marginwatch's back, the checkpoint left as it was.
    const p = loaded.positions.find((x) => x.scaledCollateral > 0n)!;
    await store.commitBatch({
      checkpoint: loaded.checkpoint!,
      assets: [],
      feeds: [],
      positions: [{ ...p, scaledCollateral: p.scaledCollateral + 1n }],
      liquidations: [],
      badDebt: [],
      oracleRounds: [],
      accountHealth: [],
    });
    await store.close();

    store = await openStore({ dataDir: dir });
    stores.push(store);
    const second = makeIndexer(node.publicClient, store, d);
    const refused = await second.start().then(
      () => null,
      (e: Error) => e,
    );
    expect(refused?.message).to.match(/has state digest [0-9a-f]{64}, but its rows rebuild to [0-9a-f]{64}/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("shrinks its range on provider range errors and survives an RPC outage (unready meanwhile)", async () => {
    const proxy = await startRpcProxy(node.url);
    try {
      proxy.maxLogRange = 3;
      const client = createPublicClient({ chain: hardhat, transport: http(proxy.url, { retryCount: 0, timeout: 2_000 }) }) as PublicClient;
      const store = await memStore();
      const indexer = makeIndexer(client, store, d, { range: { initial: 64, max: 64 }, pollIntervalMs: 30 });
      await indexer.start();
      const head = await node.publicClient.getBlockNumber();
      await indexer.waitForBlock(head);
      expect(proxy.rangeErrors).to.be.greaterThan(0);
      await waitFor(() => indexer.isReady().ready, 10_000, "ready");

      proxy.mode = "down";
      await activity(5, 6);
      await waitFor(() => !indexer.isReady().ready, 10_000, "unready during the outage");
      expect(indexer.isReady().reason).to.match(/RPC failing/);
      proxy.mode = "up";
      const head2 = await node.publicClient.getBlockNumber();
      await indexer.waitForBlock(head2);
      await waitFor(() => indexer.isReady().ready, 10_000, "ready again");
      expect(indexer.state.digest()).to.equal((await freshState(node.publicClient, d, head2)).digest());
      await indexer.stop();
    } finally {
      await proxy.close();
    }
  });
});
