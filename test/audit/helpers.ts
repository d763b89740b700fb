// Audit test helpers: a real indexed world on its own chain (ports 8720–8729 belong to test/audit), a counting
// JSON-RPC proxy (HTTP round trips and calls per batch; can go down), metric parsing, and the CLI as a child process.
import { marginpool } from "../../protocols/marginpool";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { createWalletClient, http as httpTransport, type PublicClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { borrow, deposit, type ChainContext } from "../../protocols/marginpool/actions";
import type { Wallet } from "../../common/wallet";
import { deployProtocol } from "../../protocols/marginpool/deploy";
import type { Deployment } from "../../common/deployment";
import { HealthEngine } from "../../indexer/health";
import type { Indexer } from "../../indexer/indexer";
import { openStore } from "../../indexer/store";
import type { Store } from "../../indexer/store/types";
import { makeIndexer, waitFor } from "../fixtures/indexer";
import { startHardhatNode, type NodeHandle } from "../fixtures/node";

export const PORTS = { world: 8720, liveChain: 8724, otherChain: 8725, dead: 8729 } as const;
const MNEMONIC = "test test test test test test test test test test test junk";
const ROOT = path.resolve(__dirname, "../..");

export interface AuditWorld {
  node: NodeHandle;
  chain: ChainContext;
  d: Deployment;
  store: Store;
  indexer: Indexer;
  health: HealthEngine;
  /** address (lower-case) → wallet, for every seeded account */
  accounts: Map<`0x${string}`, Wallet>;
  /** b1 ≈ 1.24 (WETH → USDC), b2 ≈ 1.56 (WBTC → USDC), b3 ≈ 1.04 (WETH → USDC), b4 ≈ 2.67 (DAI → WETH) */
  b: Record<"b1" | "b2" | "b3" | "b4", `0x${string}`>;
  synced(): Promise<bigint>;
  /** mines one empty block and waits until the indexer has published it */
  mine(): Promise<bigint>;
  stop(): Promise<void>;
}

/** A real chain with a seeded market, PGlite in memory, the real indexer and health engine following it. */
export async function startAuditWorld(port: number): Promise<AuditWorld> {
  const node = await startHardhatNode(port);
  try {
    const wallet = (i: number) =>
      createWalletClient({
        chain: hardhat,
        transport: httpTransport(node.url, { retryCount: 0 }),
        account: mnemonicToAccount(MNEMONIC, { addressIndex: i }),
      }) as Wallet;
    const admin = wallet(0);
    const d = await deployProtocol({ publicClient: node.publicClient, walletClient: admin });
    const chain: ChainContext = { publicClient: node.publicClient, deployment: d, admin };
    const accounts = new Map<`0x${string}`, Wallet>();
    const named = (i: number) => {
      const w = wallet(i);
      accounts.set(w.account.address.toLowerCase() as `0x${string}`, w);
      return w;
    };
    const supplier = named(1);
    await deposit(chain, supplier, "USDC", "2000000");
    await deposit(chain, supplier, "WETH", "200");
    const [b1, b2, b3, b4] = [named(2), named(3), named(4), named(5)];
    await deposit(chain, b1, "WETH", "10");
    await borrow(chain, b1, "USDC", "20000");
    await deposit(chain, b2, "WBTC", "1");
    await borrow(chain, b2, "USDC", "30000");
    await deposit(chain, b3, "WETH", "5");
    await borrow(chain, b3, "USDC", "11900");
    await deposit(chain, b4, "DAI", "10000");
    await borrow(chain, b4, "WETH", "1");
    const both = named(6); // two collaterals, two debts
    await deposit(chain, both, "WETH", "3");
    await deposit(chain, both, "WBTC", "0.2");
    await borrow(chain, both, "USDC", "6000");
    await borrow(chain, both, "DAI", "4000");

    const store = await openStore({ dataDir: "memory://" });
    let health: HealthEngine | undefined;
    const indexer = makeIndexer(node.publicClient as PublicClient, store, d, {}, (state) => (health = new HealthEngine(state, marginpool.math)));
    await indexer.start();
    const synced = async (): Promise<bigint> => {
      const head = await node.publicClient.getBlockNumber();
      await indexer.waitForBlock(head, 30_000);
      return head;
    };
    await synced();
    await waitFor(() => indexer.status.phase === "follow", 30_000, "indexer following");
    if (!health) throw new Error("indexer did not create the health engine");
    const lc = (w: Wallet) => w.account.address.toLowerCase() as `0x${string}`;
    return {
      node,
      chain,
      d,
      store,
      indexer,
      health,
      accounts,
      b: { b1: lc(b1), b2: lc(b2), b3: lc(b3), b4: lc(b4) },
      synced,
      mine: async () => {
        await node.rpc("evm_mine");
        return synced();
      },
      stop: async () => {
        await indexer.stop().catch(() => undefined);
        await store.close().catch(() => undefined);
        await node.stop();
      },
    };
  } catch (e) {
    await node.stop();
    throw e;
  }
}

/** A loopback proxy in front of a node that records every HTTP round trip (and the JSON-RPC methods in it). */
export interface CountingProxy {
  url: string;
  /** one entry per HTTP request: the methods it carried */
  trips: string[][];
  down: boolean;
  close(): Promise<void>;
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const p: CountingProxy = { url: "", trips: [], down: false, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", async () => {
      if (p.down) return void res.writeHead(503).end("upstream down");
      try {
        const parsed = JSON.parse(body) as { method: string } | Array<{ method: string }>;
        p.trips.push((Array.isArray(parsed) ? parsed : [parsed]).map((r) => r.method));
        const up = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
        res.writeHead(up.status, { "content-type": "application/json" }).end(await up.text());
      } catch (e) {
        res.writeHead(502).end(String(e));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return p;
}

/** A pino logger whose JSON lines are kept (to assert what was logged, at which level). */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

/** The value of one sample in Prometheus text, NaN when absent. */
export function metric(text: string, name: string, labels: string): number {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${esc(name)}\\{${esc(labels)}\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

/** `node bin/marginwatch.js …` as a child process, to its exit. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin", "marginwatch.js"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`marginwatch ${args[0]} did not exit in ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}
