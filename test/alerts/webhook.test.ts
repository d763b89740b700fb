// Alert delivery: a margin call committed in a block's batch reaches the BullMQ alerts queue once and a webhook
// receiver as a signed JSON POST, retried after a failure; a replay of the same crossing (restart) sends nothing new.
import { expect } from "chai";
import { AlertDispatcher } from "../../indexer/alerts/dispatcher";
import { AlertPolicy } from "../../indexer/alerts/policy";
import { verify } from "../../indexer/alerts/webhook";
import { MEMORY, openStore, type Store } from "../../indexer/store";
import { ALICE, captureLogger, type CARD, commitBlock, counts, dropPrefix, REDIS, SECRET, waitFor, WebhookReceiver } from "./helpers";

describe("alerts: queue and signed webhooks", function () {
  this.timeout(60_000);
  const prefix = `{mw-alerts-test-${process.pid}}`;
  const hook = new WebhookReceiver();
  let store: Store;
  let d: AlertDispatcher;
  const log = captureLogger();

  before(async () => {
    await hook.start();
    hook.failFirst = 1; // the first delivery fails: the webhook job must retry
    store = await openStore({ dataDir: MEMORY });
    d = new AlertDispatcher({
      store,
      connection: { ...REDIS },
      logger: log.logger,
      prefix,
      webhookUrls: [hook.url],
      webhookSecret: SECRET,
      webhookAttempts: 5,
    });
    d.start();
  });

  after(async () => {
    await d?.close();
    await store?.close();
    await hook.close();
    await dropPrefix(prefix);
  });

  it("delivers a margin call once to the queue and, after a failed attempt, to the webhook with a valid HMAC", async () => {
    const crossing = { account: ALICE, level: "warning", direction: "down" as const, healthFactor: 1_150_000_000_000_000_000n };
    const policy = new AlertPolicy(await store.loadAlertState());
    const sent = await commitBlock(store, policy, 100n, { crossings: [crossing], oracleAlerts: [] });
    expect(sent).to.have.length(1);
    expect(sent[0]!.body).to.deep.include({ kind: "margin-call", account: ALICE, level: "warning", state: "triggered" });
    d.kick();

    await waitFor("webhook delivery after a retry", () => hook.deliveries.length === 1, 30_000);
    expect(hook.attempts).to.equal(2);
    const got = hook.deliveries[0]!;
    expect(got.valid).to.equal(true);
    expect(verify("another-secret-0123456789", got.timestamp, got.body, got.signature)).to.equal(false);
    expect(got.alert).to.deep.equal(sent[0]);
    expect((got.alert.body as { card: typeof CARD }).card.healthFactor).to.equal("1.15");
    expect(await store.pendingAlerts(10)).to.deep.equal([]);
    // Logged once, as a warning (pino level 40), with the alert's message.
    expect(
      log
        .lines()
        .filter((l) => l.msg === sent[0]!.message)
        .map((l) => l.level),
    ).to.deep.equal([40]);

    // The same crossing again after a restart (a new policy from the store): nothing new anywhere.
    const restarted = new AlertPolicy(await store.loadAlertState());
    expect(await commitBlock(store, restarted, 101n, { crossings: [crossing], oracleAlerts: [] })).to.deep.equal([]);
    d.kick();
    const jobs = await d.queue.getJobs(["waiting", "completed", "active", "delayed"]);
    expect(counts(jobs.map((j) => j.id!))).to.deep.equal({ [sent[0]!.id]: 1 });

    // Resolving it is news: one "resolved" alert, logged as info (30) and delivered.
    const resolved = await commitBlock(store, restarted, 102n, {
      crossings: [{ ...crossing, direction: "up", healthFactor: 1_300_000_000_000_000_000n }],
      oracleAlerts: [],
    });
    expect(resolved.map((a) => a.body.kind === "margin-call" && a.body.state)).to.deep.equal(["resolved"]);
    d.kick();
    await waitFor("the resolve's webhook", () => hook.deliveries.length === 2, 30_000);
    expect(hook.ids()).to.deep.equal([sent[0]!.id, resolved[0]!.id]);
    expect(
      log
        .lines()
        .filter((l) => l.msg === resolved[0]!.message)
        .map((l) => l.level),
    ).to.deep.equal([30]);
    expect(d.sent.map((a) => a.id)).to.deep.equal([sent[0]!.id, resolved[0]!.id]);
  });
});
