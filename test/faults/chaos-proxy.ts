// A loopback JSON-RPC proxy for fault injection against spawned processes: outages of several kinds (HTTP 503,
// connection reset, hang), requests held until released, hooks before/after forwarding (e.g. kill a process the
// moment it broadcasts), eth_getLogs range limits and log rewriting. test/fixtures/rpc-proxy.ts has the 503 and
// log-rewrite subset; this one adds what fault cases on real processes need.
import http from "node:http";

export type ProxyMode = "up" | "503" | "reset" | "hang";

export interface RpcCall {
  id: unknown;
  method: string;
  params?: unknown[];
}

export interface ChaosProxy {
  url: string;
  /** "503": every request gets HTTP 503; "reset": the socket is destroyed; "hang": no answer until the mode changes */
  mode: ProxyMode;
  /** eth_getLogs spanning more blocks than this gets a provider-style range error */
  maxLogRange: number | null;
  /** rewrites every eth_getLogs result */
  transformLogs: ((logs: Array<Record<string, unknown>>, call: RpcCall) => Array<Record<string, unknown>>) | null;
  /** runs before a call is forwarded; may wait (hold), or answer "drop" to leave the caller without a reply */
  before: ((call: RpcCall) => Promise<"forward" | "drop"> | "forward" | "drop") | null;
  /** runs after the upstream answered, before the reply is written */
  after: ((call: RpcCall, reply: unknown) => Promise<void> | void) | null;
  counts: Map<string, number>;
  rangeErrors: number;
  /** requests refused or dropped by an outage mode */
  refused: number;
  count(method: string): number;
  close(): Promise<void>;
}

export async function startChaosProxy(upstream: string, port: number): Promise<ChaosProxy> {
  const hung: Array<() => void> = [];
  const p: ChaosProxy = {
    url: `http://127.0.0.1:${port}`,
    mode: "up",
    maxLogRange: null,
    transformLogs: null,
    before: null,
    after: null,
    counts: new Map(),
    rangeErrors: 0,
    refused: 0,
    count: (m) => p.counts.get(m) ?? 0,
    close: async () => undefined,
  };
  let mode: ProxyMode = "up";
  Object.defineProperty(p, "mode", {
    get: () => mode,
    set: (m: ProxyMode) => {
      mode = m;
      if (m !== "hang") for (const release of hung.splice(0)) release();
    },
  });

  const forward = async (body: string): Promise<unknown> => {
    const res = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
    return JSON.parse(await res.text());
  };

  const handleOne = async (call: RpcCall): Promise<unknown | "drop"> => {
    p.counts.set(call.method, (p.counts.get(call.method) ?? 0) + 1);
    if (p.before && (await p.before(call)) === "drop") return "drop";
    if (call.method === "eth_getLogs" && p.maxLogRange !== null) {
      const f = (call.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string };
      if (f.fromBlock?.startsWith("0x") && f.toBlock?.startsWith("0x")) {
        const span = Number(BigInt(f.toBlock) - BigInt(f.fromBlock)) + 1;
        if (span > p.maxLogRange) {
          p.rangeErrors++;
          return { jsonrpc: "2.0", id: call.id, error: { code: -32005, message: `block range too large: ${span} > ${p.maxLogRange}` } };
        }
      }
    }
    const out = (await forward(JSON.stringify(call))) as { result?: unknown };
    if (call.method === "eth_getLogs" && p.transformLogs && Array.isArray(out.result)) {
      out.result = p.transformLogs(out.result as Array<Record<string, unknown>>, call);
    }
    if (p.after) await p.after(call, out);
    return out;
  };

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", async () => {
      const outage = async (): Promise<boolean> => {
        if (mode === "hang") {
          p.refused++;
          await new Promise<void>((r) => hung.push(r));
          return outage();
        }
        if (mode === "503") {
          p.refused++;
          res.writeHead(503).end("upstream down");
          return true;
        }
        if (mode === "reset") {
          p.refused++;
          req.socket.destroy();
          return true;
        }
        return false;
      };
      if (await outage()) return;
      try {
        const parsed = JSON.parse(body) as RpcCall | RpcCall[];
        const result = Array.isArray(parsed) ? await Promise.all(parsed.map(handleOne)) : await handleOne(parsed);
        if (result === "drop" || (Array.isArray(result) && result.includes("drop"))) {
          req.socket.destroy();
          return;
        }
        // The outage may have started while this call was upstream: the caller sees the outage, not the answer.
        if (await outage()) return;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
      } catch (e) {
        if (!res.headersSent) res.writeHead(502).end(String(e));
      }
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  p.close = () =>
    new Promise<void>((r) => {
      for (const release of hung.splice(0)) release();
      server.closeAllConnections();
      server.close(() => r());
    });
  return p;
}
