// The indexer held behind the head: `start` behind an RPC proxy that stops answering while the market moves on (a
// price crash makes an account liquidatable, blocks pile up past the finality depth), then answers again. While held,
// the API keeps serving the last published block, exact at its stamp; during the catch-up every answer is priced at
// its own block; and the liquidation that became possible in the gap is enqueued and executed.
import { expect } from "chai";
import type { Hex } from "viem";
import { marginPoolAbi } from "../../../protocols/marginpool/generated/abis";
import {
  baseEnv,
  captureApi,
  Cli,
  fault,
  freshDb,
  freshKey,
  freshPrefix,
  PORTS,
  request,
  status,
  until,
  waitCursor,
  waitHealthy,
  world,
  type World,
} from "../harness";
import { startChaosProxy, type ChaosProxy } from "../chaos-proxy";

const API = `http://127.0.0.1:${PORTS.api.behind}`;
const FINALITY = 4;

export function behindCases(): void {
  describe("held behind the head (`start` behind an RPC that stops answering)", function () {
    this.timeout(180_000);
    let w: World;
    let proxy: ChaosProxy;
    let cli: Cli;
    let victim: Hex;

    before(async () => {
      w = await world("behind");
      // HF 1.03 at WETH 3000, 0.96 at 2800.
      victim = await w.openPosition(16, "10", "24000");
      const key = freshKey();
      await w.fundKeeper(key);
      const db = await freshDb("behind");
      proxy = await startChaosProxy(w.chain.url, PORTS.proxy.behind);
      cli = new Cli("behind-start", ["start"], {
        ...baseEnv({ apiPort: PORTS.api.behind, rpcUrl: proxy.url, deploymentFile: w.file, databaseUrl: db.url, prefix: freshPrefix("behind"), key }),
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

    it("a liquidation possible only in the gap is enqueued and executed after the catch-up; every answer is exact at its stamp", async () => {
      await fault("rpc-outage", `indexer held ${FINALITY * 4} blocks behind, then released`, async (f) => {
        const heldAt = BigInt((await status(API)).blockNumber);
        proxy.mode = "hang";
        await w.setPrice("WETH", "2800");
        for (let i = 0; i < FINALITY * 4; i++) await w.chain.mine();
        const head = await w.chain.head();
        // Held: the API still answers for the last published block, and that answer is the chain's at that block.
        const held = await request(`${API}/v1/accounts/${victim}`);
        expect(held.status).to.equal(200);
        const heldBlock = BigInt(held.body.blockNumber);
        expect(heldBlock <= heldAt + 1n, `stamped ${heldBlock}, held at ${heldAt}`).to.equal(true);
        expect(held.body.healthFactorWad).to.equal(String(await hfAt(w, victim, heldBlock)));
        expect(held.body.status).to.not.equal("liquidatable");

        proxy.mode = "up";
        // Catch-up: sample cards and oracle readings as they change; each must be exact at its own stamp.
        const seen: Array<{ block: bigint; hf: string | null; readAt: string[]; stamp: string }> = [];
        await until(
          "caught up",
          async () => {
            const [card, oracles] = await Promise.all([request(`${API}/v1/accounts/${victim}`), request(`${API}/v1/oracles`)]);
            if (card.status === 200 && oracles.status === 200) {
              seen.push({
                block: BigInt(card.body.blockNumber),
                hf: card.body.healthFactorWad,
                readAt: oracles.body.feeds.map((x: { readAtBlock: string }) => x.readAtBlock),
                stamp: oracles.body.blockNumber,
              });
            }
            return BigInt((await status(API)).blockNumber) >= head ? true : undefined;
          },
          60_000,
          20,
        );
        for (const s of seen) {
          expect(
            s.readAt.every((b) => b === s.stamp),
            `oracle readings at ${s.readAt} for stamp ${s.stamp}`,
          ).to.equal(true);
          expect(s.hf, `card at ${s.block}`).to.equal(String(await hfAt(w, victim, s.block)));
        }
        // The opportunity that opened in the gap: enqueued and executed by the keeper.
        const done = await until(
          "the victim liquidated",
          async () => {
            const r = await request(`${API}/v1/keeper/outcomes?account=${victim}`);
            return r.status === 200 ? r.body.outcomes.find((o: { outcome: string }) => o.outcome === "liquidated") : undefined;
          },
          60_000,
          250,
        );
        expect(done.transactionHash).to.match(/^0x[0-9a-f]{64}$/);
        expect((await w.liquidations(heldAt, victim)).length).to.equal(1);
        f.survived(`${seen.length} answers during the catch-up, each exact at its stamp; liquidated in ${done.transactionHash.slice(0, 10)}…`);
      });
    });
  });
}

async function hfAt(w: World, account: Hex, block: bigint): Promise<bigint> {
  return w.ctx.publicClient.readContract({
    address: w.d.pool as Hex,
    abi: marginPoolAbi,
    functionName: "healthFactor",
    args: [account],
    blockNumber: block,
  });
}
