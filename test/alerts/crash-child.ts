// A process that does what the indexer does for one block — load the alert state, decide, commit the decision in the
// block's batch — and is then killed with SIGKILL: right after the commit, or (MW_KILL_AT=deliver) inside the
// dispatcher between the queue add and markAlertsDelivered. Run by outbox-crash.test.ts; does nothing when imported.
import pino from "pino";
import { AlertDispatcher } from "../../indexer/alerts/dispatcher";
import { AlertPolicy } from "../../indexer/alerts/policy";
import { ALICE, blockBatch, CARD, openAt, REDIS, scenario, SECRET, type StoreLocation } from "./helpers";

async function main(): Promise<void> {
  const loc = JSON.parse(process.env.MW_STORE!) as StoreLocation;
  const block = BigInt(process.env.MW_BLOCK!);
  const killAt = process.env.MW_KILL_AT as "commit" | "deliver";
  const store = await openAt(loc);
  const policy = new AlertPolicy(await store.loadAlertState());
  const d = policy.decide({ blockNumber: block, nowMs: Date.now(), ...scenario(block), card: (a) => (a === ALICE ? CARD : null) });
  await store.commitBatch(blockBatch(block, d));
  d.accept();
  process.stdout.write(`${JSON.stringify({ committed: d.outbox.map((a) => a.id) })}\n`);
  if (killAt === "commit") process.kill(process.pid, "SIGKILL");

  const dispatcher = new AlertDispatcher({
    // The real store, except that the process dies where the outbox row would be marked delivered.
    store: { pendingAlerts: (n) => store.pendingAlerts(n), markAlertsDelivered: async () => void process.kill(process.pid, "SIGKILL") },
    connection: { ...REDIS },
    logger: pino({ level: "silent" }),
    prefix: process.env.MW_PREFIX!,
    webhookUrls: [process.env.MW_WEBHOOK_URL!],
    webhookSecret: SECRET,
    // No webhook worker here: a delivery cut off mid-POST would be retried, which is at-least-once by design.
    webhookWorker: false,
  });
  dispatcher.start();
  dispatcher.kick();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
