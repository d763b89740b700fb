// The sweep worker (indexer/health/sweep-thread.ts): an engine sharing its price sweeps and its exact confirmations
// (exact-job.ts) with a worker thread must report exactly what an engine alone reports — every update, every HF,
// the liquidatable and unknown sets — through single and multi-asset price moves, stale feeds, position edits and
// time, on both protocols' math (Aave's efficiency-mode categories, balances beyond 128 bits); a worker that is gone
// must not be waited for; and an engine whose worker claimed part of a job and then stopped answering, or failed to
// load the protocol's math, must recover on its own thread with the same result.
import path from "node:path";
import { expect } from "chai";
import { ExactContext, isLiquidatable } from "../../indexer/health/exact";
import { HealthEngine } from "../../indexer/health/engine";
import { buildSyntheticPopulation, feedPrices, seededRandom, type SyntheticPopulation } from "../../indexer/health/synthetic";
import type { Address, PriceInfo } from "../../indexer/health/types";
import { aaveV3 } from "../../protocols/aave-v3";
import { marginpool } from "../../protocols/marginpool";
import type { ProtocolMath } from "../../protocols/types";

/** Waits (the event loop turning: the worker's ready message) until the engine's worker is on. */
async function workerOn(engine: HealthEngine): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (engine.sweepWorker().state !== "on") {
    if (Date.now() > deadline) throw new Error(`sweep worker not on after 30 s: ${JSON.stringify(engine.sweepWorker())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Two engines over one population and the same prices: one shares sweeps of ≥ 1 000 holders, one never does. */
function pair(pop: SyntheticPopulation, math: ProtocolMath = marginpool.math) {
  const shared = new HealthEngine(pop.state, math, { sweepWorkerMinHolders: 1_000 });
  const alone = new HealthEngine(pop.state, math, { sweepWorkerMinHolders: Infinity });
  const prices = new Map<Address, PriceInfo>();
  const setPrice = (asset: Address, info: PriceInfo) => {
    prices.set(asset, info);
    shared.setPrice(asset, info);
    alone.setPrice(asset, info);
  };
  feedPrices(pop, { setPrice });
  const move = (asset: Address, factor: number) => {
    const p = prices.get(asset)!;
    setPrice(asset, { price: BigInt(Math.round(Number(p.price) * factor)), status: p.status });
  };
  const evaluate = (now: bigint, block: bigint, what: string) => {
    const a = shared.evaluate(now, block);
    const b = alone.evaluate(now, block);
    expect(a, `update after ${what}`).to.deep.equal(b);
    expect(shared.liquidatable(), `liquidatable after ${what}`).to.deep.equal(alone.liquidatable());
    expect(shared.unknown(), `unknown after ${what}`).to.deep.equal(alone.unknown());
    return a;
  };
  return { shared, alone, prices, setPrice, move, evaluate };
}

describe("health engine: sweep worker", function () {
  this.timeout(120_000);
  const pop = buildSyntheticPopulation({ accounts: 40_000, assets: 6, seed: 5 });
  const rand = seededRandom(17);

  it("shares sweeps and reports exactly what one thread does", async () => {
    const { shared, alone, prices, setPrice, move, evaluate } = pair(pop);
    let now = pop.now;
    let block = 1n;
    evaluate(now, block, "the first evaluate");
    expect(shared.sweepWorker().state).to.equal("starting"); // started by the first sweep big enough, not waited for
    await workerOn(shared);
    expect(alone.sweepWorker()).to.deep.equal({ state: "off", shared: 0, exactShared: 0, gaveUp: false });

    const steps = ["move", "move", "move", "two", "move", "stale", "move", "fresh", "edit", "move", "time", "move", "move"];
    let changes = 0;
    for (const step of steps) {
      now += 12n;
      block++;
      const asset = pop.assets[Math.floor(rand() * pop.assets.length)]!;
      if (step === "move") move(asset, 1 + (rand() < 0.5 ? -1 : 1) * (0.01 + rand() * 0.05));
      else if (step === "two") {
        move(pop.assets[0]!, 0.96);
        move(pop.assets[2]!, 1.03);
      } else if (step === "stale") setPrice(pop.assets[1]!, { ...prices.get(pop.assets[1]!)!, status: "stale" });
      else if (step === "fresh") setPrice(pop.assets[1]!, { ...prices.get(pop.assets[1]!)!, status: "fresh" });
      else if (step === "time") now += 2n * 86_400n;
      else if (step === "edit") {
        const touched = [...pop.state.accounts.keys()].filter(() => rand() < 0.01);
        for (const account of touched) {
          const pos = [...pop.state.accounts.get(account)!.values()].find((p) => p.scaledDebt > 0n);
          if (pos) pos.scaledDebt = (pos.scaledDebt * 11n) / 10n;
        }
        shared.onStateChange({ accounts: touched, assets: [], feeds: [] });
        alone.onStateChange({ accounts: touched, assets: [], feeds: [] });
      }
      const u = evaluate(now, block, step);
      changes += u.liquidatableAdded.length + u.liquidatableRemoved.length + u.crossings.length;
    }
    expect(changes, "the moves changed something to compare").to.be.greaterThan(100);
    const status = shared.sweepWorker();
    expect(status.state).to.equal("on");
    expect(status.gaveUp).to.equal(false);
    // Both threads claim chunks from one counter: a sweep the engine's thread finished before the worker woke was
    // taken back, so not every sweep is shared.
    expect(status.shared, "price sweeps the worker took part in").to.be.greaterThan(0);
    expect(status.exactShared, "batches of exact confirmations it computed part of").to.be.greaterThan(0);

    // And both equal an exact scan of every account.
    const ctx = new ExactContext(pop.state, (a) => prices.get(a), now, marginpool.math);
    const exact = [...pop.state.accounts.keys()]
      .filter((a) => {
        const r = ctx.account(a);
        return !(r.hasDebt && r.unknownAssets.length > 0) && isLiquidatable(r.data);
      })
      .sort();
    expect(shared.liquidatable().map((e) => e.account)).to.deep.equal(exact);
    await shared.close();
    expect(shared.sweepWorker().state).to.equal("off");
  });

  /** The engine's worker thread (internals: the tests below stop it behind the engine's back). */
  type Internals = { sweeper: { thread: SweepThreadInternals } };
  type SweepThreadInternals = {
    worker: { terminate(): Promise<number>; postMessage(m: unknown): void };
    control: Int32Array;
    start(...args: unknown[]): void;
    startExact(...args: unknown[]): void;
  };
  const threadOf = (engine: HealthEngine) => (engine as unknown as Internals).sweeper.thread;
  /** The worker's next job of this kind never reaches it, and is marked started as the worker would: a hung worker. */
  const hangOn = (thread: SweepThreadInternals, kind: "start" | "startExact") => {
    const start = thread[kind].bind(thread);
    thread[kind] = (...args: unknown[]) => {
      const post = thread.worker.postMessage;
      thread.worker.postMessage = () => undefined;
      start(...args);
      thread.worker.postMessage = post;
      thread[kind] = start;
      const c = thread.control;
      Atomics.store(c, 0, -Atomics.load(c, 0)); // CTRL.JOB: seq → −seq, "started"
    };
  };

  it("does not wait for a worker that is gone: the engine's thread claims the whole sweep", async () => {
    const { shared, move, evaluate } = pair(pop);
    const now = pop.now;
    evaluate(now, 1n, "the first evaluate");
    await workerOn(shared);
    // Terminated without letting the event loop turn: the engine still believes in its worker and offers it the next
    // sweep, which it never starts; the engine's thread claims every chunk and takes the job back.
    void threadOf(shared).worker.terminate();
    move(pop.assets[0]!, 0.95);
    evaluate(now + 12n, 2n, "a sweep the worker never started");
    expect(shared.sweepWorker().gaveUp).to.equal(false);
    await new Promise((r) => setTimeout(r, 200)); // the exit event
    expect(shared.sweepWorker().state).to.equal("failed");
    move(pop.assets[3]!, 1.04);
    evaluate(now + 24n, 3n, "a move after the worker is gone");
  });

  it("recovers on its own thread when the worker claimed part of a sweep and stopped answering", async () => {
    const { shared, move, evaluate } = pair(pop);
    const now = pop.now;
    evaluate(now, 1n, "the first evaluate");
    await workerOn(shared);
    // The next job never reaches the worker, and is marked started as the worker would mark it: to the engine, a
    // worker that took the job and hung. The engine sweeps everything itself, waits out the timeout, gives the worker
    // up and redoes what a half-pushed chunk could have left (re-summed floats, every holder).
    hangOn(threadOf(shared), "start");
    move(pop.assets[0]!, 0.97);
    evaluate(now + 12n, 2n, "the sweep the worker never answered");
    expect(shared.sweepWorker()).to.include({ state: "failed", gaveUp: true });
    move(pop.assets[3]!, 1.04);
    evaluate(now + 24n, 3n, "a move after the worker is gone");
  });

  it("recovers on its own thread when the worker took a batch of exact confirmations and stopped answering", async () => {
    const { shared, move, evaluate } = pair(pop);
    const now = pop.now;
    evaluate(now, 1n, "the first evaluate");
    await workerOn(shared);
    // The sweep is shared as usual; the exact batch after it never reaches the worker, which looks as if it took it.
    // The engine computes its chunks, waits out the timeout and computes the rest: nothing of the worker is read.
    hangOn(threadOf(shared), "startExact");
    move(pop.assets[0]!, 0.96);
    const u = evaluate(now + 12n, 2n, "the exact batch the worker never answered");
    expect(u.recomputed, "exact confirmations in the batch").to.be.greaterThan(64);
    expect(shared.sweepWorker()).to.include({ state: "failed", gaveUp: true, exactShared: 0 });
    move(pop.assets[3]!, 1.04);
    evaluate(now + 24n, 3n, "a move after the worker is gone");
  });

  it("computes on its own thread when the worker cannot load the protocol's math", async () => {
    // A module without `health`: the worker fails on the batch's message, before claiming any of it.
    const math = { ...marginpool.math, healthModule: path.join(__dirname, "../../indexer/health/sums") };
    const { shared, move, evaluate } = pair(pop, math);
    const now = pop.now;
    evaluate(now, 1n, "the first evaluate");
    await workerOn(shared);
    move(pop.assets[0]!, 0.96);
    const u = evaluate(now + 12n, 2n, "a batch the worker could not compute");
    expect(u.recomputed).to.be.greaterThan(64);
    // It answers a batch it claimed as stopped early and is given up; one the engine's thread finished first is
    // taken back. Either way no figure of its comes in, and the updates equal the engine alone.
    move(pop.assets[3]!, 1.04);
    evaluate(now + 24n, 3n, "a move after the failed batch");
    move(pop.assets[1]!, 0.95);
    evaluate(now + 36n, 4n, "another");
    expect(shared.sweepWorker().exactShared).to.equal(0);
  });

  it("shares exact confirmations on Aave's math: efficiency-mode categories, balances beyond 128 bits", async () => {
    const aave = buildSyntheticPopulation({ accounts: 30_000, assets: 6, seed: 9 });
    const { state } = aave;
    // Assets 0 and 1 form category 1 (LT 93%); a third of the accounts chose it. Aave counts collateral by flag.
    state.categories.set(1, {
      category: 1,
      ltvBps: 9_000n,
      liquidationThresholdBps: 9_300n,
      liquidationBonusBps: 10_100n,
      priceSource: `0x${"0".repeat(40)}`,
      label: "correlated",
    });
    for (const k of [0, 1]) state.assets.get(aave.assets[k]!)!.category = 1;
    let i = 0;
    for (const [account, positions] of state.accounts) {
      for (const p of positions.values()) p.collateralFlag = p.scaledCollateral > 0n;
      if (i++ % 3 === 0) state.accountCategories.set(account, 1);
    }
    // Accounts whose balances need more than 128 bits, just above HF 1: a 10% drop of asset 2 makes them liquidatable.
    const priceOf = (a: Address): PriceInfo | undefined => {
      const v = aave.prices.get(a);
      return v === undefined ? undefined : { price: v, status: "fresh" };
    };
    const wide: Address[] = [];
    for (let w = 0; w < 3; w++) {
      const account = `0x${"b16".padEnd(38, "0")}${w.toString(16).padStart(2, "0")}` as Address;
      const collateral = (1n << 130n) + BigInt(w) * 977n;
      const probeDebt = 1n << 129n;
      const positions = new Map([
        [aave.assets[2]!, { scaledCollateral: collateral, scaledDebt: 0n, collateralFlag: true }],
        [aave.assets[3]!, { scaledCollateral: 0n, scaledDebt: probeDebt }],
      ]);
      state.accounts.set(account, positions);
      const hf0 = new ExactContext(state, priceOf, aave.now, aaveV3.math).account(account).data.healthFactor;
      positions.get(aave.assets[3]!)!.scaledDebt = (probeDebt * hf0) / (102n * 10n ** 16n) + BigInt(w);
      wide.push(account);
    }
    const { shared, prices, move, evaluate } = pair(aave, aaveV3.math);
    let now = aave.now;
    evaluate(now, 1n, "the first evaluate");
    await workerOn(shared);
    // Deep moves: batches of hundreds, long enough for the worker to join each whatever its wake-up.
    const steps: Array<[number, number]> = [
      [2, 0.9],
      [0, 0.9],
      [1, 1.1],
      [2, 1.12],
      [4, 0.88],
      [0, 1.1],
    ];
    let block = 1n;
    let recomputed = 0;
    for (const [k, factor] of steps) {
      now += 12n;
      move(aave.assets[k]!, factor);
      recomputed += evaluate(now, ++block, `asset ${k} × ${factor}`).recomputed;
      if (k === 2 && factor < 1) {
        const liq = new Map(shared.liquidatable().map((e) => [e.account, e.healthFactor]));
        for (const a of wide) expect(liq.has(a), `${a} (balances beyond 128 bits) liquidatable`).to.equal(true);
      }
    }
    expect(recomputed).to.be.greaterThan(1_000);
    expect(shared.sweepWorker()).to.include({ state: "on", gaveUp: false });
    expect(shared.sweepWorker().exactShared).to.be.greaterThan(0);
    // Every HF computed at this block (an entry keeps the HF of the block it names) is the exact one, categories
    // included.
    const ctx = new ExactContext(state, (a) => prices.get(a), now, aaveV3.math);
    const fresh = shared.liquidatable().filter((e) => e.computedAt === block);
    expect(fresh.length, "entries confirmed at the last block").to.be.greaterThan(10);
    for (const e of fresh) expect(e.healthFactor, e.account).to.equal(ctx.account(e.account).data.healthFactor);
    const exact = [...state.accounts.keys()].filter((a) => isLiquidatable(ctx.account(a).data)).sort();
    expect(shared.liquidatable().map((e) => e.account)).to.deep.equal(exact);
    await shared.close();
  });
});
