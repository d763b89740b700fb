// Keeper throughput: a queue full of liquidatable accounts, drained by one worker on one signer, then by several
// workers on one signer (shared nonce stream through the Redis lock) and on different signers. Each setup starts
// from the same chain snapshot. Automine: the figure is the keeper's own pace, not the block time.
import { openStore, MEMORY } from "../indexer/store";
import { LiquidationProducer, type Opportunity } from "../keeper/producer";
import { sendPrice, seedBorrowers, startBenchChain, type BenchChain } from "./chain";
import { dropPrefix, fundSigners, REDIS, settle, startBenchKeeper, uniqueQueue, type BenchKeeper } from "./keepers";
import { BASE_WETH } from "./population";
import { emit, note } from "./report";

interface Setup {
  label: string;
  /** signer index per worker */
  signers: number[];
  concurrency: number;
}

const SETUPS: Setup[] = [
  { label: "1_worker_1_signer_c1", signers: [2], concurrency: 1 },
  { label: "1_worker_1_signer_c4", signers: [2], concurrency: 4 },
  { label: "3_workers_same_signer", signers: [2, 2, 2], concurrency: 2 },
  { label: "3_workers_3_signers", signers: [2, 3, 4], concurrency: 2 },
];

export async function keeperThroughput(port: number, accounts: number): Promise<void> {
  const store = await openStore({ dataDir: MEMORY });
  await settle();
  let chain: BenchChain | null = null;
  try {
    const t = performance.now();
    chain = await startBenchChain(port);
    await seedBorrowers(chain, {
      count: accounts,
      hf: (i) => 1.04 + (0.06 * i) / accounts,
      collateral: () => "WETH",
      debt: () => "USDC",
      sizeUsd: () => 20_000,
    });
    await fundSigners(chain, [2, 3, 4]);
    // −13%: every borrower under HF 0.95, so each liquidation may repay all of its debt in one go.
    await chain.node.publicClient.waitForTransactionReceipt({ hash: await sendPrice(chain, "WETH", BASE_WETH * 0.87) });
    const since = await chain.node.publicClient.getBlockNumber();
    note(`throughput: ${accounts} liquidatable borrowers ready in ${Math.round(performance.now() - t)} ms`);
    let snap = await chain.node.rpc<string>("evm_snapshot");

    for (const setup of SETUPS) {
      await chain.node.rpc("evm_revert", [snap]);
      snap = await chain.node.rpc<string>("evm_snapshot");
      await store.reset();
      const queue = uniqueQueue(`tp-${setup.label}`);
      const keepers: BenchKeeper[] = [];
      const producer = new LiquidationProducer({ connection: { ...REDIS }, ...queue });
      try {
        for (const s of setup.signers) keepers.push(await startBenchKeeper(chain, s, queue, { store, config: { concurrency: setup.concurrency } }));
        const opps: Opportunity[] = chain.borrowers.map((b) => ({
          account: b.address,
          healthFactor: 0n,
          since,
          positionVersion: 1,
          status: "liquidatable",
        }));
        const block = await chain.node.publicClient.getBlock();
        const t0 = performance.now();
        await producer.enqueueOpportunities(opps, { blockNumber: block.number, blockHash: block.hash });
        const finished = () => keepers.reduce((s, k) => s + k.finished.length, 0);
        const deadline = Date.now() + 300_000;
        while (finished() < opps.length) {
          if (Date.now() > deadline) throw new Error(`throughput ${setup.label}: ${finished()}/${opps.length} jobs in 300 s`);
          await new Promise((r) => setTimeout(r, 10));
        }
        const all = keepers.flatMap((k) => k.finished);
        const ms = Math.max(...all.map((f) => f.at)) - t0;
        const outcomes = new Map<string, number>();
        for (const f of all) {
          const o = f.result?.outcome ?? "failed";
          outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
        }
        const liquidated = outcomes.get("liquidated") ?? 0;
        emit(`throughput.${setup.label}.liquidations_per_s`, (liquidated / ms) * 1000, "liq/s", {
          workers: setup.signers.length,
          signers: new Set(setup.signers).size,
          concurrency: setup.concurrency,
          jobs: opps.length,
          liquidated,
          outcomes: [...outcomes].map(([k, v]) => `${k}:${v}`).join(","),
          ms: Math.round(ms),
          mining: "automine",
        });
        note(`throughput ${setup.label}: ${liquidated}/${opps.length} liquidated in ${Math.round(ms)} ms`);
      } finally {
        for (const k of keepers) await k.stop();
        await producer.close();
        await dropPrefix(queue.prefix);
      }
    }
  } finally {
    await chain?.stop();
    await store.close();
  }
}
