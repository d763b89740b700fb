// Starts a real `hardhat node` child process on 127.0.0.1: the embedded chain of `npm start` and of tests.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createPublicClient, createWalletClient, http, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { Wallet } from "./wallet";

/**
 * Hardhat's well-known development keys (mnemonic "test test … junk"). Public knowledge: they exist only on local
 * chains and must never hold real funds.
 */
export const HARDHAT_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
] as const;

export interface NodeHandle {
  url: string;
  port: number;
  child: ChildProcess;
  publicClient: PublicClient;
  /**
   * A wallet on one of HARDHAT_KEYS. No local nonce cache: tests revert the chain (evm_revert), after which a
   * cached nonce would be too high. Send from one wallet sequentially.
   */
  wallet(i: number): Wallet;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

export async function jsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export async function startHardhatNode(port: number, timeoutMs = 60_000): Promise<NodeHandle> {
  const root = path.resolve(__dirname, "..");
  // The GC preload keeps a long-running node's memory bounded (see hardhat-node-gc.js).
  const gcPreload = path.join(__dirname, "hardhat-node-gc.js");
  const child = spawn(
    process.execPath,
    ["--require", gcPreload, require.resolve("hardhat/internal/cli/cli"), "node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
    },
  );
  let output = "";
  const keep = (d: Buffer) => {
    if (output.length < 20_000) output += d.toString();
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      const inUse = /EADDRINUSE/.test(output) ? ` (port ${port} is in use: pick another with --chain-port)` : "";
      throw new Error(`hardhat node exited early${inUse}: ${output.slice(-1500)}`);
    }
    try {
      await jsonRpc(url, "eth_chainId");
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`hardhat node on port ${port} did not start in ${timeoutMs} ms: ${output.slice(-1500)}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  const transport = http(url, { batch: true, retryCount: 0 });
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 50, cacheTime: 0 }) as PublicClient;
  const wallets = new Map<number, Wallet>();
  return {
    url,
    port,
    child,
    publicClient,
    wallet: (i) => {
      let w = wallets.get(i);
      if (!w) {
        w = createWalletClient({ chain: hardhat, transport: http(url, { retryCount: 0 }), account: privateKeyToAccount(HARDHAT_KEYS[i]!) }) as Wallet;
        wallets.set(i, w);
      }
      return w;
    },
    rpc: (method, params) => jsonRpc(url, method, params),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
