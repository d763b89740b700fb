// The one retry classifier (common/retry.ts), fed real viem error instances, real Node / ioredis / pg connection
// failures, and the answers of a real HTTP JSON-RPC endpoint read through viem's own transport.
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { expect } from "chai";
import { Redis } from "ioredis";
import pg from "pg";
import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  createPublicClient,
  http as httpTransport,
  HttpRequestError,
  InternalRpcError,
  InvalidInputRpcError,
  InvalidParamsRpcError,
  LimitExceededRpcError,
  ResourceUnavailableRpcError,
  RpcRequestError,
  SocketClosedError,
  TimeoutError,
  WebSocketRequestError,
} from "viem";
import { causeChain, findCause, MarginwatchError, UserInputError } from "../../common/errors";
import { isRangeTooLargeError, isTimeoutError, retry, shouldRetry } from "../../common/retry";
import { ConfigError } from "../../common/config";
import { DeploymentConfigError } from "../../common/deployment";
import { KeeperConfigError } from "../../keeper/errors";
import { VerifyInputError } from "../../indexer/audit/verify";
import { StoreWriteError } from "../../indexer/store/errors";

const CLOSED = "http://127.0.0.1:1";
/** A request body whose hex happens to contain "502", "503" and "429", as viem embeds it in every message. */
const BODY = { method: "eth_sendRawTransaction", params: ["0x02f8b1502429504503aa"] };
const rpc = (code: number, message: string) => new RpcRequestError({ body: BODY, error: { code, message }, url: CLOSED });

/** A loopback port nothing listens on: one the OS just handed out, closed again. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The error a fetch to a closed port rejects with (TypeError "fetch failed", cause: a system error). */
async function refusedFetch(): Promise<unknown> {
  const url = `http://127.0.0.1:${await closedPort()}`;
  try {
    await fetch(url);
  } catch (e) {
    return e;
  }
  throw new Error(`a fetch to ${url} succeeded`);
}

/** A JSON-RPC endpoint that answers every request with `reply` (an HTTP status, or a JSON-RPC error). */
async function endpoint(reply: { status: number } | { error: { code: number; message: string } }) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if ("status" in reply) {
        res.writeHead(reply.status, { "content-type": "text/plain" }).end("unavailable");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: 0, error: reply.error }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createPublicClient({ transport: httpTransport(url, { retryCount: 0 }) });
  const failure = await client.getBlockNumber({ cacheTime: 0 }).then(
    () => new Error("the endpoint answered"),
    (e: unknown) => e,
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return failure;
}

describe("common/retry: shouldRetry, the one RPC retry classifier", () => {
  it("viem's HttpRequestError: 408, 425, 429 and 5xx, or no status at all (no answer); not other 4xx", () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504]) {
      expect(shouldRetry(new HttpRequestError({ url: CLOSED, body: BODY, status })), `HTTP ${status}`).to.equal(true);
    }
    for (const status of [400, 401, 403, 404, 413]) {
      expect(shouldRetry(new HttpRequestError({ url: CLOSED, body: BODY, status })), `HTTP ${status}`).to.equal(false);
    }
    expect(shouldRetry(new HttpRequestError({ url: CLOSED, body: BODY, details: "fetch failed" }))).to.equal(true);
  });

  it("viem's timeout, socket and overload classes are transient", () => {
    expect(shouldRetry(new TimeoutError({ body: BODY, url: CLOSED }))).to.equal(true);
    expect(shouldRetry(new SocketClosedError({ url: "ws://127.0.0.1:1" }))).to.equal(true);
    expect(shouldRetry(new WebSocketRequestError({ body: BODY, url: "ws://127.0.0.1:1", details: "closed" }))).to.equal(true);
    expect(shouldRetry(new LimitExceededRpcError(rpc(-32005, "rate limited")))).to.equal(true);
    expect(shouldRetry(new ResourceUnavailableRpcError(rpc(-32002, "busy")))).to.equal(true);
    expect(shouldRetry(new InternalRpcError(rpc(-32603, "internal")))).to.equal(true);
  });

  it("never judges by text: a body whose hex holds 502/429, or words like 'timeout' in a node's refusal, are not transient", () => {
    expect(shouldRetry(new InvalidInputRpcError(rpc(-32000, "insufficient funds for gas * price + value")))).to.equal(false);
    expect(shouldRetry(new InvalidInputRpcError(rpc(-32000, "network timeout 503 Too Many Requests")))).to.equal(false);
    expect(shouldRetry(new Error("ECONNREFUSED fetch failed 503"))).to.equal(false);
    expect(shouldRetry("ETIMEDOUT")).to.equal(false);
  });

  it("a contract's own answer is final, even wrapped", () => {
    const revert = new ContractFunctionRevertedError({ abi: [], functionName: "f", message: "reverted" });
    expect(shouldRetry(revert)).to.equal(false);
    // as readContract throws it, with the node's -32603 below the revert: the revert, met first, decides
    const wrapped = new ContractFunctionExecutionError(revert, { abi: [], functionName: "f" });
    Object.defineProperty(revert, "cause", { value: new InternalRpcError(rpc(-32603, "reverted")) });
    expect(shouldRetry(wrapped)).to.equal(false);
  });

  it("a real fetch to a closed port: TypeError 'fetch failed' whose cause has code ECONNREFUSED", async () => {
    const e = await refusedFetch();
    expect(findCause<{ code: string }>(e, (x) => (x as { code?: unknown }).code === "ECONNREFUSED")?.code).to.equal("ECONNREFUSED");
    expect(shouldRetry(e)).to.equal(true);
    // Wrapped by viem, as its http transport does
    expect(shouldRetry(new HttpRequestError({ url: CLOSED, body: BODY, cause: e as Error }))).to.equal(true);
  });

  it("port 1 is a fetch 'bad port': refused by fetch itself, not by the network, so not transient unwrapped", async () => {
    const e = await fetch(CLOSED).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(TypeError);
    expect(shouldRetry(e)).to.equal(false);
  });

  it("a real viem client against a closed port, a 503 and a 400 endpoint", async () => {
    const refused = await createPublicClient({ transport: httpTransport(CLOSED, { retryCount: 0 }) })
      .getBlockNumber({ cacheTime: 0 })
      .catch((e: unknown) => e);
    expect(findCause(refused, (x) => x instanceof HttpRequestError)).to.be.instanceOf(HttpRequestError);
    expect(shouldRetry(refused)).to.equal(true);
    expect(shouldRetry(await endpoint({ status: 503 }))).to.equal(true);
    expect(shouldRetry(await endpoint({ status: 400 }))).to.equal(false);
  });

  it("Node system errors by code, and a real ioredis and pg connect to a closed port", async () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]) {
      expect(shouldRetry(Object.assign(new Error("x"), { code })), code).to.equal(true);
    }
    expect(shouldRetry(Object.assign(new Error("x"), { code: "ENOENT" }))).to.equal(false);
    // pg SQLSTATEs: a lost connection is transient, a check violation is not
    expect(shouldRetry(Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }))).to.equal(true);
    expect(shouldRetry(Object.assign(new Error("connection failure"), { code: "08006" }))).to.equal(true);
    expect(shouldRetry(Object.assign(new Error("check violation"), { code: "23514" }))).to.equal(false);

    // ioredis reports the socket's error on its "error" event (connect() itself rejects with "Connection is closed.")
    const port = await closedPort();
    const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    const redisError = new Promise<unknown>((resolve) => redis.once("error", resolve));
    await redis.connect().catch(() => undefined);
    redis.disconnect();
    expect(shouldRetry(await redisError), String(await redisError)).to.equal(true);

    const client = new pg.Client({ host: "127.0.0.1", port, connectionTimeoutMillis: 3_000 });
    const pgError = await client.connect().catch((e: unknown) => e);
    await client.end().catch(() => undefined);
    expect(shouldRetry(pgError), String(pgError)).to.equal(true);
  });

  it("our own typed errors are permanent unless they wrap a transient cause", () => {
    expect(shouldRetry(new ConfigError("invalid configuration"))).to.equal(false);
    expect(shouldRetry(new StoreWriteError("insert", Object.assign(new Error("check"), { code: "23514" })))).to.equal(false);
    expect(shouldRetry(new MarginwatchError("step failed", { cause: new TimeoutError({ body: BODY, url: CLOSED }) }))).to.equal(true);
  });

  it("retry() uses it by default: retries the transient, gives up at once on the permanent", async () => {
    let calls = 0;
    const v = await retry(
      async () => {
        if (++calls < 3) throw new HttpRequestError({ url: CLOSED, status: 503 });
        return "ok";
      },
      { baseMs: 1, maxMs: 2 },
    );
    expect(v).to.equal("ok");
    expect(calls).to.equal(3);
    calls = 0;
    const permanent = new HttpRequestError({ url: CLOSED, status: 400 });
    const thrown = await retry(
      async () => {
        calls++;
        throw permanent;
      },
      { baseMs: 1, maxMs: 2 },
    ).catch((e: unknown) => e);
    expect(thrown).to.equal(permanent);
    expect(calls).to.equal(1);
  });
});

describe("common/retry: isRangeTooLargeError and isTimeoutError", () => {
  it("by JSON-RPC code first: -32005, and -32602 only with range wording", () => {
    expect(isRangeTooLargeError(new LimitExceededRpcError(rpc(-32005, "query returned more than 10000 results")))).to.equal(true);
    expect(isRangeTooLargeError(new InvalidParamsRpcError(rpc(-32602, "Log response size exceeded")))).to.equal(true);
    expect(isRangeTooLargeError(new InvalidParamsRpcError(rpc(-32602, "invalid argument 0: hex string has length 3")))).to.equal(false);
  });

  it("providers that say it only in words (the documented text fallback)", () => {
    expect(isRangeTooLargeError(new InvalidInputRpcError(rpc(-32000, "block range is too wide")))).to.equal(true);
    expect(isRangeTooLargeError(new InvalidInputRpcError(rpc(-32000, "insufficient funds")))).to.equal(false);
  });

  it("a real endpoint answering -32005 through viem's transport", async () => {
    const e = await endpoint({ error: { code: -32005, message: "block range too large: 5000 > 1000" } });
    expect(findCause(e, (x) => x instanceof LimitExceededRpcError)).to.be.instanceOf(LimitExceededRpcError);
    expect(isRangeTooLargeError(e)).to.equal(true);
  });

  it("timeouts: viem's TimeoutError, ETIMEDOUT, undici's *_TIMEOUT; not a refused connection", () => {
    expect(isTimeoutError(new TimeoutError({ body: BODY, url: CLOSED }))).to.equal(true);
    expect(isTimeoutError(new HttpRequestError({ url: CLOSED, cause: Object.assign(new Error("x"), { code: "ETIMEDOUT" }) }))).to.equal(true);
    expect(isTimeoutError(Object.assign(new Error("Headers Timeout Error"), { code: "UND_ERR_HEADERS_TIMEOUT" }))).to.equal(true);
    expect(isTimeoutError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).to.equal(false);
  });
});

describe("common/errors: MarginwatchError", () => {
  it("composes the message from shortMessage and details, names the subclass, keeps the cause", () => {
    class ExampleError extends MarginwatchError {}
    const cause = new Error("inner");
    const e = new ExampleError("short", { details: "what to do", cause });
    expect(e.name).to.equal("ExampleError");
    expect(e.shortMessage).to.equal("short");
    expect(e.details).to.equal("what to do");
    expect(e.message).to.equal("short\n\nDetails: what to do");
    expect(e.cause).to.equal(cause);
    expect(new ExampleError("short").message).to.equal("short");
    expect("cause" in new ExampleError("short")).to.equal(false);
    expect([...causeChain(e)]).to.deep.equal([e, cause]);
  });

  it("configuration and bad-input errors are UserInputErrors (the CLI's exit code 2)", () => {
    for (const e of [new ConfigError("c"), new DeploymentConfigError("d"), new KeeperConfigError("k"), new VerifyInputError("v")]) {
      expect(e, e.name).to.be.instanceOf(UserInputError);
    }
    expect(new StoreWriteError("insert", new Error("x"))).to.not.be.instanceOf(UserInputError);
  });
});
