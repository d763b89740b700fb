// Alert delivery: a margin call reaches the BullMQ alerts queue once and a webhook receiver as a signed JSON POST,
// retried after a failure; a replay of the same crossing (restart) sends nothing new.
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { AlertDispatcher } from "../../indexer/alerts/dispatcher";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from "../../indexer/alerts/webhook";
import { waitFor } from "../fixtures/indexer";

const SECRET = "test-webhook-secret-0123456789";

describe("alerts: queue and signed webhooks", function () {
  this.timeout(60_000);
  const received: Array<{ body: string; signature: string; timestamp: string }> = [];
  let attempts = 0;
  let server: http.Server;
  let url: string;
  const prefix = `{mw-alerts-test-${process.pid}}`;
  const dispatchers: AlertDispatcher[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        attempts++;
        // The first delivery fails: the dispatcher must retry.
        if (attempts === 1) return res.writeHead(500).end();
        received.push({ body, signature: String(req.headers[SIGNATURE_HEADER]), timestamp: String(req.headers[TIMESTAMP_HEADER]) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`;
  });

  after(async () => {
    for (const d of dispatchers) {
      await d.queue.obliterate({ force: true }).catch(() => undefined);
      await d.close();
    }
    server.close();
  });

  function dispatcher(): AlertDispatcher {
    const d = new AlertDispatcher({ connection: { host: "127.0.0.1", port: 6379 }, logger: pino({ level: "silent" }), prefix, webhookUrls: [url], webhookSecret: SECRET, webhookAttempts: 5 });
    dispatchers.push(d);
    return d;
  }

  it("delivers a margin call once to the queue and, after a failed attempt, to the webhook with a valid HMAC", async () => {
    const d = dispatcher();
    await d.clearState();
    d.start();
    const account = "0x00000000000000000000000000000000000000aa";
    const crossing = { account: account as `0x${string}`, level: "warning", direction: "down" as const, healthFactor: 1_150_000_000_000_000_000n };
    const card = () => ({ healthFactor: "1.15", totalCollateralUSD: "1000.00", totalBorrowsUSD: "700.00", availableBorrowsUSD: "50.00", borrowPowerUsed: "93.33%" });
    const sent = await d.onCrossings([crossing], 100n, card);
    expect(sent).to.have.length(1);
    expect(sent[0]!.body).to.deep.include({ kind: "margin-call", account, level: "warning", state: "triggered" });

    await waitFor(() => received.length === 1, 30_000, "webhook delivery after a retry");
    expect(attempts).to.equal(2);
    const got = received[0]!;
    expect(verify(SECRET, got.timestamp, got.body, got.signature)).to.equal(true);
    expect(verify("another-secret-0123456789", got.timestamp, got.body, got.signature)).to.equal(false);
    const payload = JSON.parse(got.body) as { id: string; body: { card: { healthFactor: string } } };
    expect(payload.id).to.equal(sent[0]!.id);
    expect(payload.body.card.healthFactor).to.equal("1.15");

    // The same crossing again (e.g. replayed after a restart by a new dispatcher): nothing new anywhere.
    const again = await dispatcher().onCrossings([crossing], 101n, card);
    expect(again).to.have.length(0);
    const jobs = await d.queue.getJobs(["waiting", "completed", "active", "delayed"]);
    expect(jobs.filter((j) => (j.data.body as { account?: string }).account === account)).to.have.length(1);

    // Resolving it is news: one "resolved" alert.
    const resolved = await d.onCrossings([{ ...crossing, direction: "up", healthFactor: 1_300_000_000_000_000_000n }], 102n, card);
    expect(resolved.map((a) => a.body.kind === "margin-call" && a.body.state)).to.deep.equal(["resolved"]);
  });
});
