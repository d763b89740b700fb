// Redis keeps nothing across a restart and may be unreachable: alert state and undelivered alerts live in the store,
// so a Redis that lost everything re-sends nothing, and alerts committed while it is down wait in the outbox and
// are delivered once it is back. Real Redis (reached through a TCP relay that can be opened and cut), real stores.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { AlertDispatcher } from "../../indexer/alerts/dispatcher";
import { AlertPolicy } from "../../indexer/alerts/policy";
import { MEMORY, openStore, type Store } from "../../indexer/store";
import {
  captureLogger,
  CAROL,
  commitBlock,
  counts,
  dropPrefix,
  dropSchema,
  freePort,
  PG_URL,
  REDIS,
  RedisRelay,
  scenario,
  scenarioIds,
  SECRET,
  sleep,
  waitFor,
  WebhookReceiver,
} from "./helpers";

const WAD = 10n ** 18n;
const carolWarning = {
  crossings: [{ account: CAROL, level: "warning", direction: "down" as const, healthFactor: (WAD * 11n) / 10n }],
  oracleAlerts: [],
};
const JOB_STATES = ["waiting", "active", "completed", "failed", "delayed", "prioritized"] as const;

for (const kind of ["pglite", "postgres"] as const) {
  describe(`alerts: Redis restart and outage (${kind})`, function () {
    this.timeout(120_000);
    const hook = new WebhookReceiver();
    let store: Store;
    let schema: string;
    let prefix: string;
    const dispatchers: AlertDispatcher[] = [];

    before(() => hook.start());
    after(() => hook.close());

    beforeEach(async () => {
      const tag = randomBytes(4).toString("hex");
      schema = `mw_alerts_redis_${tag}`;
      prefix = `{mw-alerts-redis-${tag}}`;
      store = kind === "pglite" ? await openStore({ dataDir: MEMORY }) : await openStore({ databaseUrl: PG_URL, schema });
      hook.deliveries.length = 0;
    });

    afterEach(async () => {
      for (const d of dispatchers.splice(0)) await d.close();
      await store.close();
      if (kind === "postgres") await dropSchema(schema);
      await dropPrefix(prefix);
    });

    function dispatcher(port: number = REDIS.port, logger = captureLogger().logger): AlertDispatcher {
      const d = new AlertDispatcher({
        store,
        connection: { host: REDIS.host, port },
        logger,
        prefix,
        webhookUrls: [hook.url],
        webhookSecret: SECRET,
        webhookAttempts: 3,
      });
      dispatchers.push(d);
      d.start();
      return d;
    }

    const queued = async (d: AlertDispatcher) => counts((await d.queue.getJobs([...JOB_STATES])).map((j) => j.id!));
    const once = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, 1]));

    it("alerts delivered before Redis lost every key are not re-sent; alerts after it are delivered once", async () => {
      const d1 = dispatcher();
      await commitBlock(store, new AlertPolicy(await store.loadAlertState()), 300n, scenario(300n));
      d1.kick();
      await waitFor("the first webhooks", () => hook.deliveries.length === 3);
      await waitFor("the outbox drained", async () => (await store.pendingAlerts(10)).length === 0);
      await d1.close();
      dispatchers.splice(0);

      // Redis restarts without persistence: every key of this prefix is gone (queue, webhook jobs, de-duplication).
      expect(await dropPrefix(prefix)).to.be.greaterThan(0);
      const d2 = dispatcher();
      d2.kick();
      await sleep(1_500);
      expect(hook.ids()).to.deep.equal(scenarioIds(300n));
      expect(await queued(d2)).to.deep.equal({});

      // The indexer restarts too: its fresh engine re-emits the still-crossed levels (nothing new), and a new
      // crossing is sent once.
      const policy = new AlertPolicy(await store.loadAlertState());
      expect(await commitBlock(store, policy, 301n, scenario(301n))).to.deep.equal([]);
      const [carol] = await commitBlock(store, policy, 302n, carolWarning);
      d2.kick();
      await waitFor("the new alert's webhook", () => hook.deliveries.length === 4);
      await sleep(1_000);
      expect(counts(hook.ids())).to.deep.equal(once([...scenarioIds(300n), carol!.id]));
      expect(await queued(d2)).to.deep.equal(once([carol!.id]));
    });

    it("alerts committed while Redis is unreachable stay in the outbox and are delivered once it is back, quietly", async () => {
      const relay = new RedisRelay(await freePort()); // closed: nothing listens on the port yet
      const log = captureLogger();
      const printed: string[] = [];
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      const { error, warn } = console;
      console.error = console.warn = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
      process.on("unhandledRejection", onUnhandled);
      try {
        const d = dispatcher(relay.port, log.logger);
        const policy = new AlertPolicy(await store.loadAlertState());
        await commitBlock(store, policy, 400n, scenario(400n));
        d.kick();
        await sleep(3_000);
        expect((await store.pendingAlerts(10)).map((a) => a.id)).to.deep.equal(scenarioIds(400n));
        expect(hook.deliveries).to.deep.equal([]);
        const failed = () => log.lines().filter((l) => l.msg.startsWith("alert delivery failed;"));
        expect(failed()).to.have.length(1); // one warning for the outage, however many attempts
        // Each alert is logged once as it is picked up, even while Redis is down.
        for (const a of await store.pendingAlerts(10))
          expect(
            log.lines().filter((l) => l.msg === a.message),
            a.id,
          ).to.have.length(1);

        await relay.open();
        await waitFor("webhooks once Redis is reachable", () => hook.deliveries.length === 3, 30_000);
        await waitFor("the outbox drained", async () => (await store.pendingAlerts(10)).length === 0);
        expect(log.lines().filter((l) => l.msg === "alert delivery resumed")).to.have.length(1);

        // Redis goes away mid-run: the next block's alert waits, then goes out once.
        await relay.close();
        const [carol] = await commitBlock(store, policy, 401n, carolWarning);
        d.kick();
        await sleep(1_500);
        expect((await store.pendingAlerts(10)).map((a) => a.id)).to.deep.equal([carol!.id]);
        await relay.open();
        await waitFor("the alert committed during the second outage", () => hook.deliveries.length === 4, 30_000);
        await sleep(1_000);
        expect(counts(hook.ids())).to.deep.equal(once([...scenarioIds(400n), carol!.id]));
        expect(hook.deliveries.every((x) => x.valid)).to.equal(true);
        expect(await queued(d)).to.deep.equal(once([...scenarioIds(400n), carol!.id]));

        // close() returns while Redis is unreachable; nothing was thrown or printed along the way.
        await relay.close();
        await commitBlock(store, policy, 402n, { crossings: [{ ...carolWarning.crossings[0]!, account: `0x${"dd".repeat(20)}` }], oracleAlerts: [] });
        d.kick();
        await sleep(500);
        const t0 = Date.now();
        await d.close();
        dispatchers.splice(0);
        expect(Date.now() - t0).to.be.lessThan(10_000);
        expect(await store.pendingAlerts(10)).to.have.length(1); // kept for the next start
        expect(unhandled).to.deep.equal([]);
        expect(printed.filter((l) => /ioredis|Unhandled|ECONNREFUSED/i.test(l))).to.deep.equal([]);
      } finally {
        console.error = error;
        console.warn = warn;
        process.off("unhandledRejection", onUnhandled);
        await relay.close();
      }
    });
  });
}
