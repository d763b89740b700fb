// Worker processes that die or are stopped mid-job (keeper/main.ts as a child process, automine off so the job
// is caught waiting for its receipt): the job is recovered and exactly one liquidation transaction is ever sent.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { MAX_UINT256 } from "../../common/math";
import { testTokenAbi } from "../../protocols/marginpool/generated/abis";
import { liquidationJobId, type LiquidationJobData, type LiquidationJobResult } from "../../keeper/job";
import { LiquidationProducer } from "../../keeper/producer";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import {
  dropPrefix,
  headContext,
  send,
  KEEPER_ADDRESS,
  KEEPER_KEY,
  liquidations,
  nonceOf,
  openPosition,
  opportunityFor,
  REDIS,
  setPrice,
  startChain,
  startKeeper,
  uniqueQueue,
  waitFor,
  type Chain,
} from "./helpers";

const PORT = 8613;
const ROOT = path.resolve(__dirname, "../..");

/** keeper/main.ts in its own process, stdout (pino JSON lines) captured. */
class KeeperProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "keeper/main.ts")], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let partial = "";
    const collect = (d: Buffer) => {
      const text = partial + d.toString();
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      this.lines.push(...parts.filter(Boolean));
    };
    this.child.stdout!.on("data", collect);
    this.child.stderr!.on("data", collect);
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  /** Exit code, or an error if the process has not exited within `ms`. */
  async exitCode(ms = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`keeper process did not exit within ${ms} ms`)), ms)),
    );
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  has(msg: string): boolean {
    return this.lines.some((l) => l.includes(`"msg":"${msg}"`));
  }
  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

describe("keeper: worker processes killed or stopped mid-job", function () {
  this.timeout(120_000);
  let chain: Chain;
  let store: Store;
  let snap: string;
  const children: KeeperProcess[] = [];
  const prefixes: string[] = [];
  const producers: LiquidationProducer[] = [];

  before(async () => {
    [store, chain] = await Promise.all([openStore({ dataDir: "memory://" }), startChain(PORT)]);
    // Approvals up front: the nonce then counts liquidations only.
    for (const a of chain.d.assets) await send(chain, chain.wallet(2), a.address, testTokenAbi, "approve", [chain.d.pool, MAX_UINT256]);
    snap = await chain.rpc<string>("evm_snapshot");
  });
  beforeEach(async () => {
    await chain.rpc("evm_revert", [snap]);
    snap = await chain.rpc<string>("evm_snapshot");
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.running) c.kill("SIGKILL");
      await c.exited;
    }
    for (const p of producers.splice(0)) await p.close();
    await chain.rpc("evm_setAutomine", [true]);
  });
  after(async () => {
    await chain?.stop();
    await store?.close();
    for (const p of prefixes) await dropPrefix(p);
  });

  function setup(label: string) {
    const q = uniqueQueue(label);
    prefixes.push(q.prefix);
    const producer = new LiquidationProducer({ connection: { ...REDIS }, ...q });
    producers.push(producer);
    const env: NodeJS.ProcessEnv = {
      RPC_URL: chain.node.url,
      REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
      KEEPER_POOL: chain.d.pool,
      KEEPER_PRIVATE_KEY: KEEPER_KEY,
      KEEPER_QUEUE_NAME: q.queueName,
      KEEPER_PREFIX: q.prefix,
      KEEPER_LOCK_DURATION_MS: "2000",
      KEEPER_STALLED_INTERVAL_MS: "500",
      KEEPER_POLL_INTERVAL_MS: "50",
      KEEPER_REPLACE_AFTER_MS: "600000",
      DATA_DIR: "memory://",
      DATABASE_URL: "",
      LOG_LEVEL: "debug",
    };
    const spawnKeeper = () => {
      const c = new KeeperProcess(env);
      children.push(c);
      return c;
    };
    return { q, producer, spawnKeeper };
  }

  /** Enqueues a liquidatable borrower and turns automine off, so the keeper's transaction waits in the pool. */
  async function liquidatableJob(producer: LiquidationProducer, walletIndex: number) {
    const borrower = await openPosition(chain, walletIndex, "10", "20000");
    await setPrice(chain.ctx, "WETH", "2400");
    const ctx = await headContext(chain);
    const r = await producer.enqueueOpportunities([await opportunityFor(chain, borrower.account.address, ctx.blockNumber)], ctx);
    expect(r.enqueued).to.equal(1);
    await chain.rpc("evm_setAutomine", [false]);
    return { borrower: borrower.account.address, jobId: liquidationJobId(borrower.account.address, ctx.blockNumber, 1), fromBlock: ctx.blockNumber };
  }

  /** Waits until the job has recorded its transaction and the node holds it pending (sent, not mined). */
  async function sentAndPending(producer: LiquidationProducer, jobId: string) {
    return waitFor(
      "the keeper to broadcast",
      async () => {
        const job = await producer.queue.getJob(jobId);
        const sent = (job?.data as LiquidationJobData | undefined)?.sent;
        if (!sent) return undefined;
        const pending = await nonceOf(chain, KEEPER_ADDRESS, "pending");
        return pending > (await nonceOf(chain, KEEPER_ADDRESS, "latest")) ? sent : undefined;
      },
      60_000,
    );
  }

  async function completed(producer: LiquidationProducer, jobId: string): Promise<LiquidationJobResult> {
    return waitFor(
      "the job to complete",
      async () => {
        if ((await producer.queue.getJobState(jobId)) !== "completed") return undefined;
        return (await producer.queue.getJob(jobId))!.returnvalue as LiquidationJobResult;
      },
      60_000,
    );
  }

  it("SIGKILL while waiting for the receipt: another worker recovers the stalled job and waits for the same transaction (one Liquidation, nonce +1)", async () => {
    const { producer, spawnKeeper } = setup("kill");
    const nonce = await nonceOf(chain, KEEPER_ADDRESS, "latest");
    // Two worker processes on one Redis (started together: process start-up is the slow part).
    const workers = [spawnKeeper(), spawnKeeper()];
    const { borrower, jobId, fromBlock } = await liquidatableJob(producer, 6);

    const sent = await sentAndPending(producer, jobId);
    expect(sent.txs.length).to.equal(1);
    const victim = await waitFor("the sender's log line", async () => workers.find((w) => w.has("liquidation sent")));
    const survivor = workers.find((w) => w !== victim)!;
    victim.kill("SIGKILL");
    await victim.exitCode();
    expect(await producer.queue.getJobState(jobId)).to.equal("active"); // orphaned: its lock expires, nobody renews it

    await waitFor("the stalled job to be resumed", async () => survivor.has("resuming wait for a transaction sent earlier"), 60_000);
    expect(await nonceOf(chain, KEEPER_ADDRESS, "pending")).to.equal(nonce + 1); // still only one transaction
    await chain.rpc("evm_mine");

    const result = await completed(producer, jobId);
    expect(result.outcome).to.equal("liquidated");
    expect(result.transactionHash).to.equal(sent.txs[0]!.hash);
    const events = await liquidations(chain, fromBlock, borrower);
    expect(events.length).to.equal(1);
    expect(events[0]!.transactionHash).to.equal(sent.txs[0]!.hash);
    expect(await nonceOf(chain, KEEPER_ADDRESS, "latest")).to.equal(nonce + 1);

    // A graceful stop of the survivor: SIGTERM → exit code 0.
    survivor.kill("SIGTERM");
    expect(await survivor.exitCode()).to.equal(0);
    const bare = KEEPER_KEY.slice(2).toLowerCase();
    expect([...victim.lines, ...survivor.lines].some((l) => l.toLowerCase().includes(bare))).to.equal(false);
  });

  it("SIGTERM while waiting for the receipt: the job is parked (delayed, not active), the process exits 0, and a new worker completes it without sending again", async () => {
    const { q, producer, spawnKeeper } = setup("term");
    const nonce = await nonceOf(chain, KEEPER_ADDRESS, "latest");
    const child = spawnKeeper();
    const { borrower, jobId, fromBlock } = await liquidatableJob(producer, 7);
    const sent = await sentAndPending(producer, jobId);
    child.kill("SIGTERM");
    expect(await child.exitCode()).to.equal(0);
    expect(child.has("keeper stopped")).to.equal(true);
    expect(await producer.queue.getJobState(jobId)).to.equal("delayed");
    const parked = await producer.queue.getJob(jobId);
    expect(parked!.attemptsMade).to.equal(0);
    expect((parked!.data as LiquidationJobData).sent!.txs[0]!.hash).to.equal(sent.txs[0]!.hash);

    await chain.rpc("evm_mine"); // the transaction lands while no keeper runs
    await chain.rpc("evm_setAutomine", [true]);
    const k = await startKeeper(chain, { ...q }, { store });
    try {
      const result = await completed(producer, jobId);
      expect(result.outcome).to.equal("liquidated");
      expect(result.transactionHash).to.equal(sent.txs[0]!.hash);
      expect((await liquidations(chain, fromBlock, borrower)).length).to.equal(1);
      expect(await nonceOf(chain, KEEPER_ADDRESS, "latest")).to.equal(nonce + 1);
      const rows = await store.listKeeperOutcomes({ limit: 10, offset: 0 });
      expect(rows.map((r) => [r.outcome, r.transactionHash])).to.deep.equal([["liquidated", sent.txs[0]!.hash.toLowerCase()]]);
    } finally {
      await k.stop();
    }
  });
});
