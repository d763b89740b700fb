// Producer against a real Redis: deterministic job ids, no duplicates across blocks, "unknown" never enqueued,
// job data holds public facts only, finished jobs kept by age so re-adding stays a no-op, config validation.
import { expect } from "chai";
import { Worker } from "bullmq";
import { register as globalRegistry, Registry } from "prom-client";
import { liquidationJobId } from "../../keeper/job";
import { LiquidationProducer, REFUSED_METRIC, type Opportunity } from "../../keeper/producer";
import { envNameOf, keeperConfigFromEnv, parseKeeperConfig } from "../../keeper/config";
import { loadPrivateKey, parsePrivateKey } from "../../keeper/private-key";
import { dropPrefix, REDIS, uniqueQueue, waitFor } from "./helpers";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";

const A = "0x00000000000000000000000000000000000000a1" as const;
const B = "0x00000000000000000000000000000000000000B2" as const;
const C = "0x00000000000000000000000000000000000000c3" as const;
const HASH = `0x${"11".repeat(32)}` as const;

describe("keeper: producer and config", function () {
  this.timeout(30_000);
  const producers: LiquidationProducer[] = [];
  const prefixes: string[] = [];
  after(async () => {
    for (const p of producers) await p.close();
    for (const p of prefixes) await dropPrefix(p);
  });

  function producer(opts: Partial<ConstructorParameters<typeof LiquidationProducer>[0]> = {}) {
    const q = uniqueQueue("producer");
    prefixes.push(q.prefix);
    const p = new LiquidationProducer({ connection: { ...REDIS }, ...q, ...opts });
    producers.push(p);
    return p;
  }

  const opp = (account: `0x${string}`, since: bigint, positionVersion: number, status: Opportunity["status"] = "liquidatable"): Opportunity => ({
    account,
    healthFactor: 970_000_000_000_000_000n,
    since,
    positionVersion,
    status,
  });

  it("job ids: deterministic from (account, since, version), lower-case, no ':' and never an integer", () => {
    const id = liquidationJobId(B, 123n, 4);
    expect(id).to.equal("liq-0x00000000000000000000000000000000000000b2-123-4");
    expect(id).to.not.contain(":");
    expect(Number.isInteger(Number(id))).to.equal(false);
    expect(liquidationJobId(B.toLowerCase() as `0x${string}`, 123n, 4)).to.equal(id);
  });

  it("enqueueing on every block adds one job per opportunity; a new position version is a new opportunity; 'unknown' is only counted", async () => {
    const p = producer();
    const first = await p.enqueueOpportunities([opp(A, 100n, 1), opp(B, 100n, 3), opp(C, 90n, 2, "unknown")], { blockNumber: 100n, blockHash: HASH });
    expect(first).to.deep.equal({ enqueued: 2, duplicates: 0, skippedUnknown: 1, retried: 0 });
    for (let block = 101n; block < 110n; block++) {
      const again = await p.enqueueOpportunities([opp(A, 100n, 1), opp(B, 100n, 3), opp(C, 90n, 2, "unknown")], {
        blockNumber: block,
        blockHash: HASH,
      });
      expect(again).to.deep.equal({ enqueued: 0, duplicates: 2, skippedUnknown: 1, retried: 0 });
    }
    const bumped = await p.enqueueOpportunities([opp(A, 100n, 2)], { blockNumber: 110n, blockHash: HASH });
    expect(bumped.enqueued).to.equal(1);
    expect(await p.queue.getJobCounts("waiting")).to.deep.equal({ waiting: 3 });
    const ids = (await p.queue.getJobs(["waiting"])).map((j) => j.id).sort();
    expect(ids).to.deep.equal([liquidationJobId(A, 100n, 1), liquidationJobId(A, 100n, 2), liquidationJobId(B, 100n, 3)].sort());
    expect(await p.queue.getJob(liquidationJobId(C, 90n, 2))).to.equal(undefined);
  });

  it("'unknown' opportunities are counted in marginwatch_keeper_refused_total{reason=\"price-unavailable\"} on the registry passed in, once per opportunity per call", async () => {
    const registry = new Registry();
    const p = producer({ registry });
    const refused = async () => (await registry.getSingleMetric(REFUSED_METRIC)!.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
    // the series exists at 0 before the first refusal, so alerts on rate() see the first one
    expect(await refused()).to.deep.equal([{ labels: { reason: "price-unavailable" }, value: 0 }]);
    const r1 = await p.enqueueOpportunities([opp(A, 100n, 1), opp(B, 90n, 1, "unknown"), opp(C, 90n, 2, "unknown")], {
      blockNumber: 100n,
      blockHash: HASH,
    });
    expect(r1).to.deep.equal({ enqueued: 1, duplicates: 0, skippedUnknown: 2, retried: 0 });
    const r2 = await p.enqueueOpportunities([opp(C, 90n, 2, "unknown")], { blockNumber: 101n, blockHash: HASH });
    expect(r2.skippedUnknown).to.equal(1);
    expect(await refused()).to.deep.equal([{ labels: { reason: "price-unavailable" }, value: 3 }]);
    expect(await registry.metrics()).to.contain(`${REFUSED_METRIC}{reason="price-unavailable"} 3`);
    // a second producer on the same registry keeps counting on the same counter instead of throwing
    const q = producer({ registry });
    await q.enqueueOpportunities([opp(A, 5n, 1, "unknown")], { blockNumber: 102n, blockHash: HASH });
    expect(await refused()).to.deep.equal([{ labels: { reason: "price-unavailable" }, value: 4 }]);
    // without a registry nothing is registered anywhere, and the count is still kept on the producer
    const bare = producer();
    await bare.enqueueOpportunities([opp(A, 6n, 1, "unknown")], { blockNumber: 103n, blockHash: HASH });
    expect((await bare.refused.get()).values.map((v) => v.value)).to.deep.equal([1]);
    expect(globalRegistry.getSingleMetric(REFUSED_METRIC)).to.equal(undefined);
  });

  it("job data: account, HF as a decimal string, block number and hash, episode and version — the first block's, and nothing else", async () => {
    const p = producer();
    await p.enqueueOpportunities([opp(A, 100n, 1)], { blockNumber: 100n, blockHash: HASH });
    await p.enqueueOpportunities([opp(A, 100n, 1)], { blockNumber: 101n, blockHash: `0x${"22".repeat(32)}` });
    const job = await p.queue.getJob(liquidationJobId(A, 100n, 1));
    expect(job!.data).to.deep.equal({
      account: A,
      healthFactor: "970000000000000000",
      blockNumber: "100",
      blockHash: HASH,
      since: "100",
      positionVersion: 1,
    });
    // retries with backoff for transient errors; finished jobs kept by age so the id keeps deduplicating
    expect(job!.opts.attempts).to.equal(5);
    expect(job!.opts.backoff).to.deep.equal({ type: "exponential", delay: 1000, jitter: 0.5 });
    expect(job!.opts.removeOnComplete).to.deep.equal({ age: 86_400 });
    expect(job!.opts.removeOnFail).to.deep.equal({ age: 604_800 });
  });

  it("a completed job's id stays taken: re-enqueueing after completion adds nothing", async () => {
    const p = producer({ keepCompletedSeconds: 3_600 });
    await p.enqueueOpportunities([opp(A, 7n, 1)], { blockNumber: 7n, blockHash: HASH });
    const job = (await p.queue.getJob(liquidationJobId(A, 7n, 1)))!;
    // a plain worker completes it
    const worker = new Worker(p.queue.name, async () => "done", { connection: { ...REDIS }, prefix: p.queue.opts.prefix });
    await waitFor("completion", async () => (await p.queue.getJobState(job.id!)) === "completed");
    await worker.close();
    expect(await p.queue.getJobState(job.id!)).to.equal("completed");
    const r = await p.enqueueOpportunities([opp(A, 7n, 1)], { blockNumber: 8n, blockHash: HASH });
    expect(r).to.deep.equal({ enqueued: 0, duplicates: 1, skippedUnknown: 0, retried: 0 });
    expect(await p.queue.getJobCounts("waiting", "completed")).to.deep.equal({ waiting: 0, completed: 1 });
  });

  it("config: defaults, env names, 'false' read as false, hash-tag prefix required, USD to 8 decimals", () => {
    const pool = "0x00000000000000000000000000000000000000aa";
    const c = parseKeeperConfig({ pool });
    expect(c.prefix).to.equal("{marginwatch}");
    expect(c.queueName).to.equal("liquidations");
    expect(c.minProfitUsd).to.equal(100_000_000n);
    expect(c.feeBumpBps).to.equal(1_250);
    expect(c.maxFeePerGasGwei).to.equal(500n * 10n ** 9n);
    expect(c.dryRun).to.equal(false);
    expect([c.priceWaitMs, c.priceRetryMs, c.priceRetryMaxMs]).to.deep.equal([600_000, 1_000, 10_000]);
    expect(envNameOf("priceWaitMs")).to.equal("KEEPER_PRICE_WAIT_MS");
    expect(keeperConfigFromEnv({ KEEPER_POOL: pool, KEEPER_PRICE_WAIT_MS: "30000" }).priceWaitMs).to.equal(30_000);
    expect(() => parseKeeperConfig({ pool, priceWaitMs: -1 })).to.throw(/priceWaitMs/);
    expect(envNameOf("minProfitUsd")).to.equal("KEEPER_MIN_PROFIT_USD");
    const e = keeperConfigFromEnv({ KEEPER_POOL: pool, KEEPER_DRY_RUN: "false", KEEPER_MIN_PROFIT_USD: "12.5", KEEPER_CONCURRENCY: "4" });
    expect(e.dryRun).to.equal(false);
    expect(e.minProfitUsd).to.equal(1_250_000_000n);
    expect(e.concurrency).to.equal(4);
    expect(keeperConfigFromEnv({ KEEPER_POOL: pool, KEEPER_DRY_RUN: "true" }).dryRun).to.equal(true);
    expect(() => parseKeeperConfig({ pool, prefix: "marginwatch" })).to.throw(/prefix must contain a Redis Cluster hash tag/);
    expect(() => parseKeeperConfig({ pool, feeBumpBps: 1_000 })).to.throw(/feeBumpBps/);
    expect(() => parseKeeperConfig({ pool, queueName: "a:b" })).to.throw(/queueName/);
    expect(() => parseKeeperConfig({})).to.throw(/pool/);
  });

  it("private key: from env or file, validated, and it cannot be printed by accident", () => {
    const key = `0x${"5e".repeat(32)}`;
    const s = parsePrivateKey(key, "test");
    expect(s.reveal()).to.equal(key);
    for (const printed of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ nested: { s } })]) {
      expect(printed).to.not.contain("5e5e5e");
    }
    expect(() => parsePrivateKey("0x1234", "KEEPER_PRIVATE_KEY")).to.throw(/KEEPER_PRIVATE_KEY: expected 32 bytes/);
    expect(() => parsePrivateKey(`0x${"0".repeat(64)}`, "x")).to.throw(/not a valid secp256k1/);
    let message = "";
    try {
      parsePrivateKey(`zz${"5e".repeat(31)}`, "KEEPER_PRIVATE_KEY");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.not.contain("5e5e");
    const file = path.join(os.tmpdir(), `mw-key-${process.pid}`);
    fs.writeFileSync(file, `${key.slice(2)}\n`, { mode: 0o600 });
    try {
      expect(loadPrivateKey({ KEEPER_PRIVATE_KEY_FILE: file }).reveal()).to.equal(key);
    } finally {
      fs.unlinkSync(file);
    }
    expect(() => loadPrivateKey({})).to.throw(/KEEPER_PRIVATE_KEY or KEEPER_PRIVATE_KEY_FILE/);
    expect(() => loadPrivateKey({ KEEPER_PRIVATE_KEY_FILE: "/nonexistent/key" })).to.throw(/cannot read \(ENOENT\)/);
  });
});
