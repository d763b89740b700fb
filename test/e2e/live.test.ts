// For every protocol adapter, under a live market, through the real app (`startApp`, what `npm start` runs): the simulation moves prices (a
// crash, a feed missing its heartbeat and recovering), borrowers act, the keeper liquidates, and the test mines
// bursts of blocks deeper than the finality depth so the indexer catches up by ranges — while four clients query
// account cards and oracle readings. Every answer is then checked against the protocol's own views at the block it
// is stamped with: it must be equal, every time.
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { createPublicClient, http, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import { loadConfig } from "../../common/config";
import { startApp, type App } from "../../cli/app";
import { PROTOCOLS } from "../../protocols";
import type { PoolAnswer, RpcRequester } from "../../protocols/types";
import { liquidationJobId } from "../../keeper/job";
import type { PublishedView } from "../../indexer/snapshot";
import { waitFor } from "../fixtures/indexer";

/** One embedded chain per protocol adapter (8592 belongs to another suite). */
const CHAIN_PORTS = [8590, 8594, 8596, 8598];
const SAMPLES = 1_200;

interface CardSample {
  kind: "card";
  block: bigint;
  account: `0x${string}`;
  healthFactorWad: string | null;
  status: string;
  collateral: string;
  debt: string;
  unknownAssets: string[];
}

interface OracleSample {
  kind: "oracle";
  block: bigint;
  asset: `0x${string}`;
  symbol: string;
  price: string | null;
  status: string;
  readAtBlock: string | null;
}

type Sample = CardSample | OracleSample;

// biome-ignore lint/suspicious/noExplicitAny: the test reads JSON bodies of several routes without declaring their shape
async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

for (const [n, protocol] of PROTOCOLS.entries()) {
  const CHAIN_PORT = CHAIN_PORTS[n]!;
  describe(`live market (${protocol.name}): every card and oracle reading equals the chain at its stamped block`, function () {
    this.timeout(300_000);
    let app: App;
    let client: PublicClient;
    let dataDir: string;
    const published = new Map<bigint, PublishedView["kind"]>();

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-live-"));
      const config = loadConfig(
        {},
        { DATA_DIR: dataDir, API_PORT: 0, CHAIN_PORT, PROTOCOL: protocol.name, SIM_BORROWERS: 40, SIM_TICK_MS: 250, LOG_LEVEL: "silent" },
      );
      app = await startApp(config, { logger: pino({ level: "silent" }), env: {} });
      client = createPublicClient({
        chain: hardhat,
        transport: http(`http://127.0.0.1:${CHAIN_PORT}`, { batch: { batchSize: 50 } }),
        cacheTime: 0,
      }) as PublicClient;
      app.indexer.snapshots.on("published", (v: PublishedView) => published.set(v.block.number, v.kind));
    });

    after(async () => {
      await app?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it(`${SAMPLES}+ samples while blocks arrive in bursts deeper than the finality depth: 100% equal`, async () => {
      await waitFor(() => app.indexer.snapshots.current !== null, 60_000, "first publication");
      const accounts = [...app.indexer.state.accounts.keys()];
      expect(accounts.length).to.be.greaterThan(30);
      const samples: Sample[] = [];
      let stop = false;

      // Bursts: 3–7 blocks at once (finality depth 2 on the embedded chain) so the indexer falls behind and catches up.
      const burster = (async () => {
        let i = 0;
        while (!stop) {
          await new Promise((r) => setTimeout(r, 1_500));
          if (stop) break;
          await fetch(`http://127.0.0.1:${CHAIN_PORT}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hardhat_mine", params: [`0x${(3 + (i++ % 5)).toString(16)}`, "0x1"] }),
          });
        }
      })();

      const started = Date.now();
      const client_ = async (seed: number) => {
        let k = seed;
        while (!stop) {
          k = (k * 1103515245 + 12345) % 2 ** 31;
          if (k % 6 === 0) {
            const r = await getJson(`${app.url}/v1/oracles`);
            expect(r.status).to.equal(200);
            for (const f of r.body.feeds) {
              samples.push({
                kind: "oracle",
                block: BigInt(r.body.blockNumber),
                asset: f.asset,
                symbol: f.symbol,
                price: f.price,
                status: f.status,
                readAtBlock: f.readAtBlock,
              });
            }
          } else {
            const account = accounts[k % accounts.length]!;
            const r = await getJson(`${app.url}/v1/accounts/${account}`);
            expect(r.status, JSON.stringify(r.body)).to.equal(200);
            samples.push({
              kind: "card",
              block: BigInt(r.body.blockNumber),
              account,
              healthFactorWad: r.body.healthFactorWad,
              status: r.body.status,
              collateral: r.body.base.totalCollateralBase,
              debt: r.body.base.totalDebtBase,
              unknownAssets: r.body.unknownAssets,
            });
          }
          // Fast until enough samples, then slow: the run goes on only until the market has shown a stale feed recover.
          await new Promise((r) => setTimeout(r, samples.length >= SAMPLES ? 250 : 10));
        }
      };
      const clients = [1, 2, 3, 4].map((s) => client_(s));
      const seenStale = () => samples.some((s) => s.kind === "oracle" && s.status === "stale");
      const seenRecovery = () => {
        const firstStale = samples.find((s) => s.kind === "oracle" && s.status === "stale");
        return (
          !!firstStale &&
          samples.some(
            (s) => s.kind === "oracle" && s.symbol === (firstStale as OracleSample).symbol && s.status === "fresh" && s.block > firstStale.block,
          )
        );
      };
      // Keeper liveness: an account liquidatable on fresh prices gets a job within a couple of blocks.
      const noJobSince = new Map<string, bigint>();
      let worstGap = 0n;
      let jobChecks = 0;
      const checkJobs = async () => {
        const open = await app.indexer.snapshots.read((v) => {
          const unusable = new Set(v.unusablePrices);
          return {
            block: v.block.number,
            liq: app.health
              .liquidatable()
              .filter((l) => ![...(app.indexer.state.accounts.get(l.account)?.keys() ?? [])].some((a) => unusable.has(a))),
          };
        });
        const keys = new Set<string>();
        for (const l of open.liq) {
          const id = liquidationJobId(l.account, l.since, l.positionVersion);
          keys.add(id);
          jobChecks++;
          if ((await app.keeper!.producer.queue.getJobState(id)) !== "unknown") {
            noJobSince.delete(id);
            continue;
          }
          const first = noJobSince.get(id) ?? open.block;
          noJobSince.set(id, first);
          if (open.block - first > worstGap) worstGap = open.block - first;
        }
        for (const id of [...noJobSince.keys()]) if (!keys.has(id)) noJobSince.delete(id);
      };
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && !(samples.length >= SAMPLES && seenStale() && seenRecovery() && (app.simulation?.stats.crashes ?? 0) > 0)) {
        await checkJobs();
        await new Promise((r) => setTimeout(r, 250));
      }
      stop = true;
      await Promise.all([burster, ...clients]);
      const sampledMs = Date.now() - started;

      // ---- check every sample against the protocol's own views at its stamped block
      const views = protocol.views;
      const refusesStale = views.refusesStalePrices ?? true;
      const rpc = client as unknown as RpcRequester;
      const mismatches: string[] = [];
      /** A price refusal or another revert: the protocol has no figure. A node failure is the test's problem. */
      const refused = (a: PoolAnswer<unknown>): boolean => {
        if (a.kind === "rpc-error") throw new Error(`RPC failed while checking: ${a.error}`);
        return a.kind !== "value";
      };
      for (let i = 0; i < samples.length; i += 50) {
        await Promise.all(
          samples.slice(i, i + 50).map(async (s) => {
            if (s.kind === "card") {
              const [v] = await views.read(rpc, app.deployment, [s.account], { blockNumber: s.block });
              const { healthFactor: hf, accountData: data } = v!;
              if (refused(hf) || refused(data) || hf.kind !== "value" || data.kind !== "value") {
                // The protocol refuses to price one of the account's assets: marginwatch must say that price is unusable.
                if (s.unknownAssets.length === 0)
                  mismatches.push(`${s.account}@${s.block}: the protocol reverts on a price, card has no unknown asset`);
                return;
              }
              if (!refusesStale && s.unknownAssets.length !== 0) {
                // The protocol prices with the stale answer (Aave V3): marginwatch says unknown (no HF when one is
                // needed), and its sums at that same answer are the protocol's.
                const got = `${s.collateral} ${s.debt} ${s.healthFactorWad === null ? s.status : s.healthFactorWad}`;
                const want = `${data.value.totalCollateralBase} ${data.value.totalDebtBase} ${s.healthFactorWad === null ? "unknown" : hf.value}`;
                if (got !== want) mismatches.push(`${s.account}@${s.block}: stale-priced card ${got} [${s.unknownAssets}] chain ${want}`);
                return;
              }
              const got = `${s.healthFactorWad} ${s.collateral} ${s.debt}`;
              const want = `${hf.value} ${data.value.totalCollateralBase} ${data.value.totalDebtBase}`;
              if (got !== want || s.unknownAssets.length !== 0)
                mismatches.push(`${s.account}@${s.block}: card ${got} [${s.unknownAssets}] chain ${want}`);
            } else {
              if (s.readAtBlock !== s.block.toString()) mismatches.push(`${s.symbol}@${s.block}: read at block ${s.readAtBlock}`);
              const [answer] = await views.prices(rpc, app.deployment, [s.asset], { blockNumber: s.block });
              const price = !refused(answer!) && answer!.kind === "value" ? String(answer!.value) : null;
              // A protocol pricing stale answers gives a price where the reading is stale: the same price.
              const statusOk = price !== null ? s.status === "fresh" || (!refusesStale && s.status === "stale") : s.status !== "fresh";
              if (!statusOk || (price !== null && s.price !== price)) {
                mismatches.push(`${s.symbol}@${s.block}: reading ${s.status} ${s.price} chain ${price ?? "reverts"}`);
              }
            }
          }),
        );
      }

      const cards = samples.filter((s) => s.kind === "card");
      const blocks = new Set(samples.map((s) => s.block));
      const fromRanges = samples.filter((s) => published.get(s.block) === "range").length;
      console.log(
        `      live: ${samples.length} samples (${cards.length} cards, ${samples.length - cards.length} oracle readings) over ${blocks.size} blocks, ` +
          `${fromRanges} stamped by a caught-up range; ${samples.length - mismatches.length} equal, ${mismatches.length} differ; ` +
          `crashes ${app.simulation?.stats.crashes}, heartbeat misses ${app.simulation?.stats.heartbeatMisses}; sampled ${Math.round(sampledMs / 1000)} s, checked ${Math.round((Date.now() - started - sampledMs) / 1000)} s`,
      );
      const failedOnPrice = (await app.keeper!.producer.queue.getFailed()).filter((j) => /price|Stale/i.test(j.failedReason ?? ""));
      console.log(
        `      keeper: ${jobChecks} checks of liquidatable accounts on fresh prices, longest without a job ${worstGap} block(s); ${failedOnPrice.length} jobs failed on a price`,
      );
      expect(mismatches.slice(0, 10)).to.deep.equal([]);
      expect(Number(worstGap), "blocks an account stayed liquidatable on fresh prices with no job").to.be.at.most(2);
      expect(failedOnPrice.map((j) => j.failedReason)).to.deep.equal([]);
      expect(samples.length).to.be.greaterThanOrEqual(SAMPLES);
      expect(seenStale(), "a feed went stale during the run").to.equal(true);
      expect(seenRecovery(), "and recovered").to.equal(true);
      expect(fromRanges, "some answers were stamped by a caught-up range").to.be.greaterThan(0);
      expect(
        cards.some((s) => s.status === "liquidatable") || cards.some((s) => s.status === "unknown"),
        "the market moved accounts to the edge",
      ).to.equal(true);
    });
  });
}
