// Fault-suite harness: spawns the real CLI (`node bin/marginwatch.js …`) with captured output, one shared
// `hardhat node` for the suite, per-case deployments, PostgreSQL schemas and Redis prefixes, fresh keeper keys,
// store-vs-fresh-rebuild digests, and the ledger of faults injected / survived / data lost printed at the end.
import { dumpKeys } from "../fixtures/redis-dump";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { Queue } from "bullmq";
import pg from "pg";
import { createWalletClient, http, parseUnits, type Abi, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { Wallet } from "../../common/wallet";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import { writeDeployment, type Deployment } from "../../common/deployment";
import { assetOf, type ChainContext } from "../../protocols/marginpool/actions";
import { seededRandom } from "../../common/random";
import { emittingAggregatorAbi, marginPoolAbi, mockV3AggregatorAbi, testTokenAbi } from "../../protocols/marginpool/generated/abis";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { ProtocolState } from "../../indexer/state/state";
import { freshState } from "../fixtures/indexer";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";

export const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bin", "marginwatch.js");

/** Ports of this suite (8670–8699): chain, proxies, APIs, the suite's own redis-server, a port nobody listens on. */
export const PORTS = {
  chain: 8670,
  proxy: { reorg: 8671, rpc: 8672, crash: 8673, keeperCrash: 8674, redis: 8675, oracle: 8676, secrets: 8677, behind: 8678 },
  api: { reorg: 8680, rpc: 8681, crash: 8682, redis: 8683, oracle: 8684, secrets: 8685, misc: 8686, behind: 8687 },
  redis: 8689,
  dead: 8699,
} as const;

export const FULL = !!process.env.FAULTS_FULL;
export const REDIS_MAIN = { host: "127.0.0.1", port: 6379 } as const;
const PG_BASE = process.env.FAULTS_PG_URL ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as T;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------------------------------------ the ledger

export interface FaultRow {
  category: string;
  fault: string;
  survived: boolean | null;
  dataLost: number;
  note: string;
}

/** Faults injected, survived and data lost, printed as a table when the suite ends. */
export const ledger = {
  rows: [] as FaultRow[],
  inject(category: string, fault: string): FaultHandle {
    const row: FaultRow = { category, fault, survived: null, dataLost: 0, note: "" };
    ledger.rows.push(row);
    return {
      survived(note = "") {
        if (row.survived === null) row.survived = true;
        if (note) row.note = note;
      },
      failed(note: string) {
        row.survived = false;
        row.note = note;
      },
      lost(n: number, what: string) {
        row.dataLost += n;
        if (n) row.note = [row.note, `lost ${n} ${what}`].filter(Boolean).join("; ");
      },
    };
  },
  summary(): string {
    const cats = [...new Set(ledger.rows.map((r) => r.category))];
    const lines = ["", "  fault-injection summary", `  ${"category".padEnd(22)}injected  survived  data lost`, `  ${"-".repeat(54)}`];
    let ti = 0,
      ts = 0,
      tl = 0;
    for (const c of cats) {
      const rows = ledger.rows.filter((r) => r.category === c);
      const s = rows.filter((r) => r.survived === true).length;
      const l = rows.reduce((a, r) => a + r.dataLost, 0);
      ti += rows.length;
      ts += s;
      tl += l;
      lines.push(`  ${c.padEnd(22)}${String(rows.length).padStart(8)}${String(s).padStart(10)}${String(l).padStart(11)}`);
    }
    lines.push(`  ${"-".repeat(54)}`, `  ${"total".padEnd(22)}${String(ti).padStart(8)}${String(ts).padStart(10)}${String(tl).padStart(11)}`);
    for (const r of ledger.rows) {
      const bad = r.survived !== true || r.dataLost > 0;
      if (!bad && !r.note) continue;
      lines.push(
        `  ${bad ? "!" : "·"} ${r.category} / ${r.fault}: ${r.survived === null ? "not finished" : r.survived ? "survived" : "NOT survived"}${r.note ? ` — ${r.note}` : ""}`,
      );
    }
    return `${lines.join("\n")}\n`;
  },
};

export interface FaultHandle {
  survived(note?: string): void;
  failed(note: string): void;
  lost(n: number, what: string): void;
}

/** Runs a fault case body: a throw marks the fault not survived (and rethrows for mocha). */
export async function fault<T>(category: string, name: string, body: (f: FaultHandle) => Promise<T>): Promise<T> {
  const f = ledger.inject(category, name);
  try {
    const v = await body(f);
    f.survived();
    return v;
  } catch (e) {
    f.failed((e as Error).message.split("\n")[0]!.slice(0, 200));
    throw e;
  }
}

// ------------------------------------------------------------------------------------------------ captured text

/** Everything the suite saw from the processes and the API: stdout/stderr, error messages, response bodies. */
export const captured: Array<{ source: string; text: () => string }> = [];
/** Keeper keys handed to processes; the secrets case checks none of them leaked into `captured`. */
export const secrets: Hex[] = [];
/** Redis prefixes used by processes (port → prefixes), for cleanup and for the job-data scan. */
export const prefixesUsed: Array<{ port: number; prefix: string }> = [];

let logDirPath: string | null = null;
/** Folder of the spawned processes' output files (created on first use). */
export function logDir(): string {
  logDirPath ??= fs.mkdtempSync(path.join(os.tmpdir(), "mw-faults-"));
  return logDirPath;
}

// ------------------------------------------------------------------------------------------------ spawned CLI

/** Variables of common/config.ts and keeper/config.ts: cleared so the parent's environment never leaks in. */
const CONFIG_VARS =
  /^(RPC_URL|DEPLOYMENT_FILE|DATABASE_URL|DATA_DIR|REDIS_URL|API_HOST|API_PORT|CHAIN_PORT|FINALITY_DEPTH|POLL_INTERVAL_MS|STALL_TIMEOUT_MS|LOG_LEVEL|ALERT_.*|KEEPER_.*|SIM_.*|MARGINWATCH_.*|DEPLOYER_.*)$/;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Cli {
  readonly child: ChildProcess;
  out = "";
  err = "";
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null = null;
  private readonly file: string;

  constructor(
    readonly label: string,
    args: string[],
    env: Record<string, string | undefined>,
  ) {
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !CONFIG_VARS.test(k)) base[k] = v;
    for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
    this.file = path.join(logDir(), `${label.replace(/[^a-z0-9-]+/gi, "_")}-${Date.now()}.log`);
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: base, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d: Buffer) => {
      this.out += d.toString();
      fs.appendFileSync(this.file, d);
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.err += d.toString();
      fs.appendFileSync(this.file, d);
    });
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
    captured.push({ source: `${label} stdout`, text: () => this.out }, { source: `${label} stderr`, text: () => this.err });
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  get all(): string {
    return this.out + this.err;
  }

  /** Parsed pino lines of stdout (non-JSON lines skipped). */
  logs(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.out.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut by a kill -9
      }
    }
    return out;
  }

  logCount(msg: RegExp): number {
    return this.logs().filter((l) => msg.test(String(l.msg ?? ""))).length;
  }

  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return until(
      `${this.label}: output matching ${re}`,
      () => {
        const m = this.all.match(re);
        if (m) return m;
        if (!this.alive) throw new Error(`${this.label} exited (${JSON.stringify(this.exitInfo)}) before printing ${re}:\n${this.tail()}`);
        return undefined;
      },
      timeoutMs,
      100,
    );
  }

  tail(n = 3000): string {
    return this.all.slice(-n);
  }

  kill9(): void {
    if (this.alive) process.kill(this.pid, "SIGKILL");
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<ExitInfo> {
    if (!this.alive) return this.exitInfo!;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.kill9(), graceMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  async waitExit(timeoutMs = 60_000): Promise<ExitInfo> {
    const t = setTimeout(() => this.kill9(), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

const running = new Set<Cli>();

export async function killAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop(5_000)));
}

/** Settings every long-running test process gets: fast polling, no stall alarm, quick keeper recovery. */
export function baseEnv(o: {
  apiPort: number;
  rpcUrl: string;
  deploymentFile: string;
  databaseUrl: string;
  redisUrl?: string;
  prefix: string;
  key?: string;
}): Record<string, string> {
  const env: Record<string, string> = {
    RPC_URL: o.rpcUrl,
    DEPLOYMENT_FILE: o.deploymentFile,
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl ?? `redis://127.0.0.1:${REDIS_MAIN.port}`,
    API_HOST: "127.0.0.1",
    API_PORT: String(o.apiPort),
    FINALITY_DEPTH: "4",
    POLL_INTERVAL_MS: "100",
    STALL_TIMEOUT_MS: "600000",
    LOG_LEVEL: "info",
    KEEPER_PREFIX: o.prefix,
    KEEPER_POLL_INTERVAL_MS: "100",
    KEEPER_BACKOFF_MS: "200",
    KEEPER_LOCK_DURATION_MS: "3000",
    KEEPER_STALLED_INTERVAL_MS: "1000",
    KEEPER_SIGNER_LOCK_TTL_MS: "3000",
    KEEPER_MIN_PROFIT_USD: "1",
    KEEPER_REPLACE_AFTER_MS: "5000",
  };
  if (o.key !== undefined) env.KEEPER_PRIVATE_KEY = o.key;
  return env;
}

// ------------------------------------------------------------------------------------------------ HTTP

export interface HttpRes {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: the fault cases read JSON bodies of every route without declaring their shape
  body: any;
}

/** fetch that records the response body for the secrets scan; network errors come back as status 0. */
export async function request(url: string, init?: RequestInit & { timeoutMs?: number }): Promise<HttpRes> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), init?.timeoutMs ?? 10_000);
  try {
    const res = await fetch(url, { ...init, signal: ctl.signal });
    const text = await res.text();
    captured.push({ source: `HTTP ${init?.method ?? "GET"} ${url.slice(0, 120)}`, text: () => text });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, text, body };
  } catch (e) {
    return { status: 0, text: (e as Error).message, body: undefined };
  } finally {
    clearTimeout(t);
  }
}

export const getJson = (url: string) => request(url);

export async function waitHealthy(api: string, cli?: Cli, timeoutMs = 90_000): Promise<void> {
  await until(
    `${api}/healthz`,
    async () => {
      if (cli && !cli.alive) throw new Error(`${cli.label} exited (${JSON.stringify(cli.exitInfo)}):\n${cli.tail()}`);
      return (await request(`${api}/healthz`, { timeoutMs: 2_000 })).status === 200;
    },
    timeoutMs,
    200,
  );
}

export interface Status {
  phase: string;
  ready: boolean;
  reason: string | null;
  head: string | null;
  blockNumber: string;
  reorgs: number;
}

export async function status(api: string): Promise<Status> {
  const r = await request(`${api}/v1/status`, { timeoutMs: 5_000 });
  if (r.status !== 200) throw new Error(`/v1/status ${r.status}: ${r.text.slice(0, 200)}`);
  return r.body as Status;
}

/** Waits until the process follows the head at or past `block` (and, unless told otherwise, is ready). */
export async function waitCursor(api: string, block: bigint, timeoutMs = 60_000, cli?: Cli): Promise<Status> {
  return until(
    `${api} at block ${block}`,
    async () => {
      if (cli && !cli.alive) throw new Error(`${cli.label} exited (${JSON.stringify(cli.exitInfo)}):\n${cli.tail()}`);
      const s = await status(api);
      return BigInt(s.blockNumber) >= block && s.phase === "follow" ? s : undefined;
    },
    timeoutMs,
    100,
  );
}

// ------------------------------------------------------------------------------------------------ chain

const MNEMONIC = "test test test test test test test test test test test junk";

export interface Chain {
  node: NodeHandle;
  pc: PublicClient;
  url: string;
  /** hardhat account #i (0–19, funded by the node) of the test mnemonic: #0 deploys, #1 supplies, #6+ borrow */
  wallet(i: number): Wallet;
  walletOf(key: Hex): Wallet;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  head(): Promise<bigint>;
  mine(n?: number): Promise<void>;
}

let chainPromise: Promise<Chain> | null = null;

/** The suite's one `hardhat node` (started on first use, stopped by the suite's after hook). */
export function chain(): Promise<Chain> {
  chainPromise ??= (async () => {
    // startHardhatNode polls eth_chainId: a node someone left on the port would answer before ours fails to bind.
    const taken = await fetch(`http://127.0.0.1:${PORTS.chain}`, { method: "POST", body: "{}" }).then(
      () => true,
      () => false,
    );
    if (taken) throw new Error(`port ${PORTS.chain} is already in use: stop whatever listens there before running the fault suite`);
    const node = await startHardhatNode(PORTS.chain);
    const wallets = new Map<string, Wallet>();
    const walletOf = (key: Hex | number): Wallet => {
      const id = String(key);
      let w = wallets.get(id);
      if (!w) {
        const account = typeof key === "number" ? mnemonicToAccount(MNEMONIC, { addressIndex: key }) : privateKeyToAccount(key);
        w = createWalletClient({ chain: hardhat, transport: http(node.url, { retryCount: 0 }), account }) as Wallet;
        wallets.set(id, w);
      }
      return w;
    };
    return {
      node,
      pc: node.publicClient,
      url: node.url,
      wallet: (i) => walletOf(i),
      walletOf: (k) => walletOf(k),
      rpc: node.rpc,
      head: () => node.publicClient.getBlockNumber({ cacheTime: 0 }),
      // evm_mine in one JSON-RPC batch, not hardhat_mine: blocks hardhat_mine reserves and materialises out of
      // order can report a zero parentHash (Hardhat 2.29), which no real chain does.
      mine: async (n = 1) => {
        const body = JSON.stringify(Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "evm_mine", params: [] })));
        const res = await fetch(node.url, { method: "POST", headers: { "content-type": "application/json" }, body });
        const out = (await res.json()) as Array<{ error?: { message: string } }>;
        const err = out.find((r) => r.error);
        if (err) throw new Error(`evm_mine: ${err.error!.message}`);
      },
    };
  })();
  return chainPromise;
}

export async function stopChain(): Promise<void> {
  if (!chainPromise) return;
  const c = await chainPromise.catch(() => null);
  await c?.node.stop();
  chainPromise = null;
}

/** Sends a transaction with an explicit gas limit and waits for it (estimates at a same-timestamp block skip interest). */
export async function send(
  c: Chain,
  w: Wallet,
  address: Hex,
  abi: Abi | readonly unknown[],
  functionName: string,
  args: readonly unknown[],
): Promise<bigint> {
  const hash = await w.writeContract({
    address,
    abi: abi as Abi,
    functionName,
    args: args as unknown[],
    account: w.account,
    chain: w.chain,
    gas: 2_000_000n,
  } as never);
  const r = await c.pc.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`${functionName} reverted (tx ${hash})`);
  return r.blockNumber;
}

export interface World {
  chain: Chain;
  d: Deployment;
  file: string;
  ctx: ChainContext;
  asset(symbol: string): Deployment["assets"][number];
  /** mints and deposits `human` of `symbol` for wallet #i */
  deposit(i: number, symbol: string, human: string): Promise<void>;
  borrow(i: number, symbol: string, human: string): Promise<void>;
  /** #i deposits WETH and borrows USDC: HF = weth · price · 0.825 / usdc */
  openPosition(i: number, wethHuman: string, usdcHuman: string): Promise<Hex>;
  setPrice(symbol: string, usd: string): Promise<bigint>;
  /** a new round whose updatedAt is `ageSeconds` in the past (stale when above the heartbeat) */
  setRound(symbol: string, answer: bigint, ageSeconds: number): Promise<bigint>;
  healthFactor(account: Hex): Promise<bigint>;
  liquidations(fromBlock?: bigint, borrower?: Hex): Promise<Array<{ borrower: Hex; liquidator: Hex; blockNumber: bigint; tx: Hex }>>;
  /** funds a keeper key: ETH via hardhat_setBalance, USDC and DAI to repay with */
  fundKeeper(key: Hex): Promise<Hex>;
}

let tmpPath: string | null = null;
/** Folder of deployment files (created on first use). */
export function tmp(): string {
  tmpPath ??= fs.mkdtempSync(path.join(os.tmpdir(), "mw-faults-d-"));
  return tmpPath;
}

/** Removes the suite's temporary files; process logs are kept (and their folder printed) when something failed. */
export function cleanupTmp(): string | null {
  if (tmpPath) fs.rmSync(tmpPath, { recursive: true, force: true });
  tmpPath = null;
  if (!logDirPath) return null;
  const failed = ledger.rows.some((r) => r.survived !== true);
  if (failed || process.env.FAULTS_KEEP) return logDirPath;
  fs.rmSync(logDirPath, { recursive: true, force: true });
  logDirPath = null;
  return null;
}

/** Deploys the default market (or adopts `existing`), writes the deployment file and seeds liquidity. */
export async function world(label: string, existing?: Deployment): Promise<World> {
  const c = await chain();
  const d = existing ?? (await deployProtocol({ publicClient: c.pc, walletClient: c.wallet(0) }));
  const file = path.join(tmp(), `${label}.json`);
  writeDeployment(file, d);
  const ctx: ChainContext = { publicClient: c.pc, deployment: d, admin: c.wallet(0) };
  const approved = new Set<string>();
  const mintApprove = async (w: Wallet, symbol: string, amount: bigint) => {
    const a = assetOf(d, symbol);
    await send(c, w, a.address, testTokenAbi, "mint", [w.account.address, amount]);
    const k = `${w.account.address}|${a.address}`;
    if (!approved.has(k)) {
      await send(c, w, a.address, testTokenAbi, "approve", [d.pool, 2n ** 256n - 1n]);
      approved.add(k);
    }
  };
  const W: World = {
    chain: c,
    d,
    file,
    ctx,
    asset: (s) => assetOf(d, s),
    deposit: async (i, symbol, human) => {
      const w = c.wallet(i);
      const a = assetOf(d, symbol);
      const amount = parseUnits(human, a.decimals);
      await mintApprove(w, symbol, amount);
      await send(c, w, d.pool, marginPoolAbi, "deposit", [a.address, amount, w.account.address]);
    },
    borrow: async (i, symbol, human) => {
      const a = assetOf(d, symbol);
      await send(c, c.wallet(i), d.pool, marginPoolAbi, "borrow", [a.address, parseUnits(human, a.decimals)]);
    },
    openPosition: async (i, weth, usdc) => {
      await W.deposit(i, "WETH", weth);
      await W.borrow(i, "USDC", usdc);
      return c.wallet(i).account.address.toLowerCase() as Hex;
    },
    setPrice: async (symbol, usd) => {
      const a = assetOf(d, symbol);
      const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
      return send(c, c.wallet(0), a.feed, abi, "updateAnswer", [parseUnits(usd, a.feedDecimals)]);
    },
    setRound: async (symbol, answer, ageSeconds) => {
      const a = assetOf(d, symbol);
      const abi = a.feedKind === "emitting" ? emittingAggregatorAbi : mockV3AggregatorAbi;
      const round = (await c.pc.readContract({ address: a.feed, abi: mockV3AggregatorAbi, functionName: "latestRoundData" }))[0];
      const now = (await c.pc.getBlock({ blockTag: "latest" })).timestamp;
      const at = now - BigInt(ageSeconds);
      return send(c, c.wallet(0), a.feed, abi, "updateRoundData", [round + 1n, answer, at, at]);
    },
    healthFactor: (account) => c.pc.readContract({ address: d.pool, abi: marginPoolAbi, functionName: "healthFactor", args: [account] }),
    liquidations: async (fromBlock = BigInt(d.startBlock), borrower) => {
      const evs = await c.pc.getContractEvents({
        address: d.pool,
        abi: marginPoolAbi,
        eventName: "Liquidation",
        ...(borrower ? { args: { borrower } } : {}),
        fromBlock,
        toBlock: "latest",
      });
      return evs.map((e) => ({
        borrower: e.args.borrower!.toLowerCase() as Hex,
        liquidator: e.args.liquidator!.toLowerCase() as Hex,
        blockNumber: e.blockNumber,
        tx: e.transactionHash,
      }));
    },
    fundKeeper: async (key) => {
      const address = privateKeyToAccount(key).address;
      await c.rpc("hardhat_setBalance", [address, "0x3635C9ADC5DEA00000"]); // 1000 ETH
      for (const [symbol, human] of [
        ["USDC", "5000000"],
        ["DAI", "5000000"],
      ] as const) {
        const a = assetOf(d, symbol);
        await send(c, c.wallet(0), a.address, testTokenAbi, "mint", [address, parseUnits(human, a.decimals)]);
      }
      return address.toLowerCase() as Hex;
    },
  };
  await W.deposit(1, "USDC", "5000000");
  await W.deposit(1, "WETH", "1000");
  return W;
}

/** A fresh secp256k1 key for a keeper, remembered for the secrets scan. */
export function freshKey(): Hex {
  const k = generatePrivateKey();
  secrets.push(k);
  return k;
}

/** Transactions mined from `address` in blocks [from, head], and its nonce (latest and pending). */
export async function txAccounting(c: Chain, address: Hex, from: bigint): Promise<{ mined: number; nonce: number; pending: number }> {
  const head = await c.head();
  let mined = 0;
  const nums: bigint[] = [];
  for (let b = from; b <= head; b++) nums.push(b);
  for (let i = 0; i < nums.length; i += 50) {
    const blocks = await Promise.all(nums.slice(i, i + 50).map((n) => c.pc.getBlock({ blockNumber: n, includeTransactions: true })));
    for (const b of blocks) mined += b.transactions.filter((t) => t.from.toLowerCase() === address.toLowerCase()).length;
  }
  const [nonce, pending] = await Promise.all([
    c.pc.getTransactionCount({ address, blockTag: "latest" }),
    c.pc.getTransactionCount({ address, blockTag: "pending" }),
  ]);
  return { mined, nonce, pending };
}

// ------------------------------------------------------------------------------------------------ store, Redis

const schemas: string[] = [];

export interface Db {
  schema: string;
  /** DATABASE_URL for a spawned process: search_path set to the schema */
  url: string;
  open(): Promise<Store>;
}

export async function freshDb(label: string): Promise<Db> {
  const schema = `mwf_${label.replace(/[^a-z0-9]/g, "_")}_${randomBytes(3).toString("hex")}`;
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.end();
  schemas.push(schema);
  return {
    schema,
    url: withSearchPath(PG_BASE, schema),
    open: () => openStore({ databaseUrl: PG_BASE, schema }),
  };
}

/** The URL with `options=-c search_path=<schema>` (pg passes it to the server at connect time). */
function withSearchPath(base: string, schema: string): string {
  const u = new URL(base);
  u.searchParams.set("options", `-c search_path=${schema}`);
  return u.toString();
}

export async function dropSchemas(): Promise<void> {
  if (!schemas.length || process.env.FAULTS_KEEP) return;
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  for (const s of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
  await client.end();
}

export function freshPrefix(label: string, port: number = REDIS_MAIN.port): string {
  const prefix = `{mwf-${label}-${randomBytes(3).toString("hex")}}`;
  prefixesUsed.push({ port, prefix });
  return prefix;
}

/** Every value stored under a prefix (hashes, strings, lists, sets, streams), for the secrets scan. */
export async function dumpPrefix(port: number, prefix: string): Promise<string> {
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return await dumpKeys(redis, prefix);
  } catch {
    return "";
  } finally {
    redis.disconnect();
  }
}

export async function dropPrefixes(): Promise<void> {
  if (process.env.FAULTS_KEEP) return;
  for (const { port, prefix } of prefixesUsed) {
    const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    } catch {
      // that redis-server is gone
    } finally {
      redis.disconnect();
    }
  }
}

export interface AlertJob {
  id: string;
  name: string;
  data: {
    id: string;
    blockNumber: string;
    message: string;
    body: { kind: string; account?: string; level?: string; state?: string; type?: string; asset?: string | null };
  };
}

/** Every job of a BullMQ queue (any state), e.g. the `alerts` queue external consumers read. */
export async function queueJobs(name: string, prefix: string, port: number = REDIS_MAIN.port): Promise<AlertJob[]> {
  const q = new Queue(name, { connection: { host: "127.0.0.1", port } as never, prefix });
  try {
    const jobs = await q.getJobs(["waiting", "active", "completed", "failed", "delayed", "prioritized", "waiting-children"], 0, -1);
    const byId = new Map<string, AlertJob>();
    for (const j of jobs) if (j?.id) byId.set(j.id, { id: j.id, name: j.name, data: j.data as AlertJob["data"] });
    return [...byId.values()];
  } finally {
    await q.close();
  }
}

// ------------------------------------------------------------------------------------------------ digests

export interface Convergence {
  block: bigint;
  stored: string;
  fresh: string;
  /** positions (account, asset) whose stored balances differ from the fresh rebuild's, or are missing on one side */
  positionDiffs: number;
}

/**
 * The store's state (opened on the process's schema) rebuilt with ProtocolState.restore, against a fresh
 * rebuild from every log up to the store's checkpoint: digests and a position-by-position diff.
 */
export async function convergence(db: Db, w: World): Promise<Convergence> {
  const store = await db.open();
  try {
    const loaded = await store.loadState();
    if (!loaded.checkpoint) throw new Error("no checkpoint in the store");
    const cp = loaded.checkpoint;
    const restored = ProtocolState.restore({ ...loaded, finalizedBlock: cp.finalizedBlock, journal: cp.journal });
    const reference = await freshState(w.chain.pc, w.d, cp.blockNumber);
    const key = (a: string, b: string) => `${a}|${b}`;
    const mine = new Map<string, string>();
    for (const p of loaded.positions) {
      if (p.scaledCollateral === 0n && p.scaledDebt === 0n) continue;
      mine.set(key(p.account, p.asset), `${p.scaledCollateral}/${p.scaledDebt}`);
    }
    const ref = new Map<string, string>();
    for (const [acct, m] of reference.accounts) {
      for (const [asset, p] of m)
        if (p.scaledCollateral !== 0n || p.scaledDebt !== 0n) ref.set(key(acct, asset), `${p.scaledCollateral}/${p.scaledDebt}`);
    }
    let diffs = 0;
    for (const k of new Set([...mine.keys(), ...ref.keys()])) if (mine.get(k) !== ref.get(k)) diffs++;
    // The checkpoint's block must still be the canonical one (no orphan left behind).
    const onChain = await w.chain.pc.getBlock({ blockNumber: cp.blockNumber });
    if (onChain.hash !== cp.blockHash) diffs++;
    return { block: cp.blockNumber, stored: restored.digest(), fresh: reference.digest(), positionDiffs: diffs };
  } finally {
    await store.close();
  }
}

// ------------------------------------------------------------------------------------------------ redis-server

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The suite's own redis-server (never the shared one on 6379), without persistence: a restart loses everything. */
export async function ownRedis(port: number = PORTS.redis): Promise<RedisServer> {
  let child: ChildProcess | null = null;
  const ping = async () => {
    const r = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
    r.on("error", () => undefined);
    try {
      await r.connect();
      return (await r.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  };
  const s: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
      await until(`redis-server on ${port}`, ping, 10_000, 50);
    },
    stop: async () => {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGKILL");
      await exited;
      child = null;
    },
  };
  await s.start();
  return s;
}

export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// ------------------------------------------------------------------------------------------------ activity

/** Reproducible random activity by wallets #6–#11: deposits, borrows, repays, withdrawals and WETH/WBTC price moves. */
export async function activity(w: World, seed: number, steps: number, wallets: readonly number[] = [6, 7, 8, 9, 10, 11]): Promise<number> {
  const rand = seededRandom(seed);
  let ok = 0;
  for (let i = 0; i < steps; i++) {
    const who = wallets[Math.floor(rand() * wallets.length)]!;
    const pick = rand();
    try {
      if (pick < 0.3) await w.deposit(who, ["WETH", "WBTC", "DAI"][Math.floor(rand() * 3)]!, (1 + Math.floor(rand() * 4)).toString());
      else if (pick < 0.55) await w.borrow(who, "USDC", (100 + Math.floor(rand() * 900)).toString());
      else if (pick < 0.7) {
        const a = w.asset("USDC");
        const amount = parseUnits((10 + Math.floor(rand() * 100)).toString(), a.decimals);
        const c = w.chain;
        await send(c, c.wallet(who), a.address, testTokenAbi, "mint", [c.wallet(who).account.address, amount]);
        await send(c, c.wallet(who), a.address, testTokenAbi, "approve", [w.d.pool, 2n ** 256n - 1n]);
        await send(c, c.wallet(who), w.d.pool, marginPoolAbi, "repay", [a.address, amount, c.wallet(who).account.address]);
      } else if (pick < 0.8) {
        const a = w.asset("WETH");
        await send(w.chain, w.chain.wallet(who), w.d.pool, marginPoolAbi, "withdraw", [
          a.address,
          parseUnits("0.1", 18),
          w.chain.wallet(who).account.address,
        ]);
      } else if (pick < 0.92) await w.setPrice("WETH", (2800 + Math.floor(rand() * 500)).toString());
      else await w.setPrice("WBTC", (57000 + Math.floor(rand() * 6000)).toString());
      ok++;
    } catch {
      // reverts (nothing to repay, over LTV, nothing to withdraw) are part of random activity
    }
  }
  return ok;
}

/** Reads the API surface a secret could leak through (status, outcomes, metrics, OpenAPI, dashboard) into `captured`. */
export async function captureApi(api: string): Promise<void> {
  for (const p of [
    "/v1/status",
    "/v1/keeper/outcomes?limit=500",
    "/v1/liquidations?limit=500",
    "/metrics",
    "/openapi.json",
    "/",
    "/v1/oracles",
    "/v1/risk",
    "/v1/accounts?limit=500",
  ]) {
    await request(`${api}${p}`);
  }
}

/** Regression tests for product bugs this suite found (all fixed); they run by default. */
export function bugIt(title: string, fn: Mocha.AsyncFunc): Mocha.Test {
  return it(title.replace(/^BUG: /, "regression: "), fn);
}
