// The sweep worker (indexer/health/sweep-thread.ts): an engine sharing its price sweeps with a worker thread must
// report exactly what an engine sweeping alone reports — every update, the liquidatable and unknown sets — through
// single and multi-asset price moves, stale feeds, position edits and time; a worker that is gone must not be
// waited for; and an engine whose worker claimed part of a sweep and then stopped answering must recover on its own
// thread with the same result.
import { expect } from "chai";
import { ExactContext, isLiquidatable } from "../../indexer/health/exact";
import { HealthEngine } from "../../indexer/health/engine";
import { buildSyntheticPopulation, feedPrices, seededRandom, type SyntheticPopulation } from "../../indexer/health/synthetic";
import type { Address, PriceInfo } from "../../indexer/health/types";
import { marginpool } from "../../protocols/marginpool";

/** Waits (the event loop turning: the worker's ready message) until the engine's worker is on. */
async function workerOn(engine: HealthEngine): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (engine.sweepWorker().state !== "on") {
    if (Date.now() > deadline) throw new Error(`sweep worker not on after 30 s: ${JSON.stringify(engine.sweepWorker())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Two engines over one population and the same prices: one shares sweeps of ≥ 1 000 holders, one never does. */
function pair(pop: SyntheticPopulation) {
  const shared = new HealthEngine(pop.state, marginpool.math, { sweepWorkerMinHolders: 1_000 });
  const alone = new HealthEngine(pop.state, marginpool.math, { sweepWorkerMinHolders: Infinity });
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
    expect(alone.sweepWorker()).to.deep.equal({ state: "off", shared: 0, gaveUp: false });

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
  };
  const threadOf = (engine: HealthEngine) => (engine as unknown as Internals).sweeper.thread;

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
    const thread = threadOf(shared);
    const start = thread.start.bind(thread);
    thread.start = (...args: unknown[]) => {
      const post = thread.worker.postMessage;
      thread.worker.postMessage = () => undefined;
      start(...args);
      thread.worker.postMessage = post;
      const c = thread.control;
      Atomics.store(c, 0, -Atomics.load(c, 0)); // CTRL.JOB: seq → −seq, "started"
    };
    move(pop.assets[0]!, 0.97);
    evaluate(now + 12n, 2n, "the sweep the worker never answered");
    expect(shared.sweepWorker()).to.include({ state: "failed", gaveUp: true });
    move(pop.assets[3]!, 1.04);
    evaluate(now + 24n, 3n, "a move after the worker is gone");
  });
});
