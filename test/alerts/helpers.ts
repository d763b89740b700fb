// Shared pieces of the alert tests: stores on both back-ends, a block's batch carrying a policy decision, a signed
// webhook receiver, a TCP relay that makes the real Redis reachable or not, Redis prefix clean-up.
import { Redis } from "ioredis";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import pg from "pg";
import pino from "pino";
import { Writable } from "node:stream";
import type { AlertPolicy, DecideInput, LevelCrossing as Crossing } from "../../indexer/alerts/policy";
import type { Alert } from "../../indexer/alerts/types";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from "../../indexer/alerts/webhook";
import type { OracleAlert } from "../../indexer/oracle/tracker";
import type { Address } from "../../indexer/state/events";
import { openStore, type BatchWrite, type Hex, type Store } from "../../indexer/store";

export const REDIS = { host: "127.0.0.1", port: 6379 } as const;
export const PG_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
export const SECRET = "test-webhook-secret-0123456789";
const WAD = 10n ** 18n;

export const ALICE = "0x00000000000000000000000000000000000000aa" as Address;
export const BOB = "0x00000000000000000000000000000000000000bb" as Address;
export const CAROL = "0x00000000000000000000000000000000000000cc" as Address;
export const WETH = "0x000000000000000000000000000000000000e001" as Address;
const FEED = "0x000000000000000000000000000000000000fee1" as Address;
export const CARD = {
  healthFactor: "1.15",
  totalCollateralUSD: "1000.00",
  totalBorrowsUSD: "700.00",
  availableBorrowsUSD: "50.00",
  borrowPowerUsed: "93.33%",
};

/** Where a test's store lives; PGlite on disk so a second process (or a reopen) sees the same data. */
export type StoreLocation = { kind: "pglite"; dataDir: string } | { kind: "postgres"; schema: string };

export const openAt = (loc: StoreLocation): Promise<Store> =>
  loc.kind === "pglite" ? openStore({ dataDir: loc.dataDir }) : openStore({ databaseUrl: PG_URL, schema: loc.schema });

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client(PG_URL);
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** What a block of the crash scenario produces: a warning, a liquidatable account and a feed missing its heartbeat. */
export function scenario(block: bigint): Pick<DecideInput, "crossings" | "oracleAlerts"> {
  const crossings: Crossing[] = [
    { account: ALICE, level: "warning", direction: "down", healthFactor: (WAD * 115n) / 100n },
    { account: BOB, level: "liquidatable", direction: "down", healthFactor: WAD / 2n },
  ];
  const oracleAlerts: OracleAlert[] = [
    { type: "heartbeat-missed", asset: WETH, feed: FEED, updatedAt: 1n, heartbeat: 3600n, age: 4000n, blockNumber: block },
  ];
  return { crossings, oracleAlerts };
}

export const scenarioIds = (block: bigint): string[] => [
  `mc-${ALICE}-warning-triggered-${block}`,
  `mc-${BOB}-liquidatable-triggered-${block}`,
  `oracle-${WETH}-heartbeat-missed-${block}`,
];

const hash = (n: bigint): Hex => `0x${n.toString(16).padStart(64, "0")}`;

/** A minimal valid batch for `block` (checkpoint only) carrying an alert decision. */
export function blockBatch(block: bigint, alerts: { outbox: Alert[]; state: BatchWrite["alertState"] }): BatchWrite {
  return {
    checkpoint: {
      blockNumber: block,
      blockHash: hash(block),
      finalizedBlock: block - 2n,
      journal: "[]",
      recentBlocks: [{ number: block, hash: hash(block), parentHash: hash(block - 1n), timestamp: 1_700_000_000n + block }],
      digest: `digest-${block}`,
    },
    assets: [],
    feeds: [],
    positions: [],
    liquidations: [],
    badDebt: [],
    oracleRounds: [],
    accountHealth: [],
    alertOutbox: alerts.outbox,
    alertState: alerts.state,
  };
}

/** What the indexer does per block: decide before the commit, write the decision in the batch, accept after. */
export async function commitBlock(
  store: Store,
  policy: AlertPolicy,
  block: bigint,
  events: Pick<DecideInput, "crossings" | "oracleAlerts">,
): Promise<Alert[]> {
  const d = policy.decide({ blockNumber: block, nowMs: Date.now(), ...events, card: (a) => (a === ALICE ? CARD : null) });
  await store.commitBatch(blockBatch(block, d));
  d.accept();
  return d.outbox;
}

export interface Delivery {
  id: string;
  alert: Alert;
  /** the signature verifies with SECRET */
  valid: boolean;
  body: string;
  signature: string;
  timestamp: string;
}

/** A webhook endpoint on 127.0.0.1 recording each POST and whether its HMAC signature verifies. */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  attempts = 0;
  /** the first this-many requests answer 500 */
  failFirst = 0;
  private server!: http.Server;
  url = "";

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        this.attempts++;
        if (this.attempts <= this.failFirst) return res.writeHead(500).end();
        const alert = JSON.parse(body) as Alert;
        const signature = String(req.headers[SIGNATURE_HEADER]);
        const timestamp = String(req.headers[TIMESTAMP_HEADER]);
        this.deliveries.push({ id: alert.id, alert, valid: verify(SECRET, timestamp, body, signature), body, signature, timestamp });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook?token=abc`;
    return this;
  }

  ids(): string[] {
    return this.deliveries.map((d) => d.id);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Deletes every key of a test prefix: what a Redis restart without persistence does to it. Never FLUSHALL. */
export async function dropPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS);
  try {
    let n = 0;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) n += await redis.del(...keys);
    } while (cursor !== "0");
    return n;
  } finally {
    redis.disconnect();
  }
}

/** A port nothing listens on (until a RedisRelay opens it). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Relays a port to the real Redis: closed, the dispatcher sees Redis unreachable; open, it sees it back. */
export class RedisRelay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  constructor(readonly port: number) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(REDIS.port, REDIS.host);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", end);
        s.on("close", end);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((r) => server.listen(this.port, "127.0.0.1", () => r()));
    this.server = server;
  }

  /** Stops listening and cuts every relayed connection (Redis "goes away"). */
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

/** A pino logger whose JSON lines the test can read. */
export function captureLogger(): { logger: pino.Logger; lines: () => Array<{ level: number; msg: string }> } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines: () => raw.map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How many times each id occurs. */
export function counts(ids: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = (out[id] ?? 0) + 1;
  return out;
}
