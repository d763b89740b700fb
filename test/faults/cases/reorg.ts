// Reorgs under a spawned `start` (indexer + API + keeper + alerts) on a Hardhat node: evm_snapshot / evm_revert
// and a different, longer branch, 1–3 blocks deep and at the finality depth, touching positions and prices; a
// liquidation opportunity that exists only on the orphaned branch; a reorg deeper than finality.
import { expect } from "chai";
import type { Hex } from "viem";
import {
  baseEnv,
  captureApi,
  Cli,
  convergence,
  fault,
  freshDb,
  freshKey,
  freshPrefix,
  PORTS,
  request,
  sleep,
  status,
  txAccounting,
  until,
  waitCursor,
  waitHealthy,
  world,
  type Db,
  type World,
} from "../harness";
import { startChaosProxy, type ChaosProxy, type RpcCall } from "../chaos-proxy";

const API = `http://127.0.0.1:${PORTS.api.reorg}`;
const FINALITY = 4;

export function reorgCases(): void {
  describe("reorgs under `start` (indexer + keeper)", function () {
    this.timeout(180_000);
    let w: World;
    let db: Db;
    let proxy: ChaosProxy;
    let cli: Cli;
    let keeper: Hex;
    let keeperFrom: bigint;
    let victim: Hex;

    before(async () => {
      w = await world("reorg");
      // The orphan-liquidation target: HF 1.03 at WETH 3000, 0.96 at 2800.
      victim = await w.openPosition(12, "10", "24000");
      for (const [i, weth, usdc] of [
        [13, "8", "9000"],
        [14, "4", "5000"],
        [15, "12", "20000"],
      ] as const)
        await w.openPosition(i, weth, usdc);
      const key = freshKey();
      keeperFrom = await w.chain.head();
      keeper = await w.fundKeeper(key);
      db = await freshDb("reorg");
      proxy = await startChaosProxy(w.chain.url, PORTS.proxy.reorg);
      cli = new Cli("reorg-start", ["start"], {
        ...baseEnv({ apiPort: PORTS.api.reorg, rpcUrl: proxy.url, deploymentFile: w.file, databaseUrl: db.url, prefix: freshPrefix("reorg"), key }),
        FINALITY_DEPTH: String(FINALITY),
      });
      await cli.waitFor(/keeper started/, 120_000);
      await waitHealthy(API, cli);
      await waitCursor(API, await w.chain.head(), 60_000, cli);
    });

    after(async () => {
      if (cli?.alive) await captureApi(API);
      await cli?.stop();
      await proxy?.close();
    });

    /** Branch A (`a` steps) is indexed, then replaced by a longer branch B (`b` steps, at least a + 1 blocks). */
    async function reorg(a: Array<() => Promise<unknown>>, b: Array<() => Promise<unknown>>): Promise<{ depth: number }> {
      await waitCursor(API, await w.chain.head(), 30_000, cli);
      const before = await status(API);
      const snap = await w.chain.rpc<string>("evm_snapshot");
      const base = await w.chain.head();
      for (const step of a) await step();
      const headA = await w.chain.head();
      await waitCursor(API, headA, 30_000, cli);
      await w.chain.rpc("evm_revert", [snap]);
      for (const step of b) await step();
      while ((await w.chain.head()) <= headA) await w.chain.mine();
      const headB = await w.chain.head();
      await until(
        "the reorg handled",
        async () => {
          const s = await status(API);
          return s.reorgs > before.reorgs && BigInt(s.blockNumber) >= headB && s.phase === "follow" ? s : undefined;
        },
        30_000,
      );
      return { depth: Number(headA - base) };
    }

    it("shallow reorgs (1, 2 and 3 blocks) touching positions and prices: the store converges to the fresh rebuild", async () => {
      for (const depth of [1, 2, 3]) {
        await fault("reorg", `${depth}-block reorg (positions + prices)`, async (f) => {
          // One transaction (one block) per step on the orphaned branch.
          const a = [() => w.borrow(13, "USDC", "200"), () => w.setPrice("WETH", "3080"), () => w.borrow(14, "USDC", "300")].slice(0, depth);
          const b = [
            () => w.borrow(13, "USDC", "700"),
            () => w.setPrice("WBTC", "61000"),
            () => w.deposit(15, "DAI", "500"),
            () => w.setPrice("WETH", "3020"),
          ].slice(0, depth + 1);
          const r = await reorg(a, b);
          expect(r.depth).to.equal(depth);
          const c = await convergence(db, w);
          f.lost(c.positionDiffs, "positions");
          expect(c.stored).to.equal(c.fresh);
          expect(c.positionDiffs).to.equal(0);
        });
      }
    });

    it(`a reorg as deep as the finality depth (${FINALITY} blocks): rolled back and replayed, still ready`, async () => {
      await fault("reorg", `${FINALITY}-block reorg (= finality depth)`, async (f) => {
        const a = [
          () => w.borrow(14, "USDC", "250"),
          () => w.setPrice("WBTC", "59000"),
          () => w.borrow(15, "USDC", "900"),
          () => w.setPrice("WETH", "3060"),
        ];
        const b = [
          () => w.setPrice("WETH", "3010"),
          () => w.deposit(13, "DAI", "100"),
          () => w.borrow(14, "USDC", "100"),
          () => w.setPrice("WBTC", "62000"),
          () => w.chain.mine(2),
        ];
        const r = await reorg(a, b);
        expect(r.depth).to.equal(FINALITY);
        expect(cli.logs().some((l) => l.msg === "chain reorganised; rolled back to the common ancestor" && l.depth === FINALITY)).to.equal(true);
        await until("ready", async () => (await request(`${API}/readyz`)).status === 200, 10_000);
        const c = await convergence(db, w);
        f.lost(c.positionDiffs, "positions");
        expect(c.stored).to.equal(c.fresh);
        expect(c.positionDiffs).to.equal(0);
      });
    });

    it("a liquidation opportunity that exists only on the orphaned branch: the job re-checks on the canonical chain and ends already-healthy, nothing sent", async () => {
      await fault("reorg", "liquidation opportunity on an orphaned branch", async (f) => {
        await until("approvals done", async () => (await txAccounting(w.chain, keeper, keeperFrom)).mined >= 2, 30_000);
        const accBefore = await txAccounting(w.chain, keeper, keeperFrom);
        // The worker's first pool read for the victim (its on-chain re-check) is held until the reorg is over.
        const needle = victim.slice(2).toLowerCase();
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        let held: RpcCall | null = null;
        const heldSeen = new Promise<void>((resolve) => {
          proxy.before = async (call): Promise<"forward"> => {
            const tx = (call.params?.[0] ?? {}) as { to?: string; data?: string; input?: string };
            // The keeper reads by block number; the auditor's reads name a block hash and are let through.
            const byNumber = typeof call.params?.[1] === "string";
            if (
              !held &&
              byNumber &&
              call.method === "eth_call" &&
              tx.to?.toLowerCase() === w.d.pool &&
              String(tx.data ?? tx.input ?? "")
                .toLowerCase()
                .includes(needle)
            ) {
              held = call;
              resolve();
              await released;
            }
            return "forward";
          };
        });
        const snap = await w.chain.rpc<string>("evm_snapshot");
        await w.setPrice("WETH", "2800"); // victim HF 0.96 on this branch only
        const headA = await w.chain.head();
        await Promise.race([
          heldSeen,
          sleep(30_000).then(() => {
            throw new Error("no liquidation job reached the chain re-check");
          }),
        ]);
        const reorgs = (await status(API)).reorgs;
        await w.chain.rpc("evm_revert", [snap]);
        await w.setPrice("WBTC", "60500");
        while ((await w.chain.head()) <= headA + 1n) await w.chain.mine();
        await until("the reorg handled", async () => (await status(API)).reorgs > reorgs, 30_000);
        release();
        proxy.before = null;
        const outcome = await until(
          "the job's outcome row",
          async () => {
            const r = await request(`${API}/v1/keeper/outcomes?account=${victim}`);
            return r.status === 200 && r.body.outcomes.length ? r.body.outcomes : undefined;
          },
          30_000,
        );
        expect(outcome.map((o: { outcome: string }) => o.outcome)).to.deep.equal(["already-healthy"]);
        await w.chain.mine(3);
        await sleep(1_000);
        const events = await w.liquidations(undefined, victim);
        const acc = await txAccounting(w.chain, keeper, keeperFrom);
        f.lost(events.length, "liquidations on the canonical chain from an orphaned opportunity");
        expect(events.length).to.equal(0);
        expect(acc.mined).to.equal(accBefore.mined);
        expect(acc.nonce).to.equal(acc.mined);
        expect(acc.pending).to.equal(acc.nonce);

        // Control: the same price move on the canonical chain is liquidated once, by this keeper.
        await w.setPrice("WETH", "2800");
        const ev = await until(
          "the canonical opportunity liquidated",
          async () => {
            const e = await w.liquidations(undefined, victim);
            return e.length ? e : undefined;
          },
          30_000,
        );
        await w.chain.mine(2);
        expect((await w.liquidations(undefined, victim)).length).to.equal(1);
        expect(ev[0]!.liquidator).to.equal(keeper);
        const after = await txAccounting(w.chain, keeper, keeperFrom);
        expect(after.mined).to.equal(accBefore.mined + 1);
        expect(after.nonce).to.equal(after.mined);
        const c = await convergence(db, w);
        expect(c.stored).to.equal(c.fresh);
      });
    });

    it("a reorg deeper than the finality depth is reported loudly (/readyz 503 naming it, error logged), never absorbed", async () => {
      await fault("reorg", `reorg deeper than finality (${FINALITY + 2} blocks)`, async () => {
        await waitCursor(API, await w.chain.head(), 30_000, cli);
        const snap = await w.chain.rpc<string>("evm_snapshot");
        for (let i = 0; i < FINALITY + 2; i++) await w.setPrice("WBTC", String(60_000 + i));
        await waitCursor(API, await w.chain.head(), 30_000, cli);
        const headA = await w.chain.head();
        await w.chain.rpc("evm_revert", [snap]);
        await w.setPrice("WETH", "3033");
        while ((await w.chain.head()) <= headA + 1n) await w.chain.mine();
        const r = await until(
          "/readyz 503 with the reason",
          async () => {
            const res = await request(`${API}/readyz`);
            return res.status === 503 ? res : undefined;
          },
          30_000,
        );
        expect(r.body.message).to.match(/deeper than the finality depth/);
        await cli.waitFor(/indexer stopped on a fatal error/, 10_000);
        expect(cli.alive).to.equal(true);
      });
    });
  });
}
