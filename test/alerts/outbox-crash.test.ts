// Alerts exactly once across a kill -9: a process commits a block's alert decision in its batch and is killed before
// sending (or after queueing, before marking delivered); the next process, on the same PGlite folder or PostgreSQL
// schema and the real Redis, puts each alert in the queue once and each signed webhook reaches the receiver once.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AlertDispatcher } from "../../indexer/alerts/dispatcher";
import type { Alert } from "../../indexer/alerts/types";
import type { Store } from "../../indexer/store";
import {
  captureLogger,
  counts,
  dropPrefix,
  dropSchema,
  openAt,
  REDIS,
  scenarioIds,
  SECRET,
  sleep,
  waitFor,
  WebhookReceiver,
  type StoreLocation,
} from "./helpers";

const ROOT = path.resolve(__dirname, "../..");

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  committed: string[];
  stderr: string;
}

/** crash-child.ts in its own process, as the indexer would run: it kills itself with SIGKILL at `killAt`. */
function runChild(env: {
  loc: StoreLocation;
  block: bigint;
  killAt: "commit" | "deliver";
  prefix: string;
  webhookUrl: string;
}): Promise<ChildResult> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "crash-child.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"),
      MW_STORE: JSON.stringify(env.loc),
      MW_BLOCK: String(env.block),
      MW_KILL_AT: env.killAt,
      MW_PREFIX: env.prefix,
      MW_WEBHOOK_URL: env.webhookUrl,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      resolve({ code, signal, committed: line ? (JSON.parse(line) as { committed: string[] }).committed : [], stderr: err });
    });
  });
}

for (const kind of ["pglite", "postgres"] as const) {
  describe(`alerts: exactly once across a kill -9 (${kind})`, function () {
    this.timeout(120_000);
    const hook = new WebhookReceiver();
    let loc: StoreLocation;
    let prefix: string;
    let store: Store | undefined;
    let dispatcher: AlertDispatcher | undefined;

    before(() => hook.start());
    after(() => hook.close());

    beforeEach(() => {
      const tag = randomBytes(4).toString("hex");
      loc =
        kind === "pglite"
          ? { kind, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "mw-alerts-crash-")) }
          : { kind, schema: `mw_alerts_crash_${tag}` };
      prefix = `{mw-alerts-crash-${tag}}`;
      hook.deliveries.length = 0;
    });

    afterEach(async () => {
      await dispatcher?.close();
      await store?.close();
      dispatcher = store = undefined;
      await dropPrefix(prefix);
      if (loc.kind === "pglite") fs.rmSync(loc.dataDir, { recursive: true, force: true });
      else await dropSchema(loc.schema);
    });

    const newDispatcher = (s: Store) =>
      new AlertDispatcher({
        store: s,
        connection: { ...REDIS },
        logger: captureLogger().logger,
        prefix,
        webhookUrls: [hook.url],
        webhookSecret: SECRET,
        webhookAttempts: 3,
      });

    /** Every job of a queue by id, whatever its state. */
    const jobIds = async (q: AlertDispatcher["queue"] | NonNullable<AlertDispatcher["webhooks"]>) =>
      (await q.getJobs(["waiting", "active", "completed", "failed", "delayed", "prioritized"])).map((j) => j.id!);

    /** Delivered: nothing pending, every alert queued once and received once, signed; then a pause shows no repeat. */
    async function expectDeliveredOnce(d: AlertDispatcher, s: Store, ids: string[]): Promise<void> {
      await waitFor("webhooks of every alert", () => ids.every((id) => hook.ids().includes(id)), 60_000);
      await waitFor("the outbox drained", async () => (await s.pendingAlerts(10)).length === 0, 10_000);
      d.kick();
      await sleep(1_500);
      expect(counts(hook.ids())).to.deep.equal(Object.fromEntries(ids.map((id) => [id, 1])));
      expect(hook.deliveries.every((x) => x.valid)).to.equal(true);
      expect(counts(await jobIds(d.queue))).to.deep.equal(Object.fromEntries(ids.map((id) => [id, 1])));
      expect(await jobIds(d.webhooks!)).to.have.length(ids.length);
      const listed = await s.listAlerts({ limit: 10, offset: 0 });
      expect(listed.map((x) => x.alert.id).sort()).to.deep.equal([...ids].sort());
      expect(listed.every((x) => x.deliveredAt !== null)).to.equal(true);
    }

    it("an alert committed right before a kill -9 is delivered by the next process, once; its replay decides nothing", async () => {
      const killed = await runChild({ loc, block: 100n, killAt: "commit", prefix, webhookUrl: hook.url });
      expect(killed.signal, killed.stderr).to.equal("SIGKILL");
      expect(killed.committed).to.deep.equal(scenarioIds(100n));

      store = await openAt(loc);
      const pending = await store.pendingAlerts(10);
      expect(pending.map((a: Alert) => a.id)).to.deep.equal(scenarioIds(100n));
      dispatcher = newDispatcher(store);
      expect(await jobIds(dispatcher.queue)).to.deep.equal([]); // nothing was sent before the kill
      dispatcher.start();
      dispatcher.kick();
      await expectDeliveredOnce(dispatcher, store, scenarioIds(100n));
      expect(hook.deliveries.map((x) => x.alert)).to.deep.equal(pending);
      await dispatcher.close();
      await store.close();
      dispatcher = store = undefined;

      // The next process starts with a fresh health engine that re-emits the same crossings: the stored alert state
      // says triggered already, so the block commits no alert.
      const replay = await runChild({ loc, block: 101n, killAt: "commit", prefix, webhookUrl: hook.url });
      expect(replay.signal, replay.stderr).to.equal("SIGKILL");
      expect(replay.committed).to.deep.equal([]);
    });

    it("a kill -9 between the queue add and markAlertsDelivered: re-delivery uses the same job ids, nothing arrives twice", async () => {
      const killed = await runChild({ loc, block: 200n, killAt: "deliver", prefix, webhookUrl: hook.url });
      expect(killed.signal, killed.stderr).to.equal("SIGKILL");
      expect(killed.committed).to.deep.equal(scenarioIds(200n));

      store = await openAt(loc);
      dispatcher = newDispatcher(store);
      // The killed process had queued everything (alerts and webhook jobs) but marked nothing delivered.
      expect(counts(await jobIds(dispatcher.queue))).to.deep.equal(Object.fromEntries(scenarioIds(200n).map((id) => [id, 1])));
      expect(await jobIds(dispatcher.webhooks!)).to.have.length(3);
      expect((await store.pendingAlerts(10)).map((a) => a.id)).to.deep.equal(scenarioIds(200n));
      expect(hook.deliveries).to.deep.equal([]);

      dispatcher.start();
      dispatcher.kick();
      await expectDeliveredOnce(dispatcher, store, scenarioIds(200n));
    });
  });
}
