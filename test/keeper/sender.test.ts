// Transactions on a real hardhat node + Redis: same-nonce replacement with a fee bump (and its caps), one nonce
// stream shared by "processes" through the Redis lock, recovery from nonce errors, resuming a recorded send.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import pino from "pino";
import { createPublicClient, custom, http, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { KeeperPublicClient } from "../../keeper/chain/clients";
import type { SentRecord } from "../../keeper/job";
import { clearSignerState, NonceManager, signerKeyBase } from "../../keeper/tx/nonce-manager";
import { RedisLock } from "../../keeper/tx/redis-lock";
import { TransactionSender, type SendJournal, type SendRequest } from "../../keeper/tx/sender";
import { bumpBy } from "../../keeper/tx/fees";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";
import { dropPrefix, hardhatKey, REDIS, uniqueQueue, waitFor } from "./helpers";

const PORT = 8612;
const SIGNER = privateKeyToAccount(hardhatKey(5));
const TARGET = privateKeyToAccount(hardhatKey(7)).address;
const GWEI = 10n ** 9n;

/** A journal kept in memory, as the job's data would be. */
function memoryJournal(): SendJournal & { records: SentRecord[]; cleared: number } {
  const j = {
    records: [] as SentRecord[],
    cleared: 0,
    save: async (r: SentRecord) => void j.records.push(r),
    clear: async () => void j.cleared++,
  };
  return j;
}

const silent = pino({ level: "silent" }, new Writable({ write: (_c, _e, cb) => cb() }));

describe("keeper: transactions (nonce manager, sender)", function () {
  this.timeout(60_000);
  let node: NodeHandle;
  const redises: Redis[] = [];
  const prefixes: string[] = [];
  let chainId: number;

  before(async () => {
    node = await startHardhatNode(PORT);
    chainId = await node.publicClient.getChainId();
  });
  afterEach(async () => {
    await node.rpc("evm_setAutomine", [true]);
  });
  after(async () => {
    for (const r of redises) r.disconnect();
    for (const p of prefixes) await dropPrefix(p);
    await node?.stop();
  });

  function parts(
    pc: KeeperPublicClient = node.publicClient as never,
    opts: { replaceAfterMs?: number; maxFeePerGasCap?: bigint; prefix?: string } = {},
  ) {
    const prefix = opts.prefix ?? uniqueQueue("tx").prefix;
    prefixes.push(prefix);
    const redis = new Redis(REDIS);
    redises.push(redis);
    const nonceManager = new NonceManager({ publicClient: pc, address: SIGNER.address, redis, keyPrefix: prefix });
    const sender = new TransactionSender({
      publicClient: pc,
      account: SIGNER,
      chainId,
      nonceManager,
      logger: silent,
      replaceAfterMs: opts.replaceAfterMs ?? 60_000,
      maxFeePerGasCap: opts.maxFeePerGasCap ?? 1_000n * GWEI,
      pollIntervalMs: 25,
    });
    return { nonceManager, sender, prefix };
  }

  // Unique calldata: two sends must never sign byte-identical transactions (same hash) by accident.
  const request = (fees = { maxFeePerGas: 2n * GWEI, maxPriorityFeePerGas: GWEI }, maxGasCostWei = 10n ** 18n): SendRequest => ({
    to: TARGET,
    data: toHex(randomBytes(8)),
    gas: 30_000n,
    fees,
    maxGasCostWei,
    meta: { collateralAsset: TARGET, debtAsset: TARGET, repayAmount: "0", expectedProfitBase: "0" },
  });

  const nonce = (tag: "latest" | "pending" = "latest") => node.publicClient.getTransactionCount({ address: SIGNER.address, blockTag: tag });

  it("replaces a transaction that is not mined in time at the same nonce with fees +12.5%, and returns the version that got mined", async () => {
    const { sender } = parts(undefined, { replaceAfterMs: 200 });
    const start = await nonce();
    await node.rpc("evm_setAutomine", [false]);
    const journal = memoryJournal();
    const sending = sender.send(request(), journal);
    await waitFor("two replacements", async () => journal.records.length >= 3);
    await node.rpc("evm_mine");
    const mined = await sending;
    const versions = journal.records[journal.records.length - 1]!.txs;
    expect(new Set(versions.map((t) => t.hash)).size).to.equal(versions.length);
    // a later version may have been recorded (write-ahead) but not yet broadcast when the block was mined
    expect(versions.slice(1).map((t) => t.hash)).to.include(mined.hash);
    expect(mined.versions >= 3).to.equal(true);
    expect(mined.receipt.status).to.equal("success");
    // each version pays at least 12.5% more than the one it replaced
    for (let i = 1; i < versions.length; i++) {
      expect(BigInt(versions[i]!.maxFeePerGas) >= bumpBy(BigInt(versions[i - 1]!.maxFeePerGas), 1_250n)).to.equal(true);
      expect(BigInt(versions[i]!.maxFeePerGas) * 8n >= BigInt(versions[i - 1]!.maxFeePerGas) * 9n).to.equal(true);
    }
    expect(await nonce()).to.equal(start + 1);
    // the other versions are gone: only one transaction of this nonce exists
    for (const t of versions.filter((v) => v.hash !== mined.hash)) {
      const gone = await node.publicClient.getTransactionReceipt({ hash: t.hash }).then(
        () => false,
        () => true,
      );
      expect(gone).to.equal(true);
    }
  });

  it("never bumps past the max fee cap or past the profit budget: the first version keeps waiting and is the one mined", async () => {
    for (const limits of [
      { maxFeePerGasCap: 2n * GWEI, budget: 10n ** 18n },
      { maxFeePerGasCap: 1_000n * GWEI, budget: 30_000n * 2n * GWEI + 1n },
    ]) {
      const { sender } = parts(undefined, { replaceAfterMs: 100, maxFeePerGasCap: limits.maxFeePerGasCap });
      const start = await nonce();
      await node.rpc("evm_setAutomine", [false]);
      const journal = memoryJournal();
      const sending = sender.send(request(undefined, limits.budget), journal);
      await new Promise((r) => setTimeout(r, 600)); // six replacement periods
      expect(journal.records.length).to.equal(1);
      await node.rpc("evm_mine");
      const mined = await sending;
      expect(mined.hash).to.equal(journal.records[0]!.txs[0]!.hash);
      expect(mined.versions).to.equal(1);
      expect(await nonce()).to.equal(start + 1);
      await node.rpc("evm_setAutomine", [true]);
    }
  });

  it("two 'processes' on one key (separate Redis clients and mutexes, one lock) send 16 transactions at once: consecutive nonces, all mined", async () => {
    const prefix = uniqueQueue("shared").prefix;
    const p1 = parts(undefined, { prefix });
    const p2 = parts(undefined, { prefix });
    const start = await nonce();
    const all = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? p1 : p2).sender.send(request(), memoryJournal())));
    expect(all.every((m) => m.receipt.status === "success")).to.equal(true);
    expect(all.map((m) => m.nonce).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 16 }, (_, i) => start + i));
    expect(await nonce()).to.equal(start + 16);
  });

  it("re-reads the nonce after a nonce error (an RPC whose pending count lags) and sends exactly one transaction", async () => {
    let lagging = 1;
    const transport = http(node.url, { retryCount: 0 });
    const lag = custom({
      request: async ({ method, params }: { method: string; params?: unknown }) => {
        const real = transport({ chain: hardhat, retryCount: 2 }).request;
        const result = await real({ method, params } as never);
        if (method === "eth_getTransactionCount" && lagging > 0) {
          lagging--;
          return toHex(BigInt(result as Hex) - 1n); // a node one transaction behind
        }
        return result;
      },
    });
    const pc = createPublicClient({ chain: hardhat, transport: lag, pollingInterval: 25 }) as unknown as KeeperPublicClient;
    const { sender } = parts(pc);
    // make sure there is a mined transaction to lag behind
    await parts().sender.send(request(), memoryJournal());
    const start = await nonce();
    const mined = await sender.send(request(), memoryJournal());
    expect(lagging).to.equal(0);
    expect(mined.nonce).to.equal(start);
    expect(await nonce()).to.equal(start + 1);
  });

  it("a remembered nonce above the chain's (Hardhat: 'Nonce too high', e.g. a restarted dev chain) is forgotten: the send re-reads the chain and lands once", async () => {
    const { nonceManager, sender, prefix } = parts();
    const redis = new Redis(REDIS);
    redises.push(redis);
    const start = await nonce("pending");
    const key = await nonceManager.nextNonceKey();
    const genesis = (await node.publicClient.getBlock({ blockNumber: 0n })).hash;
    expect(key).to.equal(`${signerKeyBase(prefix, SIGNER.address)}:nonce:${chainId}:${genesis}`);
    await redis.set(key, String(start + 14), "PX", 60_000);
    expect(await nonceManager.next()).to.equal(start + 14);
    const mined = await sender.send(request(), memoryJournal());
    expect(mined.receipt.status).to.equal("success");
    expect(mined.nonce).to.equal(start);
    expect(await nonce()).to.equal(start + 1);
    expect(await redis.get(key)).to.equal(String(start + 1));
  });

  it("a nonce remembered for another chain (other block-0 hash) is never used; clearSignerState deletes the signer's keys and nothing else", async () => {
    const { nonceManager, sender, prefix } = parts();
    const redis = new Redis(REDIS);
    redises.push(redis);
    const base = signerKeyBase(prefix, SIGNER.address);
    const start = await nonce("pending");
    const otherChain = `${base}:nonce:${chainId}:0x${"ab".repeat(32)}`;
    const legacy = `${base}:next-nonce`; // where keepers before chain-keyed nonces remembered it
    await redis.set(otherChain, String(start + 50), "PX", 60_000);
    await redis.set(legacy, String(start + 50), "PX", 60_000);
    expect(await nonceManager.next()).to.equal(start);
    const mined = await sender.send(request(), memoryJournal());
    expect(mined.nonce).to.equal(start);
    // another signer's key and a queue key under the same prefix survive the reset
    const otherSigner = `${signerKeyBase(prefix, TARGET)}:nonce:${chainId}:0x${"cd".repeat(32)}`;
    const queueKey = `${prefix}:liquidations:meta`;
    await redis.set(otherSigner, "7", "PX", 60_000);
    await redis.set(queueKey, "x", "PX", 60_000);
    const own = (await redis.keys(`${base}:*`)).sort();
    expect(own).to.deep.equal([legacy, await nonceManager.nextNonceKey(), otherChain].sort());
    const deleted = await clearSignerState(redis, prefix, SIGNER.address);
    expect(deleted.sort()).to.deep.equal(own);
    expect(await redis.keys(`${base}:*`)).to.deep.equal([]);
    expect(await redis.get(otherSigner)).to.equal("7");
    expect(await redis.get(queueKey)).to.equal("x");
  });

  it("resume(): waits for a recorded transaction still in the pool; returns null (and clears the record) when none of it exists", async () => {
    const { sender } = parts(undefined, { replaceAfterMs: 60_000 });
    await node.rpc("evm_setAutomine", [false]);
    const first = memoryJournal();
    const sending = sender.send(request(), first);
    await waitFor("broadcast", async () => first.records.length === 1 && (await nonce("pending")) > (await nonce("latest")));
    // a second sender (another process after a crash) resumes from the record
    const other = parts(undefined, { replaceAfterMs: 60_000 }).sender;
    const resumed = other.resume(first.records[0]!, memoryJournal());
    await new Promise((r) => setTimeout(r, 100));
    await node.rpc("evm_mine");
    const [a, b] = await Promise.all([sending, resumed]);
    expect(b!.hash).to.equal(a.hash);

    const ghost: SentRecord = {
      ...first.records[0]!,
      nonce: (await nonce()) + 5,
      txs: [{ ...first.records[0]!.txs[0]!, hash: `0x${"ab".repeat(32)}` }],
    };
    const j = memoryJournal();
    expect(await other.resume(ghost, j)).to.equal(null);
    expect(j.cleared).to.equal(1);
  });

  it("the signer lock frees itself after its TTL when the holder died", async () => {
    const prefix = uniqueQueue("lock").prefix;
    prefixes.push(prefix);
    const r1 = new Redis(REDIS);
    const r2 = new Redis(REDIS);
    redises.push(r1, r2);
    const dead = new RedisLock(r1, `${prefix}:lock`, { ttlMs: 300 });
    await dead.acquire(); // never released
    const t0 = Date.now();
    const live = new RedisLock(r2, `${prefix}:lock`, { ttlMs: 300, acquireTimeoutMs: 2_000 });
    const token = await live.acquire();
    expect(Date.now() - t0 >= 200).to.equal(true);
    await live.release(token);
    expect(await r2.exists(`${prefix}:lock`)).to.equal(0);
    // a waiter gives up with a retryable error instead of hanging
    await dead.acquire();
    const impatient = new RedisLock(r2, `${prefix}:lock`, { ttlMs: 10_000, acquireTimeoutMs: 100 });
    let err: unknown;
    await impatient.acquire().catch((e) => (err = e));
    expect((err as Error).name).to.equal("SignerLockTimeoutError");
  });
});
